import assert from 'node:assert/strict';
import { test } from 'node:test';
import { learningRate } from '../../trainer/train/adam.ts';
import { SOURCE_METHOD, validateConfig, ConfigError } from '../../trainer/train/config.ts';

const milestones = [0.3, 0.5, 0.85];

test('step decay: the rate is multiplied by the factor at each milestone passed', () => {
  const at = (it: number) => learningRate(2e-3, it, 1000, milestones, 0.4);
  assert.equal(at(0), 2e-3);
  assert.equal(at(299), 2e-3);
  assert.ok(Math.abs(at(300) - 8e-4) < 1e-12);
  assert.ok(Math.abs(at(500) - 3.2e-4) < 1e-12);
  assert.ok(Math.abs(at(999) - 1.28e-4) < 1e-12);
});

test('warmup ramps the rate up linearly, then leaves the step decay alone', () => {
  const at = (it: number) => learningRate(2e-3, it, 1000, milestones, 0.4, 100);
  assert.ok(Math.abs(at(0) - 2e-5) < 1e-12, 'lr / warmup at the first iteration');
  assert.ok(Math.abs(at(49) - 1e-3) < 1e-12, 'half way');
  assert.equal(at(99), 2e-3);
  assert.equal(at(250), 2e-3);
  assert.equal(at(300), learningRate(2e-3, 300, 1000, milestones, 0.4));
  for (let it = 1; it < 100; it++) assert.ok(at(it) > at(it - 1), 'rising during the warmup');
});

test('lrWarmup: checkpoints from before it train without one; a negative or fractional one is refused', () => {
  const old = structuredClone(SOURCE_METHOD) as Partial<typeof SOURCE_METHOD>;
  delete old.lrWarmup;
  assert.equal(validateConfig(old as typeof SOURCE_METHOD).lrWarmup, 0);
  assert.throws(() => validateConfig({ ...structuredClone(SOURCE_METHOD), lrWarmup: -1 }), ConfigError);
  assert.throws(() => validateConfig({ ...structuredClone(SOURCE_METHOD), lrWarmup: 2.5 }), /lrWarmup/);
});
