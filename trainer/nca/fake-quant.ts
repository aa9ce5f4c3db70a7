/**
 * Quantisation-aware training: w1 and w2 pass through fake int8 quantisation
 * (symmetric, one scale per output channel = row, scale = max|row| / 127) in the
 * graph, so the forward pass sees what an int8 `.nca` will compute. The
 * rounding has no useful derivative, so gradients go straight through:
 * wq = w + stopGradient(quantise(w) - w).
 */
import type { Value } from '../graph/graph.ts';
import { abs, add, clip, div, mul, reduceMax, round, stopGradient, sub } from '../graph/ops.ts';
import type { StepParams } from './step-graph.ts';

export const INT8_LEVELS = 127;

/** Per-row symmetric int8 fake quantisation of a [out, in] matrix, straight-through. */
export function fakeQuantRows(w: Value): Value {
  // a tiny floor keeps an all-zero row (w2 starts at zero) from dividing by zero
  const scale = div(clip(reduceMax(abs(w), [1], true), 1e-12), INT8_LEVELS);
  const quantised = mul(clip(round(div(w, scale)), -INT8_LEVELS, INT8_LEVELS), scale);
  return add(w, stopGradient(sub(quantised, w)));
}

export function fakeQuantParams(p: StepParams): StepParams {
  return { ...p, w1: fakeQuantRows(p.w1), w2: fakeQuantRows(p.w2) };
}
