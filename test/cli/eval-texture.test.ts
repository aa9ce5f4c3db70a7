import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { encodeNca, type NcaModel } from '../../formats/index.ts';
import { decodePng, encodePng } from '../../trainer/image/png.ts';
import { stripeTexture } from '../../trainer/texture/synthetic.ts';
import { runNca, trainingScores } from '../helpers/cli.ts';
import { enlarged, holdingModel } from '../exporter/texture-eval-models.ts';

const dir = mkdtempSync(join(tmpdir(), 'nca-eval-texture-'));
const exemplar = stripeTexture(64, 64, 8, 'vertical');
const exemplarPath = join(dir, 'stripes.png');
writeFileSync(exemplarPath, encodePng(exemplar));

function save(name: string, model: NcaModel): string {
  const path = join(dir, name);
  writeFileSync(path, encodeNca(model, { weightDtype: 'float32' }));
  return path;
}

// Hold the exemplar's stripes on their 32x32 grid (metadata.extra.grid), trained at scale 1.
const holding = holdingModel(stripeTexture(32, 32, 8, 'vertical'));
holding.metadata.extra = { ...holding.metadata.extra, bestScore: -0.5 };
const holdPath = save('hold.nca', holding);
const turnedPath = save('turned.nca', holdingModel(stripeTexture(32, 32, 8, 'horizontal')));
const quick = ['--steps', '20,60', '--quiet'];

test('nca eval --texture: a texture that holds passes (exit 0); the JSON report has the documented shape', () => {
  const { code, stdout, stderr } = runNca(['eval', holdPath, '--texture', exemplarPath, ...quick, '--json']);
  assert.equal(code, 0, stderr);
  const report = JSON.parse(stdout);
  assert.deepEqual(Object.keys(report).sort(), [
    'bestScore', 'driftFloor', 'engine', 'exemplar', 'failures', 'grid', 'model', 'pass', 'reference', 'runs', 'score', 'seconds', 'seed', 'steps', 'stepsRun', 'strip',
    'texturePath', 'textureScale', 'thresholds', 'thresholdsApplied',
  ]);
  assert.deepEqual(report.grid, { width: 32, height: 32 });
  assert.deepEqual(report.steps, [20, 60]);
  assert.deepEqual(report.textureScale, { value: 1, from: 'as trained' });
  assert.deepEqual(report.exemplar, { width: 64, height: 64, std: 0.23034 });
  assert.deepEqual(report.thresholds, { maxPatchRatio: 0.5, maxSpectralRatio: 0.25, qualityUntil: 10000, minStdRatio: 0.1 });
  assert.deepEqual(Object.keys(report.reference).sort(), ['cropPatch', 'cropSpectral', 'shuffledPatch', 'shuffledSpectral']);
  // 64x64 stripes hold four disjoint 32x32 crops, all the same image
  assert.deepEqual(Object.keys(report.driftFloor).sort(), ['patch', 'patchRatio', 'spectral', 'spectralRatio']);
  assert.ok(report.driftFloor.spectralRatio < 0.01, JSON.stringify(report.driftFloor));
  assert.equal(report.bestScore, -0.5);
  assert.equal(report.pass, true);
  assert.deepEqual(report.failures, []);
  assert.ok(report.score >= -1 && report.score < 0, String(report.score));
  assert.deepEqual(report.runs.map((r: { weights: string }) => r.weights), ['float', 'int8']);
  for (const run of report.runs) {
    assert.deepEqual(Object.keys(run).sort(), ['marks', 'weights']);
    for (const m of run.marks) {
      assert.deepEqual(Object.keys(m).sort(), [
        'change', 'died', 'drift', 'exploded', 'max', 'min', 'nonFinite', 'patch', 'patchRatio', 'spectral', 'spectralRatio', 'std', 'steps',
      ]);
      assert.ok(m.patchRatio < 0.3, String(m.patchRatio));
    }
    assert.equal(run.marks[0].drift, null);
    assert.deepEqual(run.marks[1].drift, { patch: 0, spectral: 0, patchRatio: 0, spectralRatio: 0 });
  }
});

test('nca eval --texture: turned stripes fail (exit 3) with one line per miss; --no-thresholds only reports', () => {
  const args = ['eval', turnedPath, '--texture', exemplarPath, ...quick, '--no-int8'];
  const failed = runNca(args);
  assert.equal(failed.code, 3, failed.stderr);
  assert.match(failed.stdout, /^weights +steps +patch +x shuf +spectral +x shuf +drift p +drift s +std +change +state range +flags$/m);
  assert.match(failed.stdout, /^float +20 +\d\.\d{4} +\d\.\d\dx +\d\.\d{3} +\d\.\d\dx +- +- +0\.230 +0\.0000 +-0\.382\.\.0\.363$/m);
  assert.match(failed.stdout, /texture .*stripes\.png \(64x64, scale 1 as trained: 64x64\)/);
  assert.match(failed.stdout, /^FAIL \(patch <= 0\.5x and spectral <= 0\.25x/m);
  assert.match(failed.stdout, /^ {2}float: patch distance \d\.\d+x the shuffled exemplar's at 20 steps > 0\.5x$/m);
  assert.doesNotMatch(failed.stdout, /^int8/m, '--no-int8');
  const reportOnly = runNca([...args, '--no-thresholds']);
  assert.equal(reportOnly.code, 0, reportOnly.stderr);
  assert.match(reportOnly.stdout, /not applied: --no-thresholds/);
  assert.equal(runNca([...args, '--max-patch-ratio', '2']).code, 0, 'a lax threshold');
});

test('nca eval --texture resizes the exemplar by the trained scale (metadata.extra.texture.scale); --texture-scale overrides it', () => {
  const bigPath = join(dir, 'stripes-x2.png');
  writeFileSync(bigPath, encodePng(enlarged(exemplar, 2)));
  const half = holdingModel(stripeTexture(32, 32, 8, 'vertical'));
  half.metadata.extra = { ...half.metadata.extra, texture: { scale: 0.5 } };
  const halfPath = save('half.nca', half);
  const args = ['eval', halfPath, '--texture', bigPath, '--steps', '20', '--no-int8', '--quiet', '--json'];
  const trained = JSON.parse(runNca(args).stdout);
  const direct = JSON.parse(runNca(['eval', holdPath, '--texture', exemplarPath, '--steps', '20', '--no-int8', '--quiet', '--json']).stdout);
  assert.deepEqual(trained.textureScale, { value: 0.5, from: 'as trained' });
  assert.deepEqual(trained.exemplar, direct.exemplar);
  assert.deepEqual(trained.runs, direct.runs, 'the 128x128 image at scale 0.5 is the 64x64 exemplar');
  const given = runNca([...args, '--texture-scale', '1']);
  assert.equal(given.code, 3, 'stripes twice as wide as the grid\'s');
  const report = JSON.parse(given.stdout);
  assert.deepEqual(report.textureScale, { value: 1, from: '--texture-scale' });
  assert.deepEqual([report.exemplar.width, report.exemplar.height], [128, 128]);
  // Without metadata the training default: the short side to 128 cells, never enlarged.
  const plain = holdingModel(stripeTexture(32, 32, 8, 'vertical'));
  plain.metadata.extra = { grid: { width: 32, height: 32 } };
  const plainPath = save('plain.nca', plain);
  const hugePath = join(dir, 'stripes-x4.png');
  writeFileSync(hugePath, encodePng(enlarged(exemplar, 4)));
  const defaultScale = (image: string) => JSON.parse(runNca(['eval', plainPath, '--texture', image, '--steps', '20', '--no-int8', '--quiet', '--json']).stdout).textureScale;
  assert.deepEqual(defaultScale(hugePath), { value: 0.5, from: 'the training default' });
  assert.deepEqual(defaultScale(bigPath), { value: 1, from: 'the training default' });
});

test('nca eval --texture --strip writes a PNG: the exemplar tiled to the grid, then a frame per step count; a row per run', () => {
  const strip = join(dir, 'strip.png');
  const { code, stdout, stderr } = runNca(['eval', holdPath, '--texture', exemplarPath, ...quick, '--strip', strip, '--strip-scale', '1']);
  assert.equal(code, 0, stderr);
  assert.match(stdout, /wrote .*strip\.png \(100x66: exemplar, then each step count\)/);
  const image = decodePng(new Uint8Array(readFileSync(strip)));
  assert.deepEqual([image.width, image.height], [3 * 32 + 2 * 2, 2 * 32 + 2]);
  // The held frame is the exemplar's top-left 32x32: every tile of the strip is the same.
  for (const [x, y] of [[1, 1], [6, 9], [31, 31]]) {
    const at = (tx: number, ty: number) => Array.from(image.data.subarray(((ty * 34 + y) * image.width + tx * 34 + x) * 4, ((ty * 34 + y) * image.width + tx * 34 + x) * 4 + 4));
    const expected = [...exemplar.data.subarray((y * 64 + x) * 4, (y * 64 + x) * 4 + 3), 255];
    for (const ty of [0, 1]) for (const tx of [0, 1, 2]) assert.deepEqual(at(tx, ty), expected, `tile ${tx},${ty} pixel ${x},${y}`);
  }
});

test('nca eval --texture: flags of the other mode, a grid or an exemplar too small, an unreadable image', () => {
  const expect = (args: string[], code: number, message: RegExp) => {
    const r = runNca(['eval', holdPath, ...args, '--quiet']);
    assert.equal(r.code, code, r.stderr);
    assert.match(r.stderr, message);
  };
  expect(['--texture', exemplarPath, '--target', exemplarPath], 64, /--target does not apply with --texture/);
  expect(['--texture', exemplarPath, '--regrow-at', '10'], 64, /--regrow-at does not apply with --texture/);
  expect(['--max-patch-ratio', '1'], 64, /--max-patch-ratio needs --texture/);
  expect(['--texture', exemplarPath, '--size', '16x16'], 64, /a 16x16 grid is too small to score \(at least 24 cells per side\); use a larger --size/);
  expect(['--texture', exemplarPath, '--texture-scale', '0.5'], 65, /stripes\.png: the exemplar \(32x32 at this scale\) is too small to score: each half needs at least 24 px per side \(48x24\); use a larger --texture-scale/);
  const junk = join(dir, 'junk.png');
  writeFileSync(junk, 'not an image');
  expect(['--texture', junk], 65, /junk\.png/);
});

test('nca train --texture keeps the best model by the texture score, and nca eval --texture gives that score again', () => {
  const out = join(dir, 'run');
  const train = runNca([
    'train', '--texture', exemplarPath, '--out', out, '--size', '24x24', '--iterations', '2', '--steps', '8', '--batch', '1', '--hidden', '16',
    '--score-every', '1', '--score-steps', '25,50', '--preview-every', '0', '--quiet',
  ]);
  assert.equal(train.code, 0, train.stderr);
  const { scores, best } = trainingScores(out);
  assert.deepEqual(scores.map((e) => e.iteration), [1, 2], 'scored every iteration');
  const evaluated = runNca(['eval', out, '--texture', exemplarPath, '--steps', '25,50', '--no-int8', '--quiet', '--json']);
  const report = JSON.parse(evaluated.stdout);
  assert.deepEqual(report.grid, { width: 24, height: 24 }, 'the training grid');
  assert.deepEqual(report.textureScale, { value: 1, from: 'as trained' }, 'metadata.extra.texture.scale');
  assert.equal(report.bestScore, best.score);
  assert.equal(report.score, best.score, 'the trainer scores as nca eval --texture does (float, training grid, --score-steps)');
});

test('nca train --texture refuses an exemplar or a grid too small to score, before training (exit 65, 64)', () => {
  const small = join(dir, 'small.png');
  writeFileSync(small, encodePng(stripeTexture(30, 30, 8, 'vertical')));
  const out = join(dir, 'small-run');
  const r = runNca(['train', '--texture', small, '--out', out, '--iterations', '1', '--quiet']);
  assert.equal(r.code, 65, r.stderr);
  assert.match(r.stderr, /small\.png: the exemplar \(30x30 at this scale\) is too small to score.*use a larger image or --texture-scale/);
  const grid = runNca(['train', '--texture', exemplarPath, '--out', out, '--size', '16x16', '--iterations', '1', '--quiet']);
  assert.equal(grid.code, 64, grid.stderr);
  assert.match(grid.stderr, /a 16x16 grid is too small to score .*use a larger --size/);
});
