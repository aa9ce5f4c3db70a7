/** Initial states, made by the reference core so that players grow the very same seed. */
import type { NcaModel, SeedRecipe, Topology } from '../../formats/model.ts';
import { createState } from '../../formats/reference-core.ts';
import { putHwc, type BatchShape } from '../nca/layout.ts';

export type SeedKind = 'noise' | 'cell';

/**
 * `cell`: one live cell at the centre, or `cellOffset` [dx, dy] from it, with the colour
 * channels at 0 and every other channel at 1 (Growing NCA).
 */
export function seedRecipe(kind: SeedKind, topology: Topology, cellOffset?: [number, number]): SeedRecipe {
  if (kind === 'noise') return { kind: 'noise' };
  const { offset, count } = topology.color;
  const value = Array.from({ length: topology.channels }, (_, c) => (c >= offset && c < offset + Math.min(count, 3) ? 0 : 1));
  return cellOffset && (cellOffset[0] !== 0 || cellOffset[1] !== 0) ? { kind: 'cell', value, offset: cellOffset } : { kind: 'cell', value };
}

/** One seed state as [C, H, W]; `noiseSeed` picks the noise field of a noise seed. */
export function seedState(topology: Topology, recipe: SeedRecipe, grid: { width: number; height: number }, noiseSeed: number): Float32Array {
  const model: NcaModel = { topology, seed: recipe, weights: { w1: new Float32Array(0), b1: new Float32Array(0), w2: new Float32Array(0) }, metadata: {} };
  const shape: BatchShape = { batch: 1, channels: topology.channels, ...grid };
  const out = new Float32Array(topology.channels * grid.width * grid.height);
  putHwc(out, shape, 0, createState(model, grid, noiseSeed));
  return out;
}
