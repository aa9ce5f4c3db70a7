/**
 * The seed state is made on the GPU (player/seed.ts and the noise shaders) and must equal
 * formats/reference-core.ts createState: exactly for cell and image seeds, within float32
 * rounding for noise seeds (the reference draws its normals in float64), on both backends.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createState, decodeNca, encodeNca, type Grid, type NcaModel } from '../../formats/index.ts';
import { maxAbsDiff, randomModel } from '../helpers/models.ts';
import { addPlayer, startHarness, type Harness } from './harness.ts';

/** Largest |GPU noise seed − createState| accepted (float32 log, cos, sqrt and division against float64). */
const NOISE_TOLERANCE = 1e-6; // observed 2.5e-7

const cellModel = (() => {
  const model = randomModel({ seed: 21, recipe: 'cell', topology: { channels: 7, hidden: 8 } });
  model.seed = { kind: 'cell', value: [0.5, -1, 2, 0.25, 3, -0.125, 1], offset: [-40, 30] }; // wraps around on both axes
  return model;
})();

const cases: { name: string; model: NcaModel; grid: Grid; seeds: number[]; tolerance: number }[] = [
  { name: 'noise, 12 channels', model: randomModel({ seed: 1, topology: { hidden: 8 } }), grid: { width: 128, height: 96 }, seeds: [123456789, -5], tolerance: NOISE_TOLERANCE },
  { name: 'noise, 5 channels, odd grid', model: randomModel({ seed: 2, topology: { channels: 5, hidden: 8, color: { offset: 0, count: 3, bias: 0.5 } } }), grid: { width: 97, height: 61 }, seeds: [7], tolerance: NOISE_TOLERANCE },
  { name: 'cell with an offset that wraps', model: cellModel, grid: { width: 48, height: 32 }, seeds: [3], tolerance: 0 },
  { name: 'image, centred', model: randomModel({ seed: 3, recipe: 'image', topology: { hidden: 8 } }), grid: { width: 48, height: 32 }, seeds: [0], tolerance: 0 },
  { name: 'image, larger than the grid', model: randomModel({ seed: 4, recipe: 'image', topology: { hidden: 8 } }), grid: { width: 4, height: 2 }, seeds: [0], tolerance: 0 },
];

let harness: Harness;
before(async () => {
  harness = await startHarness();
  for (const [i, { model }] of cases.entries()) harness.routes.set(`/models/${i}.nca`, { body: encodeNca(model), type: 'application/octet-stream' });
});
after(() => harness?.close());

for (const backend of ['webgl2', 'webgpu']) {
  for (const [i, { name, grid, seeds, tolerance }] of cases.entries()) {
    test(`${backend}: the GPU seed state equals createState (${name})`, async () => {
      const model = decodeNca(encodeNca(cases[i].model)).model;
      const { page, errors } = await harness.open();
      let worst = 0;
      for (const seed of seeds) {
        const loaded = await addPlayer(page, `p${seed}`, { src: `/models/${i}.nca`, backend, width: String(grid.width), height: String(grid.height), seed: String(seed), paused: '' });
        assert.equal(loaded.event, 'load', JSON.stringify(loaded.detail));
        const state = await page.evaluate(async (id) => Array.from(await (window as any).players[id].readState()) as number[], `p${seed}`);
        const expected = createState(model, grid, seed);
        worst = Math.max(worst, maxAbsDiff(state, expected));
        if (model.seed.kind === 'noise') {
          // The comparison means something: another seed gives another state.
          assert.ok(maxAbsDiff(expected, createState(model, grid, seed + 1)) > 0.5);
        } else {
          assert.ok(expected.some((v) => v !== 0), 'the seed puts something on the grid');
        }
      }
      console.log(`  ${backend} ${name}: max |GPU seed - createState| = ${worst.toExponential(2)}`);
      assert.ok(worst <= tolerance, `max error ${worst}`);
      assert.deepEqual(errors, []);
      await page.close();
    });
  }
}
