import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decodeNca, encodeNca, type NcaModel } from '../../formats/index.ts';
import { decodePng, encodePng } from '../../trainer/image/png.ts';
import { runNca, trainingScores } from '../helpers/cli.ts';
import { blobTarget, driftingModel, fixedPointModel, growingModel, solidRed } from '../exporter/eval-models.ts';

const dir = mkdtempSync(join(tmpdir(), 'nca-eval-'));
const target = blobTarget();
const targetPath = join(dir, 'blob.png');
writeFileSync(targetPath, encodePng(target));

function save(name: string, model: NcaModel): string {
  const path = join(dir, name);
  writeFileSync(path, encodeNca(model, { weightDtype: 'float32' }));
  return path;
}

const fixed = fixedPointModel(target); // holds the target on its 16x12 grid (metadata.extra.grid), cannot regrow
fixed.metadata.extra = { ...fixed.metadata.extra, bestScore: 31.5 };
const fixedPath = save('fixed.nca', fixed);
const driftPath = save('drift.nca', driftingModel(target));
const quick = ['--steps', '20,60', '--quiet'];

test('nca eval: a model that holds its target passes (exit 0); the JSON report has the documented shape', () => {
  const { code, stdout, stderr } = runNca(['eval', fixedPath, '--target', targetPath, ...quick, '--no-regrow', '--json']);
  assert.equal(code, 0, stderr);
  const report = JSON.parse(stdout);
  assert.deepEqual(Object.keys(report).sort(), [
    'bestScore', 'engine', 'failures', 'grid', 'model', 'pass', 'runs', 'score', 'seconds', 'seed', 'steps', 'stepsRun', 'strip', 'target', 'targetPath', 'thresholds', 'thresholdsApplied',
  ]);
  assert.deepEqual(report.grid, { width: 16, height: 12 });
  assert.deepEqual(report.steps, [20, 60]);
  assert.deepEqual(report.target, { x: 4, y: 3, width: 8, height: 6 }, 'centred: (floor((16 - 8) / 2), floor((12 - 6) / 2))');
  assert.deepEqual(report.thresholds, { minPsnr: 25, maxChange: 0.01, minHealed: 0.75 });
  assert.equal(report.bestScore, 31.5);
  assert.equal(report.pass, true);
  assert.deepEqual(report.failures, []);
  assert.equal(report.strip, null);
  assert.deepEqual(report.runs.map((r: { weights: string }) => r.weights), ['float', 'int8']);
  for (const run of report.runs) {
    assert.deepEqual(Object.keys(run).sort(), ['endChange', 'marks', 'regrow', 'weights']);
    assert.equal(run.regrow, null);
    assert.deepEqual(run.marks.map((m: { steps: number }) => m.steps), [20, 60]);
    for (const m of run.marks) {
      assert.deepEqual(Object.keys(m).sort(), ['aliveFraction', 'decayed', 'died', 'exploded', 'max', 'min', 'nonFinite', 'psnr', 'ssim', 'steps']);
      assert.ok(m.psnr > 60 && m.ssim > 0.999, JSON.stringify(m));
    }
  }
  assert.equal(report.score, Math.min(...report.runs.flatMap((r: { marks: { psnr: number }[] }) => r.marks.map((m) => m.psnr))));
});

test('nca eval: regrowth is tested by default; a model that cannot regrow is caught (exit 3), --no-thresholds only reports', () => {
  const args = ['eval', fixedPath, '--target', targetPath, ...quick, '--regrow-at', '20', '--regrow-max', '30', '--regrow-trials', '2'];
  const failed = runNca([...args, '--json']);
  assert.equal(failed.code, 3, failed.stderr);
  const report = JSON.parse(failed.stdout);
  for (const run of report.runs) {
    const { trials, ...settings } = run.regrow;
    assert.deepEqual(settings, { healed: 0, max: 30, every: 10, withinDb: 1, shift: 1 });
    assert.deepEqual(trials.map((t: { at: number; side: string }) => [t.at, t.side]), [[20, 'right'], [40, 'left']]);
    for (const { psnrBefore, psnrErased, psnrEnd, moved, steps, held } of trials) {
      assert.deepEqual([steps, held], [null, false]);
      assert.ok(psnrErased < psnrBefore - 1);
      // A fixed point is still erased when the test stops; the best offset of one cell can only add a little.
      assert.ok(psnrEnd >= psnrErased && psnrEnd < psnrBefore - 1, `${psnrEnd}`);
      assert.ok(moved.every((d: number) => Math.abs(d) <= 1), `${moved}`);
    }
  }
  const inPlace = JSON.parse(runNca([...args, '--json', '--regrow-shift', '0']).stdout);
  for (const run of inPlace.runs) {
    assert.equal(run.regrow.shift, 0);
    for (const t of run.regrow.trials) {
      assert.deepEqual(t.moved, [0, 0]);
      assert.equal(t.psnrEnd, t.psnrErased, 'in place only: the erased PSNR itself');
    }
  }
  const missed = 'the right half erased at 20 steps did not regrow within 30 steps; the left half erased at 40 steps did not regrow within 30 steps';
  assert.deepEqual(report.failures, [`float: healed after 0 of 2 erases (2 needed): ${missed}`, `int8: healed after 0 of 2 erases (2 needed): ${missed}`]);
  assert.equal(runNca([...args, '--min-healed', '0']).code, 0, '--min-healed 0: regrowth is only reported');
  assert.equal(runNca([...args, '--min-healed', '1.5']).code, 64, '--min-healed is a fraction');
  const human = runNca(args);
  assert.equal(human.code, 3);
  assert.match(human.stdout, /best score during training: 31\.50 dB/);
  assert.match(human.stdout, /regrowth \(half the grid erased; healed = back within 1 dB of the PSNR before the erase, up to 1 cell over, and still so 30 steps after it; 2 of 2 needed\):\n  float: healed after 0 of 2 erases\n    right half at 20 steps \([\d.]+ dB\): not within 30 steps \([\d.]+ dB(, moved -?\d,-?\d)?\)\n    left half at 40 steps/);
  assert.match(human.stdout, /^  int8: healed after 0 of 2 erases$/m);
  assert.match(human.stdout, /^FAIL \(PSNR >= 25 dB at every step count, healed after 2 of 2 erases\)/m);
  const reportOnly = runNca([...args, '--no-thresholds']);
  assert.equal(reportOnly.code, 0, reportOnly.stderr);
  assert.match(reportOnly.stdout, /not applied: --no-thresholds/);
});

test('nca eval: a model that grows and regrows passes with its regrowth time', () => {
  const growPath = save('grow.nca', growingModel());
  const redPath = join(dir, 'red.png');
  writeFileSync(redPath, encodePng(solidRed(14, 9)));
  const { code, stdout, stderr } = runNca(['eval', growPath, '--target', redPath, '--steps', '60,90', '--regrow-at', '60', '--regrow-max', '200', '--quiet']);
  assert.equal(code, 0, stderr);
  assert.match(stdout, /14x9 grid/, 'the grid defaults to the target size');
  for (const weights of ['float', 'int8']) assert.match(stdout, new RegExp(`^  ${weights}: healed after 4 of 4 erases$`, 'm'));
  for (const [side, at] of [['right', 60], ['left', 120], ['bottom', 180], ['top', 240]]) {
    assert.match(stdout, new RegExp(`^    ${side} half at ${at} steps \\(100\\.00 dB\\): \\d+ steps, held \\(100 dB at 200\\)$`, 'm'));
  }
  assert.match(stdout, /^PASS /m);
});

test('nca eval: a drifting model fails the PSNR threshold with exit code 3, and the table says why', () => {
  const { code, stdout, stderr } = runNca(['eval', driftPath, '--target', targetPath, ...quick, '--no-regrow', '--no-int8']);
  assert.equal(code, 3, stderr);
  assert.match(stdout, /^weights +steps +PSNR dB +SSIM +alive +state range +flags$/m);
  assert.match(stdout, /^float +20 +\d+\.\d\d +-?\d\.\d{3} +\d+\.\d% +-?\d\.\d{3}\.\.-?\d\.\d{3} +decayed$/m);
  assert.doesNotMatch(stdout, /^int8/m, '--no-int8');
  assert.match(stdout, /^ {2}float: PSNR \d+\.\d+ dB at 20 steps < 25 dB$/m);
  // The same model meets a low enough bar.
  assert.equal(runNca(['eval', driftPath, '--target', targetPath, ...quick, '--no-regrow', '--min-psnr', '1']).code, 0);
});

test('nca eval --strip writes a PNG: the target, then a frame per step count; a row for float, one for int8', () => {
  const strip = join(dir, 'strip.png');
  const { code, stdout, stderr } = runNca(['eval', fixedPath, '--target', targetPath, ...quick, '--no-regrow', '--strip', strip, '--strip-scale', '3', '--json']);
  assert.equal(code, 0, stderr);
  const image = decodePng(new Uint8Array(readFileSync(strip)));
  // 3 tiles of 16x12 cells at 3 px per cell with 2 px gaps, 2 rows.
  assert.deepEqual([image.width, image.height], [3 * 48 + 2 * 2, 2 * 36 + 2]);
  assert.deepEqual(JSON.parse(stdout).strip, { path: strip, width: image.width, height: image.height, bytes: readFileSync(strip).length });
  const pixel = (tile: number, row: number, x: number, y: number) => {
    const at = ((row * 38 + y * 3) * image.width + tile * 50 + x * 3) * 4;
    return Array.from(image.data.subarray(at, at + 4));
  };
  // Cell (7, 5) of the grid is target pixel (3, 2) (the 8x6 target sits at (4, 3)); a corner is white (transparent).
  const [r, g, b] = target.data.subarray((2 * 8 + 3) * 4, (2 * 8 + 3) * 4 + 3);
  for (const row of [0, 1]) {
    assert.deepEqual(pixel(0, row, 7, 5), [r, g, b, 255]);
    assert.deepEqual(pixel(0, row, 0, 0), [255, 255, 255, 255]);
    for (const tile of [1, 2]) assert.deepEqual(pixel(tile, row, 7, 5), [r, g, b, 255], 'the fixed point shows the target');
  }
  assert.deepEqual(Array.from(image.data.subarray((0 * image.width + 48) * 4, (0 * image.width + 48) * 4 + 4)), [128, 128, 128, 255], 'a grey gap');
});

test('nca eval --strip with the regrowth test ends each row with the erased frame and the last frame of each erase', () => {
  const strip = join(dir, 'strip-regrow.png');
  const { code, stderr } = runNca(['eval', fixedPath, '--target', targetPath, ...quick, '--regrow-at', '20', '--regrow-max', '30', '--regrow-trials', '2', '--strip', strip, '--strip-scale', '1']);
  assert.equal(code, 3, stderr); // the fixed point cannot regrow
  const image = decodePng(new Uint8Array(readFileSync(strip)));
  // target, 20 and 60 steps, then erased and last for the right half and for the left: 7 tiles of 16x12 with 2 px gaps
  assert.deepEqual([image.width, image.height], [7 * 16 + 6 * 2, 2 * 12 + 2]);
  const pixel = (tile: number, x: number, y: number) => Array.from(image.data.subarray((y * image.width + tile * 18 + x) * 4, (y * image.width + tile * 18 + x) * 4 + 3));
  const targetPixel = (x: number, y: number) => Array.from(target.data.subarray((y * 8 + x) * 4, (y * 8 + x) * 4 + 3));
  // the target covers cells 4-11 x 3-8; the erase takes x >= 8, and a fixed point stays erased
  for (const tile of [3, 4]) {
    assert.deepEqual(pixel(tile, 7, 5), targetPixel(3, 2), `tile ${tile}: the left half is kept`);
    assert.deepEqual(pixel(tile, 9, 5), [255, 255, 255], `tile ${tile}: the right half is gone`);
  }
  assert.deepEqual(pixel(2, 9, 5), targetPixel(5, 2), 'before the erase the right half is there');
  for (const tile of [5, 6]) {
    assert.deepEqual(pixel(tile, 7, 5), [255, 255, 255], `tile ${tile}: the left half is gone`);
    assert.deepEqual(pixel(tile, 9, 5), targetPixel(5, 2), `tile ${tile}: the right half is kept`);
  }
});

test('nca eval: a trainer\'s model resizes and places the target as in training (metadata.extra.box); --no-box does not', () => {
  // The target at twice its size (nearest neighbour): resizing it back to the trained 8x6 box gives the original.
  const big = { width: 16, height: 12, data: new Uint8Array(16 * 12 * 4) };
  for (let y = 0; y < 12; y++) for (let x = 0; x < 16; x++) big.data.set(target.data.subarray(((y >> 1) * 8 + (x >> 1)) * 4, ((y >> 1) * 8 + (x >> 1)) * 4 + 4), (y * 16 + x) * 4);
  const bigPath = join(dir, 'big.png');
  writeFileSync(bigPath, encodePng(big));
  const boxed = fixedPointModel(target);
  boxed.metadata.extra = { ...boxed.metadata.extra, box: { x: 4, y: 3, width: 8, height: 6 } };
  const boxedPath = save('boxed.nca', boxed);
  const args = ['eval', boxedPath, '--target', bigPath, '--steps', '10', '--no-regrow', '--no-int8', '--quiet'];
  const inBox = runNca([...args, '--json']);
  assert.equal(inBox.code, 0, inBox.stderr);
  const report = JSON.parse(inBox.stdout);
  assert.deepEqual(report.target, { x: 4, y: 3, width: 8, height: 6 });
  assert.ok(report.score > 60, String(report.score));
  assert.match(runNca(args).stdout, /target .*big\.png \(16x12, resized to 8x6 as trained, at 4,3\)/);
  const own = runNca([...args, '--no-box', '--json']);
  assert.equal(own.code, 3, 'at its own size the target no longer matches');
  assert.deepEqual(JSON.parse(own.stdout).target, { x: 0, y: 0, width: 16, height: 12 });
});

test('nca eval without a target checks stability only; --config takes the same flags', () => {
  const config = join(dir, 'eval.json');
  writeFileSync(config, JSON.stringify({ args: [fixedPath], steps: '20,60', 'no-int8': true, quiet: true }));
  const fromConfig = runNca(['eval', '--config', config, '--json']);
  assert.equal(fromConfig.code, 0, fromConfig.stderr);
  const report = JSON.parse(fromConfig.stdout);
  assert.equal(report.score, null);
  assert.equal(report.target, null);
  assert.equal(report.runs.length, 1);
  assert.equal(report.runs[0].marks[0].psnr, null);
  assert.equal(report.runs[0].regrow, null);
  const fromFlags = JSON.parse(runNca(['eval', fixedPath, '--steps', '20,60', '--no-int8', '--quiet', '--json']).stdout);
  assert.deepEqual({ ...report, seconds: 0 }, { ...fromFlags, seconds: 0 });
  const human = runNca(['eval', '--config', config, '--steps', '5']);
  assert.match(human.stdout, /no target \(stability only\)/);
  assert.match(human.stdout, /^float +5 +- +- /m, 'the command line overrides the config');
});

test('nca eval: bad input gets one line and the documented exit code; --help has an example', () => {
  const corrupt = join(dir, 'corrupt.nca');
  const bytes = readFileSync(fixedPath);
  bytes[40] ^= 0xff;
  writeFileSync(corrupt, bytes);
  const notPng = join(dir, 'not.png');
  writeFileSync(notPng, 'hello');
  const cases: [string[], number, RegExp][] = [
    [['eval'], 64, /expected exactly one MODEL/],
    [['eval', fixedPath, '--steps', '10,x'], 64, /--steps must be step counts/],
    [['eval', fixedPath, '--size', '10by4'], 64, /WIDTHxHEIGHT/],
    [['eval', fixedPath, '--engine', 'gpu'], 64, /--engine must be one of ort, reference/],
    [['eval', fixedPath, '--threads', '0'], 64, /--threads/],
    [['eval', join(dir, 'missing.nca')], 66, /no such file/],
    [['eval', corrupt], 65, /checksum/],
    [['eval', notPng], 65, /not a \.nca file or a training checkpoint/],
    [['eval', fixedPath, '--target', join(dir, 'missing.png')], 66, /no such file/],
    [['eval', fixedPath, '--target', notPng], 65, /not a readable image/],
    [['eval', fixedPath, '--strip', join(dir, 'no-such-folder', 's.png')], 1, /there is no folder/],
  ];
  for (const [args, exitCode, message] of cases) {
    const { code, stderr } = runNca(args);
    assert.equal(code, exitCode, `${args.join(' ')}: ${stderr}`);
    assert.match(stderr, message);
    assert.equal(stderr.trim().split('\n').length, 1, `${args.join(' ')}: one line, no stack trace`);
  }
  const help = runNca(['eval', '--help']);
  assert.equal(help.code, 0);
  assert.match(help.stdout, /Example:\n {2}nca eval /);
  assert.match(runNca(['--help']).stdout, /^ {2}eval +run a model for a long time/m);
});

test('nca train --target scores its models as nca eval does: the lowest PSNR, float and int8', () => {
  const out = join(dir, 'scored-run');
  const train = runNca([
    'train', '--target', targetPath, '--out', out, '--iterations', '2', '--steps', '8', '--batch', '2', '--pool', '4', '--hidden', '16',
    '--score-every', '1', '--score-steps', '20,40', '--preview-every', '0', '--keep-scored',
  ]);
  assert.equal(train.code, 0, train.stderr);
  const { scores, best } = trainingScores(out);
  // --keep-scored: every scored model; the kept one is model.nca
  assert.deepEqual(readdirSync(join(out, 'scored')).sort(), ['iter-000001-average.nca', 'iter-000001-weights.nca', 'iter-000002-average.nca', 'iter-000002-weights.nca']);
  const weightsOf = (path: string) => decodeNca(new Uint8Array(readFileSync(path))).model.weights;
  const bestEvent = scores.find((e) => e.iteration === best.iteration)!;
  const bestFile = `iter-00000${best.iteration}-${bestEvent.averageScore! > bestEvent.score ? 'average' : 'weights'}.nca`;
  assert.deepEqual(weightsOf(join(out, 'scored', bestFile)), weightsOf(join(out, 'model.nca')));
  assert.deepEqual(scores.map((e) => e.iteration), [1, 2]);
  for (const e of scores) {
    // living runs keep a weight average by default, scored beside the weights
    const line = `iteration ${e.iteration}: long-run score ${e.score.toFixed(2)}, averaged weights ${e.averageScore!.toFixed(2)} (best ${e.best.toFixed(2)}, iteration ${e.bestIteration})`;
    assert.ok(train.stderr.split('\n').includes(line), `each score is shown as it happens: ${line}`);
  }
  const evaluated = JSON.parse(runNca(['eval', out, '--target', targetPath, '--steps', '20,40', '--no-regrow', '--quiet', '--json']).stdout);
  const dead = evaluated.runs.some((run: any) => run.marks.some((m: any) => m.died || m.exploded));
  const psnrs = evaluated.runs.flatMap((run: any) => run.marks.map((m: any) => m.psnr));
  assert.equal(best.score, dead ? 0 : Math.min(...psnrs));
});
