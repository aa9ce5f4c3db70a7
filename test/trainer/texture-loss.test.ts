// The texture loss (trainer/texture/texture-loss.ts, swd-loss.ts): multi-scale sliced Wasserstein distance of colour patches.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { defaultTopology, type Topology } from '../../formats/model.ts';
import { Rng } from '../../formats/random.ts';
import { encodePng, type RgbaImage } from '../../trainer/image/png.ts';
import { textureLoss, type TextureLossSpec } from '../../trainer/texture/texture-loss.ts';
import { discTexture } from '../../trainer/texture/synthetic.ts';
import { textureDistance } from '../../exporter/eval/texture-score.ts';
import { sumLosses, type Loss } from '../../trainer/train/loss.ts';
import { openVgg16, type Vgg16 } from '../../trainer/vgg/vgg16.ts';
import { roll } from '../helpers/images.ts';

const rgbTopology = (channels = 3, offset = 0, bias = 0.5): Topology => defaultTopology({ channels, color: { offset, count: 3, bias } });

function specOf(image: RgbaImage, extra: Partial<TextureLossSpec> = {}): TextureLossSpec {
  return { kind: 'texture', imagePng: Buffer.from(encodePng(image)).toString('base64'), ...extra };
}

interface Setup {
  loss: Loss;
  topology: Topology;
  width: number;
  height: number;
  batch: number;
}

async function setup(image: RgbaImage, o: { width: number; height: number; batch: number; topology?: Topology; network?: Vgg16 } & Partial<TextureLossSpec>): Promise<Setup> {
  const { width, height, batch, topology = rgbTopology(), network, ...extra } = o;
  const loss = await textureLoss(specOf(image, extra), { topology, width, height, batch, overflowWeight: 1, runSeed: 3 }, { threads: 1 }, network);
  return { loss, topology, width, height, batch };
}

/** A batch whose every state displays `images[b]` (colour channels = pixel - bias; other channels `fill`). */
function stateOf(s: Setup, images: RgbaImage[], fill = 0): Float32Array {
  const { channels, color } = s.topology;
  const plane = s.width * s.height;
  const x = new Float32Array(s.batch * channels * plane).fill(fill);
  images.forEach((im, b) => {
    assert.deepEqual([im.width, im.height], [s.width, s.height]);
    for (let c = 0; c < 3; c++) {
      for (let i = 0; i < plane; i++) x[(b * channels + color.offset + c) * plane + i] = im.data[4 * i + c] / 255 - color.bias;
    }
  });
  return x;
}

async function lossOf(s: Setup, images: RgbaImage[], iteration = 0): Promise<number> {
  const r = await s.loss.evaluate(stateOf(s, images), { batch: s.batch, channels: s.topology.channels, height: s.height, width: s.width }, iteration);
  return r.logs.texture;
}

function shuffled(im: RgbaImage, seed: number): RgbaImage {
  const rng = new Rng(seed);
  const n = im.width * im.height;
  const order = Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 0; i--) {
    const j = rng.int(0, i);
    [order[i], order[j]] = [order[j], order[i]];
  }
  const data = new Uint8Array(im.data.length);
  order.forEach((from, to) => data.set(im.data.subarray(4 * from, 4 * from + 4), 4 * to));
  return { ...im, data };
}

function tiled(im: RgbaImage, times: number): RgbaImage {
  const width = im.width * times;
  const height = im.height * times;
  const data = new Uint8Array(width * height * 4);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) data.set(im.data.subarray(4 * ((y % im.height) * im.width + (x % im.width)), 4 * ((y % im.height) * im.width + (x % im.width)) + 4), 4 * (y * width + x));
  }
  return { width, height, data };
}

function noise(width: number, height: number, seed: number): RgbaImage {
  const rng = new Rng(seed);
  const data = Uint8Array.from({ length: width * height * 4 }, (_, i) => (i % 4 === 3 ? 255 : rng.int(0, 255)));
  return { width, height, data };
}

const exemplar = discTexture(48, 48, 5);

test('the exemplar against itself scores far lower than noise, a flat colour or a shuffled copy', async () => {
  const s = await setup(exemplar, { width: 48, height: 48, batch: 1, scales: 3, projections: 16 });
  const self = await lossOf(s, [exemplar]);
  const flat = await lossOf(s, [{ width: 48, height: 48, data: new Uint8Array(48 * 48 * 4).fill(128) }]);
  const random = await lossOf(s, [noise(48, 48, 9)]);
  const mixed = await lossOf(s, [shuffled(exemplar, 4)]);
  assert.ok(self < random / 50 && self < flat / 50, `self ${self}, noise ${random}, flat ${flat}`);
  assert.ok(self < mixed / 10, `self ${self}, shuffled ${mixed}`);
  await s.loss.release?.();
});

for (const loss of ['vgg', 'vgg-swd'] as const) {
  test(`${loss} (tiny random VGG16): the exemplar scores far below noise or a shuffled copy, and descending the gradient lowers the loss`, async () => {
    const vgg = openVgg16(new URL('../fixtures/vgg-tiny/model.safetensors', import.meta.url).pathname);
    const s = await setup(exemplar, { width: 48, height: 48, batch: 1, loss, network: vgg });
    vgg.weights.close(); // the loss graph holds what it read
    const self = await lossOf(s, [exemplar]);
    const random = await lossOf(s, [noise(48, 48, 9)]);
    const mixed = await lossOf(s, [shuffled(exemplar, 4)]);
    assert.ok(self < random / 50 && self < mixed / 10, `self ${self}, noise ${random}, shuffled ${mixed}`);
    const shape = { batch: 1, channels: 3, height: 48, width: 48 };
    const x = stateOf(s, [noise(48, 48, 2)]);
    const before = (await s.loss.evaluate(x, shape, 0)).logs.texture;
    for (let t = 0; t < 20; t++) {
      const { grad } = await s.loss.evaluate(x, shape, t);
      const norm = Math.sqrt(grad.reduce((a, g) => a + g * g, 0));
      for (let i = 0; i < x.length; i++) x[i] -= (0.5 * grad[i]) / norm; // normalised steps: scale-free
    }
    const after = (await s.loss.evaluate(x, shape, 0)).logs.texture;
    assert.ok(after < 0.75 * before, `loss ${before} -> ${after}`);
    await s.loss.release?.();
  });
}

test('sumLosses adds losses, gradients and logs (a texture term next to another loss, as with a CLIP prompt)', async () => {
  const o = { width: 24, height: 24, batch: 1, scales: 2, projections: 8 };
  const small = discTexture(24, 24, 2, 6);
  const a = await setup(small, o);
  const b = await setup(small, { ...o, seed: 5 });
  const x = stateOf(a, [noise(24, 24, 3)]);
  const shape = { batch: 1, channels: 3, height: 24, width: 24 };
  const ra = await a.loss.evaluate(x, shape, 2);
  const rb = await b.loss.evaluate(x, shape, 2);
  const sum = await sumLosses([a.loss, b.loss]).evaluate(x, shape, 2);
  assert.ok(Math.abs(sum.loss - (ra.loss + rb.loss)) < 1e-6);
  assert.ok(Math.abs(sum.logs.texture - (ra.logs.texture + rb.logs.texture)) < 1e-6);
  sum.grad.forEach((g, i) => assert.ok(Math.abs(g - (ra.grad[i] + rb.grad[i])) < 1e-6, `grad ${i}`));
  for (const s of [a, b]) await s.loss.release?.();
});

test('patch statistics see structure: a shifted or tiled copy scores far below a pixel-shuffled one (same colours)', async () => {
  const s = await setup(exemplar, { width: 48, height: 48, batch: 2, scales: 3, projections: 16 });
  const shifted = await lossOf(s, [roll(exemplar, 17, 30), roll(exemplar, 5, 41)]);
  const mixed = await lossOf(s, [shuffled(exemplar, 1), shuffled(exemplar, 2)]);
  assert.ok(shifted < mixed / 5, `shifted ${shifted}, shuffled ${mixed}`);
  await s.loss.release?.();

  // a 2x2 tiling of a 24-pixel texture on a 48 grid, against the 24-pixel texture as exemplar
  const small = discTexture(24, 24, 8, 6);
  const t = await setup(small, { width: 48, height: 48, batch: 1, scales: 2, projections: 16 });
  const tiles = await lossOf(t, [tiled(small, 2)]);
  const tilesMixed = await lossOf(t, [shuffled(tiled(small, 2), 3)]);
  assert.ok(tiles < tilesMixed / 5, `tiled ${tiles}, shuffled ${tilesMixed}`);
  await t.loss.release?.();
});

test('directions are a function of (seed, iteration): a rebuilt loss (as on --resume) repeats each iteration exactly', async () => {
  const o = { width: 24, height: 24, batch: 1, scales: 2, projections: 8 };
  const small = discTexture(24, 24, 2, 6);
  const frame = [noise(24, 24, 1)];
  const a = await setup(small, o);
  const b = await setup(small, o);
  const at5 = await lossOf(a, frame, 5);
  assert.equal(await lossOf(a, frame, 6) === at5, false, 'a new iteration draws new directions');
  assert.equal(await lossOf(b, frame, 5), at5);
  assert.equal(await lossOf(a, frame, 5), at5);
  const other = await setup(small, { ...o, seed: 77 });
  assert.notEqual(await lossOf(other, frame, 5), at5, 'the spec seed changes the directions');
  for (const s of [a, b, other]) await s.loss.release?.();
});

test('the colour is read through the topology: offset and bias', async () => {
  const small = discTexture(24, 24, 2, 6);
  const frame = [roll(small, 3, 9)];
  const base = await setup(small, { width: 24, height: 24, batch: 1, scales: 2, projections: 8 });
  const moved = await setup(small, { width: 24, height: 24, batch: 1, scales: 2, projections: 8, topology: rgbTopology(6, 2, 0.1) });
  const x = stateOf(moved, frame, 0.25);
  const r = await moved.loss.evaluate(x, { batch: 1, channels: 6, height: 24, width: 24 }, 0);
  assert.ok(Math.abs(r.logs.texture - (await lossOf(base, frame))) < 1e-6, `${r.logs.texture} vs ${await lossOf(base, frame)}`);
  // only the colour channels get a texture gradient (the others are inside [-1, 1], so no overflow gradient either)
  const plane = 24 * 24;
  for (const c of [0, 1, 5]) assert.ok(r.grad.subarray(c * plane, (c + 1) * plane).every((v) => v === 0), `channel ${c}`);
  assert.ok(r.grad.subarray(2 * plane, 5 * plane).some((v) => v !== 0));
  for (const s of [base, moved]) await s.loss.release?.();
});

test('the gradient matches central finite differences (float32, every state value)', async () => {
  const small = discTexture(16, 16, 4, 4, 1.5, 2.5);
  const s = await setup(small, { width: 8, height: 8, batch: 1, scales: 2, projections: 4, topology: rgbTopology(4) });
  const shape = { batch: 1, channels: 4, height: 8, width: 8 };
  const rng = new Rng(11);
  const x = Float32Array.from({ length: 4 * 64 }, () => rng.next() - 0.5);
  const { grad } = await s.loss.evaluate(x, shape, 2);
  const eps = 1e-2;
  let errSq = 0;
  let normSq = 0;
  for (let i = 0; i < x.length; i++) {
    const saved = x[i];
    x[i] = saved + eps;
    const plus = (await s.loss.evaluate(x, shape, 2)).loss;
    x[i] = saved - eps;
    const minus = (await s.loss.evaluate(x, shape, 2)).loss;
    x[i] = saved;
    const numeric = (plus - minus) / (2 * eps);
    errSq += (grad[i] - numeric) ** 2;
    normSq += numeric ** 2;
    if (i >= 3 * 64) assert.ok(Math.abs(numeric) < 1e-6 && grad[i] === 0, `hidden channel value ${i}: ${grad[i]} vs ${numeric}`);
  }
  assert.ok(normSq > 0);
  const relative = Math.sqrt(errSq / normSq);
  assert.ok(relative < 0.03, `relative gradient error ${relative}`);
  await s.loss.release?.();
});

test('optimising a free image by the loss moves its patch statistics toward the exemplar', async () => {
  const size = 32;
  const target = discTexture(size, size, 6, 12, 1.5, 3);
  const s = await setup(target, { width: size, height: size, batch: 1, scales: 3, projections: 16 });
  const shape = { batch: 1, channels: 3, height: size, width: size };
  const x = stateOf(s, [noise(size, size, 2)]);
  for (let i = 0; i < x.length; i++) x[i] *= 0.5; // colours 0.25..0.75
  const score = () => {
    const data = new Float32Array(x.length);
    for (let i = 0; i < x.length; i++) data[i] = x[i] + 0.5;
    return textureDistance({ width: size, height: size, data }, target, { scales: 3, spectrumSize: 16 });
  };
  const before = score();
  // Adam on the image itself
  const m = new Float32Array(x.length);
  const v = new Float32Array(x.length);
  const lr = 0.02;
  let first = 0;
  let last = 0;
  for (let t = 1; t <= 120; t++) {
    const r = await s.loss.evaluate(x, shape, t);
    if (t === 1) first = r.logs.texture;
    last = r.logs.texture;
    for (let i = 0; i < x.length; i++) {
      m[i] = 0.9 * m[i] + 0.1 * r.grad[i];
      v[i] = 0.999 * v[i] + 0.001 * r.grad[i] ** 2;
      x[i] -= (lr * (m[i] / (1 - 0.9 ** t))) / (Math.sqrt(v[i] / (1 - 0.999 ** t)) + 1e-8);
    }
  }
  const after = score();
  assert.ok(last < first / 4, `loss ${first} -> ${last}`);
  assert.ok(after.patch < before.patch / 2, `score patch ${before.patch} -> ${after.patch}`);
  assert.ok(after.spectral < before.spectral, `score spectral ${before.spectral} -> ${after.spectral}`);
  await s.loss.release?.();
});

test('sizes and settings are checked with clear messages', async () => {
  const small = discTexture(24, 24, 2, 6);
  await assert.rejects(setup(small, { width: 16, height: 16, batch: 1, scales: 5 }), /grid is too small for 5 scales/);
  await assert.rejects(setup(discTexture(20, 20, 2, 5), { width: 64, height: 64, batch: 1, scales: 4 }), /exemplar \(20x20\) is too small for 4 scales/);
  await assert.rejects(setup(small, { width: 24, height: 24, batch: 1, scales: 2, patch: 4 }), /patch must be odd/);
});
