/**
 * The player's GPU state after N steps matches the reference core, for both backends on
 * SwiftShader. Tolerance: 1e-4 absolute on every channel of every cell (float32 state;
 * the GPU sums in another order and with fused multiply-adds, the reference in float64).
 * v1.0 models, v1.1 ones (alive masking, clamp, alphaBias, premultiplied colour) and v1.2 ones
 * (the activation clamps of imported Self-Organising Textures models).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  aliveCells,
  createState,
  decodeNca,
  encodeNca,
  minor2Fields,
  ReferenceNca,
  standardMask,
  step,
  toRgba,
  type Grid,
  type NcaModel,
  type Topology,
} from '../../formats/index.ts';
import { livingTopology, maxAbsDiff, randomModel } from '../helpers/models.ts';
import { addPlayer, growingModel, startHarness, TOLERANCE, type Harness } from './harness.ts';

const STEPS = 24;
const GRID = { width: 48, height: 32 }; // not square, so a swapped x/y would show
const seed = 7;

/** Random weights with w2 scaled so the state stays bounded (|x| < 3 here), like a trained model's. */
function tame(model: NcaModel): NcaModel {
  model.weights.w2 = model.weights.w2.map((w) => w * 0.1);
  return model;
}

/**
 * The source method's topology, one that exercises every other branch of the v1.0 shader
 * generators, and v1.1 ones: a Growing-NCA living model, a living model on a small wrapping
 * grid (alive channel not alpha, straight colour with alphaBias), and a clamp without alive masking.
 */
const models: Record<string, { model: NcaModel; grid: Grid }> = {
  standard: { model: tame(randomModel({ seed: 3 })), grid: GRID },
  unusual: {
    model: (() => {
      const model = randomModel({
        seed: 4,
        recipe: 'image',
        topology: {
          channels: 10,
          hidden: 24,
          filters: ['laplacian', 'identity', 'sobel_y'],
          padding: 'zeros',
          fireRate: 0.3,
          color: { offset: 5, count: 4, bias: 0.25 },
        },
      });
      model.weights.b2 = Float32Array.from({ length: 10 }, (_, i) => (i - 5) * 0.01);
      return model;
    })(),
    grid: GRID,
  },
  living: { model: growingModel(), grid: GRID },
  'living-wrapped': {
    model: (() => {
      const model = randomModel({
        seed: 2,
        recipe: 'image',
        topology: livingTopology({
          channels: 8,
          hidden: 24,
          padding: 'circular',
          fireRate: 0.7,
          alive: { channel: 6, threshold: 0.05 },
          color: { offset: 2, count: 4, bias: 0.1, alphaBias: -0.3, premultiplied: false },
          clamp: 1.5,
          filterScales: undefined, // unscaled filters: a v1.1 model without filterScales (the living model has them)
        }),
      });
      model.weights.w2 = model.weights.w2.map((w) => w * 3);
      return model;
    })(),
    grid: { width: 14, height: 10 }, // small, so the pattern wraps around the edges within the run
  },
  clamped: {
    model: (() => {
      const model = randomModel({ seed: 5, topology: { hidden: 32, clamp: 0.6, color: { offset: 0, count: 4, bias: 0.5, alphaBias: 0.2 } } });
      model.weights.w2 = model.weights.w2.map((w) => w * 0.3);
      return model;
    })(),
    grid: GRID,
  },
  'activation-clamps': {
    model: (() => {
      const model = randomModel({ seed: 6, topology: { hidden: 32, clamp: 1, perceptionClamp: 0.4, hiddenClamp: 0.3, updateClamp: 0.03, color: { offset: 0, count: 3, bias: 0.5 } } });
      model.weights.w2 = model.weights.w2.map((w) => w * 0.5);
      return model;
    })(),
    grid: GRID,
  },
};

/** The reference run of a model with some topology fields changed. */
function referenceWith(model: NcaModel, grid: Grid, change: Partial<Topology>): Float32Array {
  return new ReferenceNca({ ...model, topology: { ...model.topology, ...change } }, grid, seed).run(STEPS).state;
}

/** A tempting shortcut that is NOT the reference: cells not alive (3x3) in the old state skip their update. */
function shortcutRun(model: NcaModel, grid: Grid): Float32Array {
  let state = createState(model, grid, seed);
  for (let i = 0; i < STEPS; i++) {
    const alive = aliveCells(model.topology, state, grid);
    state = step(model, state, grid, standardMask(model.topology, grid, seed, i).map((fire, cell) => fire & alive[cell]));
  }
  return state;
}

/**
 * Each v1.1 and v1.2 field changes the reference run, so a player that ignored it, or took the
 * shortcut above, would fail the comparison; living models really have dead and live cells.
 */
function checkFieldsMatter(model: NcaModel, grid: Grid, reference: Float32Array): void {
  const { alive, clamp, channels, padding } = model.topology;
  for (const field of minor2Fields(model.topology)) {
    assert.ok(maxAbsDiff(reference, referenceWith(model, grid, { [field]: undefined })) > 0.05, `${field} matters`);
  }
  if (clamp !== undefined) {
    const atClamp = reference.filter((v) => Math.abs(v) === Math.fround(clamp)).length;
    assert.ok(atClamp > 10 && atClamp < reference.length / 2, `values at the clamp: ${atClamp}`);
    assert.ok(maxAbsDiff(reference, referenceWith(model, grid, { clamp: undefined })) > 0.1, 'the clamp matters');
  }
  if (alive) {
    const cells = grid.width * grid.height;
    let dead = 0;
    for (let i = 0; i < cells; i++) if (reference.subarray(i * channels, (i + 1) * channels).every((v) => v === 0)) dead++;
    assert.ok(dead > 10 && cells - dead > 20, `dead cells: ${dead} of ${cells}`);
    assert.ok(maxAbsDiff(reference, referenceWith(model, grid, { alive: undefined })) > 0.1, 'alive masking matters');
    assert.ok(maxAbsDiff(reference, shortcutRun(model, grid)) > 0.1, 'skipping the update of cells dead before it would show');
  }
  if (padding === 'circular' && alive) {
    assert.ok(maxAbsDiff(reference, referenceWith(model, grid, { padding: 'zeros' })) > 0.1, 'the pattern wraps around');
  }
}

let harness: Harness;
before(async () => {
  harness = await startHarness();
  for (const [name, { model }] of Object.entries(models)) {
    harness.routes.set(`/models/${name}.nca`, { body: encodeNca(model), type: 'application/octet-stream' });
  }
});
after(() => harness?.close());

for (const backend of ['webgl2', 'webgpu']) {
  for (const [name, { grid }] of Object.entries(models)) {
    test(`${backend}: ${name} model, ${STEPS} steps at ${grid.width}x${grid.height} match the reference core within ${TOLERANCE}; the canvas shows its colours`, async () => {
      // The player sees int8 weights: compare against the reference run on the very same decoded model.
      const model = decodeNca(encodeNca(models[name].model)).model;
      const { page, errors } = await harness.open();
      const loaded = await addPlayer(page, 'p', {
        src: `/models/${name}.nca`,
        backend,
        width: String(grid.width),
        height: String(grid.height),
        seed: String(seed),
        paused: '',
      });
      assert.equal(loaded.event, 'load', JSON.stringify(loaded.detail));
      assert.equal(loaded.detail.backend, backend);

      const read = () =>
        page.evaluate(async () => {
          const player = (window as any).players.p;
          return Array.from(await player.readState()) as number[];
        });
      const initial = await read();
      assert.ok(maxAbsDiff(initial, createState(model, grid, seed)) < 1e-6, 'the seed state is uploaded exactly');

      await page.evaluate((steps) => (window as any).players.p.step(steps), STEPS);
      const state = await read();
      const reference = new ReferenceNca(model, grid, seed).run(STEPS).state;
      const error = maxAbsDiff(state, reference);
      console.log(`  ${backend} ${name}: max |player - reference| = ${error.toExponential(2)} after ${STEPS} steps`);
      assert.ok(maxAbsDiff(reference, initial) > 1e-2, 'the automaton really moved, so the comparison means something');
      assert.ok(maxAbsDiff(reference, new Float32Array(reference.length)) < 10, 'an absolute tolerance needs bounded values');
      checkFieldsMatter(model, grid, reference);
      assert.ok(error < TOLERANCE, `max error ${error}`);

      // The canvas shows clamp(x[offset + i] + bias, 0, 1), top row first. A 2D canvas reads it back
      // un-premultiplied, so compare premultiplied values, to the 8-bit rounding of both sides.
      const pixels = await page.evaluate(() => {
        const player = (window as any).players.p;
        player.step(0); // draw now, so the drawing buffer is fresh in this task
        const canvas = player.shadowRoot.querySelector('canvas') as HTMLCanvasElement;
        const copy = document.createElement('canvas');
        [copy.width, copy.height] = [canvas.width, canvas.height];
        const context = copy.getContext('2d')!;
        context.drawImage(canvas, 0, 0);
        return Array.from(context.getImageData(0, 0, copy.width, copy.height).data);
      });
      const colours = toRgba(model.topology, reference, grid);
      let worst = 0;
      for (let i = 0; i < colours.length; i += 4) {
        const alpha = [colours[i + 3], pixels[i + 3]];
        worst = Math.max(worst, Math.abs(alpha[0] - alpha[1]));
        for (let k = 0; k < 3; k++) worst = Math.max(worst, Math.abs((colours[i + k] * alpha[0] - pixels[i + k] * alpha[1]) / 255));
      }
      assert.ok(worst <= 2, `canvas colours differ by up to ${worst}/255`);
      if (model.topology.alive) {
        // Transparent exactly where the state is zero (all dead cells), and opaque somewhere.
        const { channels } = model.topology;
        for (let cell = 0; cell < grid.width * grid.height; cell++) {
          if (reference.subarray(cell * channels, (cell + 1) * channels).every((v) => v === 0)) assert.equal(pixels[cell * 4 + 3], 0);
        }
        assert.ok(pixels.some((v, i) => i % 4 === 3 && v === 255), 'some cells are opaque');
      }
      assert.deepEqual(errors, []);
      await page.close();
    });
  }
}
