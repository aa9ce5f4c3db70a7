import { test } from 'node:test';
import assert from 'node:assert/strict';
import { defaultTopology } from '../../formats/model.ts';
import { Rng } from '../../formats/random.ts';
import { clipLoss, DEFAULT_CLIP_SETTINGS, type ClipLossSettings } from '../../trainer/clip/clip-loss.ts';
import { embedImages, embedTexts, loadClip } from '../../trainer/clip/model.ts';
import { embedTargets, centreSquare, type ClipTarget } from '../../trainer/clip/targets.ts';
import { parseImagePrompt, parseNegativePrompts, parsePrompts } from '../../trainer/clip/prompts.ts';
import type { BatchShape } from '../../trainer/nca/layout.ts';
import type { RgbaImage } from '../../trainer/image/png.ts';

const dir = new URL('../fixtures/clip-tiny/', import.meta.url).pathname;
const model = loadClip(dir);
const topology = defaultTopology();
const S = model.config.vision.imageSize;
const quiet = { threads: 1 };

function settings(overrides: Partial<ClipLossSettings> = {}): ClipLossSettings {
  return { ...DEFAULT_CLIP_SETTINGS, overflowWeight: 0, seed: 3, ...overrides, cutouts: { ...DEFAULT_CLIP_SETTINGS.cutouts, count: 3, ...overrides.cutouts } };
}

function randomState(shape: BatchShape, seed: number, amplitude = 0.4): Float32Array {
  const rng = new Rng(seed);
  return Float32Array.from({ length: shape.batch * shape.channels * shape.height * shape.width }, () => (rng.next() * 2 - 1) * amplitude);
}

test('prompt algebra: weights, defaults, escaped commas, negatives, image prompts', () => {
  assert.deepEqual(parsePrompts('red coral:1, deep sea:0.5'), [{ text: 'red coral', weight: 1 }, { text: 'deep sea', weight: 0.5 }]);
  assert.deepEqual(parsePrompts('a cat\\, oil on canvas'), [{ text: 'a cat, oil on canvas', weight: 1 }]);
  assert.deepEqual(parsePrompts('sea: -2, ratio 16:9'), [{ text: 'sea', weight: -2 }, { text: 'ratio 16', weight: 9 }]);
  assert.deepEqual(parsePrompts('time 10:30 pm'), [{ text: 'time 10:30 pm', weight: 1 }]);
  assert.deepEqual(parsePrompts('ratio 16:9:1'), [{ text: 'ratio 16:9', weight: 1 }]);
  assert.deepEqual(parseNegativePrompts('blurry:0.5, text'), [{ text: 'blurry', weight: -0.5 }, { text: 'text', weight: -1 }]);
  assert.deepEqual(parseImagePrompt('shell.png:0.5'), { path: 'shell.png', weight: 0.5 });
  assert.deepEqual(parseImagePrompt('dir/shell.png'), { path: 'dir/shell.png', weight: 1 });
  assert.throws(() => parsePrompts('coral:1, :2'), /empty prompt/);
  assert.throws(() => parsePrompts('coral:0'), /weight 0/);
  assert.throws(() => parseImagePrompt('a.png:0'), /weight 0/);
});

test('the CLIP loss gradient w.r.t. the state matches finite differences (wide frame, flips, jitter, noise)', async () => {
  const shape: BatchShape = { batch: 2, channels: 12, height: 20, width: 36 };
  const targets = await embedTargets(model, parsePrompts('red coral:1, deep sea:0.5, blurry:-0.3'), [], quiet);
  for (const distance of ['spherical', 'cosine', 'dot'] as const) {
    const loss = await clipLoss(model, targets, topology, shape, settings({ distance, chunk: 1 }), quiet);
    const x = randomState(shape, 7);
    const { loss: l0, grad } = await loss.evaluate(x, shape, 5);
    assert.ok(Number.isFinite(l0));
    // Only the colour channels feed CLIP (overflow weight is 0 here).
    const plane = shape.height * shape.width;
    for (let b = 0; b < shape.batch; b++) for (let i = 3 * plane; i < 12 * plane; i++) assert.equal(grad[b * 12 * plane + i], 0);
    // Directional derivatives by central differences, along random directions that
    // mostly follow the gradient's signs (so the change is well above float32 noise).
    const rng = new Rng(11);
    for (let trial = 0; trial < 3; trial++) {
      const v = grad.map((g) => (rng.next() < 0.8 ? Math.sign(g) : -Math.sign(g)) * rng.next());
      const eps = 1e-2;
      const at = async (s: number) => (await loss.evaluate(x.map((xi, i) => xi + s * eps * v[i]), shape, 5)).loss;
      const numeric = ((await at(1)) - (await at(-1))) / (2 * eps);
      const analytic = grad.reduce((sum, g, i) => sum + g * v[i], 0);
      assert.ok(Math.abs(numeric - analytic) <= 0.02 * Math.abs(analytic) + 1e-5, `${distance}: numeric ${numeric}, analytic ${analytic}`);
    }
    await loss.release?.();
  }
});

/** A 12-channel state whose displayed RGB is `rgb` ([3, H, W] in [0, 1]). */
function stateShowing(rgb: Float32Array, h: number, w: number): Float32Array {
  const x = new Float32Array(12 * h * w);
  for (let i = 0; i < rgb.length; i++) x[i] = rgb[i] - topology.color.bias;
  return x;
}

test('an image prompt scores its own image as identical; weights and negatives combine linearly', async () => {
  const rng = new Rng(2);
  const image: RgbaImage = { width: S, height: S, data: Uint8Array.from({ length: S * S * 4 }, () => Math.floor(rng.next() * 256)) };
  const rgb = centreSquare(image, S);
  const shape: BatchShape = { batch: 1, channels: 12, height: S, width: S };
  // One cutout = the whole frame, untouched: CLIP sees exactly the prompt image.
  const exact = { count: 1, minScale: 1, jitter: 0, flip: false, noise: 0 };
  const [imageTarget] = await embedTargets(model, [], [{ name: 'self', image, weight: 1 }], quiet);
  for (const distance of ['spherical', 'cosine'] as const) {
    const loss = await clipLoss(model, [imageTarget], topology, shape, settings({ distance, cutouts: exact }), quiet);
    const r = await loss.evaluate(stateShowing(rgb, S, S), shape, 0);
    assert.ok(Math.abs(r.logs.similarity - 1) < 1e-5, `${distance}: similarity ${r.logs.similarity}`);
    assert.ok(Math.abs(r.loss) < 1e-5, `${distance}: loss ${r.loss}`);
    await loss.release?.();
  }

  // Against text: the logged similarity is the cosine of the two towers' embeddings, computed independently.
  const [textEmbed] = await embedTexts(model, ['deep sea'], quiet);
  const [imageEmbed] = await embedImages(model, [rgb], quiet);
  const cosine = dot(textEmbed, imageEmbed) / Math.sqrt(dot(textEmbed, textEmbed) * dot(imageEmbed, imageEmbed));
  const evaluate = async (targets: ClipTarget[], distance: ClipLossSettings['distance'] = 'cosine') => {
    const loss = await clipLoss(model, targets, topology, shape, settings({ distance, cutouts: exact }), quiet);
    const r = await loss.evaluate(stateShowing(rgb, S, S), shape, 0);
    await loss.release?.();
    return r;
  };
  const [sea, coral] = await embedTargets(model, parsePrompts('deep sea, red coral'), [], quiet);
  const seaOnly = await evaluate([sea]);
  assert.ok(Math.abs(seaOnly.logs.similarity - cosine) < 1e-5);
  assert.ok(Math.abs(seaOnly.loss - (1 - cosine)) < 1e-5);
  const dotLoss = await evaluate([sea], 'dot');
  assert.ok(Math.abs(dotLoss.loss + dot(textEmbed, imageEmbed)) < 1e-4 * Math.abs(dot(textEmbed, imageEmbed)), 'dot = -e.t');
  const coralOnly = await evaluate([coral]);
  const mixed = await evaluate([{ ...sea, weight: 1 }, { ...coral, weight: 0.5 }]);
  assert.ok(Math.abs(mixed.loss - (seaOnly.loss + 0.5 * coralOnly.loss) / 1.5) < 1e-5, 'weights average');
  const pushed = await evaluate([sea, { ...coral, weight: -0.5 }]);
  assert.ok(Math.abs(pushed.loss - (seaOnly.loss - 0.5 * coralOnly.loss)) < 1e-5, 'a negative prompt subtracts');
  assert.ok(Math.abs(pushed.logs.negative_similarity - coralOnly.logs.similarity) < 1e-5);
  await assert.rejects(evaluate([{ ...coral, weight: -1 }]), /at least one target with a positive weight/);
});

test('chunked evaluation equals one pass over the whole batch; the overflow term is added', async () => {
  const shape: BatchShape = { batch: 2, channels: 12, height: 24, width: 24 };
  const targets = await embedTargets(model, parsePrompts('red coral'), [], quiet);
  const x = randomState(shape, 9, 1.3);
  const whole = await clipLoss(model, targets, topology, shape, settings({ chunk: 2, overflowWeight: 2 }), quiet);
  const split = await clipLoss(model, targets, topology, shape, settings({ chunk: 1, overflowWeight: 2 }), quiet);
  const a = await whole.evaluate(x, shape, 4);
  const b = await split.evaluate(x, shape, 4);
  assert.ok(a.logs.overflow > 0);
  assert.ok(Math.abs(a.loss - (a.logs.clip + 2 * a.logs.overflow)) < 1e-6);
  assert.ok(Math.abs(a.loss - b.loss) < 1e-5, `${a.loss} vs ${b.loss}`);
  const scale = Math.max(...a.grad.map(Math.abs));
  assert.ok(a.grad.every((g, i) => Math.abs(g - b.grad[i]) < 1e-4 * scale));
  await assert.rejects(clipLoss(model, targets, topology, { ...shape, batch: 3 }, settings({ chunk: 2 }), quiet), /must divide the batch/);
  await whole.release?.();
  await split.release?.();
});

function dot(a: Float32Array, b: Float32Array): number {
  return a.reduce((s, v, i) => s + v * b[i], 0);
}
