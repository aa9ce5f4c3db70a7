// The ORT rollout against the reference core, and its backward pass against finite differences.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { defaultTopology, weightShapes, type NcaModel, type Weights } from '../../formats/model.ts';
import { Rng } from '../../formats/random.ts';
import { createState, step, standardMask } from '../../formats/reference-core.ts';
import { decodeNca, encodeNca } from '../../formats/nca-file.ts';
import { NcaRollout } from '../../trainer/nca/rollout.ts';
import { aliveRows, nearAlive } from '../../trainer/nca/living.ts';
import { batchMasks } from '../../trainer/nca/masks.ts';
import { capacityFor, firingCells } from '../../trainer/nca/firing.ts';
import { putHwc, takeHwc, type BatchShape } from '../../trainer/nca/layout.ts';

const topology = defaultTopology({ hidden: 16 });
const grid = { width: 7, height: 5 };
const shape: BatchShape = { batch: 2, channels: topology.channels, height: grid.height, width: grid.width };
const seeds = [11, 12];

function randomWeights(seed: number, scale = 0.05): Weights {
  const rng = new Rng(seed);
  const shapes = weightShapes(topology);
  const make = (n: keyof Weights) => Float32Array.from({ length: shapes[n].reduce((a, b) => a * b, 1) }, () => rng.normal() * scale);
  return { w1: make('w1'), b1: make('b1'), w2: make('w2') };
}

function model(weights: Weights): NcaModel {
  return { topology, weights, seed: { kind: 'noise' }, metadata: {} };
}

function initialBatch(weights: Weights): Float32Array {
  const x = new Float32Array(shape.batch * shape.channels * grid.width * grid.height);
  seeds.forEach((s, b) => putHwc(x, shape, b, createState(model(weights), grid, s)));
  return x;
}

function maxDiff(a: Float32Array, b: Float32Array): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

test('forward steps match the reference core cell for cell (non-square grid, padded cell lists)', async () => {
  const weights = randomWeights(1);
  const wide = { width: 40, height: 36 };
  const wideShape: BatchShape = { ...shape, ...wide };
  // 2 x 40 x 36 = 2880 cells: about 1440 fire, padded up to a multiple of 256
  assert.ok(firingCells(batchMasks(topology, wide, seeds)(0)).capacity < 2880);
  const x0 = new Float32Array(2 * 12 * 40 * 36);
  seeds.forEach((s, b) => putHwc(x0, wideShape, b, createState(model(weights), wide, s)));
  const rollout = await NcaRollout.create(topology, wideShape, { threads: 1 });
  const traj = await rollout.forward(x0, weights, batchMasks(topology, wide, seeds), 6);
  seeds.forEach((s, b) => {
    let ref = createState(model(weights), wide, s);
    let previous = ref;
    for (let k = 0; k < 6; k++) [previous, ref] = [ref, step(model(weights), ref, wide, standardMask(topology, wide, s, k))];
    assert.ok(maxDiff(takeHwc(traj.final, wideShape, b), ref) < 1e-4, `slot ${b} differs`);
    assert.ok(maxDiff(takeHwc(traj.previous, wideShape, b), previous) < 1e-4, `slot ${b}: the state before the last step differs`);
  });
  await rollout.release();
});

test('fast masks equal the reference core\'s standardMask', () => {
  for (const fireRate of [0.5, 0.13, 1]) {
    const t = defaultTopology({ fireRate });
    const wide = { width: 37, height: 21 };
    const masks = batchMasks(t, wide, [0, 0xdeadbeef, 7]);
    for (const stepIndex of [0, 1, 95, 123456]) {
      const m = masks(stepIndex);
      [0, 0xdeadbeef, 7].forEach((seed, b) => {
        const ref = standardMask(t, wide, seed, stepIndex);
        assert.deepEqual(Array.from(m.subarray(b * ref.length, (b + 1) * ref.length)), Array.from(ref));
      });
    }
  }
});

test('firing-cell lists: every firing cell once, in order, padded with the scratch index', () => {
  const mask = Float32Array.from({ length: 1000 }, (_, i) => (i % 3 === 0 ? 1 : 0));
  const f = firingCells(mask);
  assert.equal(f.count, 334);
  assert.equal(f.capacity, 512);
  assert.deepEqual(Array.from(f.cells.subarray(0, 4)), [0, 3, 6, 9]);
  assert.ok(f.cells.subarray(334).every((v) => v === 1000));
});

test('QAT forward equals the int8 .nca model run by the reference core', async () => {
  const weights = randomWeights(2);
  const rollout = await NcaRollout.create(topology, shape, { threads: 1, qat: true });
  const traj = await rollout.forward(initialBatch(weights), weights, batchMasks(topology, grid, seeds), 4);
  const int8 = decodeNca(encodeNca(model(weights), { weightDtype: 'int8' })).model;
  let ref = createState(int8, grid, seeds[0]);
  for (let k = 0; k < 4; k++) ref = step(int8, ref, grid, standardMask(topology, grid, seeds[0], k));
  assert.ok(maxDiff(takeHwc(traj.final, shape, 0), ref) < 1e-4);
  // and the quantisation is really there: the float model ends elsewhere
  let float = createState(model(weights), grid, seeds[0]);
  for (let k = 0; k < 4; k++) float = step(model(weights), float, grid, standardMask(topology, grid, seeds[0], k));
  assert.ok(maxDiff(float, ref) > 1e-3);
  await rollout.release();
});

/** L = sum(final * R), in float64. */
async function lossOf(rollout: NcaRollout, x: Float32Array, w: Weights, steps: number, r: Float32Array): Promise<number> {
  const traj = await rollout.forward(x, w, batchMasks(topology, grid, seeds), steps);
  let sum = 0;
  for (let i = 0; i < r.length; i++) sum += traj.final[i] * r[i];
  return sum;
}

test('backward matches central differences along random directions, for any checkpoint spacing', async () => {
  const steps = 5;
  const weights = randomWeights(3);
  const rng = new Rng(4);
  const x0 = initialBatch(weights);
  const r = Float32Array.from(x0, () => rng.normal());
  const masks = batchMasks(topology, grid, seeds);

  const results = [];
  for (const segmentSteps of [1, 2, 16]) {
    const rollout = await NcaRollout.create(topology, shape, { threads: 1, segmentSteps });
    const traj = await rollout.forward(x0, weights, masks, steps);
    if (segmentSteps === 1) assert.equal(traj.records.length, steps);
    else assert.equal(traj.checkpoints.size, Math.ceil(steps / segmentSteps));
    results.push({ rollout, grads: await rollout.backward(traj, weights, masks, r) });
  }
  for (const other of results.slice(1)) {
    assert.deepEqual(other.grads.weights, results[0].grads.weights, 'checkpoint spacing changed the gradient');
    assert.deepEqual(other.grads.state, results[0].grads.state);
  }
  const { rollout, grads } = results[0];

  const eps = 1e-4; // small: a larger nudge flips ReLUs (perception values reach ~10)
  const direction = (a: Float32Array) => Float32Array.from(a, () => rng.normal());
  const moved = (a: Float32Array, v: Float32Array, t: number) => Float32Array.from(a, (x, i) => x + t * v[i]);
  const dot = (a: Float32Array, b: Float32Array) => a.reduce((sum, x, i) => sum + x * b[i], 0);

  /** Compares (L(a + eps v) - L(a - eps v)) with grad . (a+ - a-), using the float32 values actually fed. */
  const check = async (what: string, a: Float32Array, grad: Float32Array, loss: (moved: Float32Array) => Promise<number>) => {
    const v = direction(a);
    const plus = moved(a, v, eps);
    const minus = moved(a, v, -eps);
    const numeric = (await loss(plus)) - (await loss(minus));
    const analytic = dot(grad, plus) - dot(grad, minus);
    assert.ok(Math.abs(numeric - analytic) < 1e-2 * Math.abs(analytic), `${what}: analytic ${analytic}, numeric ${numeric}`);
  };
  for (const name of ['w1', 'b1', 'w2'] as const) {
    await check(name, weights[name], grads.weights[name]!, (w) => lossOf(rollout, x0, { ...weights, [name]: w }, steps, r));
  }
  await check('state', x0, grads.state, (x) => lossOf(rollout, x, weights, steps, r));
  for (const { rollout: ro } of results) await ro.release();
});

test('QAT gradients go straight through: they equal the plain gradients at the quantised weights', async () => {
  const weights = randomWeights(5);
  const int8 = decodeNca(encodeNca(model(weights), { weightDtype: 'int8' })).model.weights;
  const masks = batchMasks(topology, grid, seeds);
  const x0 = initialBatch(weights);
  const r = Float32Array.from(x0, (_, i) => Math.sin(i));
  const gradsOf = async (qat: boolean, w: Weights) => {
    const rollout = await NcaRollout.create(topology, shape, { threads: 1, qat });
    const grads = await rollout.backward(await rollout.forward(x0, w, masks, 4), w, masks, r);
    await rollout.release();
    return grads;
  };
  const qat = await gradsOf(true, weights);
  const plain = await gradsOf(false, int8);
  for (const name of ['w1', 'b1', 'w2'] as const) {
    const scale = Math.max(...plain.weights[name]!.map(Math.abs));
    assert.ok(maxDiff(qat.weights[name]!, plain.weights[name]!) < 1e-4 * scale, name);
  }
  assert.ok(maxDiff(qat.state, plain.state) < 1e-4 * Math.max(...plain.state.map(Math.abs)));
});

test('zero padding: forward steps match the reference core (neighbours off the grid read a zero row)', async () => {
  const zeros = defaultTopology({ hidden: 16, padding: 'zeros' });
  const weights = randomWeights(6);
  const m: NcaModel = { topology: zeros, weights, seed: { kind: 'noise' }, metadata: {} };
  const x0 = new Float32Array(shape.batch * shape.channels * grid.width * grid.height);
  seeds.forEach((s, b) => putHwc(x0, shape, b, createState(m, grid, s)));
  const rollout = await NcaRollout.create(zeros, shape, { threads: 1 });
  const traj = await rollout.forward(x0, weights, batchMasks(zeros, grid, seeds), 3);
  seeds.forEach((s, b) => {
    let ref = createState(m, grid, s);
    for (let k = 0; k < 3; k++) ref = step(m, ref, grid, standardMask(zeros, grid, s, k));
    assert.ok(maxDiff(takeHwc(traj.final, shape, b), ref) < 1e-4, `slot ${b} differs`);
  });
  await rollout.release();
});

describe('v1.1 alive masking and clamp', () => {
  const living = defaultTopology({ hidden: 16, padding: 'zeros', alive: { channel: 3, threshold: 0.1 }, clamp: 0.3 });
  const wide = { width: 12, height: 9 };
  const livingShape: BatchShape = { ...shape, ...wide };
  const livingModel = (weights: Weights): NcaModel => ({ topology: living, weights, seed: { kind: 'noise' }, metadata: {} });
  /** A blob in the left part of each grid, empty elsewhere, so cells are born, live and die. */
  const blobs = (): Float32Array => {
    const rng = new Rng(9);
    const x = new Float32Array(2 * 12 * wide.width * wide.height);
    seeds.forEach((_, b) => {
      const hwc = new Float32Array(wide.width * wide.height * 12);
      for (let y = 2; y < 7; y++) for (let xx = 2; xx < 6; xx++) for (let c = 0; c < 12; c++) hwc[(y * wide.width + xx) * 12 + c] = c === 3 ? 0.2 + 0.1 * rng.next() : 0.3 * rng.normal();
      putHwc(x, livingShape, b, hwc);
    });
    return x;
  };

  test('forward steps match the reference core, with dead cells and clamped values', async () => {
    const weights = randomWeights(7, 0.2);
    const rollout = await NcaRollout.create(living, livingShape, { threads: 1 });
    const x0 = blobs();
    const traj = await rollout.forward(x0, weights, batchMasks(living, wide, seeds), 6);
    seeds.forEach((s, b) => {
      let ref = takeHwc(x0, livingShape, b);
      for (let k = 0; k < 6; k++) ref = step(livingModel(weights), ref, wide, standardMask(living, wide, s, k));
      const got = takeHwc(traj.final, livingShape, b);
      assert.ok(maxDiff(got, ref) < 1e-4, `slot ${b} differs by ${maxDiff(got, ref)}`);
      assert.ok(got.some((v) => Math.abs(v) === Math.fround(0.3)), 'some values sit on the clamp');
      let dead = 0;
      for (let i = 0; i < got.length; i += 12) if (got.subarray(i, i + 12).every((v) => v === 0)) dead++;
      assert.ok(dead > 0 && dead < wide.width * wide.height, `dead cells: ${dead}`);
    });
    await rollout.release();
  });

  test('backward matches central differences (alive masking and clamp pass gradients only where they let values through; a gradient for the state before the last step)', async () => {
    const weights = randomWeights(8, 0.05); // larger weights make float32 rounding dominate the differences
    const masks = batchMasks(living, wide, seeds);
    const x0 = blobs();
    const rng = new Rng(10);
    const r = Float32Array.from(x0, () => rng.normal());
    const q = Float32Array.from(x0, () => rng.normal()); // the loss also reads the state before the last step (the settling loss)
    const rollout = await NcaRollout.create(living, livingShape, { threads: 1, segmentSteps: 2 });
    const grads = await rollout.backward(await rollout.forward(x0, weights, masks, 5), weights, masks, r, q);
    const loss = async (x: Float32Array, w: Weights) => {
      const traj = await rollout.forward(x, w, masks, 5);
      return traj.final.reduce((sum, v, i) => sum + v * r[i], 0) + traj.previous.reduce((sum, v, i) => sum + v * q[i], 0);
    };
    const eps = 1e-4;
    for (const [what, a, grad] of [['w1', weights.w1, grads.weights.w1], ['w2', weights.w2, grads.weights.w2], ['state', x0, grads.state]] as const) {
      const v = Float32Array.from(a, () => rng.normal());
      const plus = Float32Array.from(a, (x, i) => x + eps * v[i]);
      const minus = Float32Array.from(a, (x, i) => x - eps * v[i]);
      const at = (p: Float32Array) => (what === 'state' ? loss(p, weights) : loss(x0, { ...weights, [what]: p }));
      const numeric = (await at(plus)) - (await at(minus));
      const analytic = grad!.reduce((sum, g, i) => sum + g * (plus[i] - minus[i]), 0);
      assert.ok(Math.abs(analytic) > 1e-6, `${what}: the gradient is not trivially zero`);
      // 5 %: at this size the plain (v1.0) rollout's differences are off by up to 3.5 % too (float32)
      assert.ok(Math.abs(numeric - analytic) < 5e-2 * Math.abs(analytic), `${what}: analytic ${analytic}, numeric ${numeric}`);
    }
    await rollout.release();
  });
});

test('varying firing counts (alive masking) use few graph sizes: geometric, at most 19 % padding', () => {
  const total = 8 * 72 * 72;
  const sizes = new Set<number>();
  for (let count = 0; count <= total / 2; count += 7) {
    const k = capacityFor(count, total, true);
    assert.ok(k >= count && k <= total);
    if (count >= 256) assert.ok(k <= Math.ceil((count * 1.19) / 256) * 256, `${count} -> ${k}`);
    sizes.add(k);
  }
  assert.ok(sizes.size <= 22, `${sizes.size} sizes`);
});

test('cells that may skip the network: exactly those more than 2 cells (5x5) from an alive value, under either padding', () => {
  for (const padding of ['zeros', 'circular'] as const) {
    const t = defaultTopology({ padding, alive: { channel: 3, threshold: 0.1 } });
    const s: BatchShape = { batch: 2, channels: 12, height: 9, width: 11 };
    const x = new Float32Array(2 * 99 * 12);
    const lit = [[0, 4, 5], [1, 0, 10]]; // [slot, y, x]: one near the middle, one in a corner
    for (const [b, y, xx] of lit) x[(b * 99 + y * 11 + xx) * 12 + 3] = 0.5;
    x[(0 * 99 + 1 * 11 + 1) * 12 + 3] = 0.05; // below the threshold: not alive
    const near = nearAlive(aliveRows(x, s, t), s, t);
    for (let b = 0; b < 2; b++) {
      for (let y = 0; y < 9; y++) {
        for (let xx = 0; xx < 11; xx++) {
          const d = (a: number, c: number, n: number) => (padding === 'circular' ? Math.min(Math.abs(a - c), n - Math.abs(a - c)) : Math.abs(a - c));
          const expected = lit.some(([lb, ly, lx]) => lb === b && d(ly, y, 9) <= 2 && d(lx, xx, 11) <= 2) ? 1 : 0;
          assert.equal(near[b * 99 + y * 11 + xx], expected, `${padding} slot ${b} (${xx}, ${y})`);
        }
      }
    }
  }
});
