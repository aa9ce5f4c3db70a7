import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  colourStd,
  DEFAULT_TEXTURE_THRESHOLDS,
  driftThresholds,
  evaluateTexture,
  exemplarDriftFloor,
  textureGrid,
  textureRunScore,
  textureSizeProblem,
  trainedTextureScale,
  type TextureRunReport,
} from '../../exporter/eval/texture-run.ts';
import { textureScore } from '../../exporter/eval/texture-score.ts';
import { rgbPlanes } from '../../trainer/texture/exemplar.ts';
import { discTexture, stripeTexture } from '../../trainer/texture/synthetic.ts';
import { flatImage, holdingModel } from './texture-eval-models.ts';

// Vertical stripes of period 8: the exemplar (64x64) and the same texture on a 32x32 grid.
const exemplar = stripeTexture(64, 64, 8, 'vertical');
const steps = [20, 60];

function checkScore(report: TextureRunReport): void {
  const t = report.thresholds;
  const drift = driftThresholds(t, report.driftFloor);
  let worst = -Infinity;
  for (const run of report.runs) {
    for (const m of run.marks) {
      if (m.steps <= t.qualityUntil || m === run.marks[0]) worst = Math.max(worst, m.patchRatio / t.maxPatchRatio, m.spectralRatio / t.maxSpectralRatio);
      if (m.drift) worst = Math.max(worst, m.drift.patchRatio / drift.patch, m.drift.spectralRatio / drift.spectral);
    }
  }
  assert.equal(report.score, -worst);
}

test('a texture that holds the exemplar\'s stripes passes: small ratios, no drift, no change, the exemplar\'s std', async () => {
  const model = holdingModel(stripeTexture(32, 32, 8, 'vertical'));
  const report = await evaluateTexture(model, { exemplar, steps, engine: 'reference' });
  assert.ok(report.pass, report.failures.join('; '));
  assert.deepEqual(report.grid, { width: 32, height: 32 }, 'the grid from metadata.extra.grid');
  assert.deepEqual(report.steps, steps);
  assert.deepEqual(report.runs.map((r) => r.weights), ['float', 'int8']);
  assert.deepEqual(report.thresholds, DEFAULT_TEXTURE_THRESHOLDS);
  // The references are those of textureScore, from the exemplar alone.
  assert.deepEqual(report.reference, textureScore(rgbPlanes(exemplar), exemplar).reference);
  assert.equal(report.exemplar.std, Number(colourStd(rgbPlanes(exemplar)).toFixed(5)));
  for (const run of report.runs) {
    const [a, b] = run.marks;
    assert.equal(a.drift, null, 'no drift at the first step count');
    assert.deepEqual(b.drift, { patch: 0, spectral: 0, patchRatio: 0, spectralRatio: 0 }, 'a fixed point does not drift');
    for (const m of run.marks) {
      assert.ok(m.patchRatio < 0.3 && m.spectralRatio < 0.01, JSON.stringify(m));
      assert.equal(m.patchRatio, Number((m.patch / report.reference.shuffledPatch).toFixed(4)));
      assert.equal(m.change, 0);
      assert.ok(Math.abs(m.std - report.exemplar.std) < 0.005, `std ${m.std}`);
      assert.deepEqual([m.exploded, m.died], [false, false]);
    }
  }
  checkScore(report);
  assert.ok(report.score >= -1 && report.score < 0);
  assert.equal(report.stepsRun, 2 * (60 + 2), 'to the last step count, a step after it (its change), and the end of the walk; float and int8');
});

test('the same stripes turned 90 degrees fail on the patch distance at every step count checked (exit code 3 in the CLI)', async () => {
  const report = await evaluateTexture(holdingModel(stripeTexture(32, 32, 8, 'horizontal')), { exemplar, steps, int8: false, engine: 'reference' });
  assert.equal(report.pass, false);
  const [m] = report.runs[0].marks;
  assert.ok(m.patchRatio > 1, `patch ratio ${m.patchRatio}`);
  assert.deepEqual(report.failures, [
    `float: patch distance ${m.patchRatio}x the shuffled exemplar's at 20 steps > 0.5x`,
    `float: patch distance ${m.patchRatio}x the shuffled exemplar's at 60 steps > 0.5x`,
  ]);
  checkScore(report);
  assert.ok(report.score < -2);
  // Only up to qualityUntil (and the first step count): later ones are checked for drift only.
  const early = await evaluateTexture(holdingModel(stripeTexture(32, 32, 8, 'horizontal')), { exemplar, steps, int8: false, engine: 'reference', thresholds: { qualityUntil: 10 } });
  assert.deepEqual(early.failures, [report.failures[0]]);
  // A lax threshold lets it pass.
  const lax = await evaluateTexture(holdingModel(stripeTexture(32, 32, 8, 'horizontal')), { exemplar, steps: [20], int8: false, engine: 'reference', thresholds: { maxPatchRatio: 2 } });
  assert.ok(lax.pass, lax.failures.join('; '));
});

test('a fading texture drifts and goes flat: drift, quality and death are caught', async () => {
  const model = holdingModel(stripeTexture(32, 32, 8, 'vertical'), 0.05);
  const report = await evaluateTexture(model, { exemplar, steps: [20, 60, 200], int8: false, engine: 'reference', thresholds: { qualityUntil: 10 } });
  const [a, b, c] = report.runs[0].marks;
  assert.ok(a.std > b.std && b.std > c.std, 'the contrast fades');
  assert.ok(a.change > 0, 'it moves');
  assert.ok(b.drift!.patchRatio > 0.5, JSON.stringify(b.drift));
  assert.equal(c.died, true, `std ${c.std} at 200 steps`);
  assert.equal(a.died, false);
  const lines = report.failures.join('\n');
  assert.match(lines, /^float: patch distance [\d.]+x the shuffled exemplar's at 20 steps > 0\.5x$/m);
  assert.match(lines, /^float: drifted from 20 to 60 steps: patch [\d.]+x, spectral [\d.]+x the shuffled exemplar's \(at most 0\.5x, 0\.25x\)$/m);
  assert.match(lines, /^float: died at 200 steps \(colour std [\d.e-]+ < 0\.1 x the exemplar's 0\.23034: flat\)$/m);
  assert.doesNotMatch(lines, /distance .* at (60|200) steps/, 'quality is checked only up to qualityUntil (and at the first step count)');
  checkScore(report);
});

test('a flat frame is dead (std 0), and keepFrames gives the frames and the exemplar tiled to the grid', async () => {
  const report = await evaluateTexture(holdingModel(flatImage(32, 32)), { exemplar, steps: [10], int8: false, keepFrames: true });
  const [m] = report.runs[0].marks;
  assert.equal(m.std, 0);
  assert.equal(m.died, true);
  assert.match(report.failures.join('\n'), /died at 10 steps/);
  const frame = report.runs[0].frames![0];
  assert.deepEqual([frame.width, frame.height], [32, 32]);
  assert.ok(frame.data.every((v) => Math.abs(v - 128 / 255) < 1e-6));
  const tiled = report.exemplarFrame!;
  assert.deepEqual([tiled.width, tiled.height], [32, 32]);
  // exemplar pixel (5, 7) is in the first (red) half of a stripe; (4 + 8k, y) in the blue half
  assert.deepEqual(Array.from(tiled.data.subarray((7 * 32 + 5) * 3, (7 * 32 + 5) * 3 + 3)).map((v) => Math.round(v * 255)), [30, 40, 120]);
  assert.deepEqual(Array.from(tiled.data.subarray((7 * 32 + 2) * 3, (7 * 32 + 2) * 3 + 3)).map((v) => Math.round(v * 255)), [220, 60, 50]);
});

test('progress adds up to the steps run', async () => {
  const seen: [number, number][] = [];
  const report = await evaluateTexture(holdingModel(stripeTexture(32, 32, 8, 'vertical')), { exemplar, steps: [25, 50], onProgress: (done, total) => seen.push([done, total]) });
  const [done, total] = seen[seen.length - 1];
  assert.equal(done, report.stepsRun);
  assert.equal(total, report.stepsRun);
});

test('an exploding run scores -Infinity; the score is minus the worst ratio over its threshold', () => {
  const mark = (steps: number, patchRatio: number, spectralRatio: number, exploded = false) => ({
    steps, patch: 0, spectral: 0, patchRatio, spectralRatio, drift: null, std: 0.2, change: 0, min: 0, max: 0, nonFinite: 0, exploded, died: false,
  });
  const t = DEFAULT_TEXTURE_THRESHOLDS;
  assert.equal(textureRunScore([{ weights: 'float', marks: [mark(1000, 0.2, 0.2), mark(10_000, 0.4, 0.1)] }], t), -0.8);
  assert.equal(textureRunScore([{ weights: 'float', marks: [mark(1000, 0.2, 0.2), mark(100_000, 5, 5)] }], t), -0.8, 'not checked after qualityUntil');
  assert.equal(textureRunScore([{ weights: 'float', marks: [mark(100_000, 0.1, 0.3)] }], t), -1.2, 'the first step count is always checked');
  assert.equal(textureRunScore([{ weights: 'float', marks: [mark(1000, 0.2, 0.2, true)] }], t), -Infinity);
});

test('the drift floor: what two grid-sized crops of the exemplar differ by; drift thresholds never go below it', () => {
  const options = { frameBoundary: 'valid' as const, spectrumSize: 32 };
  const stripes = rgbPlanes(exemplar);
  const ref = textureScore(stripes, stripes).reference;
  // periodic stripes: every 32x32 crop at the corners is the same image
  const same = exemplarDriftFloor(stripes, { width: 32, height: 32 }, options, ref)!;
  assert.ok(same.patchRatio < 0.01 && same.spectralRatio < 0.01, JSON.stringify(same));
  assert.equal(exemplarDriftFloor(stripes, { width: 48, height: 48 }, options, ref), null, 'no two disjoint 48x48 crops in 64x64');
  assert.equal(exemplarDriftFloor(stripes, { width: 96, height: 32 }, options, ref), null, 'the grid is wider than the exemplar');
  // random discs: different pieces differ, by less than the pixel-shuffled copy does
  const discs = rgbPlanes(discTexture(96, 96, 3));
  const discRef = textureScore(discs, discs).reference;
  const floor = exemplarDriftFloor(discs, { width: 48, height: 48 }, options, discRef)!;
  assert.ok(floor.patchRatio > 0.05 && floor.patchRatio < 1 && floor.spectralRatio > 0.05 && floor.spectralRatio < 1, JSON.stringify(floor));
  const t = DEFAULT_TEXTURE_THRESHOLDS;
  const high = { patch: 0, spectral: 0, patchRatio: 0.6, spectralRatio: 0.1 };
  assert.deepEqual(driftThresholds(t, high), { patch: 0.6, spectral: t.maxSpectralRatio });
  assert.deepEqual(driftThresholds(t, null), { patch: t.maxPatchRatio, spectral: t.maxSpectralRatio });
  // a drift of 0.55x patch fails the plain threshold (0.5x) but not a floor of 0.6x
  const mark = (steps: number, drift: number | null) => ({
    steps, patch: 0, spectral: 0, patchRatio: 0.1, spectralRatio: 0.1, std: 0.2, change: 0, min: 0, max: 0, nonFinite: 0, exploded: false, died: false,
    drift: drift === null ? null : { patch: 0, spectral: 0, patchRatio: drift, spectralRatio: 0.1 },
  });
  const runs = [{ weights: 'float' as const, marks: [mark(1000, null), mark(10_000, 0.55)] }];
  assert.equal(textureRunScore(runs, t), -1.1);
  assert.ok(Math.abs(textureRunScore(runs, t, high) - -0.55 / 0.6) < 1e-12);
});

test('textureGrid, trainedTextureScale and textureSizeProblem', () => {
  const model = holdingModel(flatImage(40, 24));
  assert.deepEqual(textureGrid(model), { width: 40, height: 24 });
  assert.equal(trainedTextureScale(model), 1);
  model.metadata.extra = {};
  assert.deepEqual(textureGrid(model), { width: 128, height: 128 });
  assert.equal(trainedTextureScale(model), null);
  model.metadata.extra = { texture: { scale: -1 } };
  assert.equal(trainedTextureScale(model), null);
  assert.equal(textureSizeProblem({ width: 32, height: 24 }, { width: 48, height: 24 }), null);
  assert.equal(textureSizeProblem({ width: 32, height: 23 }, { width: 64, height: 64 })?.what, 'grid');
  assert.equal(textureSizeProblem({ width: 32, height: 32 }, { width: 47, height: 47 })?.what, 'exemplar');
  assert.equal(textureSizeProblem({ width: 16, height: 16 }, { width: 32, height: 32 }, { scales: 2 }), null);
});
