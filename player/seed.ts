/**
 * The seed state on the GPU (formats/reference-core.ts createState without building the whole
 * grid on the CPU: 1.4 s at 1080p there). Noise seeds are drawn by a shader from the same hash;
 * a cell or image seed is a small patch uploaded onto a cleared state.
 */
import type { Grid, NcaModel } from '../formats/index.ts';

/** The cells of a cell or image seed that fall on the grid, [height][width][channels], placed as createState places them. */
export interface SeedPatch {
  x: number;
  y: number;
  width: number;
  height: number;
  data: Float32Array;
}

/** Null for a noise seed (drawn by the noise shader). The patch can be empty (an image entirely off the grid). */
export function seedPatch(model: NcaModel, grid: Grid): SeedPatch | null {
  const recipe = model.seed;
  const { channels } = model.topology;
  if (recipe.kind === 'noise') return null;
  if (recipe.kind === 'cell') {
    const [dx, dy] = recipe.offset ?? [0, 0];
    const wrap = (v: number, n: number) => ((v % n) + n) % n;
    return { x: wrap(Math.floor(grid.width / 2) + dx, grid.width), y: wrap(Math.floor(grid.height / 2) + dy, grid.height), width: 1, height: 1, data: Float32Array.from(recipe.value) };
  }
  // The image is centred; where it is larger than the grid, its centre part is kept.
  const x0 = Math.floor((grid.width - recipe.width) / 2);
  const y0 = Math.floor((grid.height - recipe.height) / 2);
  const x = Math.max(0, x0);
  const y = Math.max(0, y0);
  const width = Math.max(0, Math.min(grid.width, x0 + recipe.width) - x);
  const height = Math.max(0, Math.min(grid.height, y0 + recipe.height) - y);
  const data = new Float32Array(width * height * channels);
  for (let row = 0; row < height; row++) {
    const from = ((row + y - y0) * recipe.width + (x - x0)) * channels;
    data.set(recipe.data.subarray(from, from + width * channels), row * width * channels);
  }
  return { x, y, width, height, data };
}
