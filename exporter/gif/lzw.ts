/**
 * The variable-length LZW coder of GIF89a (Appendix F): codes grow from
 * minCodeSize + 1 bits up to 12, and a clear code restarts the table when it fills.
 * Output is the packed bit stream (LSB first), not yet split into sub-blocks.
 */

const MAX_CODES = 4096;

class BitWriter {
  private bytes = new Uint8Array(4096);
  private length = 0;
  private acc = 0;
  private bits = 0;

  write(code: number, size: number): void {
    this.acc |= code << this.bits;
    this.bits += size;
    while (this.bits >= 8) {
      this.push(this.acc & 0xff);
      this.acc >>>= 8;
      this.bits -= 8;
    }
  }

  finish(): Uint8Array {
    if (this.bits > 0) this.push(this.acc & 0xff);
    this.acc = 0;
    this.bits = 0;
    return this.bytes.subarray(0, this.length);
  }

  private push(byte: number): void {
    if (this.length === this.bytes.length) {
      const grown = new Uint8Array(this.bytes.length * 2);
      grown.set(this.bytes);
      this.bytes = grown;
    }
    this.bytes[this.length++] = byte;
  }
}

/** LZW-compresses palette indices (each < 2^minCodeSize). */
export function lzwEncode(indices: Uint8Array, minCodeSize: number): Uint8Array {
  const clear = 1 << minCodeSize;
  const end = clear + 1;
  // table[prefix * 256 + next] = code of the string prefix + next, or 0 when absent.
  const table = new Uint16Array(MAX_CODES * 256);
  const out = new BitWriter();
  let codeSize = minCodeSize + 1;
  let nextCode = end + 1;
  out.write(clear, codeSize);
  if (indices.length === 0) {
    out.write(end, codeSize);
    return out.finish();
  }
  let prefix = indices[0];
  for (let i = 1; i < indices.length; i++) {
    const k = indices[i];
    const key = prefix * 256 + k;
    const known = table[key];
    if (known !== 0) {
      prefix = known;
      continue;
    }
    out.write(prefix, codeSize);
    if (nextCode === MAX_CODES) {
      // The table is full: restart it rather than keep coding with a stale one.
      out.write(clear, codeSize);
      table.fill(0);
      codeSize = minCodeSize + 1;
      nextCode = end + 1;
    } else {
      // The decoder adds this code one step later, so it widens its codes exactly here too.
      if (nextCode >= 1 << codeSize) codeSize++;
      table[key] = nextCode++;
    }
    prefix = k;
  }
  out.write(prefix, codeSize);
  out.write(end, codeSize);
  return out.finish();
}
