import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Rng } from '../../formats/index.ts';
import { overWhite, placeTarget, psnr, shifted, ssim, toRgba8, type RgbImage } from '../../exporter/eval/metrics.ts';

function constant(width: number, height: number, rgb: [number, number, number]): RgbImage {
  const data = new Float32Array(width * height * 3);
  for (let i = 0; i < width * height; i++) data.set(rgb, i * 3);
  return { width, height, data };
}

function noisy(image: RgbImage, amount: number, seed = 1): RgbImage {
  const rng = new Rng(seed);
  return { ...image, data: image.data.map((v) => Math.min(1, Math.max(0, v + amount * rng.normal()))) };
}

/** A smooth test picture with structure: gradients and a bright square. */
function picture(width: number, height: number): RgbImage {
  const data = new Float32Array(width * height * 3);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const inSquare = x > width / 4 && x < width / 2 && y > height / 3 && y < (2 * height) / 3;
      data.set([x / width, y / height, inSquare ? 0.9 : 0.2], (y * width + x) * 3);
    }
  }
  return { width, height, data };
}

test('psnr: hand-checked values', () => {
  const a = constant(4, 3, [0.5, 0.5, 0.5]);
  // Every value off by 0.1: MSE 0.01, PSNR 20 dB.
  assert.ok(Math.abs(psnr(a, constant(4, 3, [0.6, 0.4, 0.6])) - 20) < 1e-4);
  // Black against white: MSE 1, 0 dB.
  assert.equal(psnr(constant(2, 2, [0, 0, 0]), constant(2, 2, [1, 1, 1])), 0);
  // One pixel of four fully off in one channel: MSE 1/12, PSNR 10·log10(12) = 10.79 dB.
  const b = constant(2, 2, [0, 0, 0]);
  b.data[0] = 1;
  assert.ok(Math.abs(psnr(constant(2, 2, [0, 0, 0]), b) - 10 * Math.log10(12)) < 1e-9);
  assert.equal(psnr(a, a), Infinity);
  assert.throws(() => psnr(a, constant(3, 4, [0, 0, 0])), /differ in size/);
});

test('ssim: 1 for identical images, the closed form for constant ones, lower for noise and lower still for more', () => {
  const p = picture(24, 20);
  assert.equal(ssim(p, p), 1);
  // Constant images: no variance, so SSIM = (2·a·b + C1) / (a² + b² + C1).
  const c1 = 0.01 ** 2;
  const want = (2 * 0.5 * 0.75 + c1) / (0.25 + 0.5625 + c1);
  assert.ok(Math.abs(ssim(constant(9, 7, [0.5, 0.5, 0.5]), constant(9, 7, [0.75, 0.75, 0.75])) - want) < 1e-9);
  const little = ssim(p, noisy(p, 0.02));
  const lots = ssim(p, noisy(p, 0.2));
  assert.ok(little < 1 && little > 0.8, `little noise: ${little}`);
  assert.ok(lots < little - 0.3, `more noise: ${lots} vs ${little}`);
  // Symmetric, and tiny images work (the window is cut at the border).
  assert.ok(Math.abs(ssim(p, noisy(p, 0.1)) - ssim(noisy(p, 0.1), p)) < 1e-12);
  assert.ok(Number.isFinite(ssim(picture(3, 2), noisy(picture(3, 2), 0.1))));
});

test('overWhite composites straight RGBA over white: c = a·rgb + (1 − a)', () => {
  const rgba = Float32Array.of(1, 0, 0, 1, /**/ 1, 0, 0, 0, /**/ 0.2, 0.4, 0.6, 0.5);
  const { data } = overWhite(rgba, { width: 3, height: 1 });
  const want = [1, 0, 0, 1, 1, 1, 0.6, 0.7, 0.8];
  want.forEach((v, i) => assert.ok(Math.abs(data[i] - v) < 1e-6, `${i}: ${data[i]} vs ${v}`));
  // As opaque RGBA8 for strips: rounded, clamped, and magenta where a value is not finite.
  const rgba8 = toRgba8({ width: 3, height: 1, data: Float32Array.of(0.6, 0.2, 1, -0.5, 2, 0.5, NaN, 0, 0) });
  assert.deepEqual([...rgba8], [153, 51, 255, 255, 0, 255, 128, 255, 255, 0, 255, 255]);
});

test('placeTarget centres the image like an image seed (top-left at floor((W − w) / 2)), transparent around it, cropped when larger', () => {
  const image = { width: 2, height: 2, data: Uint8Array.from({ length: 16 }, (_, i) => (i % 4 === 3 ? 255 : 10 * i)) };
  const placed = placeTarget(image, { width: 7, height: 5 });
  // floor((7 - 2) / 2) = 2, floor((5 - 2) / 2) = 1.
  for (let y = 0; y < 5; y++) {
    for (let x = 0; x < 7; x++) {
      const inside = x >= 2 && x < 4 && y >= 1 && y < 3;
      const px = Array.from(placed.subarray((y * 7 + x) * 4, (y * 7 + x) * 4 + 4));
      if (!inside) assert.deepEqual(px, [0, 0, 0, 0], `(${x}, ${y})`);
      else assert.ok(Math.abs(px[0] - (10 * (((y - 1) * 2 + (x - 2)) * 4)) / 255) < 1e-6 && px[3] === 1, `(${x}, ${y})`);
    }
  }
  // 9 wide on a 7 wide grid: x0 = floor(-2 / 2) = -1, so image column 1 lands on grid column 0.
  const wide = { width: 9, height: 1, data: Uint8Array.from({ length: 36 }, (_, i) => (i % 4 === 0 ? (i / 4) * 20 : 255)) };
  const cropped = placeTarget(wide, { width: 7, height: 1 });
  assert.deepEqual(Array.from({ length: 7 }, (_, x) => Math.round(cropped[x * 4] * 255)), [20, 40, 60, 80, 100, 120, 140]);
});

test('shifted: moves an image by whole cells, white coming in', () => {
  const image = picture(7, 5);
  assert.deepEqual(shifted(image, 0, 0), image);
  const at = (img: RgbImage, x: number, y: number) => [...img.data.subarray((y * img.width + x) * 3, (y * img.width + x + 1) * 3)];
  for (const [dx, dy] of [[1, 0], [-1, 0], [0, 1], [0, -1], [2, -1], [-1, 2]]) {
    const moved = shifted(image, dx, dy);
    for (let y = 0; y < 5; y++) {
      for (let x = 0; x < 7; x++) {
        const from = [x - dx, y - dy];
        const inside = from[0] >= 0 && from[0] < 7 && from[1] >= 0 && from[1] < 5;
        assert.deepEqual(at(moved, x, y), inside ? at(image, from[0], from[1]) : [1, 1, 1], `(${dx}, ${dy}) at ${x},${y}`);
      }
    }
  }
  // Out and back loses only the edge that went out.
  const back = shifted(shifted(image, 1, 0), -1, 0);
  assert.deepEqual(at(back, 3, 2), at(image, 3, 2));
  assert.deepEqual(at(back, 6, 2), [1, 1, 1]);
});
