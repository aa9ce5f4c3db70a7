/**
 * Typed helpers for the ONNX ops we use, one function per op, each with its
 * shape inference. Parameters that ONNX takes as constant tensor inputs (shapes,
 * axes, pads) are plain JS arrays here; they become deduplicated constants.
 */
import { type Attr, type DType, type Shape, type Value, float, int, ints, str, sizeOf, constantValues } from './graph.ts';

// ---------------------------------------------------------------- shape helpers

export function normAxis(axis: number, rank: number, op: string): number {
  const a = axis < 0 ? axis + rank : axis;
  if (a < 0 || a >= rank) throw new Error(`${op}: axis ${axis} out of range for rank ${rank}`);
  return a;
}

/** Numpy-style broadcasting of any number of shapes. */
export function broadcastShapes(op: string, ...shapes: Shape[]): number[] {
  const rank = Math.max(...shapes.map((s) => s.length));
  const out: number[] = [];
  for (let i = 0; i < rank; i++) {
    let d = 1;
    for (const s of shapes) {
      const k = s.length - rank + i;
      const e = k >= 0 ? s[k] : 1;
      if (e !== 1 && d !== 1 && e !== d) {
        throw new Error(`${op}: shapes ${shapes.map((x) => `[${x.join(', ')}]`).join(' and ')} do not broadcast`);
      }
      if (e !== 1) d = e;
    }
    out.push(d);
  }
  return out;
}

function single(x: Value, opType: string, inputs: (Value | null)[], attrs: Record<string, Attr>, shape: Shape, dtype: DType = x.dtype): Value {
  return x.graph.addNode(opType, inputs, attrs, [{ shape, dtype }])[0];
}

function sameDtype(op: string, ...vs: Value[]): void {
  for (const v of vs) {
    if (v.dtype !== vs[0].dtype) throw new Error(`${op}: dtype mismatch ${vs.map((x) => x.dtype).join(' vs ')}`);
  }
}

/** Turns a number into a scalar constant of `like`'s dtype, so `mul(x, 2)` works. */
function lift(like: Value, v: Value | number): Value {
  return typeof v === 'number' ? scalarLike(like, v) : v;
}

// ---------------------------------------------------------------- elementwise

/** A scalar constant with `like`'s dtype, for expressions such as 1 - y. */
export function scalarLike(like: Value, v: number): Value {
  return like.graph.scalar(v, like.dtype);
}

function binary(opType: string, a: Value, bIn: Value | number, outDtype?: DType): Value {
  const b = lift(a, bIn);
  sameDtype(opType, a, b);
  return single(a, opType, [a, b], {}, broadcastShapes(opType, a.shape, b.shape), outDtype ?? a.dtype);
}

export const add = (a: Value, b: Value | number) => binary('Add', a, b);
export const sub = (a: Value, b: Value | number) => binary('Sub', a, b);
export const mul = (a: Value, b: Value | number) => binary('Mul', a, b);
export const div = (a: Value, b: Value | number) => binary('Div', a, b);
export const pow = (a: Value, b: Value | number) => binary('Pow', a, b);
export const greater = (a: Value, b: Value | number) => binary('Greater', a, b, 'bool');
export const less = (a: Value, b: Value | number) => binary('Less', a, b, 'bool');
export const equal = (a: Value, b: Value | number) => binary('Equal', a, b, 'bool');
export const greaterOrEqual = (a: Value, b: Value | number) => binary('GreaterOrEqual', a, b, 'bool');
export const lessOrEqual = (a: Value, b: Value | number) => binary('LessOrEqual', a, b, 'bool');
export const and = (a: Value, b: Value) => binary('And', a, b, 'bool');
export const min = (a: Value, b: Value | number) => binary('Min', a, b);
export const or = (a: Value, b: Value) => binary('Or', a, b, 'bool');

const unary = (opType: string) => (x: Value) => single(x, opType, [x], {}, x.shape);
export const neg = unary('Neg');
export const relu = unary('Relu');
export const sigmoid = unary('Sigmoid');
export const tanh = unary('Tanh');
export const erf = unary('Erf');
export const asin = unary('Asin');
export const sqrt = unary('Sqrt');
export const exp = unary('Exp');
export const log = unary('Log');
export const abs = unary('Abs');
export const sign = unary('Sign');
export const reciprocal = unary('Reciprocal');
export const round = unary('Round');
export const identity = unary('Identity');

/** GELU (opset 20): 'none' is the exact erf form, 'tanh' the approximation. */
export function gelu(x: Value, approximate: 'none' | 'tanh' = 'none'): Value {
  return single(x, 'Gelu', [x], { approximate: str(approximate) }, x.shape);
}

/** An Identity that autodiff treats as a constant: the straight-through trick `x + stopGradient(f(x) - x)`. */
export function stopGradient(x: Value): Value {
  return x.graph.addNode('Identity', [x], {}, [{ shape: x.shape, dtype: x.dtype }], { noGrad: true })[0];
}

export function where(cond: Value, a: Value | number, b: Value | number): Value {
  const like = typeof a === 'number' ? (b as Value) : a;
  const av = lift(like, a);
  const bv = lift(like, b);
  sameDtype('Where', av, bv);
  return single(av, 'Where', [cond, av, bv], {}, broadcastShapes('Where', cond.shape, av.shape, bv.shape));
}

export function cast(x: Value, to: DType): Value {
  return single(x, 'Cast', [x], { to: int(ONNX_DTYPE[to]) }, x.shape, to);
}

export function clip(x: Value, min?: number, max?: number): Value {
  const g = x.graph;
  const lo = min === undefined ? null : g.scalar(min, x.dtype);
  const hi = max === undefined ? null : g.scalar(max, x.dtype);
  return single(x, 'Clip', [x, lo, hi], {}, x.shape);
}

// ---------------------------------------------------------------- reductions

function reduce(opType: string, x: Value, axes: number[], keepdims: boolean): Value {
  const norm = [...new Set(axes.map((a) => normAxis(a, x.rank, opType)))].sort((a, b) => a - b);
  if (norm.length === 0) throw new Error(`${opType}: give at least one axis`);
  const shape = x.shape.flatMap((d, i) => (norm.includes(i) ? (keepdims ? [1] : []) : [d]));
  return single(x, opType, [x, x.graph.int64s(norm)], { keepdims: int(keepdims ? 1 : 0) }, shape);
}

export const reduceSum = (x: Value, axes: number[], keepdims = true) => reduce('ReduceSum', x, axes, keepdims);
export const reduceMean = (x: Value, axes: number[], keepdims = true) => reduce('ReduceMean', x, axes, keepdims);
/** Its gradient goes to the largest element (shared among ties). */
export const reduceMax = (x: Value, axes: number[], keepdims = true) => reduce('ReduceMax', x, axes, keepdims);

/** 2x2 pooling with stride 2 (average or max) of the last two axes of [N, C, H, W]; an odd last row or column is dropped, as torch does. */
export function pool2x2(x: Value, kind: 'mean' | 'max'): Value {
  const [n, c, h, w] = x.shape;
  const h2 = h >> 1;
  const w2 = w >> 1;
  const even = h % 2 || w % 2 ? slice(x, [0, 0], [2 * h2, 2 * w2], [2, 3]) : x;
  const blocks = reshape(even, [n, c, h2, 2, w2, 2]);
  return kind === 'max' ? reduceMax(blocks, [3, 5], false) : reduceMean(blocks, [3, 5], false);
}

/** Sum over every axis, as a scalar. */
export function sumAll(x: Value): Value {
  return reduceSum(x, x.shape.map((_, i) => i), false);
}

export function softmax(x: Value, axis = -1): Value {
  return single(x, 'Softmax', [x], { axis: int(normAxis(axis, x.rank, 'Softmax')) }, x.shape);
}

// ---------------------------------------------------------------- shape ops

export function reshape(x: Value, shape: number[]): Value {
  const resolved = shape.map((d, i) => (d === 0 ? x.shape[i] : d));
  const unknown = resolved.indexOf(-1);
  if (unknown >= 0) resolved[unknown] = x.size / sizeOf(resolved.filter((d) => d !== -1));
  if (sizeOf(resolved) !== x.size || !resolved.every(Number.isInteger)) {
    throw new Error(`Reshape: cannot reshape [${x.shape.join(', ')}] to [${shape.join(', ')}]`);
  }
  return single(x, 'Reshape', [x, x.graph.int64s(resolved)], {}, resolved);
}

export function transpose(x: Value, perm: number[]): Value {
  if (perm.length !== x.rank || [...perm].sort((a, b) => a - b).some((p, i) => p !== i)) {
    throw new Error(`Transpose: perm [${perm.join(', ')}] is not a permutation of rank ${x.rank}`);
  }
  return single(x, 'Transpose', [x], { perm: ints(perm) }, perm.map((p) => x.shape[p]));
}

/** The indices an ONNX Slice picks along one axis (clamping as the spec says). */
export function sliceIndices(dim: number, start: number, end: number, step: number): number[] {
  if (step === 0) throw new Error('Slice: step 0');
  const clampTo = (v: number, lo: number, hi: number) => Math.min(Math.max(v, lo), hi);
  let s = start < 0 ? start + dim : start;
  let e = end < 0 ? end + dim : end;
  if (step > 0) {
    s = clampTo(s, 0, dim);
    e = clampTo(e, 0, dim);
  } else {
    s = clampTo(s, 0, dim - 1);
    e = clampTo(e, -1, dim - 1);
  }
  const out: number[] = [];
  for (let i = s; step > 0 ? i < e : i > e; i += step) out.push(i);
  return out;
}

export function slice(x: Value, starts: number[], ends: number[], axes?: number[], steps?: number[]): Value {
  const ax = (axes ?? starts.map((_, i) => i)).map((a) => normAxis(a, x.rank, 'Slice'));
  const st = steps ?? starts.map(() => 1);
  const shape = [...x.shape];
  ax.forEach((a, i) => {
    shape[a] = sliceIndices(x.shape[a], starts[i], ends[i], st[i]).length;
  });
  const g = x.graph;
  return single(x, 'Slice', [x, g.int64s(starts), g.int64s(ends), g.int64s(ax), g.int64s(st)], {}, shape);
}

/** Reads back the Slice parameters of a Slice node's inputs. */
export function sliceParams(inputs: (Value | null)[]) {
  return {
    starts: constantValues(inputs[1], 'Slice starts'),
    ends: constantValues(inputs[2], 'Slice ends'),
    axes: constantValues(inputs[3], 'Slice axes'),
    steps: constantValues(inputs[4], 'Slice steps'),
  };
}

export function concat(xs: Value[], axis: number): Value {
  if (xs.length === 0) throw new Error('Concat: no inputs');
  sameDtype('Concat', ...xs);
  const a = normAxis(axis, xs[0].rank, 'Concat');
  const shape = [...xs[0].shape];
  shape[a] = 0;
  for (const x of xs) {
    if (x.rank !== shape.length || x.shape.some((d, i) => i !== a && d !== xs[0].shape[i])) {
      throw new Error(`Concat: shapes ${xs.map((v) => `[${v.shape.join(', ')}]`).join(' ')} differ off axis ${axis}`);
    }
    shape[a] += x.shape[a];
  }
  return single(xs[0], 'Concat', xs, { axis: int(a) }, shape);
}

export function gather(x: Value, indices: Value, axis = 0): Value {
  const a = normAxis(axis, x.rank, 'Gather');
  const shape = [...x.shape.slice(0, a), ...indices.shape, ...x.shape.slice(a + 1)];
  return single(x, 'Gather', [x, indices], { axis: int(a) }, shape);
}

/** data with slices at `indices` [..., k] (int64) replaced by (or, with 'add', added to) `updates`. */
export function scatterND(data: Value, indices: Value, updates: Value, reduction: 'none' | 'add' = 'none'): Value {
  const k = indices.shape[indices.rank - 1];
  const want = [...indices.shape.slice(0, -1), ...data.shape.slice(k)];
  if (updates.shape.join() !== want.join()) throw new Error(`ScatterND: updates ${updates} should be [${want.join(', ')}]`);
  return single(data, 'ScatterND', [data, indices, updates], { reduction: str(reduction) }, data.shape);
}

/** The slices of data at `indices` [..., k] (int64): shape indices[:-1] + data[k:]. */
export function gatherND(data: Value, indices: Value): Value {
  const k = indices.shape[indices.rank - 1];
  if (k > data.rank) throw new Error(`GatherND: index depth ${k} exceeds rank ${data.rank}`);
  return single(data, 'GatherND', [data, indices], {}, [...indices.shape.slice(0, -1), ...data.shape.slice(k)]);
}

/** x's elements at `indices` along `axis` (same rank as x): out[..i..] = x[..indices[..i..]..]. */
export function gatherElements(x: Value, indices: Value, axis = 0): Value {
  const a = normAxis(axis, x.rank, 'GatherElements');
  if (indices.rank !== x.rank) throw new Error(`GatherElements: indices ${indices} must have the rank of ${x}`);
  return single(x, 'GatherElements', [x, indices], { axis: int(a) }, indices.shape);
}

/** data with the elements at `indices` along `axis` replaced by (or, with 'add', added to) `updates` (shaped like indices). */
export function scatterElements(data: Value, indices: Value, updates: Value, axis = 0, reduction: 'none' | 'add' = 'none'): Value {
  const a = normAxis(axis, data.rank, 'ScatterElements');
  if (indices.rank !== data.rank || updates.shape.join() !== indices.shape.join()) {
    throw new Error(`ScatterElements: indices ${indices} and updates ${updates} must match, with the rank of ${data}`);
  }
  return single(data, 'ScatterElements', [data, indices, updates], { axis: int(a), reduction: str(reduction) }, data.shape);
}

/** The k largest (or smallest) entries along `axis`, sorted, and their int64 positions in x. */
export function topK(x: Value, k: number, axis = -1, largest = true): { values: Value; indices: Value } {
  const a = normAxis(axis, x.rank, 'TopK');
  if (!Number.isInteger(k) || k < 1 || k > x.shape[a]) throw new Error(`TopK: k = ${k} for an axis of ${x.shape[a]}`);
  const shape = x.shape.map((d, i) => (i === a ? k : d));
  const attrs = { axis: int(a), largest: int(largest ? 1 : 0), sorted: int(1) };
  const [values, indices] = x.graph.addNode('TopK', [x, x.graph.int64s([k])], attrs, [
    { shape, dtype: x.dtype },
    { shape, dtype: 'int64' },
  ]);
  return { values, indices };
}

/** x sorted along `axis` (TopK with k = the axis length), ascending unless `descending`; also the source positions. */
export function sort(x: Value, axis = -1, descending = false): { values: Value; indices: Value } {
  return topK(x, x.shape[normAxis(axis, x.rank, 'Sort')], axis, descending);
}

export function expand(x: Value, shape: number[]): Value {
  const out = broadcastShapes('Expand', x.shape, shape);
  return single(x, 'Expand', [x, x.graph.int64s(shape)], {}, out);
}

export function unsqueeze(x: Value, axes: number[]): Value {
  const rank = x.rank + axes.length;
  const norm = axes.map((a) => normAxis(a, rank, 'Unsqueeze'));
  const shape: number[] = [];
  let k = 0;
  for (let i = 0; i < rank; i++) shape.push(norm.includes(i) ? 1 : x.shape[k++]);
  return single(x, 'Unsqueeze', [x, x.graph.int64s(norm)], {}, shape);
}

export function squeeze(x: Value, axes: number[]): Value {
  const norm = axes.map((a) => normAxis(a, x.rank, 'Squeeze'));
  for (const a of norm) if (x.shape[a] !== 1) throw new Error(`Squeeze: axis ${a} has size ${x.shape[a]}`);
  return single(x, 'Squeeze', [x, x.graph.int64s(norm)], {}, x.shape.filter((_, i) => !norm.includes(i)));
}

export type PadMode = 'constant' | 'reflect' | 'edge' | 'wrap';

/** `pads` is ONNX order: all begins, then all ends. */
export function pad(x: Value, pads: number[], mode: PadMode = 'constant', value = 0): Value {
  if (pads.length !== 2 * x.rank) throw new Error(`Pad: need ${2 * x.rank} pads, got ${pads.length}`);
  const shape = x.shape.map((d, i) => d + pads[i] + pads[i + x.rank]);
  if (mode === 'wrap' && x.shape.some((d, i) => Math.max(pads[i], pads[i + x.rank]) > d)) {
    throw new Error('Pad: wrap padding wider than the axis');
  }
  const g = x.graph;
  const inputs = [x, g.int64s(pads), mode === 'constant' ? g.scalar(value, x.dtype) : null];
  return single(x, 'Pad', inputs, { mode: str(mode) }, shape);
}

// ---------------------------------------------------------------- linear algebra

export function matmul(a: Value, b: Value): Value {
  sameDtype('MatMul', a, b);
  const as = a.rank === 1 ? [1, a.shape[0]] : a.shape;
  const bs = b.rank === 1 ? [b.shape[0], 1] : b.shape;
  const k1 = as[as.length - 1];
  const k2 = bs[bs.length - 2];
  if (k1 !== k2) throw new Error(`MatMul: inner sizes differ: [${a.shape.join(', ')}] x [${b.shape.join(', ')}]`);
  const batch = broadcastShapes('MatMul', as.slice(0, -2), bs.slice(0, -2));
  const shape = [...batch, ...(a.rank === 1 ? [] : [as[as.length - 2]]), ...(b.rank === 1 ? [] : [bs[bs.length - 1]])];
  return single(a, 'MatMul', [a, b], {}, shape);
}

export interface GemmOptions {
  transA?: boolean;
  transB?: boolean;
  alpha?: number;
  beta?: number;
}

/** alpha * op(A) @ op(B) + beta * C, with 2-D A and B. */
export function gemm(a: Value, b: Value, c: Value | null, o: GemmOptions = {}): Value {
  if (a.rank !== 2 || b.rank !== 2) throw new Error('Gemm: A and B must be 2-D');
  const [m, ka] = o.transA ? [a.shape[1], a.shape[0]] : a.shape;
  const [kb, n] = o.transB ? [b.shape[1], b.shape[0]] : b.shape;
  if (ka !== kb) throw new Error(`Gemm: inner sizes differ (${ka} vs ${kb})`);
  if (c) broadcastShapes('Gemm', c.shape, [m, n]);
  const attrs = {
    transA: int(o.transA ? 1 : 0),
    transB: int(o.transB ? 1 : 0),
    alpha: float(o.alpha ?? 1),
    beta: float(o.beta ?? 1),
  };
  return single(a, 'Gemm', [a, b, c], attrs, [m, n]);
}

export interface ConvOptions {
  strides?: number[];
  /** ONNX order: all begins, then all ends. */
  pads?: number[];
  dilations?: number[];
  group?: number;
}

/** Normalised conv attributes for `spatial` spatial axes. */
export function convParams(o: ConvOptions, spatial: number) {
  return {
    strides: o.strides ?? Array(spatial).fill(1),
    pads: o.pads ?? Array(2 * spatial).fill(0),
    dilations: o.dilations ?? Array(spatial).fill(1),
    group: o.group ?? 1,
  };
}

export function convAttrs(p: ReturnType<typeof convParams>): Record<string, Attr> {
  return { strides: ints(p.strides), pads: ints(p.pads), dilations: ints(p.dilations), group: int(p.group) };
}

/** x [N, C, ...spatial], w [M, C / group, ...kernel], bias [M]. */
export function conv(x: Value, w: Value, bias: Value | null, o: ConvOptions = {}): Value {
  const sp = x.rank - 2;
  const p = convParams(o, sp);
  if (w.rank !== x.rank) throw new Error(`Conv: weight rank ${w.rank} vs input rank ${x.rank}`);
  if (x.shape[1] !== w.shape[1] * p.group || w.shape[0] % p.group !== 0) {
    throw new Error(`Conv: channels [${x.shape.join(', ')}] vs weight [${w.shape.join(', ')}] with group ${p.group}`);
  }
  if (bias && (bias.rank !== 1 || bias.shape[0] !== w.shape[0])) throw new Error('Conv: bias must be [M]');
  const shape = [x.shape[0], w.shape[0]];
  for (let i = 0; i < sp; i++) {
    const k = (w.shape[2 + i] - 1) * p.dilations[i] + 1;
    const span = x.shape[2 + i] + p.pads[i] + p.pads[i + sp] - k;
    if (span < 0) throw new Error(`Conv: kernel larger than padded input on spatial axis ${i}`);
    shape.push(Math.floor(span / p.strides[i]) + 1);
  }
  return single(x, 'Conv', bias ? [x, w, bias] : [x, w], convAttrs(p), shape);
}

/** The adjoint of Conv w.r.t. its input. x [N, C, ...], w [C, M / group, ...kernel]; `outputShape` picks output_padding. */
export function convTranspose(x: Value, w: Value, o: ConvOptions, outputSpatial: number[]): Value {
  const sp = x.rank - 2;
  const p = convParams(o, sp);
  const outputPadding = outputSpatial.map((want, i) => {
    const k = (w.shape[2 + i] - 1) * p.dilations[i] + 1;
    const base = p.strides[i] * (x.shape[2 + i] - 1) + k - p.pads[i] - p.pads[i + sp];
    const extra = want - base;
    if (extra < 0 || extra >= Math.max(p.strides[i], p.dilations[i])) {
      throw new Error(`ConvTranspose: cannot reach output size ${want} on axis ${i} (base ${base})`);
    }
    return extra;
  });
  const attrs = { ...convAttrs(p), output_padding: ints(outputPadding) };
  return single(x, 'ConvTranspose', [x, w], attrs, [x.shape[0], w.shape[1] * p.group, ...outputSpatial]);
}

export interface PoolOptions {
  strides?: number[];
  /** ONNX order: all begins, then all ends. MaxPool pads with -inf (padding never wins the max). */
  pads?: number[];
}

/** MaxPool over the spatial axes of x [N, C, ...spatial] with a `kernel`-sized window (no Indices output). No gradient rule. */
export function maxPool(x: Value, kernel: number[], o: PoolOptions = {}): Value {
  const sp = x.rank - 2;
  if (kernel.length !== sp) throw new Error(`MaxPool: kernel [${kernel.join(', ')}] vs ${sp} spatial axes of [${x.shape.join(', ')}]`);
  const strides = o.strides ?? Array(sp).fill(1);
  const pads = o.pads ?? Array(2 * sp).fill(0);
  const shape = x.shape.slice(0, 2);
  for (let i = 0; i < sp; i++) {
    const span = x.shape[2 + i] + pads[i] + pads[i + sp] - kernel[i];
    if (span < 0) throw new Error(`MaxPool: kernel larger than padded input on spatial axis ${i}`);
    shape.push(Math.floor(span / strides[i]) + 1);
  }
  return single(x, 'MaxPool', [x], { kernel_shape: ints(kernel), strides: ints(strides), pads: ints(pads) }, shape);
}

export interface LayerNormResult {
  y: Value;
  mean: Value;
  invStdDev: Value;
}

/** LayerNormalization over axes [axis, rank); also returns the saved mean and 1/std (always float32, as ONNX says). */
export function layerNorm(x: Value, scale: Value, bias: Value | null, axis = -1, epsilon = 1e-5): LayerNormResult {
  const a = normAxis(axis, x.rank, 'LayerNormalization');
  const statShape = x.shape.map((d, i) => (i < a ? d : 1));
  const [y, mean, invStdDev] = x.graph.addNode(
    'LayerNormalization',
    bias ? [x, scale, bias] : [x, scale],
    { axis: int(a), epsilon: float(epsilon) },
    [
      { shape: x.shape, dtype: x.dtype },
      { shape: statShape, dtype: 'float32' },
      { shape: statShape, dtype: 'float32' },
    ],
  );
  return { y, mean, invStdDev };
}

export type CoordinateMode = 'half_pixel' | 'pytorch_half_pixel' | 'align_corners' | 'asymmetric';

/** Linear resize of the last two axes (images [N, C, H, W]) to `height` x `width`, no antialiasing. */
export function resizeLinear(x: Value, height: number, width: number, mode: CoordinateMode = 'half_pixel'): Value {
  if (x.rank < 2) throw new Error('Resize: need at least 2 axes');
  const sizes = [...x.shape.slice(0, -2), height, width];
  const attrs = { mode: str('linear'), coordinate_transformation_mode: str(mode) };
  return single(x, 'Resize', [x, null, null, x.graph.int64s(sizes)], attrs, sizes);
}

export const ONNX_DTYPE: Record<DType, number> = {
  float32: 1,
  uint8: 2,
  int8: 3,
  int32: 6,
  int64: 7,
  bool: 9,
  float16: 10,
  float64: 11,
};
