/**
 * A small, independent GIF89a decoder for tests: it checks what the exporter's
 * encoder writes by reading it back the way a browser would (block structure,
 * loop extension, delays, LZW with code growth and clear codes).
 */

export interface DecodedGif {
  width: number;
  height: number;
  /** From the NETSCAPE2.0 extension; undefined when there is none (plays once). */
  loopCount?: number;
  frames: { rgba: Uint8Array; delayCs: number }[];
}

class Reader {
  at = 0;
  constructor(private readonly bytes: Uint8Array) {}
  u8(): number {
    if (this.at >= this.bytes.length) throw new Error(`GIF truncated at byte ${this.at}`);
    return this.bytes[this.at++];
  }
  u16(): number {
    return this.u8() | (this.u8() << 8);
  }
  take(n: number): Uint8Array {
    if (this.at + n > this.bytes.length) throw new Error(`GIF truncated at byte ${this.at}`);
    const out = this.bytes.subarray(this.at, this.at + n);
    this.at += n;
    return out;
  }
  blocks(): Uint8Array {
    const parts: number[] = [];
    for (let n = this.u8(); n !== 0; n = this.u8()) parts.push(...this.take(n));
    return Uint8Array.from(parts);
  }
}

function lzwDecode(data: Uint8Array, minCodeSize: number, pixelCount: number): Uint8Array {
  const clear = 1 << minCodeSize;
  const end = clear + 1;
  const out = new Uint8Array(pixelCount);
  let written = 0;
  let dict: number[][] = [];
  let codeSize = 0;
  const reset = () => {
    dict = Array.from({ length: clear + 2 }, (_, i) => [i]);
    codeSize = minCodeSize + 1;
  };
  reset();
  let bitPos = 0;
  let previous: number[] | null = null;
  while (bitPos + codeSize <= data.length * 8) {
    let code = 0;
    for (let i = 0; i < codeSize; i++, bitPos++) code |= ((data[bitPos >> 3] >> (bitPos & 7)) & 1) << i;
    if (code === clear) {
      reset();
      previous = null;
      continue;
    }
    if (code === end) break;
    let entry: number[];
    if (code < dict.length) entry = dict[code];
    else if (code === dict.length && previous) entry = [...previous, previous[0]];
    else throw new Error(`bad LZW code ${code} (dictionary has ${dict.length})`);
    for (const v of entry) if (written < pixelCount) out[written++] = v;
    if (previous && dict.length < 4096) dict.push([...previous, entry[0]]);
    if (dict.length === 1 << codeSize && codeSize < 12) codeSize++;
    previous = entry;
  }
  if (written !== pixelCount) throw new Error(`LZW data holds ${written} pixels, expected ${pixelCount}`);
  return out;
}

export function decodeGif(bytes: Uint8Array): DecodedGif {
  const r = new Reader(bytes);
  const signature = String.fromCharCode(...r.take(6));
  if (signature !== 'GIF89a' && signature !== 'GIF87a') throw new Error(`not a GIF: ${signature}`);
  const width = r.u16();
  const height = r.u16();
  const packed = r.u8();
  r.u8(); // background index
  r.u8(); // aspect
  const globalTable = packed & 0x80 ? r.take(3 * (1 << ((packed & 7) + 1))) : null;
  const gif: DecodedGif = { width, height, frames: [] };
  const canvas = new Uint8Array(width * height * 4);
  let delayCs = 0;
  for (;;) {
    const block = r.u8();
    if (block === 0x3b) break;
    if (block === 0x21) {
      const label = r.u8();
      const body = r.blocks();
      if (label === 0xf9) delayCs = body[1] | (body[2] << 8);
      if (label === 0xff && String.fromCharCode(...body.subarray(0, 11)) === 'NETSCAPE2.0' && body[11] === 1) {
        gif.loopCount = body[12] | (body[13] << 8);
      }
      continue;
    }
    if (block !== 0x2c) throw new Error(`unknown block 0x${block.toString(16)} at byte ${r.at - 1}`);
    const left = r.u16();
    const top = r.u16();
    const w = r.u16();
    const h = r.u16();
    const flags = r.u8();
    if (flags & 0x40) throw new Error('interlaced frames are not supported by this test decoder');
    const table = flags & 0x80 ? r.take(3 * (1 << ((flags & 7) + 1))) : globalTable;
    if (!table) throw new Error('frame without a colour table');
    const minCodeSize = r.u8();
    const indices = lzwDecode(r.blocks(), minCodeSize, w * h);
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w; x++) {
        const index = indices[y * w + x];
        if (index * 3 >= table.length) throw new Error(`colour index ${index} outside the table`);
        const at = ((top + y) * width + left + x) * 4;
        canvas.set([table[index * 3], table[index * 3 + 1], table[index * 3 + 2], 255], at);
      }
    }
    gif.frames.push({ rgba: canvas.slice(), delayCs });
  }
  return gif;
}
