/**
 * Quantisation-aware training: the step graphs get w1 and w2 exactly as an int8
 * `.nca` file will hold them (formats/tensor-codec.ts: symmetric, one scale per
 * row = output channel), so the forward pass computes what the int8 model will.
 * The rounding has no useful derivative, so the gradient with respect to the
 * quantised weights serves as the weights' own (straight-through).
 *
 * Why here and not in the graph: the weights are the same for every step of a
 * rollout, and the fake-quant ops in every step graph took 12 % of the forward
 * step's kernel time (docs/performance.md "Session 20").
 */
import { weightShapes, type Topology, type Weights } from '../../formats/model.ts';
import { decodeTensor, encodeTensor } from '../../formats/tensor-codec.ts';

/** w1 and w2 through the int8 codec and back; b1 (and b2) stay float, as in the file. */
export function int8RoundTrip(weights: Weights, topology: Topology): Weights {
  const shapes = weightShapes(topology);
  const roundTrip = (name: 'w1' | 'w2') => decodeTensor(encodeTensor(weights[name], 'int8', shapes[name]), 'int8', shapes[name], name);
  return { ...weights, w1: roundTrip('w1'), w2: roundTrip('w2') };
}
