/** Embedding geometry shared by the CLIP losses and their tests. */
import type { Value } from '../graph/graph.ts';
import * as op from '../graph/ops.ts';

/** Each row of x [N, D] divided by its L2 norm. */
export function unitRows(x: Value): Value {
  return op.div(x, op.sqrt(op.reduceSum(op.mul(x, x), [-1], true)));
}

/** Rows of a plain array divided by their L2 norm. */
export function unitVector(v: Float32Array): Float32Array {
  const norm = Math.hypot(...v);
  if (!(norm > 0)) throw new Error('cannot normalise a zero embedding');
  return v.map((x) => x / norm);
}
