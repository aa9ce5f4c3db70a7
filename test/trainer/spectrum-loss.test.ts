// The spectrum term of the texture loss (trainer/texture/spectrum-loss.ts): the frames' smoothed log power spectrum against the exemplar's.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { defaultTopology } from '../../formats/model.ts';
import { Rng } from '../../formats/random.ts';
import type { RgbaImage } from '../../trainer/image/png.ts';
import { rgbPlanes, type RgbPlanes } from '../../trainer/texture/exemplar.ts';
import { blurFrequencies, exemplarLogSpectrum, spectrumTerm, spectrumTileSide } from '../../trainer/texture/spectrum-loss.ts';
import { POWER_FLOOR, welchPower } from '../../trainer/texture/spectrum.ts';
import { discTexture, stripeTexture } from '../../trainer/texture/synthetic.ts';
import { graphLoss } from '../../trainer/train/loss.ts';
import { roll } from '../helpers/images.ts';

const topology = defaultTopology({ channels: 4, color: { offset: 0, count: 3, bias: 0.5 } });

/** A loss of the spectrum term alone, and a batch of states that display `frames`. */
async function spectrumLoss(exemplar: RgbaImage, width: number, height: number, batch: number) {
  const loss = await graphLoss([spectrumTerm(rgbPlanes(exemplar), topology, 1)], { batch, channels: 4, height, width }, { threads: 1 });
  const shape = { batch, channels: 4, height, width };
  return {
    shape,
    release: () => loss.release?.(),
    evaluate: (x: Float32Array) => loss.evaluate(x, shape, 0),
    stateOf(frames: RgbPlanes[]): Float32Array {
      const plane = width * height;
      const x = new Float32Array(batch * 4 * plane).fill(0.3); // the hidden channel does not matter
      frames.forEach((f, b) => {
        for (let c = 0; c < 3; c++) for (let i = 0; i < plane; i++) x[(b * 4 + c) * plane + i] = f.data[c * plane + i] - 0.5;
      });
      return x;
    },
  };
}

function noisePlanes(width: number, height: number, seed: number): RgbPlanes {
  const rng = new Rng(seed);
  return { width, height, data: Float32Array.from({ length: 3 * width * height }, () => rng.next()) };
}

test('the graph computes the Welch spectrum of plain TypeScript: tiles, batch mean, 3x3 smoothing, log', async () => {
  const exemplar = discTexture(32, 32, 3);
  const frames = [rgbPlanes(discTexture(24, 16, 5)), noisePlanes(24, 16, 6)];
  const s = await spectrumLoss(exemplar, 24, 16, 2);
  const L = spectrumTileSide({ width: 24, height: 16 }, exemplar);
  assert.equal(L, 16); // two tiles across (x at 0 and 8), one down
  const power = new Float64Array(L * L);
  for (const f of frames) welchPower(f, L).forEach((p, i) => (power[i] += p / frames.length));
  const target = exemplarLogSpectrum(rgbPlanes(exemplar), L);
  const expected = blurFrequencies(power, L).reduce((sum, p, i) => sum + (Math.log(p + POWER_FLOOR) - target[i]) ** 2, 0) / (L * L);
  const { logs } = await s.evaluate(s.stateOf(frames));
  assert.ok(Math.abs(logs.spectrum - expected) < 1e-4 * expected, `graph ${logs.spectrum}, plain ${expected}`);
  await s.release();
});

test('the spectrum sees size and direction: a shifted copy scores far below a pixel-shuffled one or turned stripes', async () => {
  const stripes = stripeTexture(32, 32, 8, 'vertical');
  const s = await spectrumLoss(stripes, 32, 32, 1);
  const lossOf = async (f: RgbaImage) => (await s.evaluate(s.stateOf([rgbPlanes(f)]))).logs.spectrum;
  const shifted = await lossOf(roll(stripes, 5, 11));
  const turned = await lossOf(stripeTexture(32, 32, 8, 'horizontal'));
  const finer = await lossOf(stripeTexture(32, 32, 4, 'vertical'));
  const random = (await s.evaluate(s.stateOf([noisePlanes(32, 32, 1)]))).logs.spectrum;
  for (const [what, v] of [['turned', turned], ['finer', finer], ['noise', random]] as const) assert.ok(shifted < v / 10, `shifted ${shifted}, ${what} ${v}`);
  await s.release();
});

test('the gradient matches central finite differences, and only the colour channels get one', async () => {
  const s = await spectrumLoss(discTexture(16, 16, 2, 4, 1.5, 2.5), 8, 8, 1);
  const rng = new Rng(4);
  const x = Float32Array.from({ length: 4 * 64 }, () => rng.next() - 0.5);
  const { grad } = await s.evaluate(x);
  const eps = 1e-2;
  let errSq = 0;
  let normSq = 0;
  for (let i = 0; i < x.length; i++) {
    const saved = x[i];
    x[i] = saved + eps;
    const plus = (await s.evaluate(x)).loss;
    x[i] = saved - eps;
    const minus = (await s.evaluate(x)).loss;
    x[i] = saved;
    const numeric = (plus - minus) / (2 * eps);
    if (i >= 3 * 64) {
      assert.equal(grad[i], 0, `hidden channel value ${i}`);
      continue;
    }
    errSq += (grad[i] - numeric) ** 2;
    normSq += numeric ** 2;
  }
  assert.ok(normSq > 0 && Math.sqrt(errSq / normSq) < 0.02, `relative error ${Math.sqrt(errSq / normSq)}`);
  await s.release();
});

test('tile sides: the largest power of 2 up to 64 that fits the grid and the exemplar; too small is an error', () => {
  assert.equal(spectrumTileSide({ width: 64, height: 64 }, { width: 128, height: 128 }), 64);
  assert.equal(spectrumTileSide({ width: 128, height: 96 }, { width: 256, height: 256 }), 64);
  assert.equal(spectrumTileSide({ width: 64, height: 64 }, { width: 40, height: 100 }), 32);
  assert.throws(() => spectrumTileSide({ width: 6, height: 64 }, { width: 64, height: 64 }), /too small/);
});
