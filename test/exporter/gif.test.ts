import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Rng } from '../../formats/index.ts';
import { encodeGif } from '../../exporter/gif/encoder.ts';
import { buildPalette } from '../../exporter/gif/palette.ts';
import { decodeGif } from '../helpers/gif-decoder.ts';

/** Frames whose pixels are drawn from `colors` distinct random colours. */
function framesFrom(width: number, height: number, count: number, colors: number, seed = 1): Uint8Array[] {
  const rng = new Rng(seed);
  const table = Array.from({ length: colors }, () => [rng.int(0, 255), rng.int(0, 255), rng.int(0, 255)]);
  return Array.from({ length: count }, () => {
    const f = new Uint8Array(width * height * 4);
    for (let p = 0; p < width * height; p++) f.set([...table[rng.int(0, colors - 1)], 255], p * 4);
    return f;
  });
}

test('GIF round trip is exact when the frames have at most 256 colours', () => {
  // Random pixels defeat LZW's dictionary, so this also fills the 4096-code table and forces clear codes.
  const frames = framesFrom(61, 37, 3, 200);
  const gif = decodeGif(encodeGif(frames, { width: 61, height: 37, delayCs: 7 }));
  assert.equal(gif.width, 61);
  assert.equal(gif.height, 37);
  assert.equal(gif.frames.length, 3);
  assert.equal(gif.loopCount, 0, 'NETSCAPE2.0 loop forever');
  gif.frames.forEach((f, i) => {
    assert.equal(f.delayCs, 7);
    assert.deepEqual(f.rgba, frames[i], `frame ${i}`);
  });
});

test('GIF handles tiny and one-colour images, and a wide long image that needs many table resets', () => {
  for (const [w, h, colors] of [
    [1, 1, 1],
    [3, 2, 2],
    [300, 200, 256],
  ]) {
    const frames = framesFrom(w, h, 2, colors, w);
    const gif = decodeGif(encodeGif(frames, { width: w, height: h, delayCs: 5, loopCount: 3 }));
    assert.equal(gif.loopCount, 3);
    gif.frames.forEach((f, i) => assert.deepEqual(f.rgba, frames[i], `${w}x${h} frame ${i}`));
  }
});

test('with more than 256 colours, every pixel gets its nearest palette colour and the error is small', () => {
  // A smooth gradient with ~65k colours: the palette must spread over it.
  const w = 256;
  const h = 64;
  const frame = new Uint8Array(w * h * 4);
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) frame.set([x, y * 4, (x + y * 4) >> 1, 255], (y * w + x) * 4);
  const palette = buildPalette([frame]);
  assert.equal(palette.size, 256);
  const decoded = decodeGif(encodeGif([frame], { width: w, height: h, delayCs: 5 }, palette)).frames[0].rgba;
  let total = 0;
  for (let p = 0; p < w * h; p++) {
    const [r, g, b] = frame.subarray(p * 4, p * 4 + 3);
    const d = (r - decoded[p * 4]) ** 2 + (g - decoded[p * 4 + 1]) ** 2 + (b - decoded[p * 4 + 2]) ** 2;
    let best = Infinity;
    for (let j = 0; j < palette.size; j++) {
      best = Math.min(best, (r - palette.colors[j * 3]) ** 2 + (g - palette.colors[j * 3 + 1]) ** 2 + (b - palette.colors[j * 3 + 2]) ** 2);
    }
    assert.equal(d, best, `pixel ${p} is not mapped to its nearest colour`);
    total += Math.sqrt(d);
  }
  assert.ok(total / (w * h) < 8, `mean colour error ${total / (w * h)}`);
});

test('GIF encoder rejects frames of the wrong size and empty animations', () => {
  assert.throws(() => encodeGif([new Uint8Array(12)], { width: 2, height: 2, delayCs: 5 }), /expected 2x2/);
  assert.throws(() => encodeGif([], { width: 2, height: 2, delayCs: 5 }), /at least one frame/);
});
