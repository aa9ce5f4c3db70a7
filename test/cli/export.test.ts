import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decodeNca, encodeNca } from '../../formats/index.ts';
import { FIDELITY_STEPS } from '../../exporter/fidelity.ts';
import { quantize } from '../../exporter/quantize.ts';
import { randomModel } from '../helpers/models.ts';
import { runNca } from '../helpers/cli.ts';

const dir = mkdtempSync(join(tmpdir(), 'nca-export-'));
const model = randomModel({ seed: 5 });
const floatPath = join(dir, 'float.nca');
writeFileSync(floatPath, encodeNca(model, { weightDtype: 'float32' }));

test('nca export re-quantises a float32 .nca to int8 and reports PSNR at 64, 256 and 1024 steps', () => {
  const out = join(dir, 'int8.nca');
  const { code, stdout, stderr } = runNca(['export', floatPath, '--out', out, '--fidelity-size', '16x16', '--json', '--title', 'ring']);
  assert.equal(code, 0, stderr);
  const summary = JSON.parse(stdout);
  assert.equal(summary.dtype, 'int8');
  assert.equal(summary.inputDtype, 'float32');
  assert.deepEqual(summary.fidelity.rows.map((r: { steps: number }) => r.steps), [...FIDELITY_STEPS]);
  // int8 weights differ from float32 ones, so the 64-step colours differ a little. A random
  // model's colours saturate to 0 or 1 later on, so later rows may be identical (null).
  const first = summary.fidelity.rows[0].psnr;
  assert.ok(typeof first === 'number' && first > 5, JSON.stringify(summary.fidelity));
  const { model: written, file } = decodeNca(new Uint8Array(readFileSync(out)));
  assert.equal(file.byteLength, summary.bytes);
  assert.equal(file.tensors.find((t) => t.name === 'w1')!.dtype, 'int8');
  assert.deepEqual(written.weights.w2, quantize(model, 'int8').weights.w2);
  assert.equal(written.metadata.title, 'ring');
});

test('nca export --dtype float16 --no-fidelity prints a human summary', () => {
  const out = join(dir, 'half.nca');
  const { code, stdout } = runNca(['export', floatPath, '--out', out, '--dtype', 'float16', '--no-fidelity']);
  assert.equal(code, 0);
  assert.match(stdout, /^wrote .*half\.nca \(\d+ bytes, float16 weights\)\n$/);
  assert.equal(decodeNca(new Uint8Array(readFileSync(out))).file.tensors[0].dtype, 'float16');
});

test('nca export: usage and input errors', () => {
  const cases: [string[], number, RegExp][] = [
    [['export', floatPath], 64, /--out FILE\.nca is required/],
    [['export', floatPath, '--out', join(dir, 'x.nca'), '--dtype', 'int4'], 64, /--dtype must be one of int8, float16, float32/],
    [['export', '--out', join(dir, 'x.nca')], 64, /expected exactly one MODEL/],
    [['export', join(dir, 'nope.nca'), '--out', join(dir, 'x.nca')], 66, /no such file/],
  ];
  for (const [args, exitCode, message] of cases) {
    const { code, stderr } = runNca(args);
    assert.equal(code, exitCode, stderr);
    assert.match(stderr, message);
  }
});
