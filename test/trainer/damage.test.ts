import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Rng } from '../../formats/random.ts';
import { eraseDamage, type DamageShape } from '../../trainer/pixel/damage.ts';

const shape = { batch: 1, channels: 3, height: 40, width: 40 };

/** The erased cells of one damaged all-ones state, as a 0/1 grid (every channel must agree). */
function erasedCells(kind: DamageShape, seed: number): number[][] {
  const state = new Float32Array(shape.channels * shape.height * shape.width).fill(1);
  eraseDamage(state, shape, [0], new Rng(seed), kind);
  const plane = shape.height * shape.width;
  return Array.from({ length: shape.height }, (_, y) =>
    Array.from({ length: shape.width }, (_, x) => {
      const values = Array.from({ length: shape.channels }, (_, c) => state[c * plane + y * shape.width + x]);
      assert.ok(values.every((v) => v === values[0]), 'every channel of a cell is erased, or none');
      return values[0] === 0 ? 1 : 0;
    }),
  );
}

const count = (cells: number[][]) => cells.flat().reduce((a, b) => a + b, 0);

/** The cells on the border between erased and kept lie on one straight line (within a cell): a half-plane's edge, not a disc's arc. */
function isHalfPlane(cells: number[][]): boolean {
  const at = (x: number, y: number) => cells[y]?.[x];
  const border = cells.flatMap((row, y) => row.flatMap((e, x) => (e && [at(x + 1, y), at(x - 1, y), at(x, y + 1), at(x, y - 1)].includes(0) ? [{ x, y }] : [])));
  if (border.length < 10) return false;
  // total least squares: the line through the mean along the covariance's main axis
  const n = border.length;
  const mx = border.reduce((a, p) => a + p.x, 0) / n;
  const my = border.reduce((a, p) => a + p.y, 0) / n;
  let sxx = 0, sxy = 0, syy = 0;
  for (const p of border) [sxx, sxy, syy] = [sxx + (p.x - mx) ** 2, sxy + (p.x - mx) * (p.y - my), syy + (p.y - my) ** 2];
  const angle = 0.5 * Math.atan2(2 * sxy, sxx - syy);
  const [nx, ny] = [-Math.sin(angle), Math.cos(angle)];
  return border.every((p) => Math.abs((p.x - mx) * nx + (p.y - my) * ny) <= 1);
}

test('disc damage erases one circle of radius 10-40% of the short side', () => {
  for (let seed = 1; seed <= 20; seed++) {
    const cells = erasedCells('disc', seed);
    const area = count(cells);
    // clipped by the grid edge it can be smaller, never larger than the biggest disc
    assert.ok(area <= Math.PI * (0.4 * 40 + 1) ** 2, `seed ${seed}: ${area} cells`);
    assert.ok(!isHalfPlane(cells), `seed ${seed}: a disc, not a half-plane`);
  }
});

test('half damage erases one side of a line through the middle half: a fifth to four fifths of the grid', () => {
  for (let seed = 1; seed <= 20; seed++) {
    const cells = erasedCells('half', seed);
    const fraction = count(cells) / 1600;
    assert.ok(isHalfPlane(cells), `seed ${seed}: not a half-plane`);
    assert.ok(fraction > 0.1 && fraction < 0.9, `seed ${seed}: ${fraction} of the grid erased`);
  }
});

test('mixed damage draws both shapes; every shape is deterministic for a seed', () => {
  const kinds = Array.from({ length: 20 }, (_, i) => erasedCells('mixed', i + 1)).map((cells) => (isHalfPlane(cells) ? 'half' : 'disc'));
  assert.ok(kinds.includes('half') && kinds.includes('disc'), kinds.join(' '));
  for (const kind of ['disc', 'half', 'mixed'] as const) assert.deepEqual(erasedCells(kind, 7), erasedCells(kind, 7));
});

test('damage touches only the given batch slots', () => {
  const two = { ...shape, batch: 2 };
  const size = two.channels * two.height * two.width;
  const state = new Float32Array(2 * size).fill(1);
  eraseDamage(state, two, [1], new Rng(3), 'half');
  assert.ok(state.subarray(0, size).every((v) => v === 1));
  assert.ok(state.subarray(size).some((v) => v === 0));
});
