/**
 * One NCA step as graph ops, state layout [B, C, H, W] (NCHW):
 * perceive (fixed depthwise 3x3 filters) -> w1 + b1 -> ReLU -> w2 (+ b2) -> masked residual update.
 * The 1x1 convolutions are MatMuls over [B, features, H*W], which onnxruntime runs as plain GEMMs.
 */
import { FILTER_KERNELS, type Topology } from '../../formats/model.ts';
import type { Value } from '../graph/graph.ts';
import { add, concat, conv, expand, matmul, mul, pad, relu, reshape } from '../graph/ops.ts';

export interface StepParams {
  w1: Value; // [hidden, C * F]
  b1: Value; // [hidden]
  w2: Value; // [C, hidden]
  b2?: Value; // [C]
}

/** Parameters arranged for the step: b1 rides along as an extra column of w1 (see `updateOf`). */
export interface PreparedParams {
  w1b: Value; // [hidden, C * F + 1]
  w2: Value;
  b2?: Value;
}

export function prepareParams(p: StepParams): PreparedParams {
  return { w1b: concat([p.w1, reshape(p.b1, [-1, 1])], 1), w2: p.w2, b2: p.b2 };
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
 * The update before masking, [B, C, H, W]. The features get a constant row of
 * ones so that b1 is part of the w1 GEMM: that saves a broadcast Add in the
 * forward pass and a strided ReduceSum (db1) in the backward pass.
 */
export function updateOf(x: Value, p: PreparedParams, topology: Topology): Value {
  const [b, c, h, w] = x.shape;
  const features = reshape(perceive(x, topology), [b, -1, h * w]);
  const ones = expand(x.graph.scalar(1, x.dtype), [b, 1, h * w]);
  const hidden = relu(matmul(p.w1b, concat([features, ones], 1)));
  let update = matmul(p.w2, hidden);
  if (p.b2) update = add(update, reshape(p.b2, [-1, 1]));
  return reshape(update, [b, c, h, w]);
}

/** x + update * mask, mask [B, 1, H, W] of 0/1. */
export function ncaStep(x: Value, mask: Value, p: PreparedParams, topology: Topology): Value {
  return add(x, mul(updateOf(x, p, topology), mask));
}
