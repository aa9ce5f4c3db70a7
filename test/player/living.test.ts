/**
 * Living (v1.1) models in the element, on both backends: the page shows through dead cells
 * from the very first frame, the canvas composites like SPEC.md §6 says, erased cells turn
 * transparent and regrow as the reference core says, and the alive threshold decides exactly
 * like the reference's float64 comparison.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Page } from 'playwright-core';
import { createState, decodeNca, encodeNca, ReferenceNca, toColours, type Grid, type NcaModel } from '../../formats/index.ts';
import { decodePng } from '../../trainer/image/png.ts';
import { livingTopology, maxAbsDiff, randomModel } from '../helpers/models.ts';
import { addPlayer, growingModel, startHarness, TOLERANCE, type Harness } from './harness.ts';

const grid = { width: 32, height: 32 };
/** CSS pixels per cell: the element is 128x128 and pixelated, so each cell is a 4x4 block. */
const CELL = 4;
const seed = 3;
const BACKGROUND = [255, 0, 255];
const living = encodeNca(growingModel());

/**
 * The threshold test: zero update (w2 = 0, so x' = x) and an image seed whose alive channel is
 * v = 0.0999755859375 (a float16) in one cell, with a threshold just below v that rounds to v
 * as a float32. The reference (float64) keeps that cell's neighbourhood alive; a shader that
 * compared with the nearest float32 of the threshold would kill it.
 */
const v = 0.0999755859375;
const threshold = v - 1e-12;
const thresholdModel = (() => {
  const model = randomModel({ seed: 6, recipe: 'image', topology: livingTopology({ hidden: 8, alive: { channel: 3, threshold } }) });
  model.weights.w2.fill(0);
  const { data } = model.seed as { data: Float32Array };
  for (let x = 0; x < 5; x++) data[(1 * 5 + x) * 12 + 3] = 0; // alpha of the middle row: 0 but ...
  data[(1 * 5 + 1) * 12 + 3] = v; // ... v at (1, 1)
  for (let y = 0; y < 3; y++) for (let x = 0; x < 5; x++) if (y !== 1) data[(y * 5 + x) * 12 + 3] = 0;
  return model;
})();

let harness: Harness;
before(async () => {
  harness = await startHarness();
  harness.routes.set('/models/living.nca', { body: living, type: 'application/octet-stream' });
  harness.routes.set('/models/threshold.nca', { body: encodeNca(thresholdModel), type: 'application/octet-stream' });
});
after(() => harness?.close());

/** What the page should show for each cell: the straight colour over the background, 8-bit. */
function composite(model: NcaModel, state: Float32Array): number[] {
  const colours = toColours(model.topology, state, grid);
  const out: number[] = [];
  for (let i = 0; i < colours.length; i += 4) {
    const a = colours[i + 3];
    for (let k = 0; k < 3; k++) out.push(Math.round((colours[i + k] * a + (BACKGROUND[k] / 255) * (1 - a)) * 255));
  }
  return out;
}

/** The page as shown, one RGB per cell (the centre pixel of its block). */
async function shown(page: Page): Promise<number[]> {
  const image = decodePng(await page.screenshot({ clip: { x: 0, y: 0, width: grid.width * CELL, height: grid.height * CELL } }));
  const out: number[] = [];
  for (let y = 0; y < grid.height; y++) {
    for (let x = 0; x < grid.width; x++) {
      const at = ((y * CELL + CELL / 2) * image.width + x * CELL + CELL / 2) * 4;
      out.push(image.data[at], image.data[at + 1], image.data[at + 2]);
    }
  }
  return out;
}

const readState = (page: Page) => page.evaluate(async () => Array.from(await (window as any).players.p.readState()) as number[]);

/** Cells whose every channel is zero. */
function deadCells(state: ArrayLike<number>, channels: number): Set<number> {
  const dead = new Set<number>();
  for (let i = 0; i < state.length / channels; i++) {
    let zero = true;
    for (let c = 0; c < channels; c++) zero &&= state[i * channels + c] === 0;
    if (zero) dead.add(i);
  }
  return dead;
}

for (const backend of ['webgl2', 'webgpu']) {
  test(`${backend}: a living model is transparent from its first frame, composites over the page, and regrows where erased`, async () => {
    const model = decodeNca(living).model;
    const { channels } = model.topology;
    const { page, errors } = await harness.open();
    await page.addStyleTag({
      content: `body { background: rgb(${BACKGROUND}) } nca-player { width: ${grid.width * CELL}px; height: ${grid.height * CELL}px }`,
    });
    const loaded = await addPlayer(page, 'p', {
      src: '/models/living.nca',
      backend,
      width: String(grid.width),
      height: String(grid.height),
      seed: String(seed),
      paused: '',
      interactive: '',
      brush: '3',
    });
    assert.equal(loaded.event, 'load', JSON.stringify(loaded.detail));
    assert.equal(loaded.detail.backend, backend);

    // The first frame, as drawn at load: the page everywhere but the seed cell (alpha 1, black).
    const reference = new ReferenceNca(model, grid, seed);
    const first = await shown(page);
    const background = (pixels: number[], cell: number) => BACKGROUND.every((b, k) => Math.abs(pixels[cell * 3 + k] - b) <= 1);
    const centre = (grid.height / 2) * grid.width + grid.width / 2;
    for (let cell = 0; cell < grid.width * grid.height; cell++) assert.equal(background(first, cell), cell !== centre, `first frame, cell ${cell}`);
    assert.ok(maxAbsDiff(first, composite(model, reference.state)) <= 2);

    // After growing: every cell composites as SPEC.md §6 says, to 8-bit rounding.
    const grown = 14; // few steps: random weights amplify float32 rounding (2e-5 after 22 steps here)
    await page.evaluate((n) => (window as any).players.p.step(n), grown);
    reference.run(grown);
    const expected = composite(model, reference.state);
    const error = maxAbsDiff(await shown(page), expected);
    console.log(`  ${backend}: shown vs reference colours after ${grown} steps: ${error}/255`);
    assert.ok(error <= 3, `shown colours differ by ${error}/255`);
    const dead = deadCells(reference.state, channels);
    assert.ok(dead.size > 100 && dead.size < grid.width * grid.height - 40, `dead cells ${dead.size}`);
    assert.ok([...Array(grid.width * grid.height).keys()].some((cell) => !dead.has(cell) && !background(expected, cell)));

    // Erase a disc in the middle of the pattern: a click at CSS (4k + 1, 4j + 1) is cell (k + 0.25, j + 0.25).
    let sx = 0;
    let sy = 0;
    const live = [...Array(grid.width * grid.height).keys()].filter((cell) => !dead.has(cell));
    for (const cell of live) (sx += cell % grid.width), (sy += Math.floor(cell / grid.width));
    const [cx, cy] = [Math.round(sx / live.length) + 0.25, Math.round(sy / live.length) + 0.25];
    await page.mouse.click(cx * CELL, cy * CELL);
    const erased: number[] = [];
    for (let y = 0; y < grid.height; y++) {
      for (let x = 0; x < grid.width; x++) {
        if (Math.hypot(x + 0.5 - cx, y + 0.5 - cy) > 3) continue;
        erased.push(y * grid.width + x);
        reference.state.fill(0, (y * grid.width + x) * channels, (y * grid.width + x + 1) * channels);
      }
    }
    assert.ok(erased.filter((cell) => !dead.has(cell)).length > 10, 'the brush erased living cells');
    assert.ok(maxAbsDiff(await readState(page), reference.state) < TOLERANCE, 'erasing zeroes exactly the cells under the brush');
    const afterErase = await shown(page);
    for (const cell of erased) assert.ok(background(afterErase, cell), `erased cell ${cell} is transparent`);

    // Regrowth: the reference regrows into the disc, and the player follows it.
    const regrow = 8;
    await page.evaluate((n) => (window as any).players.p.step(n), regrow);
    reference.run(regrow);
    const state = await readState(page);
    const regrown = erased.filter((cell) => !deadCells(reference.state.subarray(cell * channels, (cell + 1) * channels), channels).size);
    assert.ok(regrown.length > 5, `erased cells alive again: ${regrown.length}`);
    const stateError = maxAbsDiff(state, reference.state);
    console.log(`  ${backend}: ${regrown.length} of ${erased.length} erased cells regrew; max |player - reference| = ${stateError.toExponential(2)}`);
    assert.ok(stateError < TOLERANCE, `max error ${stateError}`);
    assert.deepEqual(errors, []);
    await page.close();
  });

  test(`${backend}: the alive threshold decides like the reference's float64 comparison`, async () => {
    const model = decodeNca(encodeNca(thresholdModel)).model;
    const { page, errors } = await harness.open();
    const loaded = await addPlayer(page, 'p', { src: '/models/threshold.nca', backend, width: '9', height: '7', paused: '' });
    assert.equal(loaded.event, 'load', JSON.stringify(loaded.detail));
    await page.evaluate(() => (window as any).players.p.step(1));
    const small = { width: 9, height: 7 };
    const reference = new ReferenceNca(model, small, 0).run(1).state;
    const initial = createState(model, small, 0);
    // The cells around the one at v keep their (non-zero) state; the rest of the image dies.
    const living = small.width * small.height - deadCells(reference, 12).size;
    assert.ok(living >= 6 && maxAbsDiff(reference, initial) > 0.1, `${living} cells live, others die`);
    assert.ok(Math.fround(threshold) === v && v > threshold, 'the threshold rounds to v as a float32');
    assert.equal(maxAbsDiff(await readState(page), reference), 0);
    assert.deepEqual(errors, []);
    await page.close();
  });
}
