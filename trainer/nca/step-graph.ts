/**
 * One NCA step as graph ops, on a cell-major state [B * H * W + 1, C] (layout.ts):
 * the cells, then one **sink row**, always zero going in, which stands for every
 * cell that is not there (neighbours off a zero-padded grid; padding entries of
 * the cell lists). With it no graph needs a mask, a Concat or a Slice for them.
 *
 * Only the cells that fire compute an update, so the two GEMMs and every
 * hidden-sized tensor cover about fireRate of the grid, in the backward pass as
 * well. The step takes the firing cells as an index list instead of a 0/1 mask:
 * `cells` [K] holds the indices (into the B*H*W cells) of the firing cells,
 * padded to K with the sink row's index B*H*W, and their 3x3 neighbourhoods
 * `neighbours` [9 * K] (firing.ts). `perceive` (every cell, [B, C, H, W]) is
 * the dense form, for the exporter's renderer.
 */
import { filterKernel, type Topology } from '../../formats/model.ts';
import type { Value } from '../graph/graph.ts';
import { cast, concat, conv, expand, gather, greater, matmul, mul, pad, relu, reshape, scatterND, slice, transpose, unsqueeze } from '../graph/ops.ts';

/**
 * The step's weights as the graphs take them: w1 with b1 appended as a last
 * column, so b1 rides in the first GEMM with the rows' ones column (`withOnes`).
 * Made once per rollout in TypeScript (rollout.ts `weightFeeds`), not in every step graph.
 */
export interface StepParams {
  w1b: Value; // [hidden, C * F + 1]
  w2: Value; // [C, hidden]
}

/** w1 [hidden, C * F] and b1 [hidden] -> w1b [hidden, C * F + 1]. */
export function joinBias(w1: Float32Array, b1: Float32Array): Float32Array {
  const hidden = b1.length;
  const features = w1.length / hidden;
  const out = new Float32Array(hidden * (features + 1));
  for (let h = 0; h < hidden; h++) {
    out.set(w1.subarray(h * features, (h + 1) * features), h * (features + 1));
    out[h * (features + 1) + features] = b1[h];
  }
  return out;
}

/** w1b's gradient [hidden, C * F + 1] (summed in float64) -> those of w1 and b1: `joinBias` backwards. */
export function splitBias(dw1b: Float64Array, hidden: number): { w1: Float32Array; b1: Float32Array } {
  const columns = dw1b.length / hidden;
  const w1 = new Float32Array(hidden * (columns - 1));
  const b1 = new Float32Array(hidden);
  for (let h = 0; h < hidden; h++) {
    for (let j = 0; j < columns - 1; j++) w1[h * (columns - 1) + j] = dw1b[h * columns + j];
    b1[h] = dw1b[h * columns + columns - 1];
  }
  return { w1, b1 };
}

/** The fixed perception kernels as a depthwise Conv weight [C * F, 1, 3, 3]; output channel = c * F + f. */
export function perceptionKernel(topology: Topology): Float32Array {
  const f = topology.filters.length;
  const out = new Float32Array(topology.channels * f * 9);
  for (let c = 0; c < topology.channels; c++) {
    topology.filters.forEach((_, k) => out.set(filterKernel(topology, k), (c * f + k) * 9));
  }
  return out;
}

/** [B, C, H, W] -> [B, C * F, H, W]. */
export function perceive(x: Value, topology: Topology): Value {
  const g = x.graph;
  const channels = topology.channels;
  const kernel = g.constant(perceptionKernel(topology), [channels * topology.filters.length, 1, 3, 3], x.dtype);
  if (topology.padding === 'circular') {
    return conv(pad(x, [0, 0, 1, 1, 0, 0, 1, 1], 'wrap'), kernel, null, { group: channels });
  }
  return conv(x, kernel, null, { group: channels, pads: [1, 1, 1, 1] });
}

/**
 * Perception rows [K, C * F] with a column of ones appended, [K, C * F + 1]: with it
 * b1 is part of the first GEMM, which saves a broadcast Add forward and a ReduceSum
 * backward. The forward step outputs these rows, so the backward step reads them
 * as they are (a Concat there took 5.6 % of its kernel time).
 */
export function withOnes(features: Value): Value {
  return concat([features, expand(features.graph.scalar(1, features.dtype), [features.shape[0], 1])], 1);
}

/** The hidden layer's activations of rows of perception features with ones (`withOnes`) [K, C * F + 1] -> [K, hidden]. */
function hiddenRows(rows: Value, p: StepParams): Value {
  return relu(matmul(rows, transpose(p.w1b, [1, 0])));
}

/** Updates of the given rows of perception features with ones (`withOnes`) [K, C * F + 1] -> [K, C]. */
export function updateRows(rows: Value, p: StepParams): Value {
  return matmul(hiddenRows(rows, p), transpose(p.w2, [1, 0]));
}

/** The perception kernels as a matrix [F, 9]: row f is filter f's 3x3 taps (row by row, scaled). */
export function tapKernel(topology: Topology): Float32Array {
  const out = new Float32Array(topology.filters.length * 9);
  topology.filters.forEach((_, f) => out.set(filterKernel(topology, f), f * 9));
  return out;
}

/**
 * Perception rows of the firing cells, [K, C * F], from their neighbourhoods
 * ([9 * K] cell indices, tap-major, see firing.ts) in `x` (cells and sink row):
 * gather the neighbours' states as [9, K * C], mix the taps with one [F, 9] GEMM,
 * then put each cell's features in a row (column c * F + f). Each filter only
 * reads its own channel, so this does 9 * F multiply-adds per channel where one
 * [K, 9 * C] x [9 * C, C * F] GEMM did 9 * C * C * F, mostly zeros (measured: a
 * training iteration 1.10x faster, docs/performance.md).
 * Why not the depthwise Conv of `perceive`: that computes every cell and needs a
 * [B, C * F, H * W] -> [B * H * W, C * F] transpose before the gather.
 */
export function firingFeatures(x: Value, neighbours: Value, topology: Topology): Value {
  const c = x.shape[1];
  const k = neighbours.shape[0] / 9;
  const f = topology.filters.length;
  const taps = reshape(gather(x, neighbours, 0), [9, k * c]);
  const perFilter = matmul(x.graph.constant(tapKernel(topology), [f, 9], x.dtype), taps); // [F, K * C]
  return reshape(transpose(reshape(perFilter, [f, k, c]), [1, 2, 0]), [k, c * f]);
}

export interface StepVjpInputs {
  /** d(loss)/d(state after the step) [N + 1, C], zero on the sink row. */
  gy: Value;
  /** The firing cells [K] (padding entries: the sink row). */
  cells: Value;
  /** Their neighbourhoods [9 * K], as the forward step read them. */
  neighbours: Value;
  /** Their perception rows with the ones column [K, C * F + 1], as the forward step returned them. */
  rows: Value;
}

/**
 * The step's vector-Jacobian product, written out by hand: the step is
 * y = x + scatter(cells, relu(rows · w1bᵀ) · w2ᵀ) with rows = perception(x).
 * Returns d/dx (on [N + 1, C]: the caller zeroes the sink row, which collects
 * what went off the grid), d/dw1b and d/dw2. Padding entries read the sink row
 * of gy, zero, so they add nothing anywhere. Written out instead of derived by
 * autodiff from the forward ops: the general rules must mask padding entries,
 * fix up negative indices and slice off the ones column, which took 22 of the
 * derived graph's 46 nodes (docs/performance.md "Session 21");
 * test/trainer/rollout.test.ts checks it against finite differences.
 */
export function stepVjp(v: StepVjpInputs, p: StepParams, topology: Topology): { dx: Value; dw1b: Value; dw2: Value } {
  const c = v.gy.shape[1];
  const k = v.cells.shape[0];
  const f = topology.filters.length;
  const dUpdates = gather(v.gy, v.cells, 0); // [K, C]
  const active = hiddenRows(v.rows, p); // recomputed: cheaper than keeping [K, hidden] per step
  // through the ReLU: its 0/1 step as Greater and Cast (Sign took about 1.7x as long in onnxruntime)
  const dHidden = mul(matmul(dUpdates, p.w2), cast(greater(active, 0), active.dtype));
  const dw1b = matmul(transpose(dHidden, [1, 0]), v.rows); // [hidden, C * F + 1]
  const dFeatures = matmul(dHidden, slice(p.w1b, [0, 0], [p.w1b.shape[0], f * c])); // [K, C * F]
  // the transposed perception: taps [9, K * C], each scatter-added onto the neighbour it read
  const perTap = reshape(transpose(reshape(dFeatures, [k, c, f]), [2, 0, 1]), [f, k * c]);
  const dTaps = reshape(matmul(transpose(v.gy.graph.constant(tapKernel(topology), [f, 9], v.gy.dtype), [1, 0]), perTap), [9 * k, c]);
  return {
    dx: scatterND(v.gy, unsqueeze(cast(v.neighbours, 'int64'), [-1]), dTaps, 'add'),
    dw1b,
    dw2: matmul(transpose(dUpdates, [1, 0]), active),
  };
}
