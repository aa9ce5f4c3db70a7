/**
 * A reader for Hugging Face `.safetensors` files: an 8-byte little-endian header
 * length, a JSON header mapping tensor names to {dtype, shape, data_offsets},
 * then the raw tensor bytes. Every offset is validated before any byte is read,
 * and tensors are read one at a time on demand, so that loading only the image
 * tower of a 600 MB checkpoint reads only its bytes.
 */
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';

/** Bytes per element of every dtype the format defines (only the float ones are decoded). */
const DTYPE_BYTES: Record<string, number> = {
  BOOL: 1, U8: 1, I8: 1, F8_E4M3: 1, F8_E5M2: 1,
  I16: 2, U16: 2, F16: 2, BF16: 2,
  I32: 4, U32: 4, F32: 4,
  I64: 8, U64: 8, F64: 8,
};

/** Headers are a few hundred kB even for large models; a bigger one means a corrupt or hostile file. */
const MAX_HEADER_BYTES = 100 * 1024 * 1024;

export interface TensorInfo {
  name: string;
  dtype: string;
  shape: number[];
  /** Byte range inside the data section (after the header). */
  begin: number;
  end: number;
}

export class SafetensorsError extends Error {}

export class SafetensorsFile {
  private constructor(
    readonly path: string,
    private fd: number | null,
    /** File offset of the data section. */
    private readonly dataStart: number,
    readonly metadata: Record<string, string>,
    private readonly tensors: Map<string, TensorInfo>,
  ) {}

  /** Opens a file and validates its whole header; no tensor data is read yet. */
  static open(path: string): SafetensorsFile {
    const fd = openSync(path, 'r');
    try {
      const fileSize = fstatSync(fd).size;
      const fail = (why: string): never => {
        throw new SafetensorsError(`${path}: not a valid safetensors file: ${why}`);
      };
      if (fileSize < 8) fail(`only ${fileSize} bytes`);
      const lenBuf = Buffer.alloc(8);
      readFully(fd, lenBuf, 0);
      const headerLen = Number(lenBuf.readBigUInt64LE(0));
      if (headerLen > MAX_HEADER_BYTES) fail(`header length ${headerLen} exceeds ${MAX_HEADER_BYTES} bytes`);
      if (8 + headerLen > fileSize) fail(`header length ${headerLen} runs past the end of the ${fileSize}-byte file`);
      const headerBuf = Buffer.alloc(headerLen);
      readFully(fd, headerBuf, 8);
      const { metadata, tensors } = parseHeader(headerBuf, fileSize - 8 - headerLen, fail);
      return new SafetensorsFile(path, fd, 8 + headerLen, metadata, tensors);
    } catch (err) {
      closeSync(fd);
      throw err;
    }
  }

  names(): string[] {
    return [...this.tensors.keys()];
  }

  has(name: string): boolean {
    return this.tensors.has(name);
  }

  info(name: string): TensorInfo {
    const t = this.tensors.get(name);
    if (!t) throw new SafetensorsError(`${this.path}: no tensor named "${name}"${suggest(name, this.names())}`);
    return t;
  }

  /** Reads one tensor and converts it to float32 (from F32, F16, BF16 or F64). */
  readFloat32(name: string, expectShape?: readonly number[]): Float32Array {
    const t = this.info(name);
    if (expectShape && (expectShape.length !== t.shape.length || expectShape.some((d, i) => d !== t.shape[i]))) {
      throw new SafetensorsError(
        `${this.path}: tensor "${name}" has shape [${t.shape.join(', ')}], expected [${expectShape.join(', ')}]`,
      );
    }
    const decode = DECODERS[t.dtype];
    if (!decode) throw new SafetensorsError(`${this.path}: tensor "${name}" is ${t.dtype}; only F32, F16, BF16 and F64 can be read as floats`);
    if (this.fd === null) throw new SafetensorsError(`${this.path}: file is closed`);
    // A fresh ArrayBuffer is always aligned, so typed views over it are allowed.
    const bytes = new Uint8Array(t.end - t.begin);
    readFully(this.fd, bytes, this.dataStart + t.begin);
    return decode(bytes);
  }

  close(): void {
    if (this.fd !== null) closeSync(this.fd);
    this.fd = null;
  }
}

function parseHeader(
  buf: Buffer,
  dataSize: number,
  fail: (why: string) => never,
): { metadata: Record<string, string>; tensors: Map<string, TensorInfo> } {
  let header: unknown;
  try {
    header = JSON.parse(buf.toString('utf8'));
  } catch (err) {
    fail(`header is not JSON (${(err as Error).message})`);
  }
  if (!isObject(header)) fail('header is not a JSON object');
  const metadata: Record<string, string> = {};
  const tensors = new Map<string, TensorInfo>();
  for (const [name, entry] of Object.entries(header as Record<string, unknown>)) {
    if (name === '__metadata__') {
      if (!isObject(entry)) fail('__metadata__ is not an object');
      for (const [k, v] of Object.entries(entry as Record<string, unknown>)) {
        if (typeof v !== 'string') fail(`__metadata__.${k} is not a string`);
        metadata[k] = v as string;
      }
      continue;
    }
    tensors.set(name, parseEntry(name, entry, fail));
  }
  // The data section must be covered exactly: no overlaps, no holes, nothing past its end.
  let cursor = 0;
  for (const t of [...tensors.values()].sort((a, b) => a.begin - b.begin || a.end - b.end)) {
    if (t.begin !== cursor) fail(`tensor "${t.name}" starts at byte ${t.begin}, expected ${cursor} (overlap or hole)`);
    cursor = t.end;
  }
  if (cursor !== dataSize) fail(`tensors cover ${cursor} bytes but the data section has ${dataSize}`);
  return { metadata, tensors };
}

function parseEntry(name: string, entry: unknown, fail: (why: string) => never): TensorInfo {
  if (!isObject(entry)) fail(`tensor "${name}" is not an object`);
  const { dtype, shape, data_offsets: offsets } = entry as Record<string, unknown>;
  if (typeof dtype !== 'string' || !(dtype in DTYPE_BYTES)) fail(`tensor "${name}" has unknown dtype ${JSON.stringify(dtype)}`);
  if (!Array.isArray(shape) || !shape.every(isCount)) fail(`tensor "${name}" has a bad shape ${JSON.stringify(shape)}`);
  if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every(isCount) || offsets[0] > offsets[1]) {
    fail(`tensor "${name}" has bad data_offsets ${JSON.stringify(offsets)}`);
  }
  const dims = shape as number[];
  const [begin, end] = offsets as number[];
  const bytes = dims.reduce((a, b) => a * b, 1) * DTYPE_BYTES[dtype as string];
  if (end - begin !== bytes) {
    fail(`tensor "${name}" (${dtype}[${dims.join(', ')}]) needs ${bytes} bytes but data_offsets span ${end - begin}`);
  }
  return { name, dtype: dtype as string, shape: dims, begin, end };
}

const DECODERS: Record<string, (bytes: Uint8Array) => Float32Array> = {
  F32: (b) => new Float32Array(b.buffer, b.byteOffset, b.byteLength / 4),
  F64: (b) => Float32Array.from(new Float64Array(b.buffer, b.byteOffset, b.byteLength / 8)),
  F16: (b) => {
    const bits = new Uint16Array(b.buffer, b.byteOffset, b.byteLength / 2);
    const table = halfTable();
    const out = new Float32Array(bits.length);
    for (let i = 0; i < bits.length; i++) out[i] = table[bits[i]];
    return out;
  },
  // bfloat16 is the top half of a float32.
  BF16: (b) => {
    const bits = new Uint16Array(b.buffer, b.byteOffset, b.byteLength / 2);
    const out = new Uint32Array(bits.length);
    for (let i = 0; i < bits.length; i++) out[i] = bits[i] << 16;
    return new Float32Array(out.buffer);
  },
};

let halfCache: Float32Array | null = null;

/** All 65536 float16 values, decoded once: a lookup is faster than bit twiddling per element. */
function halfTable(): Float32Array {
  if (halfCache) return halfCache;
  halfCache = new Float32Array(65536);
  for (let h = 0; h < 65536; h++) {
    const sign = h & 0x8000 ? -1 : 1;
    const exp = (h >> 10) & 0x1f;
    const frac = h & 0x3ff;
    if (exp === 0) halfCache[h] = sign * frac * 2 ** -24;
    else if (exp === 31) halfCache[h] = frac ? NaN : sign * Infinity;
    else halfCache[h] = sign * (1 + frac / 1024) * 2 ** (exp - 15);
  }
  return halfCache;
}

function readFully(fd: number, into: Uint8Array, position: number): void {
  let done = 0;
  while (done < into.byteLength) {
    // readSync reads at most 2 GiB at a time.
    const n = readSync(fd, into, done, Math.min(into.byteLength - done, 1 << 30), position + done);
    if (n === 0) throw new SafetensorsError(`unexpected end of file at byte ${position + done}`);
    done += n;
  }
}

function isObject(v: unknown): boolean {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function isCount(v: unknown): boolean {
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
}

/** " (did you mean ...?)" with names sharing the longest suffix, to help with prefix mismatches. */
function suggest(name: string, names: string[]): string {
  const tail = name.split('.').slice(-3).join('.');
  const close = names.filter((n) => n.endsWith(tail)).slice(0, 3);
  return close.length ? ` (did you mean ${close.map((n) => `"${n}"`).join(', ')}?)` : '';
}
