/**
 * The player's GPU state after N steps matches the reference core, for both backends on
 * SwiftShader. Tolerance: 1e-4 absolute on every channel of every cell (float32 state;
 * the GPU sums in another order and with fused multiply-adds, the reference in float64).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createState, decodeNca, encodeNca, ReferenceNca, toRgba, type NcaModel } from '../../formats/index.ts';
import { maxAbsDiff, randomModel } from '../helpers/models.ts';
import { addPlayer, startHarness, type Harness } from './harness.ts';

export const TOLERANCE = 1e-4;
const STEPS = 24;
const grid = { width: 48, height: 32 }; // not square, so a swapped x/y would show
const seed = 7;

/** Random weights with w2 scaled so the state stays bounded (|x| < 3 here), like a trained model's. */
function tame(model: NcaModel): NcaModel {
  model.weights.w2 = model.weights.w2.map((w) => w * 0.1);
  return model;
}

/** The source method's topology, and one that exercises every other branch of the shader generators. */
const models: Record<string, NcaModel> = {
  standard: tame(randomModel({ seed: 3 })),
  unusual: (() => {
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
};

let harness: Harness;
before(async () => {
  harness = await startHarness();
  for (const [name, model] of Object.entries(models)) {
    harness.routes.set(`/models/${name}.nca`, { body: encodeNca(model), type: 'application/octet-stream' });
  }
});
after(() => harness?.close());

for (const backend of ['webgl2', 'webgpu']) {
  for (const name of Object.keys(models)) {
    test(`${backend}: ${name} model, ${STEPS} steps at ${grid.width}x${grid.height} match the reference core within ${TOLERANCE}; the canvas shows its colours`, async () => {
      // The player sees int8 weights: compare against the reference run on the very same decoded model.
      const model = decodeNca(encodeNca(models[name])).model;
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
      assert.deepEqual(errors, []);
      await page.close();
    });
  }
}
