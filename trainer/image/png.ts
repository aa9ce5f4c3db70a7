/**
 * A small PNG codec on node:zlib. Decodes every non-interlaced PNG
 * (grey, RGB, palette, grey+alpha, RGBA; 1-16 bits) to RGBA8, and encodes RGBA8.
 */
import { deflateSync, inflateSync } from 'node:zlib';
import { crc32 } from '../../formats/crc32.ts';

export interface RgbaImage {
  width: number;
  height: number;
  /** RGBA8, row-major, not premultiplied. */
  data: Uint8Array;
}

export class PngError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PngError';
  }
}

const SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];
const CHANNELS: Record<number, number> = { 0: 1, 2: 3, 3: 1, 4: 2, 6: 4 };
const MAX_PIXELS = 1 << 28;

export function decodePng(bytes: Uint8Array): RgbaImage {
  if (bytes.length < 8 || SIGNATURE.some((b, i) => bytes[i] !== b)) throw new PngError('not a PNG file (bad signature)');
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let width = 0;
  let height = 0;
  let depth = 0;
  let colorType = -1;
  let palette: Uint8Array | undefined;
  let transparency: Uint8Array | undefined;
  const idat: Uint8Array[] = [];
  let pos = 8;
  for (;;) {
    if (pos + 12 > bytes.length) throw new PngError('truncated PNG (no IEND chunk)');
    const length = view.getUint32(pos);
    const type = String.fromCharCode(...bytes.subarray(pos + 4, pos + 8));
    if (pos + 12 + length > bytes.length) throw new PngError(`truncated PNG (chunk ${type})`);
    const body = bytes.subarray(pos + 8, pos + 8 + length);
    if (crc32(bytes.subarray(pos + 4, pos + 8 + length)) !== view.getUint32(pos + 8 + length)) {
      throw new PngError(`corrupt PNG (bad CRC in chunk ${type})`);
    }
    pos += 12 + length;
    if (type === 'IHDR') {
      const h = new DataView(body.buffer, body.byteOffset, body.byteLength);
      width = h.getUint32(0);
      height = h.getUint32(4);
      depth = body[8];
      colorType = body[9];
      if (!(colorType in CHANNELS)) throw new PngError(`unsupported PNG colour type ${colorType}`);
      if (body[12] !== 0) throw new PngError('interlaced PNGs are not supported: save the image without interlacing');
      if (width === 0 || height === 0 || width * height > MAX_PIXELS) throw new PngError(`bad PNG size ${width}x${height}`);
    } else if (type === 'PLTE') palette = body;
    else if (type === 'tRNS') transparency = body;
    else if (type === 'IDAT') idat.push(body);
    else if (type === 'IEND') break;
  }
  if (colorType < 0) throw new PngError('PNG has no IHDR chunk');
  if (colorType === 3 && !palette) throw new PngError('palette PNG without a PLTE chunk');
  const channels = CHANNELS[colorType];
  const bitsPerPixel = channels * depth;
  const stride = Math.ceil((width * bitsPerPixel) / 8);
  let raw: Uint8Array;
  try {
    raw = inflateSync(Buffer.concat(idat));
  } catch (error) {
    throw new PngError(`corrupt PNG image data (${(error as Error).message})`);
  }
  if (raw.length < height * (stride + 1)) throw new PngError('truncated PNG image data');
  const rows = unfilter(raw, height, stride, Math.max(1, bitsPerPixel >> 3));

  const out = new Uint8Array(width * height * 4);
  const sample = (row: Uint8Array, index: number): number => {
    if (depth === 8) return row[index];
    if (depth === 16) return row[2 * index]; // high byte
    const perByte = 8 / depth;
    const shift = 8 - depth * ((index % perByte) + 1);
    return (row[Math.floor(index / perByte)] >> shift) & ((1 << depth) - 1);
  };
  const scaleToByte = (v: number) => (depth >= 8 ? v : Math.round((v * 255) / ((1 << depth) - 1)));
  const transparentGrey = transparency && colorType === 0 ? (transparency[0] << 8) | transparency[1] : -1;
  const transparentRgb = transparency && colorType === 2 ? [0, 2, 4].map((i) => (transparency![i] << 8) | transparency![i + 1]) : undefined;
  const full = (row: Uint8Array, index: number) => (depth === 16 ? (row[2 * index] << 8) | row[2 * index + 1] : sample(row, index));
  for (let y = 0; y < height; y++) {
    const row = rows[y];
    for (let x = 0; x < width; x++) {
      const o = (y * width + x) * 4;
      if (colorType === 3) {
        const i = sample(row, x);
        if (3 * i + 2 >= palette!.length) throw new PngError(`palette index ${i} out of range`);
        out.set(palette!.subarray(3 * i, 3 * i + 3), o);
        out[o + 3] = transparency && i < transparency.length ? transparency[i] : 255;
      } else if (colorType === 0 || colorType === 4) {
        const v = scaleToByte(sample(row, x * channels));
        out[o] = out[o + 1] = out[o + 2] = v;
        out[o + 3] = colorType === 4 ? sample(row, x * channels + 1) : full(row, x) === transparentGrey ? 0 : 255;
      } else {
        for (let c = 0; c < 3; c++) out[o + c] = sample(row, x * channels + c);
        if (colorType === 6) out[o + 3] = sample(row, x * channels + 3);
        else out[o + 3] = transparentRgb && [0, 1, 2].every((c) => full(row, x * 3 + c) === transparentRgb[c]) ? 0 : 255;
      }
    }
  }
  return { width, height, data: out };
}

/** Undoes the per-row PNG filters; `bpp` = bytes per complete pixel (at least 1). */
function unfilter(raw: Uint8Array, height: number, stride: number, bpp: number): Uint8Array[] {
  const rows: Uint8Array[] = [];
  let prev = new Uint8Array(stride);
  for (let y = 0; y < height; y++) {
    const filter = raw[y * (stride + 1)];
    const line = raw.slice(y * (stride + 1) + 1, (y + 1) * (stride + 1));
    for (let i = 0; i < stride; i++) {
      const a = i >= bpp ? line[i - bpp] : 0;
      const b = prev[i];
      const c = i >= bpp ? prev[i - bpp] : 0;
      let add: number;
      if (filter === 0) add = 0;
      else if (filter === 1) add = a;
      else if (filter === 2) add = b;
      else if (filter === 3) add = (a + b) >> 1;
      else if (filter === 4) add = paeth(a, b, c);
      else throw new PngError(`bad PNG filter type ${filter} on row ${y}`);
      line[i] = (line[i] + add) & 0xff;
    }
    rows.push(line);
    prev = line;
  }
  return rows;
}

function paeth(a: number, b: number, c: number): number {
  const p = a + b - c;
  const pa = Math.abs(p - a);
  const pb = Math.abs(p - b);
  const pc = Math.abs(p - c);
  return pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
}

/** RGBA8 -> PNG bytes (colour type 6, 8 bits, "Sub" filter on every row). */
export function encodePng(image: RgbaImage): Uint8Array {
  const { width, height, data } = image;
  if (data.length !== width * height * 4) throw new PngError(`encodePng: ${data.length} bytes for ${width}x${height} RGBA`);
  const stride = width * 4;
  const raw = new Uint8Array(height * (stride + 1));
  for (let y = 0; y < height; y++) {
    const o = y * (stride + 1);
    raw[o] = 1;
    for (let i = 0; i < stride; i++) raw[o + 1 + i] = (data[y * stride + i] - (i >= 4 ? data[y * stride + i - 4] : 0)) & 0xff;
  }
  const header = new Uint8Array(13);
  const h = new DataView(header.buffer);
  h.setUint32(0, width);
  h.setUint32(4, height);
  header.set([8, 6, 0, 0, 0], 8);
  return concat([Uint8Array.from(SIGNATURE), chunk('IHDR', header), chunk('IDAT', deflateSync(raw)), chunk('IEND', new Uint8Array(0))]);
}

function chunk(type: string, body: Uint8Array): Uint8Array {
  const out = new Uint8Array(12 + body.length);
  const view = new DataView(out.buffer);
  view.setUint32(0, body.length);
  out.set(new TextEncoder().encode(type), 4);
  out.set(body, 8);
  view.setUint32(8 + body.length, crc32(out.subarray(4, 8 + body.length)));
  return out;
}

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) (out.set(p, o), (o += p.length));
  return out;
}
