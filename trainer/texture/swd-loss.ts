/**
 * The texture loss: a multi-scale sliced Wasserstein distance (SWD) between the
 * distributions of k x k colour patches of each state's displayed colour and of
 * an exemplar image. No network, no weights (NOTES §6, docs/textures.md).
 *
 * Per scale of a 2x average-pooling pyramid, and per iteration, P random unit
 * directions in patch space (3·k·k numbers) are drawn. Projecting every patch on
 * a direction is a convolution with that direction as its kernel: circular for
 * the state (NCA grids wrap), 'valid' for the exemplar (it need not tile). Each
 * projection's values are sorted for the frame and for the exemplar; the
 * exemplar's sorted list is read at the frame's quantiles (its patch count may
 * differ), and the loss is the mean squared difference of the sorted lists,
 * averaged over states, directions, ranks and scales. Sorting's gradient routes
 * each sorted value's gradient back to the patch it came from (the TopK rule).
 */
import { alphaBias, type Topology } from '../../formats/model.ts';
import type { TensorData, Value } from '../graph/graph.ts';
import * as op from '../graph/ops.ts';
import type { LossTerm } from '../train/loss.ts';
import { cropPlanes, iterationRng, quantileIndices, unitDirections, type RgbPlanes } from './exemplar.ts';

export interface SwdSettings {
  /** Pyramid levels: the full grid, then each 2x average-pooled level (default 4: 128, 64, 32, 16 for a 128 grid). */
  scales: number;
  /** Patch side k (odd; default 3). */
  patch: number;
  /** Random directions per scale, redrawn every iteration (default 32). */
  projections: number;
  /** An exemplar larger than this (per side) is randomly cropped to it every iteration (default 256). */
  maxExemplar: number;
  /** Seeds the directions and crops together with the iteration number. */
  seed: number;
}

export const SWD_DEFAULTS: Omit<SwdSettings, 'seed'> = { scales: 4, patch: 3, projections: 32, maxExemplar: 256 };

/** Names of the term's graph inputs (fed by `feeds`). */
const EXEMPLAR = 'texture_exemplar';
const dirsInput = (s: number) => `texture_dirs_${s}`;

/** The colour a model displays as a [B, 3, H, W] value; RGBA models count as composited over black, like the exemplar. */
export function displayedRgb(state: Value, topology: Topology): Value {
  const { offset, count, bias } = topology.color;
  if (offset + count > state.shape[1]) throw new Error(`colour channels ${offset}..${offset + count - 1} are past the state's ${state.shape[1]} channels`);
  const rgb = op.add(op.slice(state, [offset], [offset + 3], [1]), bias);
  if (count === 3 || topology.color.premultiplied) return rgb; // premultiplied colour is already "over black"
  const alpha = op.add(op.slice(state, [offset + 3], [offset + 4], [1]), alphaBias(topology.color));
  return op.mul(rgb, alpha);
}

function pyramid(x: Value, scales: number): Value[] {
  const levels = [x];
  for (let s = 1; s < scales; s++) levels.push(op.pool2x2(levels[s - 1], 'mean'));
  return levels;
}

/** The sizes a side goes through in the pyramid. */
function levelSizes(side: number, scales: number): number[] {
  const out = [side];
  for (let s = 1; s < scales; s++) out.push(out[s - 1] >> 1);
  return out;
}

/** Checks settings and sizes; throws a message that says what to change. */
export function checkSwd(settings: SwdSettings, grid: { width: number; height: number }, exemplar: { width: number; height: number }): void {
  const { scales, patch, projections, maxExemplar } = settings;
  const int = (name: string, v: number, min: number) => {
    if (!Number.isInteger(v) || v < min) throw new Error(`texture loss: ${name} must be an integer >= ${min}, got ${v}`);
  };
  int('scales', scales, 1);
  int('patch', patch, 1);
  int('projections', projections, 1);
  int('maxExemplar', maxExemplar, 1);
  if (patch % 2 !== 1) throw new Error(`texture loss: patch must be odd, got ${patch}`);
  const coarse = (side: number) => levelSizes(side, scales)[scales - 1];
  const gridMin = Math.min(coarse(grid.width), coarse(grid.height));
  if (gridMin < Math.max(2, patch >> 1)) {
    throw new Error(`texture loss: a ${grid.width}x${grid.height} grid is too small for ${scales} scales (coarsest level ${gridMin} cells); use fewer scales`);
  }
  const exMin = Math.min(coarse(Math.min(exemplar.width, maxExemplar)), coarse(Math.min(exemplar.height, maxExemplar)));
  if (exMin < patch) {
    throw new Error(
      `texture loss: the exemplar (${exemplar.width}x${exemplar.height}) is too small for ${scales} scales of ${patch}x${patch} patches ` +
        `(needs at least ${patch << (scales - 1)} px per side); use fewer scales or a larger image`,
    );
  }
}

/**
 * The SWD term. `exemplar` is the exemplar's colour at training resolution (one
 * pixel = one cell). The term declares graph inputs for the exemplar (cropped per
 * iteration when larger than `maxExemplar`) and for each scale's directions.
 */
export function swdTerm(exemplar: RgbPlanes, topology: Topology, settings: SwdSettings, weight = 1): LossTerm {
  const { scales, patch: k, projections: P, maxExemplar } = settings;
  const ew = Math.min(exemplar.width, maxExemplar);
  const eh = Math.min(exemplar.height, maxExemplar);
  const dims = 3 * k * k;
  const half = k >> 1;
  return {
    name: 'texture',
    weight,
    build(state) {
      const g = state.graph;
      const [b, , h, w] = state.shape;
      checkSwd(settings, { width: w, height: h }, exemplar);
      const frames = pyramid(displayedRgb(state, topology), scales);
      const examples = pyramid(g.input(EXEMPLAR, [1, 3, eh, ew]), scales);
      let total: Value | null = null;
      for (let s = 0; s < scales; s++) {
        const dirs = g.input(dirsInput(s), [P, 3, k, k]);
        const [fh, fw] = frames[s].shape.slice(2);
        const n = fh * fw;
        const wrapped = half > 0 ? op.pad(frames[s], [0, 0, half, half, 0, 0, half, half], 'wrap') : frames[s];
        const framed = op.sort(op.reshape(op.conv(wrapped, dirs, null), [b, P, n]), -1).values;
        const exProj = op.conv(examples[s], dirs, null);
        const m = exProj.shape[2] * exProj.shape[3];
        const exSorted = op.sort(op.reshape(exProj, [1, P, m]), -1).values;
        const target = op.gather(exSorted, g.constant(quantileIndices(n, m), [n], 'int64'), 2);
        const diff = op.sub(framed, target);
        const level = op.reduceMean(op.mul(diff, diff), [0, 1, 2], false);
        total = total ? op.add(total, level) : level;
      }
      return op.mul(total!, 1 / scales);
    },
    feeds(iteration) {
      const rng = iterationRng(settings.seed, iteration);
      const feeds: Record<string, TensorData> = {};
      for (let s = 0; s < scales; s++) feeds[dirsInput(s)] = unitDirections(rng, P, dims);
      feeds[EXEMPLAR] = cropPlanes(exemplar, rng.int(0, exemplar.width - ew), rng.int(0, exemplar.height - eh), ew, eh).data;
      return feeds;
    },
  };
}

/** The settings a spec asks for, with defaults filled in. */
export function swdSettings(spec: Partial<SwdSettings>, seed = 0): SwdSettings {
  return {
    scales: spec.scales ?? SWD_DEFAULTS.scales,
    patch: spec.patch ?? SWD_DEFAULTS.patch,
    projections: spec.projections ?? SWD_DEFAULTS.projections,
    maxExemplar: spec.maxExemplar ?? SWD_DEFAULTS.maxExemplar,
    seed,
  };
}
