/** Initial states, made by the reference core so that players grow the very same seed. */
import type { NcaModel, SeedRecipe, Topology } from '../../formats/model.ts';
import { createState } from '../../formats/reference-core.ts';
import { putHwc, type BatchShape } from '../nca/layout.ts';

export type SeedKind = 'noise' | 'cell';

/**
 * `cell`: live cells with the colour channels at 0 and every other channel at 1 (Growing NCA):
 * one at the grid centre, or at `cells[0]` [dx, dy] from it. A second cell (`cells[1]`) has its
 * hidden channels at -1 instead, so the rule can tell the two apart and grow each its own part.
 * Two cells are stored as a small image seed, which every engine plays.
 */
export function seedRecipe(kind: SeedKind, topology: Topology, cells: [number, number][] = []): SeedRecipe {
  if (kind === 'noise') return { kind: 'noise' };
  const { offset, count } = topology.color;
  const colour = (c: number) => c >= offset && c < offset + Math.min(count, 3);
  const value = Array.from({ length: topology.channels }, (_, c) => (colour(c) ? 0 : 1));
  if (cells.length > 2) throw new RangeError(`a cell seed has one or two cells, not ${cells.length}`);
  if (cells.length < 2) {
    const [dx, dy] = cells[0] ?? [0, 0];
    return dx !== 0 || dy !== 0 ? { kind: 'cell', value, offset: [dx, dy] } : { kind: 'cell', value };
  }
  const alpha = count === 4 ? offset + 3 : -1;
  const second = value.map((v, c) => (colour(c) || c === alpha ? v : -v));
  return cellImage(topology.channels, cells, [value, second]);
}

/**
 * Cells at offsets from the grid centre as an image seed. The image's sides are even, so
 * centring it (floor((W - w) / 2)) puts each cell where a cell seed with that offset goes
 * (floor(W / 2) + dx) on a grid of any size.
 */
function cellImage(channels: number, cells: [number, number][], values: number[][]): SeedRecipe {
  const half = (axis: 0 | 1) => Math.max(...cells.map((cell) => Math.max(-cell[axis], cell[axis] + 1)));
  const [hx, hy] = [half(0), half(1)];
  const width = 2 * hx;
  const data = new Float32Array(width * 2 * hy * channels);
  cells.forEach(([dx, dy], i) => data.set(values[i], ((dy + hy) * width + dx + hx) * channels));
  return { kind: 'image', width, height: 2 * hy, data };
}

/** One seed state as [C, H, W]; `noiseSeed` picks the noise field of a noise seed. */
export function seedState(topology: Topology, recipe: SeedRecipe, grid: { width: number; height: number }, noiseSeed: number): Float32Array {
  const model: NcaModel = { topology, seed: recipe, weights: { w1: new Float32Array(0), b1: new Float32Array(0), w2: new Float32Array(0) }, metadata: {} };
  const shape: BatchShape = { batch: 1, channels: topology.channels, ...grid };
  const out = new Float32Array(topology.channels * grid.width * grid.height);
  putHwc(out, shape, 0, createState(model, grid, noiseSeed));
  return out;
}
