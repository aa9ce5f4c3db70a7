import assert from 'node:assert/strict';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { defaultTopology } from '../../formats/model.ts';
import { createState } from '../../formats/reference-core.ts';
import { eraseHalf, ERASED_SIDES } from '../../exporter/eval/long-run.ts';
import type { RgbaImage } from '../../trainer/image/png.ts';
import { centredBox } from '../../trainer/pixel/pixel-loss.ts';
import { placeSeedCells } from '../../trainer/pixel/seed-cells.ts';
import { seedRecipe } from '../../trainer/train/seeds.ts';
import { runNca } from '../helpers/cli.ts';

/** An RGBA image, opaque red where `inside(x, y)`. */
function drawn(width: number, height: number, inside: (x: number, y: number) => boolean): RgbaImage {
  const data = new Uint8Array(width * height * 4);
  for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) if (inside(x, y)) data.set([255, 0, 0, 255], (y * width + x) * 4);
  return { width, height, data };
}

const ring = drawn(32, 32, (x, y) => Math.abs(Math.hypot(x - 15.5, y - 15.5) - 11) < 3);
const disc = drawn(20, 20, (x, y) => Math.hypot(x - 9.5, y - 9.5) < 8);
const living = defaultTopology({ color: { offset: 0, count: 4, bias: 0.5, alphaBias: 0, premultiplied: true } });

/** Where each seed cell lands on `grid`, and the state there. */
function planted(cells: [number, number][], grid: { width: number; height: number }) {
  const state = createState({ topology: living, seed: seedRecipe('cell', living, cells), weights: { w1: new Float32Array(0), b1: new Float32Array(0), w2: new Float32Array(0) }, metadata: {} }, grid);
  const found: { x: number; y: number; cell: number[] }[] = [];
  for (let i = 0; i < grid.width * grid.height; i++) {
    const cell = Array.from(state.subarray(i * 12, i * 12 + 12));
    if (cell.some((v) => v !== 0)) found.push({ x: i % grid.width, y: Math.floor(i / grid.width), cell });
  }
  return { state, found };
}

test('a ring gets two seed cells on its band, mirror images through the grid centre', () => {
  const grid = { width: 48, height: 48 };
  const box = centredBox(grid, 32, 32);
  const cells = placeSeedCells(ring, box, grid, 2);
  assert.equal(cells.length, 2);
  for (const [dx, dy] of cells) assert.equal(ring.data[((24 + dy - box.y) * 32 + 24 + dx - box.x) * 4 + 3], 255, `cell ${dx},${dy} is on the band`);
  const [[ax, ay], [bx, by]] = cells;
  assert.deepEqual([24 + ax + 24 + bx, 24 + ay + 24 + by], [47, 47], 'mirror images through (23.5, 23.5)');
  assert.deepEqual(placeSeedCells(ring, box, grid, 1), [cells[0]], 'the first cell is the one-cell seed');
});

test('every half the regrowth test erases leaves one of the two seed cells', () => {
  for (const [image, grid] of [
    [ring, { width: 48, height: 48 }],
    [disc, { width: 32, height: 32 }],
    [disc, { width: 33, height: 31 }],
  ] as const) {
    const cells = placeSeedCells(image, centredBox(grid, image.width, image.height), grid, 2);
    const { state, found } = planted(cells, grid);
    assert.equal(found.length, 2, `${grid.width}x${grid.height}: two live cells`);
    for (const side of ERASED_SIDES) {
      const left = eraseHalf(state, grid, 12, side);
      assert.ok(left.some((v) => v !== 0), `${grid.width}x${grid.height}: a seed cell outlives the ${side} erase`);
    }
  }
});

test('a two-cell seed is an image seed that puts each cell where its offset says, on even and odd grids', () => {
  const cells: [number, number][] = [[-1, -10], [0, 9]];
  const recipe = seedRecipe('cell', living, cells);
  assert.equal(recipe.kind, 'image');
  for (const grid of [{ width: 48, height: 48 }, { width: 47, height: 51 }, { width: 64, height: 36 }]) {
    const { found } = planted(cells, grid);
    assert.deepEqual(
      found.map(({ x, y }) => [x, y]),
      cells.map(([dx, dy]) => [Math.floor(grid.width / 2) + dx, Math.floor(grid.height / 2) + dy]),
    );
    // Growing NCA's seed, then the same with its hidden channels negated: alive, colourless, told apart
    assert.deepEqual(found[0].cell, [0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1]);
    assert.deepEqual(found[1].cell, [0, 0, 0, 1, -1, -1, -1, -1, -1, -1, -1, -1]);
  }
  assert.deepEqual(seedRecipe('cell', living, [[2, -3]]), { kind: 'cell', value: [0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1], offset: [2, -3] });
  assert.throws(() => seedRecipe('cell', living, [[0, 0], [1, 1], [2, 2]]), /one or two cells/);
});

test('a target with one opaque pixel gets one seed cell, on it', () => {
  const dot = drawn(9, 9, (x, y) => x === 6 && y === 2);
  const grid = { width: 21, height: 21 };
  const box = centredBox(grid, 9, 9);
  assert.deepEqual(placeSeedCells(dot, box, grid, 2), [[box.x + 6 - 10, box.y + 2 - 10]]);
});

test('nca train refuses a seed of other than one or two cells, and writes nothing', () => {
  const out = join(mkdtempSync(join(tmpdir(), 'nca-seed-cells-')), 'run');
  const { code, stderr } = runNca(['train', '--target', 'examples/targets/ring.png', '--seed-cells', '3', '--out', out, '--quiet']);
  assert.equal(code, 64);
  assert.match(stderr, /--seed-cells must be a whole number from 1 to 2/);
  assert.equal(existsSync(out), false);
});
