/**
 * One NCA step as graph ops, state layout [B, C, H, W] (NCHW).
 *
 * Only the cells that fire compute an update, so the two GEMMs and every
 * hidden-sized tensor cover about fireRate of the grid, in the backward pass as
 * well. The step takes the firing cells as an index list instead of a 0/1 mask:
 * `cells` [K] holds the indices (into the B*H*W cells) of the firing cells,
 * padded to K with the index B*H*W, a scratch row whose update is thrown away.
 */
import { FILTER_KERNELS, type Topology } from '../../formats/model.ts';
import type { Value } from '../graph/graph.ts';
import { add, cast, concat, conv, expand, gather, matmul, min, pad, relu, reshape, scatterND, slice, transpose, unsqueeze } from '../graph/ops.ts';

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
    topology.filters.forEach((name, k) => out.set(FILTER_KERNELS[name], (c * f + k) * 9));
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
 * Updates of the given rows of perception features [K, C * F] -> [K, C]. A
 * column of ones makes b1 part of the first GEMM, which saves a broadcast Add
 * forward and a ReduceSum backward.
 */
export function updateRows(features: Value, p: PreparedParams): Value {
  const ones = expand(features.graph.scalar(1, features.dtype), [features.shape[0], 1]);
  const hidden = relu(matmul(concat([features, ones], 1), p.w1bT));
  return matmul(hidden, p.w2T);
}

/** Perception rows of the firing cells, [K, C * F]. Padding entries read cell B*H*W - 1 (harmless). */
export function firingFeatures(x: Value, cells: Value, topology: Topology): Value {
  const [b, , h, w] = x.shape;
  const n = b * h * w;
  const rows = reshape(transpose(reshape(perceive(x, topology), [b, -1, h * w]), [0, 2, 1]), [n, -1]);
  return gather(rows, min(cells, n - 1), 0);
}

/** x + the updates [K, C] on their cells; padding entries land in the scratch row, which is dropped. */
export function applyUpdates(x: Value, cells: Value, updates: Value): Value {
  const [b, c, h, w] = x.shape;
  const n = b * h * w;
  const zeros = expand(x.graph.scalar(0, x.dtype), [n + 1, c]);
  const perCell = slice(scatterND(zeros, unsqueeze(cast(cells, 'int64'), [-1]), updates, 'add'), [0], [n], [0]);
  return add(x, reshape(transpose(reshape(perCell, [b, h * w, c]), [0, 2, 1]), [b, c, h, w]));
}

/** One step: x + update on the firing cells. */
export function ncaStep(x: Value, cells: Value, p: PreparedParams, topology: Topology): Value {
  return applyUpdates(x, cells, updateRows(firingFeatures(x, cells, topology), p));
}
