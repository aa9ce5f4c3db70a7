// A batch split across worker threads (batch-rollout.ts) against the same batch in one part.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { defaultTopology, weightShapes, type Weights } from '../../formats/model.ts';
import { Rng } from '../../formats/random.ts';
import { assignSlots, BatchRollout, partCount } from '../../trainer/nca/batch-rollout.ts';
import { NcaRollout } from '../../trainer/nca/rollout.ts';
import { batchMasks } from '../../trainer/nca/masks.ts';

const topology = defaultTopology({ hidden: 16, padding: 'zeros', alive: { channel: 3, threshold: 0.1 }, clamp: 2 });
const grid = { batch: 3, height: 10, width: 11 };
const size = topology.channels * grid.height * grid.width;
const seeds = [21, 22, 23];

function randomWeights(seed: number): Weights {
  const rng = new Rng(seed);
  const shapes = weightShapes(topology);
  const make = (n: keyof Weights) => Float32Array.from({ length: shapes[n].reduce((a, b) => a * b, 1) }, () => rng.normal() * 0.15);
  return { w1: make('w1'), b1: make('b1'), w2: make('w2') };
}

/** Three different blobs, so the slots die, grow and fire differently (and the split deals them out of order: slot 2 alone, slots 0 and 1 together). */
function blobs(): Float32Array {
  const rng = new Rng(5);
  const x = new Float32Array(grid.batch * size);
  const plane = grid.height * grid.width;
  for (let b = 0; b < grid.batch; b++) {
    for (let y = 2; y < 5 + b; y++) {
      for (let xx = 2 + b; xx < 7; xx++) for (let c = 0; c < topology.channels; c++) x[b * size + c * plane + y * grid.width + xx] = c === 3 ? 0.3 + 0.2 * rng.next() : rng.normal() * 0.3;
    }
  }
  return x;
}

const weights = randomWeights(3);
let split: BatchRollout;
let whole: NcaRollout;
before(async () => {
  split = await BatchRollout.create(topology, grid, { threads: 2, segmentSteps: 1 });
  whole = await NcaRollout.create(topology, grid, { threads: 1, segmentSteps: 1 });
});
after(async () => {
  await split.release();
  await whole.release();
});

test('threads become parts: one per thread, at most one per slot, one on a device that is not the CPU', () => {
  assert.equal(split.partCount, 2);
  assert.equal(partCount(3, { threads: 8 }), 3);
  assert.equal(partCount(8, { threads: 1 }), 1);
});

test('slots are dealt out heaviest first to the part with the least work and room left', () => {
  // by hand: 50 -> A, 40 -> B, 30 -> B, 20 -> A, 10 -> A (a tie at 70: the first part), 5 -> B, 2 -> B (B is full), 1 -> A
  assert.deepEqual(assignSlots([1, 50, 40, 30, 20, 10, 5, 2], [4, 4]), [
    [0, 1, 4, 5],
    [2, 3, 6, 7],
  ]);
  // sizes are kept however the costs fall; equal costs alternate
  assert.deepEqual(assignSlots([9, 8, 7], [1, 2]), [[0], [1, 2]]);
  assert.deepEqual(assignSlots([1, 1, 1, 1], [2, 2]), [
    [0, 2],
    [1, 3],
  ]);
});

test('forward, backward and advance over two worker threads give the unsplit rollout\'s values', async () => {
  const x0 = blobs();
  const masks = batchMasks(topology, grid, seeds);
  const trajectory = await whole.forward(x0, weights, masks, 7);
  const final = await split.forward(x0, weights, seeds, 7);
  // slots never mix: the states are the same numbers
  assert.deepEqual(final, trajectory.final);
  assert.ok(final.some((v, i) => v !== x0[i]), 'the steps changed the state');

  const rng = new Rng(8);
  const gradFinal = Float32Array.from(final, () => rng.normal());
  const gradPrevious = Float32Array.from(final, () => rng.normal());
  assert.deepEqual(await split.previous(), trajectory.previous);
  const expected = await whole.backward(trajectory, weights, masks, gradFinal, gradPrevious);
  const got = await split.backward(weights, gradFinal, gradPrevious);
  assert.deepEqual(got.state, expected.state);
  for (const name of ['w1', 'b1', 'w2'] as const) {
    const e = expected.weights[name]!;
    const scale = Math.max(...e.map(Math.abs));
    assert.ok(scale > 0, `${name}: some gradient`);
    // the parts' sums are added at the end, so only the rounding of the sum may differ
    e.forEach((v, i) => assert.ok(Math.abs(got.weights[name]![i] - v) <= 1e-5 * scale, `${name}[${i}]: ${got.weights[name]![i]} vs ${v}`));
  }

  const aged = await split.advance(x0, weights, seeds, 30);
  assert.deepEqual(aged, await whole.advance(x0, weights, batchMasks(topology, grid, seeds, false), 30));
});

test('a part that cannot start fails create() with its reason', async () => {
  await assert.rejects(BatchRollout.create(topology, grid, { threads: 2, segmentSteps: 0 }), /segmentSteps must be a positive integer, got 0/);
});

test('a worker\'s error comes back as a rejected promise, and the rollout goes on', async () => {
  const fresh = await BatchRollout.create(topology, grid, { threads: 2 });
  try {
    await assert.rejects(fresh.backward(weights, new Float32Array(grid.batch * size)), /backward\(\) or previous\(\) without a forward\(\)/);
    // the rollout's check of the weights, in a worker thread
    await assert.rejects(fresh.forward(blobs(), { ...weights, w1: weights.w1.subarray(1) }, seeds, 2), /weights: w1 has 767 values, expected 768 \(\[16, 48\]\)/);
    await assert.rejects(fresh.forward(blobs(), weights, [1], 2), /3 slots need 3 mask seeds, got 1/);
    const final = await fresh.forward(blobs(), weights, seeds, 2);
    assert.equal(final.length, grid.batch * size);
  } finally {
    await fresh.release();
  }
});
