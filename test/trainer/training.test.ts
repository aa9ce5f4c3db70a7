// The training loop's parts: the pixel loss, NaN rollback, checkpoint and config errors.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { defaultTopology, type Weights } from '../../formats/model.ts';
import { Rng } from '../../formats/random.ts';
import { encodePng } from '../../trainer/image/png.ts';
import { pixelLoss } from '../../trainer/pixel/pixel-loss.ts';
import { CHECKPOINT_FILE, CheckpointError, decodeCheckpoint, loadCheckpoint, loadCheckpointModel, MODEL_FILE } from '../../trainer/train/checkpoint.ts';
import { decodeNca } from '../../formats/nca-file.ts';
import { ConfigError, SOURCE_METHOD, validateConfig, type TrainConfig } from '../../trainer/train/config.ts';
import type { Loss } from '../../trainer/train/loss.ts';
import { activePoolSize, Pool } from '../../trainer/train/pool.ts';
import { maskSeed } from '../../trainer/nca/masks.ts';
import { takeHwc } from '../../trainer/nca/layout.ts';
import { standardMask, step } from '../../formats/reference-core.ts';
import { Trainer, type TrainEvent } from '../../trainer/train/trainer.ts';

const size = 12;
const image = (() => {
  const data = new Uint8Array(size * size * 4);
  for (let i = 0; i < size * size; i++) data.set([(i * 7) % 256, (i * 13) % 256, 200, 255], i * 4);
  return { width: size, height: size, data };
})();
const spec = { kind: 'pixel' as const, targetPng: Buffer.from(encodePng(image)).toString('base64') };
const config: TrainConfig = {
  ...SOURCE_METHOD,
  topology: defaultTopology({ hidden: 16 }),
  width: size,
  height: size,
  poolSize: 6,
  batch: 2,
  iterations: 8,
  minSteps: 6,
  maxSteps: 10,
  seed: 'cell',
  saveEvery: 2,
  previewEvery: 0,
  overflowWeight: 3,
};
const tempDir = () => mkdtempSync(join(tmpdir(), 'nca-train-'));

test('the pixel loss is the mean squared colour error plus the weighted mean overflow', async () => {
  const loss = await pixelLoss(spec, config, { threads: 1 });
  const shape = { batch: 2, channels: 12, height: size, width: size };
  const rng = new Rng(5);
  const state = Float32Array.from({ length: 2 * 12 * size * size }, () => rng.normal());
  const result = await loss.evaluate(state, shape, 0);
  const plane = size * size;
  let squared = 0;
  let overflow = 0;
  for (let b = 0; b < 2; b++) {
    for (let c = 0; c < 12; c++) {
      for (let i = 0; i < plane; i++) {
        const x = state[(b * 12 + c) * plane + i];
        overflow += Math.abs(x - Math.min(1, Math.max(-1, x)));
        if (c < 3) squared += (x + 0.5 - image.data[i * 4 + c] / 255) ** 2;
      }
    }
  }
  const pixel = squared / (2 * 3 * plane);
  const meanOverflow = overflow / state.length;
  assert.ok(Math.abs(result.logs.pixel - pixel) < 1e-5);
  assert.ok(Math.abs(result.logs.overflow - meanOverflow) < 1e-5);
  assert.ok(Math.abs(result.loss - (pixel + 3 * meanOverflow)) < 1e-4);
  assert.equal(result.grad.length, state.length);
  await loss.release?.();
});

test('a NaN loss rolls back to the last checkpoint, halves the learning rate, and the run goes on', async () => {
  const dir = tempDir();
  const inner = await pixelLoss(spec, config, { threads: 1 });
  let poisoned = false;
  const flaky: Loss = {
    async evaluate(state, shape, iteration) {
      const r = await inner.evaluate(state, shape, iteration);
      if (iteration === 5 && !poisoned) {
        poisoned = true;
        return { ...r, loss: NaN };
      }
      return r;
    },
  };
  const events: TrainEvent[] = [];
  const trainer = await Trainer.start(config, flaky, { dir, threads: 1, onEvent: (e) => events.push(e) });
  await trainer.run();
  const rollback = events.find((e) => e.kind === 'rollback');
  assert.deepEqual(rollback, { kind: 'rollback', iteration: 5, to: 4, reason: 'loss is NaN', lrScale: 0.5 });
  const after = events.filter((e): e is Extract<TrainEvent, { kind: 'iteration' }> => e.kind === 'iteration' && e.iteration >= 4);
  assert.equal(after.at(-1)!.iteration, config.iterations - 1);
  // iterations 4.. ran twice: once before the NaN (full rate), once after (half rate)
  const [first, second] = after.filter((e) => e.iteration === 4);
  assert.ok(Math.abs(second.lr - first.lr / 2) < 1e-15);
  assert.equal((await loadCheckpoint(dir)).lrScale, 0.5);
  await trainer.release();
  await inner.release?.();
});

test('a finished 16:9 run (QAT, damage) leaves a loadable checkpoint and model; damaged checkpoints fail clearly', async () => {
  const dir = tempDir();
  const wide: TrainConfig = { ...config, width: 16, height: 9, iterations: 2, qat: true, damage: 1 };
  const loss = await pixelLoss(spec, wide, { threads: 1 });
  const trainer = await Trainer.start(wide, loss, { dir, threads: 1 });
  await trainer.run();
  await trainer.release();
  const model = await loadCheckpointModel(dir);
  assert.equal(model.metadata.iterations, 2);
  assert.equal(model.weights.w1.length, 16 * 48);
  assert.ok(model.weights.w2.some((v) => v !== 0), 'w2 never moved off zero');
  const saved = await loadCheckpoint(dir);
  assert.equal(saved.pool.length, wide.poolSize * 12 * 16 * 9);

  const bytes = readFileSync(join(dir, CHECKPOINT_FILE));
  writeFileSync(join(dir, CHECKPOINT_FILE), bytes.subarray(0, bytes.length - 100));
  await assert.rejects(loadCheckpoint(dir), (e: Error) => e instanceof CheckpointError && /truncated/.test(e.message));
  writeFileSync(join(dir, CHECKPOINT_FILE), Buffer.from('not a checkpoint at all'));
  await assert.rejects(loadCheckpoint(dir), (e: Error) => e instanceof CheckpointError && /not a trainer checkpoint/.test(e.message));
  await assert.rejects(loadCheckpoint(tempDir()), (e: Error) => e instanceof CheckpointError && /no checkpoint/.test(e.message));
});

test('a checkpoint written beside the next iterations holds its own iteration; a write that fails stops the run and keeps the last checkpoint', async () => {
  const dir = tempDir();
  const c: TrainConfig = { ...config, iterations: 8, saveEvery: 1 };
  const loss = await pixelLoss(spec, c, { threads: 1 });
  const seen: number[] = [];
  const trainer = await Trainer.start(c, loss, {
    dir,
    threads: 1,
    onEvent: (e) => {
      if (e.kind === 'iteration') seen.push(e.iteration);
      if (e.kind !== 'checkpoint') return;
      assert.equal(decodeCheckpoint(readFileSync(join(dir, CHECKPOINT_FILE))).iteration, e.iteration, 'the file holds the announced iteration');
      // the next write's temporary file cannot be made
      if (e.iteration === 3) mkdirSync(join(dir, `${CHECKPOINT_FILE}.tmp-${process.pid}`));
    },
  });
  await assert.rejects(trainer.run(), /EISDIR/);
  await trainer.release();
  assert.ok(Math.max(...seen) < 6, `the run went on after the failed write, to iteration ${Math.max(...seen)}`);
  assert.equal((await loadCheckpoint(dir)).iteration, 3, 'the last good checkpoint is kept');
});

test('bad settings are rejected with the setting named', () => {
  assert.throws(() => validateConfig({ ...config, batch: 10, poolSize: 4 }), (e: Error) => e instanceof ConfigError && /batch/.test(e.message));
  assert.throws(() => validateConfig({ ...config, minSteps: 9, maxSteps: 3 }), (e: Error) => e instanceof ConfigError && /maxSteps/.test(e.message));
  assert.throws(() => validateConfig({ ...config, lr: -1 }), (e: Error) => e instanceof ConfigError && /lr/.test(e.message));
  assert.throws(() => validateConfig({ ...config, damage: 2 }), (e: Error) => e instanceof ConfigError && /damage/.test(e.message));
  assert.throws(() => validateConfig({ ...config, damage: 1, damageShape: 'square' as never }), (e: Error) => e instanceof ConfigError && /damageShape/.test(e.message));
  assert.throws(() => validateConfig({ ...config, weightAverage: 1 }), (e: Error) => e instanceof ConfigError && /weightAverage/.test(e.message));
  assert.throws(() => validateConfig({ ...config, settleWeight: -1 }), (e: Error) => e instanceof ConfigError && /settleWeight/.test(e.message));
  assert.throws(() => validateConfig({ ...config, poolStart: 7 }), (e: Error) => e instanceof ConfigError && /poolStart.*poolSize/.test(e.message));
  assert.throws(() => validateConfig({ ...config, poolStart: 1 }), (e: Error) => e instanceof ConfigError && /batch.*poolStart/.test(e.message));
});

test('a growing pool samples its first poolStart states at first, growing linearly to the whole pool at 30 % of the run', async () => {
  const run = { poolStart: 256, poolSize: 1024, iterations: 1800 };
  assert.deepEqual([0, 135, 270, 405, 540, 541, 1799].map((it) => activePoolSize(run, it)), [256, 448, 640, 832, 1024, 1024, 1024]);
  assert.equal(activePoolSize({ poolSize: 6, iterations: 10 }, 0), 6, 'no growth without a start');
  const rng = new Rng(3);
  for (let k = 0; k < 50; k++) assert.ok(new Pool(20, 1).sample(4, rng, 5).every((s) => s < 5));
  assert.throws(() => new Pool(20, 1).sample(6, rng, 5), /cannot sample 6 of 5/);

  // the trainer: iteration 0 may only touch slots 0 and 1, iteration 1 only 0-3 (8 slots, growth over 3 iterations)
  const growing: TrainConfig = { ...config, poolSize: 8, poolStart: 2, iterations: 10, saveEvery: 1 };
  const dir = tempDir();
  const ranked: number[][] = []; // ranked[k]: the slots written back (so ranked by their loss) in the first k iterations
  const trainer = await Trainer.start(growing, await pixelLoss(spec, growing, { threads: 1 }), {
    dir,
    threads: 1,
    onEvent: (e) => {
      if (e.kind !== 'checkpoint') return;
      const losses = decodeCheckpoint(readFileSync(join(dir, CHECKPOINT_FILE))).poolLoss;
      ranked[e.iteration] = [...losses.keys()].filter((s) => Number.isFinite(losses[s]));
    },
  });
  await trainer.run();
  await trainer.release();
  assert.deepEqual(ranked[1], [0, 1]);
  assert.ok(ranked[2].every((s) => s < 4), `iteration 1 touched ${ranked[2]}`);
  assert.ok(ranked[10].some((s) => s >= 6), 'the last slots are used once the pool has grown');
});

test('pool ageing runs the batch just trained ageSteps more steps (as the reference core, with masks of their own) every ageEvery iterations once the pool is full', async () => {
  const ageSteps = 5;
  // Two iterations of batch 1 from a pool of 2: ageing after iteration 0 is ruled out by
  // ageEvery 2 (first pair) and by a pool that is not full yet (second pair).
  // Third: ageElders ages slot 0 (the first `batch` slots) whichever slot was trained.
  const base: TrainConfig = { ...config, poolSize: 2, batch: 1, iterations: 2, saveEvery: 1 };
  for (const variant of [{ ageEvery: 2 }, { ageEvery: 1, poolStart: 1 }, { ageEvery: 2, ageElders: true, poolSize: 4 }]) {
    const pools = async (ageing: number) => {
      const c: TrainConfig = { ...base, ...variant, ageSteps: ageing };
      const dir = tempDir();
      const seen: ReturnType<typeof decodeCheckpoint>[] = [];
      const trainer = await Trainer.start(c, await pixelLoss(spec, c, { threads: 1 }), {
        dir,
        threads: 1,
        onEvent: (e) => e.kind === 'checkpoint' && seen.push(decodeCheckpoint(readFileSync(join(dir, CHECKPOINT_FILE)))),
      });
      await trainer.run();
      await trainer.release();
      return seen;
    };
    const [plain, aged] = [await pools(0), await pools(ageSteps)];
    assert.deepEqual(aged[0].pool, plain[0].pool, `${JSON.stringify(variant)}: no ageing after iteration 0`);
    assert.deepEqual(flat(aged[1].weights), flat(plain[1].weights), 'ageing leaves training alone');
    const stateSize = base.topology.channels * size * size;
    const slotOf = (p: Float32Array, s: number) => p.subarray(s * stateSize, (s + 1) * stateSize);
    const slots = [...Array((variant as TrainConfig).poolSize ?? base.poolSize).keys()];
    const differ = (a: Float32Array, b: Float32Array) => slots.filter((s) => slotOf(a, s).some((v, i) => v !== slotOf(b, s)[i]));
    const trained = differ(plain[1].pool, plain[0].pool);
    const touched = differ(aged[1].pool, plain[1].pool);
    if ('ageElders' in variant) {
      assert.ok(trained.length === 1 && trained[0] !== 0, `iteration 1 trained slot ${trained}, not the elder`);
      assert.deepEqual(touched, [0], 'the elder slot is aged, not the one trained');
    } else assert.deepEqual(touched, trained, 'exactly the trained slot is aged');
    const model = { topology: base.topology, weights: aged[1].weights, seed: { kind: 'noise' as const }, metadata: {} };
    const shape = { batch: 1, channels: base.topology.channels, height: size, width: size };
    let expected = takeHwc(slotOf(plain[1].pool, touched[0]), shape, 0);
    for (let k = 0; k < ageSteps; k++) expected = step(model, expected, config, standardMask(base.topology, config, maskSeed(base.runSeed, -2, 0), k));
    const got = takeHwc(slotOf(aged[1].pool, touched[0]), shape, 0);
    const error = Math.max(...got.map((v, i) => Math.abs(v - expected[i])));
    assert.ok(error < 1e-4, `aged state off the reference by ${error}`);
    assert.ok(distance(got, takeHwc(slotOf(plain[1].pool, touched[0]), shape, 0)) > 1e-3, 'ageing changed the state');
  }
});

test('ageDamage half-erases the first aged states before they age, and changes nothing else', async () => {
  // batch 2 of a pool of 4, elders aged after iteration 1 (the last): slots 0 and 1, the first of them erased
  const base: TrainConfig = { ...config, poolSize: 4, batch: 2, iterations: 2, saveEvery: 2, ageSteps: 3, ageEvery: 2, ageElders: true };
  const finalState = async (ageDamage: number) => {
    const c: TrainConfig = { ...base, ageDamage };
    const dir = tempDir();
    const trainer = await Trainer.start(c, await pixelLoss(spec, c, { threads: 1 }), { dir, threads: 1 });
    await trainer.run();
    await trainer.release();
    return loadCheckpoint(dir);
  };
  const [plain, damaged] = [await finalState(0), await finalState(1)];
  assert.deepEqual(flat(damaged.weights), flat(plain.weights), 'training is untouched');
  const stateSize = base.topology.channels * size * size;
  const cells = (p: Float32Array, slot: number) => p.subarray(slot * stateSize, (slot + 1) * stateSize);
  for (const slot of [1, 2, 3]) assert.deepEqual(cells(damaged.pool, slot), cells(plain.pool, slot), `slot ${slot} is as without damage`);
  const shape = { batch: 1, channels: base.topology.channels, height: size, width: size };
  const [a, b] = [takeHwc(cells(plain.pool, 0), shape, 0), takeHwc(cells(damaged.pool, 0), shape, 0)];
  const changed = Array.from({ length: size * size }, (_, i) => i).filter((i) => a.subarray(i * 12, i * 12 + 12).some((v, c) => v !== b[i * 12 + c]));
  assert.ok(changed.length > size && changed.length < size * size, `the erase changed ${changed.length} of ${size * size} cells of the elder`);
  assert.throws(() => validateConfig({ ...base, ageDamage: 3 }), /ageDamage \(3\) is more than the 2 states/);
});

test('the settling loss: the logged term is the mean squared change of the last step (as the reference core), weighted into the loss', async () => {
  const settleWeight = 7;
  const c: TrainConfig = { ...config, iterations: 2, saveEvery: 1, settleWeight };
  const dir = tempDir();
  const checkpoints: ReturnType<typeof decodeCheckpoint>[] = [];
  const events: TrainEvent[] = [];
  const trainer = await Trainer.start(c, await pixelLoss(spec, c, { threads: 1 }), {
    dir,
    threads: 1,
    onEvent: (e) => {
      events.push(e);
      if (e.kind === 'checkpoint') checkpoints.push(decodeCheckpoint(readFileSync(join(dir, CHECKPOINT_FILE))));
    },
  });
  await trainer.run();
  await trainer.release();
  // Iteration 0 starts from w2 = 0 (no change: settle 0); iteration 1 runs the seeds with the weights saved after iteration 0.
  const [first, second] = events.filter((e): e is Extract<TrainEvent, { kind: 'iteration' }> => e.kind === 'iteration');
  assert.equal(first.logs.settle, 0);
  const before = checkpoints[0];
  const stateSize = c.topology.channels * size * size;
  const shape = { batch: 1, channels: c.topology.channels, height: size, width: size };
  const seedState = takeHwc(before.pool.subarray(0, stateSize), shape, 0);
  for (let slot = 1; slot < c.poolSize; slot++) assert.deepEqual(before.pool.subarray(slot * stateSize, (slot + 1) * stateSize), before.pool.subarray(0, stateSize), 'every pool state is the seed');
  const model = { topology: c.topology, weights: before.weights, seed: { kind: 'noise' as const }, metadata: {} };
  let sum = 0;
  for (let b = 0; b < c.batch; b++) {
    let x = seedState;
    let previous = x;
    for (let k = 0; k < second.steps; k++) [previous, x] = [x, step(model, x, c, standardMask(c.topology, c, maskSeed(c.runSeed, 1, b), k))];
    sum += x.reduce((s, v, i) => s + (v - previous[i]) ** 2, 0);
  }
  const expected = sum / (c.batch * stateSize);
  assert.ok(expected > 0, 'the last step changed the state');
  assert.ok(Math.abs(second.logs.settle - expected) < 1e-3 * expected, `settle ${second.logs.settle}, reference ${expected}`);
  const total = second.logs.pixel + c.overflowWeight * second.logs.overflow + settleWeight * second.logs.settle;
  assert.ok(Math.abs(second.loss - total) < 1e-6 * total, `loss ${second.loss}, terms ${total}`);
});

test('the weight average follows a = d·a + (1 - d)·w from the initial weights, is checkpointed, and is scored beside the weights', async () => {
  const decay = 0.75;
  const averaged: TrainConfig = { ...config, iterations: 3, saveEvery: 1, weightAverage: decay, scoreEvery: 3 };
  const loss = await pixelLoss(spec, averaged, { threads: 1 });
  const dir = tempDir();
  const read = () => decodeCheckpoint(readFileSync(join(dir, CHECKPOINT_FILE)));
  const snapshots: { weights: Float32Array; average: Float32Array }[] = [];
  const events: TrainEvent[] = [];
  const trainer = await Trainer.start(averaged, loss, {
    dir,
    threads: 1,
    // a score that differs between the two: closeness to the initial weights
    score: async (m) => -distance(flat(m.weights), snapshots[0].weights),
    onEvent: (e) => {
      events.push(e);
      if (e.kind !== 'checkpoint') return;
      const s = read();
      if (s.iteration === snapshots.length) snapshots.push({ weights: flat(s.weights), average: flat(s.average!) });
    },
  });
  const first = read();
  assert.deepEqual(flat(first.average!), flat(first.weights), 'the average starts at the initial weights');
  snapshots.push({ weights: flat(first.weights), average: flat(first.average!) });
  await trainer.run();
  await trainer.release(); // releases the loss too
  assert.equal(snapshots.length, 4);
  for (let k = 1; k < 4; k++) {
    const { weights, average } = snapshots[k];
    const previous = snapshots[k - 1].average;
    assert.ok(average.every((a, j) => Math.abs(a - (decay * previous[j] + (1 - decay) * weights[j])) < 1e-6), `iteration ${k}`);
    assert.ok(average.some((a, j) => a !== weights[j]), `iteration ${k}: the average is not the weights`);
  }
  const scored = events.find((e): e is Extract<TrainEvent, { kind: 'score' }> => e.kind === 'score')!;
  const [current, average] = [-distance(snapshots[3].weights, snapshots[0].weights), -distance(snapshots[3].average, snapshots[0].weights)];
  assert.ok(Math.abs(scored.score - current) < 1e-9 && Math.abs(scored.averageScore! - average) < 1e-9);
  const model = decodeNca(readFileSync(join(dir, MODEL_FILE))).model;
  const kept = average > current ? snapshots[3].average : snapshots[3].weights;
  assert.deepEqual(flat(model.weights), kept);
  assert.equal(model.metadata.extra?.bestWeights, average > current ? 'average' : 'current');
});

test('each model is scored against the best so far as its floor (the average against the better of that and the weights\' score)', async () => {
  const scored: TrainConfig = { ...config, iterations: 3, weightAverage: 0.5, scoreEvery: 1 };
  const loss = await pixelLoss(spec, scored, { threads: 1 });
  // scores in call order: (weights, average) at iterations 1, 2, 3
  const scores = [5, 6, 4, 9, 7, 3];
  const floors: number[] = [];
  const trainer = await Trainer.start(scored, loss, {
    dir: tempDir(),
    threads: 1,
    score: async (_m, floor) => {
      floors.push(floor);
      return scores[floors.length - 1];
    },
  });
  await trainer.run();
  await trainer.release();
  assert.deepEqual(floors, [-Infinity, 5, 6, 6, 9, 9]);
});

test('the regrowth phase: its models replace a better-scored model from before it, and it damages as damageShape half does', async () => {
  // scoring at iterations 1-4, the phase from iteration 2 (its first model: the one scored at 3)
  const phased: TrainConfig = { ...config, iterations: 4, scoreEvery: 1, regrowPhase: 0.5, regrowDamage: 1 };
  const scores = [9, 8, 3, 5];
  const floors: number[] = [];
  const dir = tempDir();
  const events: TrainEvent[] = [];
  const trainer = await Trainer.start(phased, await pixelLoss(spec, phased, { threads: 1 }), {
    dir,
    threads: 1,
    onEvent: (e) => events.push(e),
    score: async (_m, floor) => {
      floors.push(floor);
      return scores[floors.length - 1];
    },
  });
  await trainer.run();
  await trainer.release();
  assert.deepEqual(floors, [-Infinity, 9, 0, 3], 'from the phase on, the best from before it counts as dead');
  const bests = events.filter((e): e is Extract<TrainEvent, { kind: 'score' }> => e.kind === 'score').map((e) => [e.bestIteration, e.best]);
  assert.deepEqual(bests, [[1, 9], [1, 9], [3, 3], [4, 5]]);
  assert.equal(decodeNca(readFileSync(join(dir, MODEL_FILE))).model.metadata.extra?.bestIteration, 4);
  const phaseStart = { kind: 'regrow', iteration: 2, damage: 1, batch: 2 };
  assert.deepEqual(events.filter((e) => e.kind === 'regrow'), [phaseStart], 'the phase start is announced once');
  assert.ok(readFileSync(join(dir, 'log.jsonl'), 'utf8').includes(JSON.stringify(phaseStart)), 'and logged');

  // weights at the phase's start (the checkpoint at iteration 4 of 8) and at the end
  const weightsOf = async (c: TrainConfig) => {
    const saved: Record<number, Float32Array> = {};
    const d = tempDir();
    const t = await Trainer.start(c, await pixelLoss(spec, c, { threads: 1 }), {
      dir: d,
      threads: 1,
      onEvent: (e) => {
        if (e.kind === 'checkpoint') saved[e.iteration] = flat(decodeCheckpoint(readFileSync(join(d, CHECKPOINT_FILE))).weights);
      },
    });
    await t.run();
    await t.release();
    return saved;
  };
  const phase = { regrowPhase: 0.5, regrowDamage: 1 };
  const [plain, withPhase] = [await weightsOf(config), await weightsOf({ ...config, ...phase })];
  assert.deepEqual(withPhase[4], plain[4], 'nothing changes before the phase');
  assert.notDeepEqual(withPhase[8], plain[8], 'the phase damages');
  const halves = { ...config, damage: 1, damageShape: 'half' as const };
  assert.deepEqual((await weightsOf({ ...halves, ...phase }))[8], (await weightsOf(halves))[8], 'the phase erases half-planes, as damageShape half');
  assert.throws(() => validateConfig({ ...config, regrowPhase: 1 }), /regrowPhase must be a fraction of the run in \[0, 1\)/);
  assert.throws(() => validateConfig({ ...config, regrowPhase: 0.2, regrowDamage: 2 }), /regrowDamage \(2\) must leave at least one batch state intact/);
});

/** w1, b1 and w2 end to end (w1 alone stays put at first: its gradient flows through w2, which starts at zero). */
function flat(w: Weights): Float32Array {
  return Float32Array.from([...w.w1, ...w.b1, ...w.w2]);
}

function distance(a: Float32Array, b: Float32Array): number {
  return Math.sqrt(a.reduce((sum, v, j) => sum + (v - b[j]) ** 2, 0));
}
