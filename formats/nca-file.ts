/**
 * The `.nca` codec, version 1 (formats/SPEC.md). Browser-safe, no dependencies.
 *
 * Layout: 16-byte header, chunks (type, length, payload, padding to 4), CRC-32 trailer.
 * Every length and count is checked against the bytes actually present before anything
 * is allocated, so a hostile file costs at most a few times its own size.
 */
import { crc32 } from './crc32.ts';
import { fail, NcaFormatError } from './errors.ts';
import { validateHead, validateMetadata, type HeadJson } from './validate.ts';
import { decodeTensor, elementCount, encodeTensor, encodedLength, type TensorEntry } from './tensor-codec.ts';
import { formatMinor, weightShapes, type Metadata, type NcaModel, type WeightDtype, type Weights } from './model.ts';

export const SIGNATURE = [0x89, 0x4e, 0x43, 0x41, 0x0d, 0x0a, 0x1a, 0x0a]; // \x89 N C A \r \n \x1a \n
export const VERSION_MAJOR = 1;
/** The newest minor version this codec reads; it writes the lowest minor version whose fields the model uses (formatMinor). */
export const VERSION_MINOR = 2;
export const HEADER_BYTES = 16;
export const CHUNK_HEADER_BYTES = 8;
export const TRAILER_BYTES = 4;
/** The mime type players accept besides application/octet-stream. */
export const NCA_MIME = 'application/x-nca';

export interface EncodeOptions {
  /** Encoding of w1 and w2. Biases are float32 unless this is float16. Default int8. */
  weightDtype?: WeightDtype;
  /** Encoding of an image seed. Default float16. */
  seedDtype?: 'float16' | 'float32';
}

export interface ChunkInfo {
  type: string;
  length: number;
  skipped: boolean;
}

export interface NcaFileInfo {
  version: string;
  byteLength: number;
  chunks: ChunkInfo[];
  tensors: TensorEntry[];
}

export interface DecodedNca {
  model: NcaModel;
  file: NcaFileInfo;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder('utf-8', { fatal: true });

const align4 = (n: number) => (n + 3) & ~3;

export function encodeNca(model: NcaModel, options: EncodeOptions = {}): Uint8Array {
  const weightDtype = options.weightDtype ?? 'int8';
  const biasDtype: WeightDtype = weightDtype === 'float16' ? 'float16' : 'float32';
  const shapes = weightShapes(model.topology);
  const parts: { entry: TensorEntry; values: Float32Array }[] = [];
  let offset = 0;
  const add = (name: string, values: Float32Array, dtype: WeightDtype, shape: number[]) => {
    const entry: TensorEntry = { name, dtype, shape, offset, length: encodedLength(dtype, shape) };
    parts.push({ entry, values });
    offset = align4(offset + entry.length);
  };
  const names: (keyof Weights)[] = ['w1', 'b1', 'w2', 'b2'];
  for (const name of names) {
    const values = model.weights[name];
    if (!values) continue;
    add(name, values, name.startsWith('w') ? weightDtype : biasDtype, [...shapes[name]]);
  }
  let seed: HeadJson['seed'];
  if (model.seed.kind === 'image') {
    const { width, height, data } = model.seed;
    add('seed', data, options.seedDtype ?? 'float16', [height, width, model.topology.channels]);
    seed = { kind: 'image', width, height, tensor: 'seed' };
  } else {
    seed = model.seed;
  }
  const head: HeadJson = { topology: model.topology, seed, tensors: parts.map((p) => p.entry) };
  // Validate what we are about to write with the very checks the decoder runs.
  validateHead(head);

  const data = new Uint8Array(offset);
  for (const { entry, values } of parts) {
    const expected = elementCount(entry.shape);
    if (values.length !== expected) fail('bad-tensor', `tensor "${entry.name}" has ${values.length} values, expected ${expected}`);
    data.set(encodeTensor(values, entry.dtype, entry.shape), entry.offset);
  }
  const chunks: [string, Uint8Array][] = [
    ['HEAD', encoder.encode(JSON.stringify(head))],
    ['DATA', data],
  ];
  if (Object.keys(model.metadata).length > 0) chunks.push(['meta', encoder.encode(JSON.stringify(model.metadata))]);
  return assemble(chunks, formatMinor(model.topology, model.seed));
}

/** Header + chunks + CRC trailer. Exported so that tests can build deliberately odd files. */
export function assemble(chunks: [string, Uint8Array][], minor = 0): Uint8Array {
  let total = HEADER_BYTES + TRAILER_BYTES;
  for (const [, payload] of chunks) total += CHUNK_HEADER_BYTES + align4(payload.length);
  const out = new Uint8Array(total);
  const view = new DataView(out.buffer);
  out.set(SIGNATURE, 0);
  view.setUint16(8, VERSION_MAJOR, true);
  view.setUint16(10, minor, true);
  view.setUint32(12, total, true);
  let p = HEADER_BYTES;
  for (const [type, payload] of chunks) {
    for (let i = 0; i < 4; i++) out[p + i] = type.charCodeAt(i);
    view.setUint32(p + 4, payload.length, true);
    out.set(payload, p + CHUNK_HEADER_BYTES);
    p += CHUNK_HEADER_BYTES + align4(payload.length);
  }
  view.setUint32(total - TRAILER_BYTES, crc32(out.subarray(0, total - TRAILER_BYTES)), true);
  return out;
}

/** Decodes and validates a `.nca` file. Throws NcaFormatError, and only that, on bad input. */
export function decodeNca(input: Uint8Array | ArrayBuffer): DecodedNca {
  try {
    return decodeUnchecked(input instanceof Uint8Array ? input : new Uint8Array(input));
  } catch (error) {
    if (error instanceof NcaFormatError) throw error;
    // Defence in depth: any other failure is still a bad file, reported the same way.
    throw new NcaFormatError('bad-chunk', `unreadable file (${(error as Error).message})`);
  }
}

function decodeUnchecked(bytes: Uint8Array): DecodedNca {
  if (bytes.length < SIGNATURE.length || SIGNATURE.some((b, i) => bytes[i] !== b)) {
    fail('bad-signature', 'not a .nca file (the signature is missing)');
  }
  if (bytes.length < HEADER_BYTES + TRAILER_BYTES) fail('truncated', `file is truncated (${bytes.length} bytes)`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const major = view.getUint16(8, true);
  const minor = view.getUint16(10, true);
  if (major !== VERSION_MAJOR || minor > VERSION_MINOR) {
    // A newer minor version may change how the model runs (v1.1 added alive masking), so it is not guessed at.
    fail('unsupported-version', `format version ${major}.${minor} is not supported (this reader supports ${VERSION_MAJOR}.0 to ${VERSION_MAJOR}.${VERSION_MINOR}; update the player)`);
  }
  const declared = view.getUint32(12, true);
  if (declared > bytes.length) fail('truncated', `file is truncated: ${bytes.length} of ${declared} bytes`);
  if (declared !== bytes.length) fail('bad-length', `file has ${bytes.length} bytes but declares ${declared}`);
  const end = bytes.length - TRAILER_BYTES;
  const stored = view.getUint32(end, true);
  const actual = crc32(bytes.subarray(0, end));
  if (stored !== actual) fail('bad-checksum', 'checksum mismatch: the file is corrupt');

  const chunks: ChunkInfo[] = [];
  const payloads = new Map<string, Uint8Array>();
  let p = HEADER_BYTES;
  while (p < end) {
    if (end - p < CHUNK_HEADER_BYTES) fail('bad-chunk', `chunk header at byte ${p} is cut off`);
    const type = String.fromCharCode(...bytes.subarray(p, p + 4));
    if (!/^[A-Za-z][A-Za-z0-9]{3}$/.test(type)) fail('bad-chunk', `invalid chunk type at byte ${p}`);
    const length = view.getUint32(p + 4, true);
    const start = p + CHUNK_HEADER_BYTES;
    if (length > end - start || align4(length) > end - start) fail('bad-chunk', `chunk ${type} overruns the file`);
    const required = type[0] >= 'A' && type[0] <= 'Z';
    const known = type === 'HEAD' || type === 'DATA' || type === 'meta';
    if (required && !known) fail('unknown-required-chunk', `required chunk ${type} is not understood by this reader`);
    if (known && payloads.has(type)) fail('bad-chunk', `chunk ${type} appears twice`);
    if (known) payloads.set(type, bytes.subarray(start, start + length));
    chunks.push({ type, length, skipped: !known });
    p = start + align4(length);
  }
  const headBytes = payloads.get('HEAD') ?? fail('missing-chunk', 'the HEAD chunk is missing');
  const data = payloads.get('DATA') ?? fail('missing-chunk', 'the DATA chunk is missing');
  const head = validateHead(parseJson(headBytes, 'HEAD'));
  const metaBytes = payloads.get('meta');
  const metadata: Metadata = metaBytes ? validateMetadata(parseJson(metaBytes, 'meta')) : {};

  const values = new Map<string, Float32Array>();
  for (const t of head.tensors) {
    if (t.offset + t.length > data.length) fail('bad-tensor', `tensor "${t.name}" lies outside the DATA chunk`);
    values.set(t.name, decodeTensor(data.subarray(t.offset, t.offset + t.length), t.dtype, t.shape, t.name));
  }
  const weights: Weights = { w1: values.get('w1')!, b1: values.get('b1')!, w2: values.get('w2')! };
  if (values.has('b2')) weights.b2 = values.get('b2');
  const seed: NcaModel['seed'] =
    head.seed.kind === 'image'
      ? { kind: 'image', width: head.seed.width, height: head.seed.height, data: values.get('seed')! }
      : head.seed;
  return {
    model: { topology: head.topology, weights, seed, metadata },
    file: { version: `${major}.${minor}`, byteLength: bytes.length, chunks, tensors: head.tensors },
  };
}

function parseJson(bytes: Uint8Array, chunk: string): unknown {
  try {
    return JSON.parse(decoder.decode(bytes));
  } catch {
    fail('bad-json', `chunk ${chunk} is not valid UTF-8 JSON`);
  }
}
