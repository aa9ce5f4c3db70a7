/**
 * The gradient rules: one small function per ONNX op, keyed by op type.
 *
 * A rule receives the forward node (inputs, outputs, attributes), the incoming
 * gradient of each output (`grads`, null when none flows) and which inputs need
 * a gradient (`needs`). It returns one gradient per input, with that input's
 * shape, or null (no gradient / not needed). Rules emit ordinary graph ops, so
 * gradients are graphs too. Adding an op = one rule here + one finite-difference
 * test in test/trainer/autodiff-rules.test.ts.
 */
import { type Node, type Value, constantValues } from '../graph/graph.ts';
import * as op from '../graph/ops.ts';
import { attrFloat, attrInt, attrInts, attrString, convInputGrad, convWeightGrad, linearResizeMatrix, optionalInts, unbroadcast } from './helpers.ts';

export interface RuleContext {
  node: Node;
  inputs: (Value | null)[];
  outputs: Value[];
  grads: (Value | null)[];
  needs: boolean[];
}
export type GradRule = (c: RuleContext) => (Value | null)[];

/** The gradient of the first output; rules for single-output ops use this. */
function dy(c: RuleContext): Value {
  const g = c.grads[0];
  if (!g || c.grads.slice(1).some(Boolean)) {
    throw new Error(`autodiff: ${c.node.opType} supports gradients through its first output only`);
  }
  return g;
}

const x0 = (c: RuleContext) => c.inputs[0]!;
/** x transposed by `perm`, or x itself when perm is the identity (onnxruntime copies even then: 3.6 % of a living backward step's kernel time). */
const permuted = (x: Value, perm: number[]) => (perm.every((p, i) => p === i) ? x : op.transpose(x, perm));
const y0 = (c: RuleContext) => c.outputs[0];
/** Rules for elementwise f(x): dx = dy * f'(x), given f' from x and y. */
const elementwise = (derivative: (x: Value, y: Value) => Value): GradRule => (c) => [op.mul(dy(c), derivative(x0(c), y0(c)))];

export const rules: Record<string, GradRule> = {
  // ------------------------------------------------------------ broadcasting arithmetic
  Add: (c) => [unbroadcast(dy(c), c.inputs[0]!.shape), unbroadcast(dy(c), c.inputs[1]!.shape)],
  Sub: (c) => [unbroadcast(dy(c), c.inputs[0]!.shape), unbroadcast(op.neg(dy(c)), c.inputs[1]!.shape)],
  Mul: (c) => {
    const [a, b] = c.inputs as Value[];
    return [
      c.needs[0] ? unbroadcast(op.mul(dy(c), b), a.shape) : null,
      c.needs[1] ? unbroadcast(op.mul(dy(c), a), b.shape) : null,
    ];
  },
  Div: (c) => {
    const [a, b] = c.inputs as Value[];
    return [
      c.needs[0] ? unbroadcast(op.div(dy(c), b), a.shape) : null,
      // d(a/b)/db = -a/b^2 = -y/b
      c.needs[1] ? unbroadcast(op.neg(op.mul(dy(c), op.div(y0(c), b))), b.shape) : null,
    ];
  },
  Pow: (c) => {
    const [a, b] = c.inputs as Value[];
    return [
      c.needs[0] ? unbroadcast(op.mul(dy(c), op.mul(b, op.pow(a, op.sub(b, 1)))), a.shape) : null,
      // defined for a > 0 only, like the math
      c.needs[1] ? unbroadcast(op.mul(dy(c), op.mul(y0(c), op.log(a))), b.shape) : null,
    ];
  },
  Where: (c) => {
    const [cond, a, b] = c.inputs as Value[];
    return [
      null,
      c.needs[1] ? unbroadcast(op.where(cond, dy(c), 0), a.shape) : null,
      c.needs[2] ? unbroadcast(op.where(cond, 0, dy(c)), b.shape) : null,
    ];
  },

  // ------------------------------------------------------------ elementwise functions
  Neg: (c) => [op.neg(dy(c))],
  Identity: (c) => [dy(c)],
  Cast: (c) => [op.cast(dy(c), x0(c).dtype)],
  // y >= 0, so sign(y) is the 0/1 step; Mul is much faster than Where in onnxruntime
  Relu: elementwise((_, y) => op.cast(op.greater(y, 0), y.dtype)),
  Sigmoid: elementwise((_, y) => op.mul(y, op.sub(op.scalarLike(y, 1), y))),
  Tanh: elementwise((_, y) => op.sub(op.scalarLike(y, 1), op.mul(y, y))),
  Erf: elementwise((x) => op.mul(op.exp(op.neg(op.mul(x, x))), 2 / Math.sqrt(Math.PI))),
  // d asin(x) / dx = 1 / sqrt(1 - x^2)
  Asin: elementwise((x) => op.reciprocal(op.sqrt(op.sub(op.scalarLike(x, 1), op.mul(x, x))))),
  Sqrt: (c) => [op.div(op.mul(dy(c), 0.5), y0(c))],
  Exp: elementwise((_, y) => y),
  Log: (c) => [op.div(dy(c), x0(c))],
  Reciprocal: elementwise((_, y) => op.neg(op.mul(y, y))),
  Abs: elementwise((x) => op.sign(x)),
  Gelu: (c) => [op.mul(dy(c), geluDerivative(x0(c), attrString(c.node, 'approximate', 'none')))],
  Clip: (c) => {
    const [x, lo, hi] = c.inputs;
    let inside: Value | null = null;
    if (lo) inside = op.greaterOrEqual(x!, lo);
    if (hi) inside = inside ? op.and(inside, op.lessOrEqual(x!, hi)) : op.lessOrEqual(x!, hi);
    return [inside ? op.where(inside, dy(c), 0) : dy(c), null, null];
  },
  Softmax: (c) => {
    const axis = attrInt(c.node, 'axis', -1);
    const y = y0(c);
    const gy = op.mul(dy(c), y);
    return [op.sub(gy, op.mul(y, op.reduceSum(gy, [axis], true)))];
  },

  // ------------------------------------------------------------ reductions and normalisation
  ReduceSum: (c) => [spreadReduced(c, 1)],
  ReduceMean: (c) => {
    const x = x0(c);
    const count = x.size / y0(c).size;
    return [spreadReduced(c, 1 / count)];
  },
  ReduceMax: (c) => {
    // dy goes to the element(s) that won; tied winners share it equally
    const x = x0(c);
    const axes = reducedAxes(c);
    const keep = attrInt(c.node, 'keepdims', 1) === 1;
    const y = keep ? y0(c) : op.unsqueeze(y0(c), axes);
    const won = op.cast(op.equal(x, y), x.dtype);
    const share = op.div(won, op.reduceSum(won, axes, true));
    return [op.mul(share, keep ? dy(c) : op.unsqueeze(dy(c), axes))];
  },
  LayerNormalization: (c) => {
    const [x, scale, bias] = c.inputs as [Value, Value, Value | undefined];
    const axis = op.normAxis(attrInt(c.node, 'axis', -1), x.rank, 'LayerNormalization');
    const axes = x.shape.map((_, i) => i).filter((i) => i >= axis);
    // the forward op's saved statistics (float32 by the ONNX spec)
    const [mean, invStd] = c.outputs.slice(1).map((v) => (v.dtype === x.dtype ? v : op.cast(v, x.dtype)));
    const g = dy(c);
    const xhat = op.mul(op.sub(x, mean), invStd);
    const gxhat = op.mul(g, scale);
    const dx = op.mul(
      invStd,
      op.sub(op.sub(gxhat, op.reduceMean(gxhat, axes)), op.mul(xhat, op.reduceMean(op.mul(gxhat, xhat), axes))),
    );
    return [
      c.needs[0] ? dx : null,
      c.needs[1] ? unbroadcast(op.mul(g, xhat), scale.shape) : null,
      bias && c.needs[2] ? unbroadcast(g, bias.shape) : null,
    ];
  },

  // ------------------------------------------------------------ shape ops
  Reshape: (c) => [op.reshape(dy(c), [...x0(c).shape]), null],
  Squeeze: (c) => [op.reshape(dy(c), [...x0(c).shape]), null],
  Unsqueeze: (c) => [op.reshape(dy(c), [...x0(c).shape]), null],
  Expand: (c) => [unbroadcast(dy(c), x0(c).shape), null],
  Transpose: (c) => {
    const perm = attrInts(c.node, 'perm');
    const inverse = perm.map((_, i) => perm.indexOf(i));
    return [op.transpose(dy(c), inverse)];
  },
  Concat: (c) => {
    const axis = attrInt(c.node, 'axis');
    let start = 0;
    return c.inputs.map((v, i) => {
      const begin = start;
      start += v!.shape[axis];
      return c.needs[i] ? op.slice(dy(c), [begin], [start], [axis]) : null;
    });
  },
  Slice: (c) => {
    const x = x0(c);
    const { starts, ends, axes, steps } = op.sliceParams(c.inputs);
    let g = dy(c);
    const pads = Array(2 * x.rank).fill(0);
    axes.forEach((axis, i) => {
      const picked = op.sliceIndices(x.shape[axis], starts[i], ends[i], steps[i]);
      if (Math.abs(steps[i]) !== 1) throw new Error(`autodiff: Slice gradient needs step 1 or -1, got ${steps[i]}`);
      if (picked.length === 0) return;
      // a reversed slice is undone by reversing the gradient, then it is a plain window
      if (steps[i] === -1) g = op.slice(g, [-1], [-x.shape[axis] - 1], [axis], [-1]);
      // picked is a contiguous run; spreading it into Math.min overflows the stack on long axes
      const first = Math.min(picked[0], picked[picked.length - 1]);
      pads[axis] = first;
      pads[axis + x.rank] = x.shape[axis] - first - picked.length;
    });
    return [op.pad(g, pads), null, null, null, null];
  },
  Gather: (c) => {
    const [x, indices] = c.inputs as Value[];
    const axis = attrInt(c.node, 'axis', 0);
    const g = dy(c);
    // Move the gathered axis to the front, scatter-add rows into zeros, move it back.
    const ri = indices.rank;
    const gPerm = [
      ...Array.from({ length: ri }, (_, i) => axis + i),
      ...Array.from({ length: axis }, (_, i) => i),
      ...Array.from({ length: x.rank - axis - 1 }, (_, i) => axis + ri + i),
    ];
    const xPerm = [axis, ...x.shape.map((_, i) => i).filter((i) => i !== axis)];
    const movedShape = xPerm.map((p) => x.shape[p]);
    const idx64 = indices.dtype === 'int64' ? indices : op.cast(indices, 'int64');
    const positive = op.where(op.less(idx64, 0), op.add(idx64, x.shape[axis]), idx64);
    const zeros = op.expand(x.graph.scalar(0, x.dtype), movedShape);
    const scattered = op.scatterND(zeros, op.unsqueeze(positive, [-1]), permuted(g, gPerm), 'add');
    return [permuted(scattered, xPerm.map((_, i) => xPerm.indexOf(i))), null];
  },
  GatherND: (c) => {
    const [x, indices] = c.inputs as Value[];
    const zeros = op.expand(x.graph.scalar(0, x.dtype), [...x.shape]);
    return [op.scatterND(zeros, indices, dy(c), 'add'), null];
  },
  GatherElements: (c) => {
    const [x, indices] = c.inputs as Value[];
    const zeros = op.expand(x.graph.scalar(0, x.dtype), [...x.shape]);
    // repeated indices add up
    return [op.scatterElements(zeros, indices, dy(c), attrInt(c.node, 'axis', 0), 'add'), null];
  },
  // the sorted values' gradient goes back to the element each value came from (the indices output gets none)
  TopK: (c) => {
    const x = x0(c);
    const zeros = op.expand(x.graph.scalar(0, x.dtype), [...x.shape]);
    return [op.scatterElements(zeros, c.outputs[1], dy(c), attrInt(c.node, 'axis', -1), 'add'), null];
  },
  ScatterND: (c) => {
    const [data, indices] = c.inputs as Value[];
    const g = dy(c);
    const reduction = attrString(c.node, 'reduction', 'none');
    if (reduction !== 'none' && reduction !== 'add') throw new Error(`autodiff: no gradient for ScatterND reduction "${reduction}"`);
    // with 'none' the overwritten slices of data get no gradient (ONNX requires unique indices there)
    const dData = reduction === 'add' ? g : op.scatterND(g, indices, op.expand(g.graph.scalar(0, g.dtype), [...c.inputs[2]!.shape]));
    // indices that pick whole rows ([..., 1]): a Gather, about twice as fast as GatherND in onnxruntime (docs/performance.md "Session 19")
    const dUpdates = indices.shape.at(-1) === 1 ? op.gather(g, op.squeeze(indices, [-1]), 0) : op.gatherND(g, indices);
    return [c.needs[0] ? dData : null, null, c.needs[2] ? dUpdates : null];
  },
  Pad: (c) => {
    const x = x0(c);
    const mode = attrString(c.node, 'mode', 'constant');
    const pads = constantValues(c.inputs[1], 'Pad pads');
    if (c.inputs[3]) throw new Error('autodiff: Pad with an axes input is not supported');
    const g = dy(c);
    if (mode === 'constant') {
      const starts = x.shape.map((_, i) => pads[i]);
      const ends = x.shape.map((d, i) => pads[i] + d);
      return [op.slice(g, starts, ends), null, null];
    }
    if (mode === 'wrap') return [foldWrap(g, x, pads), null, null];
    throw new Error(`autodiff: no gradient for Pad mode "${mode}"`);
  },

  // ------------------------------------------------------------ linear algebra
  MatMul: (c) => {
    const [a, b] = c.inputs as Value[];
    // Promote 1-D operands the way MatMul does, so one code path handles every case.
    const a2 = a.rank === 1 ? op.reshape(a, [1, a.shape[0]]) : a;
    const b2 = b.rank === 1 ? op.reshape(b, [b.shape[0], 1]) : b;
    const outShape = op.broadcastShapes('MatMul', a2.shape.slice(0, -2), b2.shape.slice(0, -2));
    const g = op.reshape(dy(c), [...outShape, a2.shape[a2.rank - 2], b2.shape[b2.rank - 1]]);
    const lastTwoSwapped = (v: Value) => op.transpose(v, [...v.shape.keys()].map((i) => (i === v.rank - 2 ? v.rank - 1 : i === v.rank - 1 ? v.rank - 2 : i)));
    return [
      c.needs[0] ? op.reshape(unbroadcast(widerProduct(g, lastTwoSwapped(b2)), a2.shape), [...a.shape]) : null,
      c.needs[1] ? op.reshape(unbroadcast(widerProduct(lastTwoSwapped(a2), g), b2.shape), [...b.shape]) : null,
    ];
  },
  Gemm: (c) => {
    const [a, b, cIn] = c.inputs as [Value, Value, Value | null];
    const transA = attrInt(c.node, 'transA', 0) === 1;
    const transB = attrInt(c.node, 'transB', 0) === 1;
    const alpha = attrFloat(c.node, 'alpha', 1);
    const beta = attrFloat(c.node, 'beta', 1);
    const g = dy(c);
    const da = transA ? op.gemm(b, g, null, { transA: transB, transB: true, alpha }) : op.gemm(g, b, null, { transB: !transB, alpha });
    const db = transB ? op.gemm(g, a, null, { transA: true, transB: transA, alpha }) : op.gemm(a, g, null, { transA: !transA, alpha });
    return [
      c.needs[0] ? da : null,
      c.needs[1] ? db : null,
      cIn && c.needs[2] ? unbroadcast(op.mul(g, beta), cIn.shape) : null,
    ];
  },
  Conv: (c) => {
    const [x, w, bias] = c.inputs as [Value, Value, Value | undefined];
    const sp = x.rank - 2;
    const p = op.convParams(
      {
        strides: optionalInts(c.node, 'strides'),
        pads: optionalInts(c.node, 'pads'),
        dilations: optionalInts(c.node, 'dilations'),
        group: attrInt(c.node, 'group', 1),
      },
      sp,
    );
    const g = dy(c);
    return [
      c.needs[0] ? convInputGrad(g, w, p, x.shape.slice(2)) : null,
      c.needs[1] ? convWeightGrad(x, g, w.shape, p) : null,
      bias && c.needs[2] ? op.reduceSum(g, [0, ...Array.from({ length: sp }, (_, i) => 2 + i)], false) : null,
    ];
  },
  Resize: (c) => {
    const x = x0(c);
    const y = y0(c);
    if (attrString(c.node, 'mode', 'nearest') !== 'linear') throw new Error('autodiff: Resize gradient supports mode "linear" only');
    const ctm = attrString(c.node, 'coordinate_transformation_mode', 'half_pixel') as op.CoordinateMode;
    const [h, w] = x.shape.slice(-2);
    const [oh, ow] = y.shape.slice(-2);
    if (x.shape.slice(0, -2).join() !== y.shape.slice(0, -2).join()) {
      throw new Error('autodiff: Resize gradient supports resizing the last two axes only');
    }
    // y = Rh x Rw^T per image, so dx = Rh^T dy Rw.
    const graph = x.graph;
    const rw = graph.constant(linearResizeMatrix(w, ow, ctm), [ow, w], x.dtype);
    const rhT = graph.constant(transposed(linearResizeMatrix(h, oh, ctm), oh, h), [h, oh], x.dtype);
    return [op.matmul(rhT, op.matmul(dy(c), rw)), null, null, null];
  },
};

function geluDerivative(x: Value, approximate: string): Value {
  const one = op.scalarLike(x, 1);
  if (approximate === 'tanh') {
    // y = 0.5 x (1 + tanh(u)), u = sqrt(2/pi) (x + 0.044715 x^3)
    const k = Math.sqrt(2 / Math.PI);
    const x2 = op.mul(x, x);
    const t = op.tanh(op.mul(op.add(x, op.mul(op.mul(x2, x), 0.044715)), k));
    const du = op.mul(op.add(op.mul(x2, 3 * 0.044715), one), k);
    const sech2 = op.sub(one, op.mul(t, t));
    return op.add(op.mul(op.add(t, one), 0.5), op.mul(op.mul(x, 0.5), op.mul(sech2, du)));
  }
  // d/dx x Phi(x) = Phi(x) + x phi(x)
  const cdf = op.mul(op.add(op.erf(op.mul(x, Math.SQRT1_2)), one), 0.5);
  const pdf = op.mul(op.exp(op.mul(op.mul(x, x), -0.5)), 1 / Math.sqrt(2 * Math.PI));
  return op.add(cdf, op.mul(x, pdf));
}

/**
 * x @ y for 2-D operands, computed as (yᵀ xᵀ)ᵀ when that makes the GEMM's output
 * wider and the output is small enough that transposing it is free. onnxruntime's
 * GEMM is far faster with the wide side last: a weight gradient [128, 32768] x
 * [32768, 12] took 7.9 ms, the same as [12, 32768] x [32768, 128] then a transpose 3.9 ms.
 */
function widerProduct(x: Value, y: Value): Value {
  const [m, n] = [x.shape[x.rank - 2], y.shape[y.rank - 1]];
  if (x.rank !== 2 || y.rank !== 2 || m <= n || m * n > 1 << 16) return op.matmul(x, y);
  return op.transpose(op.matmul(op.transpose(y, [1, 0]), op.transpose(x, [1, 0])), [1, 0]);
}

function reducedAxes(c: RuleContext): number[] {
  return constantValues(c.inputs[1], `${c.node.opType} axes`).map((a) => op.normAxis(a, x0(c).rank, c.node.opType));
}

/** ReduceSum/ReduceMean: spread dy back over the reduced axes, times `scale`. */
function spreadReduced(c: RuleContext, scale: number): Value {
  const x = x0(c);
  const axes = reducedAxes(c);
  const keep = attrInt(c.node, 'keepdims', 1) === 1;
  let g = dy(c);
  if (!keep) g = op.unsqueeze(g, axes);
  if (scale !== 1) g = op.mul(g, scale);
  return op.expand(g, [...x.shape]);
}

/** The adjoint of wrap padding: padded borders fold back onto the far side of each axis. */
function foldWrap(g: Value, x: Value, pads: number[]): Value {
  let out = g;
  x.shape.forEach((n, axis) => {
    const before = pads[axis];
    const after = pads[axis + x.rank];
    if (before === 0 && after === 0) return;
    let core = op.slice(out, [before], [before + n], [axis]);
    const zeroPad = (v: Value, lo: number, hi: number) => {
      const p = Array(2 * x.rank).fill(0);
      p[axis] = lo;
      p[axis + x.rank] = hi;
      return op.pad(v, p);
    };
    // the `before` border holds x[n - before, n), the `after` border holds x[0, after)
    if (before > 0) core = op.add(core, zeroPad(op.slice(out, [0], [before], [axis]), n - before, 0));
    if (after > 0) core = op.add(core, zeroPad(op.slice(out, [before + n], [before + n + after], [axis]), 0, n - after));
    out = core;
  });
  return out;
}

function transposed(m: Float64Array, rows: number, cols: number): Float64Array {
  const t = new Float64Array(rows * cols);
  for (let r = 0; r < rows; r++) for (let k = 0; k < cols; k++) t[k * rows + r] = m[r * cols + k];
  return t;
}
