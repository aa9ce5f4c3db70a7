import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createState, defaultTopology, ReferenceNca, standardMask, step, type NcaModel, type Topology } from '../../formats/index.ts';
import { maxAbsDiff, randomModel } from '../helpers/models.ts';

const readFixture = (name: string) => JSON.parse(readFileSync(new URL(`../fixtures/${name}`, import.meta.url), 'utf8'));
const fixture = readFixture('core-steps.json');
const floats = (b64: string) => {
  const buf = Buffer.from(b64, 'base64');
  return new Float32Array(new Uint8Array(buf).buffer);
};

function checkFixture(fixture: any, topology: Topology): void {
  const model: NcaModel = {
    topology,
    weights: { w1: floats(fixture.w1), b1: floats(fixture.b1), w2: floats(fixture.w2) },
    seed: { kind: 'noise' },
    metadata: {},
  };
  const grid = { width: fixture.width, height: fixture.height };
  let state: Float32Array = floats(fixture.states[0]);
  for (let s = 0; s < fixture.masks.length; s++) {
    state = step(model, state, grid, Uint8Array.from(fixture.masks[s]));
    const expected = floats(fixture.states[s + 1]);
    const err = maxAbsDiff(state, expected);
    assert.ok(err < 1e-5, `step ${s + 1}: max error ${err}`);
    assert.ok(maxAbsDiff(expected, floats(fixture.states[s])) > 1e-2, 'the fixture really changes per step');
  }
}

test('reference core matches the PyTorch source formula to 1e-5 (tools/make_core_fixture.py)', () => {
  checkFixture(fixture, defaultTopology({ channels: fixture.channels, hidden: fixture.hidden }));
});

test('reference core matches a PyTorch Growing-NCA formulation with alive masking and clamp (v1.1)', () => {
  const living = readFixture('core-steps-living.json');
  const topology = defaultTopology({ channels: living.channels, hidden: living.hidden, padding: 'zeros', alive: living.alive, clamp: living.clamp, filterScales: living.filterScales });
  checkFixture(living, topology);
  // the fixture exercises both rules: some cells are dead (all zero) and some values sit on the clamp
  const last = floats(living.states.at(-1));
  let dead = 0;
  for (let i = 0; i < last.length; i += living.channels) if (last.subarray(i, i + living.channels).every((v) => v === 0)) dead++;
  assert.ok(dead > 10 && dead < last.length / living.channels - 10, `dead cells: ${dead}`);
  assert.ok(last.some((v) => Math.abs(v) === Math.fround(living.clamp)), 'some values are clamped');
  // without the v1.1 rules, or without the filter scales, the same steps give a different state
  assert.throws(() => checkFixture(living, defaultTopology({ channels: living.channels, hidden: living.hidden, padding: 'zeros', filterScales: living.filterScales })));
  assert.throws(() => checkFixture(living, { ...topology, filterScales: undefined }));
});

test('noise seed: per-cell min-max normalised to [0, 1], reproducible per seed', () => {
  const model = randomModel();
  const grid = { width: 9, height: 7 };
  const a = createState(model, grid, 5);
  assert.deepEqual(a, createState(model, grid, 5));
  assert.notDeepEqual(a, createState(model, grid, 6));
  for (let cell = 0; cell < 63; cell++) {
    const v = a.subarray(cell * 12, cell * 12 + 12);
    assert.equal(Math.min(...v), 0);
    assert.equal(Math.max(...v), 1);
  }
});

test('cell and image seeds are centred', () => {
  const cell = createState(randomModel({ recipe: 'cell' }), { width: 6, height: 4 });
  const at = (2 * 6 + 3) * 12;
  assert.deepEqual([...cell.subarray(at, at + 12)], [0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1]);
  assert.equal(cell.reduce((s, v) => s + v, 0), 9);
  const model = randomModel({ recipe: 'image' });
  const image = createState(model, { width: 7, height: 5 });
  if (model.seed.kind !== 'image') throw new Error('unreachable');
  // 5x3 image in a 7x5 grid: top-left at (1, 1).
  assert.deepEqual(image.subarray((1 * 7 + 1) * 12, (1 * 7 + 1) * 12 + 12), model.seed.data.subarray(0, 12));
});

test('standard mask fires at the fire rate and differs per step', () => {
  const topology = defaultTopology({ fireRate: 0.3 });
  const grid = { width: 64, height: 64 };
  const m0 = standardMask(topology, grid, 1, 0);
  const rate = m0.reduce((s, v) => s + v, 0) / m0.length;
  assert.ok(Math.abs(rate - 0.3) < 0.03, `rate ${rate}`);
  assert.notDeepEqual(m0, standardMask(topology, grid, 1, 1));
});

test('ReferenceNca: circular padding makes a shifted state evolve shifted', () => {
  const model = randomModel({ topology: { hidden: 16, fireRate: 1 } });
  const grid = { width: 8, height: 6 };
  const a = new ReferenceNca(model, grid, 3);
  const shifted = new ReferenceNca(model, grid, 3);
  // Roll the initial state by one column.
  for (let y = 0; y < 6; y++)
    for (let x = 0; x < 8; x++)
      shifted.state.set(a.state.subarray((y * 8 + x) * 12, (y * 8 + x) * 12 + 12), (y * 8 + ((x + 1) % 8)) * 12);
  a.run(3);
  shifted.run(3);
  const rolled = new Float32Array(a.state.length);
  for (let y = 0; y < 6; y++)
    for (let x = 0; x < 8; x++) rolled.set(a.state.subarray((y * 8 + x) * 12, (y * 8 + x) * 12 + 12), (y * 8 + ((x + 1) % 8)) * 12);
  assert.ok(maxAbsDiff(rolled, shifted.state) < 1e-6);
  assert.equal(a.rgba().length, 8 * 6 * 4);
});
