/**
 * GIF89a writer for animations: one global palette, a NETSCAPE2.0 loop extension,
 * and a graphic control extension (the frame delay) before every frame.
 */
import { lzwEncode } from './lzw.ts';
import { buildPalette, PaletteMapper, type Palette } from './palette.ts';

export interface GifOptions {
  width: number;
  height: number;
  /** Frame delay in hundredths of a second (GIF's unit). */
  delayCs: number;
  /** 0 = loop forever (the default); n = play n + 1 times. */
  loopCount?: number;
}

class ByteSink {
  readonly parts: Uint8Array[] = [];
  bytes(values: ArrayLike<number>): void {
    this.parts.push(Uint8Array.from(values));
  }
  u16(v: number): void {
    this.bytes([v & 0xff, (v >> 8) & 0xff]);
  }
  ascii(text: string): void {
    this.bytes(Array.from(text, (ch) => ch.charCodeAt(0)));
  }
  /** Data as sub-blocks of at most 255 bytes, ended by an empty block. */
  subBlocks(data: Uint8Array): void {
    for (let at = 0; at < data.length; at += 255) {
      const chunk = data.subarray(at, at + 255);
      this.bytes([chunk.length]);
      this.parts.push(chunk);
    }
    this.bytes([0]);
  }
  concat(): Uint8Array {
    const out = new Uint8Array(this.parts.reduce((n, p) => n + p.length, 0));
    let at = 0;
    for (const p of this.parts) out.set(p, at), (at += p.length);
    return out;
  }
}

const MAX_DIMENSION = 0xffff;

/** Encodes opaque RGBA8 frames (alpha ignored) as a looping animated GIF. */
export function encodeGif(frames: readonly Uint8Array[], options: GifOptions, palette: Palette = buildPalette(frames)): Uint8Array {
  const { width, height, delayCs, loopCount = 0 } = options;
  if (!(width >= 1 && height >= 1 && width <= MAX_DIMENSION && height <= MAX_DIMENSION)) {
    throw new Error(`GIF size ${width}x${height} is outside 1..${MAX_DIMENSION}`);
  }
  if (frames.length === 0) throw new Error('a GIF needs at least one frame');
  for (const f of frames) {
    if (f.length !== width * height * 4) throw new Error(`frame has ${f.length / 4} pixels, expected ${width}x${height}`);
  }
  const sizeBits = Math.log2(palette.size);
  const out = new ByteSink();
  out.ascii('GIF89a');
  out.u16(width);
  out.u16(height);
  // Global colour table present, 8 bits of colour resolution, table size 2^(sizeBits).
  out.bytes([0x80 | (7 << 4) | (sizeBits - 1), 0, 0]);
  out.parts.push(palette.colors);
  // NETSCAPE2.0 application extension: the loop count.
  out.bytes([0x21, 0xff, 11]);
  out.ascii('NETSCAPE2.0');
  out.bytes([3, 1]);
  out.u16(loopCount);
  out.bytes([0]);
  const mapper = new PaletteMapper(palette);
  const minCodeSize = Math.max(2, sizeBits);
  for (const frame of frames) {
    // Graphic control extension: disposal "do not dispose" (1), no transparency, the delay.
    out.bytes([0x21, 0xf9, 4, 1 << 2]);
    out.u16(delayCs);
    out.bytes([0, 0]);
    // Image descriptor: the full canvas, no local table, not interlaced.
    out.bytes([0x2c]);
    out.u16(0);
    out.u16(0);
    out.u16(width);
    out.u16(height);
    out.bytes([0, minCodeSize]);
    out.subBlocks(lzwEncode(mapper.map(frame), minCodeSize));
  }
  out.bytes([0x3b]);
  return out.concat();
}
