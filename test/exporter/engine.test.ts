import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Topology } from '../../formats/index.ts';
import { createEngine } from '../../exporter/render/engine.ts';
import { maxAbsDiff, randomModel, randomWeights } from '../helpers/models.ts';
import { Rng } from '../../formats/index.ts';

const grid = { width: 19, height: 11 };

test('the ort engine matches the reference core (same seed, same masks), across topologies and seeds', async () => {
  const cases: { topology?: Partial<Topology>; recipe?: 'noise' | 'cell' | 'image'; b2?: boolean }[] = [
    {},
    { topology: { padding: 'zeros' } },
    { topology: { channels: 8, hidden: 32, filters: ['identity', 'laplacian'], fireRate: 0.8 }, recipe: 'cell' },
    { recipe: 'image', b2: true, topology: { color: { offset: 2, count: 4, bias: 0.25 } } },
  ];
  for (const [i, c] of cases.entries()) {
    const model = randomModel({ seed: i + 1, topology: c.topology, recipe: c.recipe });
    if (c.b2) model.weights.b2 = randomWeights(model.topology.channels, new Rng(9), 0.01);
    const ort = await createEngine('ort', model, grid, { seed: 7, chunk: 5 });
    const ref = await createEngine('reference', model, grid, { seed: 7 });
    await ort.run(12); // two full chunks and a partial one
    await ref.run(12);
    assert.equal(ort.steps, 12);
    assert.ok(maxAbsDiff(ort.state(), ref.state()) < 1e-4, `case ${i}: ${maxAbsDiff(ort.state(), ref.state())}`);
    await ort.dispose();
  }
});

test('the ort engine gives the same state however the steps are split into calls', async () => {
  const model = randomModel();
  const once = await createEngine('ort', model, grid, { chunk: 4 });
  const split = await createEngine('ort', model, grid, { chunk: 4 });
  await once.run(11);
  await split.run(3);
  await split.run(1);
  await split.run(7);
  assert.deepEqual(split.state(), once.state());
  await once.dispose();
  await split.dispose();
});
