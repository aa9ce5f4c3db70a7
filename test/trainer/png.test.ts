// The PNG codec: round trips, the colour types other tools write, and clear errors on bad files.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { deflateSync } from 'node:zlib';
import { crc32 } from '../../formats/crc32.ts';
import { decodePng, encodePng, PngError } from '../../trainer/image/png.ts';

/** An independent minimal PNG writer: filter 0 on every row, any colour type/depth, extra chunks. */
function rawPng(width: number, height: number, colorType: number, depth: number, rows: number[][], extra: [string, number[]][] = [], interlace = 0): Uint8Array {
  const chunk = (type: string, body: Uint8Array) => {
    const out = Buffer.alloc(12 + body.length);
    out.writeUInt32BE(body.length, 0);
    out.write(type, 4, 'latin1');
    Buffer.from(body).copy(out, 8);
    out.writeUInt32BE(crc32(out.subarray(4, 8 + body.length)), 8 + body.length);
    return out;
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr.set([depth, colorType, 0, 0, interlace], 8);
  const data = Buffer.from(rows.flatMap((r) => [0, ...r]));
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', ihdr),
    ...extra.map(([t, b]) => chunk(t, Uint8Array.from(b))),
    chunk('IDAT', deflateSync(data)),
    chunk('IEND', new Uint8Array(0)),
  ]);
}

test('RGBA round trip', () => {
  const width = 5;
  const height = 3;
  const data = Uint8Array.from({ length: width * height * 4 }, (_, i) => (i * 37 + 11) % 256);
  const back = decodePng(encodePng({ width, height, data }));
  assert.equal(back.width, width);
  assert.equal(back.height, height);
  assert.deepEqual(back.data, data);
});

test('8-bit grey, grey+alpha and 16-bit RGB decode to RGBA8', () => {
  assert.deepEqual(Array.from(decodePng(rawPng(2, 1, 0, 8, [[7, 200]])).data), [7, 7, 7, 255, 200, 200, 200, 255]);
  assert.deepEqual(Array.from(decodePng(rawPng(1, 1, 4, 8, [[90, 30]])).data), [90, 90, 90, 30]);
  // 16-bit samples keep their high byte
  assert.deepEqual(Array.from(decodePng(rawPng(1, 1, 2, 16, [[0x12, 0x34, 0xab, 0xcd, 0xff, 0x00]])).data), [0x12, 0xab, 0xff, 255]);
});

test('4-bit palette with transparency, and 1-bit grey', () => {
  const palette: [string, number[]] = ['PLTE', [255, 0, 0, 0, 255, 0, 0, 0, 255]];
  const trns: [string, number[]] = ['tRNS', [255, 128]];
  // indices 0, 1, 2 packed two per byte: 0x01, 0x20
  const img = decodePng(rawPng(3, 1, 3, 4, [[0x01, 0x20]], [palette, trns]));
  assert.deepEqual(Array.from(img.data), [255, 0, 0, 255, 0, 255, 0, 128, 0, 0, 255, 255]);
  assert.deepEqual(Array.from(decodePng(rawPng(3, 1, 0, 1, [[0b10100000]])).data.filter((_, i) => i % 4 === 0)), [255, 0, 255]);
});

test('bad files fail with a PngError that says why', () => {
  const good = encodePng({ width: 2, height: 2, data: new Uint8Array(16).fill(9) });
  assert.throws(() => decodePng(new Uint8Array([1, 2, 3])), (e: Error) => e instanceof PngError && /signature/.test(e.message));
  const corrupt = good.slice();
  corrupt[20] ^= 0xff; // inside IHDR
  assert.throws(() => decodePng(corrupt), (e: Error) => e instanceof PngError && /CRC/.test(e.message));
  assert.throws(() => decodePng(good.subarray(0, good.length - 20)), (e: Error) => e instanceof PngError && /truncated/.test(e.message));
  assert.throws(() => decodePng(rawPng(1, 1, 2, 8, [[1, 2, 3]], [], 1)), (e: Error) => e instanceof PngError && /interlaced/.test(e.message));
});
