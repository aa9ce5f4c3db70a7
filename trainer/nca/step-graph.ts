/**
 * One NCA step as graph ops, on a cell-major state [B * H * W, C] (layout.ts).
 *
 * Only the cells that fire compute an update, so the two GEMMs and every
 * hidden-sized tensor cover about fireRate of the grid, in the backward pass as
 * well. The step takes the firing cells as an index list instead of a 0/1 mask:
 * `cells` [K] holds the indices (into the B*H*W cells) of the firing cells,
 * padded to K with the index B*H*W (a padding entry, whose update is dropped),
 * and their 3x3 neighbourhoods `neighbours` [9 * K] (firing.ts). `perceive`
 * (every cell, [B, C, H, W]) is the dense form, for the exporter's renderer.
 */
import { filterKernel, type Topology } from '../../formats/model.ts';
import type { Value } from '../graph/graph.ts';
import { cast, concat, conv, expand, gather, less, matmul, mul, pad, relu, reshape, scatterND, transpose, unsqueeze, where } from '../graph/ops.ts';

export interface StepParams {
  w1: Value; // [hidden, C * F]
  b1: Value; // [hidden]
  w2: Value; // [C, hidden]
}

/** Parameters arranged for row-major GEMMs; b1 rides along as an extra row of w1ᵀ (see `updateRows`). */
export interface PreparedParams {
  w1bT: Value; // [C * F + 1, hidden]
  w2T: Value; // [hidden, C]
}

export function prepareParams(p: StepParams): PreparedParams {
  return { w1bT: transpose(concat([p.w1, reshape(p.b1, [-1, 1])], 1), [1, 0]), w2T: transpose(p.w2, [1, 0]) };
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

/** Updates of the given rows of perception features with ones (`withOnes`) [K, C * F + 1] -> [K, C]. */
export function updateRows(rows: Value, p: PreparedParams): Value {
  return matmul(relu(matmul(rows, p.w1bT)), p.w2T);
}

/** The perception kernels as a matrix [F, 9]: row f is filter f's 3x3 taps (row by row, scaled). */
export function tapKernel(topology: Topology): Float32Array {
  const out = new Float32Array(topology.filters.length * 9);
  topology.filters.forEach((_, f) => out.set(filterKernel(topology, f), f * 9));
  return out;
}

/**
 * Perception rows of the firing cells, [K, C * F], from their neighbourhoods
 * ([9 * K] cell indices, tap-major, see firing.ts): gather the neighbours' states
 * as [9, K * C], mix the taps with one [F, 9] GEMM, then put each cell's features
 * in a row (column c * F + f). Each filter only reads its own channel, so this
 * does 9 * F multiply-adds per channel where one [K, 9 * C] x [9 * C, C * F] GEMM did
 * 9 * C * C * F, mostly zeros (measured: a training iteration 1.10x faster, docs/performance.md).
 * Why not the depthwise Conv of `perceive`: that computes every cell and needs a
 * [B, C * F, H * W] -> [B * H * W, C * F] transpose before the gather; backward,
 * its VJP is a scatter of [K, C * F], that transpose's inverse and a second Conv.
 */
export function firingFeatures(x: Value, neighbours: Value, topology: Topology): Value {
  const g = x.graph;
  const c = x.shape[1];
  const k = neighbours.shape[0] / 9;
  const f = topology.filters.length;
  const rows = topology.padding === 'circular' ? x : concat([x, expand(g.scalar(0, x.dtype), [1, c])], 0); // + the zero row
  const taps = reshape(gather(rows, neighbours, 0), [9, k * c]);
  const perFilter = matmul(g.constant(tapKernel(topology), [f, 9], x.dtype), taps); // [F, K * C]
  return reshape(transpose(reshape(perFilter, [f, k, c]), [1, 2, 0]), [k, c * f]);
}

/**
 * x + the updates [K, C] on their cells, as a graph: what the step's VJP graph is
 * derived from (the forward step adds its updates in TypeScript, rollout.ts).
 * Padding entries (index B*H*W) add a zero update to cell 0: a ScatterND-add
 * straight into x, whose gradient is a Gather, where a scratch row to drop cost
 * a Pad and a GatherND backward.
 */
export function applyUpdates(x: Value, cells: Value, updates: Value): Value {
  const real = less(cells, x.shape[0]);
  const rows = unsqueeze(cast(where(real, cells, 0), 'int64'), [-1]);
  return scatterND(x, rows, mul(updates, unsqueeze(cast(real, x.dtype), [-1])), 'add');
}
