/**
 * The differentiable image pipeline, as graph ops from the NCA state to the
 * tower's input: RGB from the state's colour channels, cutouts (crop + resize +
 * flip as MatMuls with fed resampling matrices, see cutouts.ts), additive
 * noise, then CLIP's mean/std normalisation.
 */
import type { Topology } from '../../formats/model.ts';
import type { Rng } from '../../formats/random.ts';
import type { Graph, Value } from '../graph/graph.ts';
import * as op from '../graph/ops.ts';
import { cutoutMatrices, planCutouts, type CutoutOptions } from './cutouts.ts';

/** OpenAI's CLIP normalisation, which the LAION/OpenCLIP models reuse. */
export const CLIP_MEAN = [0.48145466, 0.4578275, 0.40821073];
export const CLIP_STD = [0.26862954, 0.26130258, 0.27577711];

/** (rgb - mean) / std per channel, for images [..., 3, H, W] in [0, 1]. */
export function normalizePixels(rgb: Value): Value {
  const shape = rgb.shape.map((_, i) => (i === rgb.rank - 3 ? 3 : 1));
  const g = rgb.graph;
  return op.div(op.sub(rgb, g.constant(CLIP_MEAN, shape)), g.constant(CLIP_STD, shape));
}

export interface PipelineShape {
  batch: number;
  height: number;
  width: number;
  /** Tower input size S. */
  size: number;
}

export interface PipelineOptions extends CutoutOptions {
  /** Largest std of the Gaussian noise added to a cutout (each cutout draws its own std in [0, noise]). */
  noise: number;
}

/** Names of the per-iteration graph inputs. */
const ROWS = 'clip_cutout_rows';
const COLS = 'clip_cutout_cols_t';
const NOISE = 'clip_cutout_noise';

/** state [B, C, H, W] -> normalised cutouts [B * count, 3, S, S]. Declares the graph inputs `feeds` fills. */
export function cutoutPixels(state: Value, topology: Topology, shape: PipelineShape, o: PipelineOptions): Value {
  const g: Graph = state.graph;
  const { batch: b, height: h, width: w, size: s } = shape;
  const k = o.count;
  const { offset, bias } = topology.color;
  const rgb = op.add(op.slice(state, [offset], [offset + 3], [1]), bias);
  const rows = g.input(ROWS, [b, k, 1, s, h]);
  const colsT = g.input(COLS, [b, k, 1, w, s]);
  // [B, 1, 3, H, W] x [B, K, 1, W, S] -> [B, K, 3, H, S]; then [B, K, 1, S, H] x that -> [B, K, 3, S, S].
  let cut = op.matmul(rows, op.matmul(op.reshape(rgb, [b, 1, 3, h, w]), colsT));
  if (o.noise > 0) cut = op.add(cut, g.input(NOISE, [b, k, 3, s, s]));
  return normalizePixels(op.reshape(cut, [b * k, 3, s, s]));
}

/**
 * Random cutouts (and noise) for the states of one `cutoutPixels` graph, as feeds
 * for its inputs: one generator per state, so the draws do not depend on how a batch is chunked.
 */
export function cutoutFeeds(shape: PipelineShape, o: PipelineOptions, rngs: Rng[]): Record<string, Float32Array> {
  const { batch: b, height: h, width: w, size: s } = shape;
  if (rngs.length !== b) throw new Error(`cutoutFeeds: ${rngs.length} generators for ${b} states`);
  const k = o.count;
  const plane = 3 * s * s;
  const rows = new Float32Array(b * k * s * h);
  const colsT = new Float32Array(b * k * w * s);
  const noise = o.noise > 0 ? new Float32Array(b * k * plane) : null;
  rngs.forEach((rng, i) => {
    planCutouts(w, h, o, rng).forEach((c, j) => {
      const m = cutoutMatrices(c, w, h, s);
      rows.set(m.rows, (i * k + j) * s * h);
      colsT.set(m.colsT, (i * k + j) * w * s);
      if (!noise) return;
      const std = o.noise * rng.next();
      const start = (i * k + j) * plane;
      for (let p = start; p < start + plane; p++) noise[p] = std * rng.normal();
    });
  });
  return noise ? { [ROWS]: rows, [COLS]: colsT, [NOISE]: noise } : { [ROWS]: rows, [COLS]: colsT };
}
