import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decodeNca, ReferenceNca } from '../../formats/index.ts';
import { decodePng, encodePng } from '../../trainer/image/png.ts';
import { quantize } from '../../exporter/quantize.ts';
import { maxAbsDiff } from '../helpers/models.ts';
import { runNca } from '../helpers/cli.ts';
import { loadCheckpoint } from '../../trainer/train/checkpoint.ts';

const dir = mkdtempSync(join(tmpdir(), 'nca-model-input-'));
const run = join(dir, 'run');

test('a tiny real training run: its checkpoint (file or run folder) exports and renders', () => {
  const size = 12;
  const target = new Uint8Array(size * size * 4);
  for (let p = 0; p < size * size; p++) target.set((p % size) + Math.floor(p / size) < size ? [220, 60, 40, 255] : [0, 0, 0, 0], p * 4);
  writeFileSync(join(dir, 'target.png'), encodePng({ width: size, height: size, data: target }));
  const train = ['train', '--target', join(dir, 'target.png'), '--out', run, '--iterations', '2', '--batch', '1', '--pool', '2'];
  // --weight-average 0: model.nca then holds the checkpoint's own weights, never their average
  const trained = runNca([...train, '--steps', '8-8', '--hidden', '16', '--weight-average', '0', '--preview-every', '0', '--quiet']);
  assert.equal(trained.code, 0, trained.stderr);
  // The run's own float32 model.nca holds the checkpoint's weights exactly.
  const float = decodeNca(new Uint8Array(readFileSync(join(run, 'model.nca')))).model;

  const out = join(dir, 'model.nca');
  const exported = runNca(['export', run, '--out', out, '--fidelity-size', '12x12', '--json']);
  assert.equal(exported.code, 0, exported.stderr);
  assert.equal(JSON.parse(exported.stdout).inputDtype, 'float32');
  const written = decodeNca(new Uint8Array(readFileSync(out))).model;
  assert.deepEqual(written.weights.w1, quantize(float, 'int8').weights.w1);
  assert.equal(written.metadata.clipModel, float.metadata.clipModel);

  const frames = join(dir, 'frames');
  const rendered = runNca(['render', join(run, 'checkpoint.bin'), '--png-dir', frames, '--size', '15x10', '--frames', '3', '--steps-per-frame', '4']);
  assert.equal(rendered.code, 0, rendered.stderr);
  assert.deepEqual(readdirSync(frames).sort(), ['frame_0000.png', 'frame_0001.png', 'frame_0002.png']);
  const nca = new ReferenceNca(float, { width: 15, height: 10 });
  for (let i = 0; i < 3; i++) {
    const png = decodePng(new Uint8Array(readFileSync(join(frames, `frame_000${i}.png`))));
    assert.equal(png.width, 15);
    assert.equal(png.height, 10);
    // RGBA model over the default white background.
    const expected = nca.rgba();
    const over = new Uint8Array(expected.length);
    for (let p = 0; p < expected.length; p += 4) {
      const a = expected[p + 3] / 255;
      for (let k = 0; k < 3; k++) over[p + k] = Math.round(expected[p + k] * a + 255 * (1 - a));
      over[p + 3] = 255;
    }
    assert.ok(maxAbsDiff(png.data, over) <= 1, `frame ${i}: ${maxAbsDiff(png.data, over)}`);
    nca.run(4);
  }
});

test('render and export refuse a broken checkpoint with one line and code 65', () => {
  const broken = join(dir, 'broken.bin');
  writeFileSync(broken, Buffer.concat([Buffer.from('NCACKPT1'), Buffer.from([255, 255, 0, 0])]));
  for (const args of [['render', broken, '--gif', join(dir, 'x.gif')], ['export', broken, '--out', join(dir, 'x.nca')]]) {
    const { code, stderr } = runNca(args);
    assert.equal(code, 65, stderr);
    assert.match(stderr, /truncated|corrupt/);
    assert.equal(stderr.trim().split('\n').length, 1);
  }
});

test('nca train --target grows its pool from 256 states, ages its elder slots and ends with a regrowth phase by default; --pool-start, --age-steps/--age-every, --no-age-elders and --regrow-phase/--regrow-damage set them, and bad ones are refused (64 for a bad number, 65 for a bad combination)', async () => {
  const train = (out: string, ...flags: string[]) =>
    runNca(['train', '--target', join(dir, 'target.png'), '--out', join(dir, out), '--iterations', '1', '--batch', '1', '--steps', '4-4', '--hidden', '8', '--preview-every', '0', '--score-every', '0', '--quiet', ...flags]);
  const poolOf = async (out: string) => (await loadCheckpoint(join(dir, out))).config;
  assert.equal(train('pool-default', '--pool', '300').code, 0);
  assert.deepEqual(pick(await poolOf('pool-default')), { poolSize: 300, poolStart: 256, ageSteps: 4000, ageEvery: 200, ageElders: true, regrowPhase: 0.15, regrowDamage: 0 });
  assert.equal(train('pool-small', '--pool', '40').code, 0);
  assert.deepEqual(pick(await poolOf('pool-small')), { poolSize: 40, poolStart: 40, ageSteps: 4000, ageEvery: 200, ageElders: true, regrowPhase: 0.15, regrowDamage: 0 }, 'a pool under 256 states does not grow');
  assert.equal(train('pool-start', '--pool', '40', '--pool-start', '8', '--age-steps', '30', '--age-every', '3', '--no-age-elders', '--regrow-phase', '0.3').code, 0);
  assert.deepEqual(pick(await poolOf('pool-start')), { poolSize: 40, poolStart: 8, ageSteps: 30, ageEvery: 3, ageElders: false, regrowPhase: 0.3, regrowDamage: 0 });
  const bad = train('pool-bad', '--pool', '40', '--pool-start', '50');
  assert.equal(bad.code, 65);
  assert.match(bad.stderr, /poolStart \(50\) is larger than poolSize \(40\)/);
  const badRegrow = train('regrow-bad', '--regrow-damage', '1');
  assert.equal(badRegrow.code, 65);
  assert.match(badRegrow.stderr, /regrowDamage \(1\) must leave at least one batch state intact \(batch 1\)/);
  const badAge = train('age-bad', '--age-every', '0');
  assert.equal(badAge.code, 64);
  assert.match(badAge.stderr, /age-every/);
});

function pick(c: { poolSize: number; poolStart?: number; ageSteps: number; ageEvery: number; ageElders?: boolean; regrowPhase?: number; regrowDamage?: number }) {
  return { poolSize: c.poolSize, poolStart: c.poolStart, ageSteps: c.ageSteps, ageEvery: c.ageEvery, ageElders: c.ageElders, regrowPhase: c.regrowPhase, regrowDamage: c.regrowDamage };
}
