import { test } from 'node:test';
import assert from 'node:assert/strict';
import { measureFidelity } from '../../exporter/fidelity.ts';
import { psnrOfValues as psnr } from '../../exporter/eval/metrics.ts';
import { quantize } from '../../exporter/quantize.ts';
import { randomModel } from '../helpers/models.ts';

test('psnr: infinite for equal images, 20 dB for an RMS error of 0.1', () => {
  const a = new Float32Array(100).fill(0.5);
  assert.equal(psnr(a, a.slice()), Infinity);
  const b = a.map((v, i) => v + (i % 2 ? 0.1 : -0.1));
  assert.ok(Math.abs(psnr(a, b) - 20) < 1e-4);
});

test('quantize goes through the codec: int8 per row, float16, float32 unchanged', () => {
  const model = randomModel();
  assert.deepEqual(quantize(model, 'float32').weights.w1, model.weights.w1);
  const int8 = quantize(model, 'int8').weights.w1;
  const half = quantize(model, 'float16').weights.w1;
  const cols = 48;
  for (let row = 0; row < 128; row++) {
    const slice = model.weights.w1.subarray(row * cols, (row + 1) * cols);
    const step = Math.max(...slice.map(Math.abs)) / 127;
    for (let i = 0; i < cols; i++) {
      assert.ok(Math.abs(int8[row * cols + i] - slice[i]) <= step / 2 + 1e-7, `int8 row ${row}`);
      assert.ok(Math.abs(half[row * cols + i] - slice[i]) <= Math.abs(slice[i]) / 1024 + 1e-7, `float16 row ${row}`);
    }
  }
});

test('fidelity: identical models are infinitely faithful; int8 drifts more than float16; both engines agree', async () => {
  const model = randomModel();
  const grid = { width: 16, height: 12 };
  const steps = [4, 12];
  const same = await measureFidelity(model, quantize(model, 'float32'), { grid, steps });
  assert.deepEqual(same.map((r) => r.psnr), [Infinity, Infinity]);
  const int8 = await measureFidelity(model, quantize(model, 'int8'), { grid, steps });
  const half = await measureFidelity(model, quantize(model, 'float16'), { grid, steps });
  assert.deepEqual(int8.map((r) => r.steps), steps);
  for (let i = 0; i < steps.length; i++) {
    assert.ok(Number.isFinite(int8[i].psnr) && int8[i].psnr > 20, `int8 ${int8[i].psnr}`);
    assert.ok(half[i].psnr > int8[i].psnr, `float16 ${half[i].psnr} vs int8 ${int8[i].psnr}`);
  }
  const reference = await measureFidelity(model, quantize(model, 'int8'), { grid, steps, engine: 'reference' });
  reference.forEach((r, i) => assert.ok(Math.abs(r.psnr - int8[i].psnr) < 0.5, `reference ${r.psnr} vs ort ${int8[i].psnr}`));
});
