/** Building blocks shared by several gradient rules. */
import type { Node, Shape, Value } from '../graph/graph.ts';
import * as op from '../graph/ops.ts';

function attr(node: Node, name: string) {
  return node.attrs[name];
}

export function attrInt(node: Node, name: string, fallback?: number): number {
  const a = attr(node, name);
  if (a?.kind === 'int') return a.value;
  if (fallback === undefined) throw new Error(`${node.opType}: missing int attribute ${name}`);
  return fallback;
}

export function attrFloat(node: Node, name: string, fallback: number): number {
  const a = attr(node, name);
  return a?.kind === 'float' ? a.value : fallback;
}

export function attrString(node: Node, name: string, fallback: string): string {
  const a = attr(node, name);
  return a?.kind === 'string' ? a.value : fallback;
}

export function attrInts(node: Node, name: string): number[] {
  const a = optionalInts(node, name);
  if (!a) throw new Error(`${node.opType}: missing ints attribute ${name}`);
  return a;
}

export function optionalInts(node: Node, name: string): number[] | undefined {
  const a = attr(node, name);
  return a?.kind === 'ints' ? a.value : undefined;
}

/** Sums a gradient over the axes that broadcasting expanded, so it gets `shape` again. */
export function unbroadcast(g: Value, shape: Shape): Value {
  const extra = g.rank - shape.length;
  let out = g;
  // Stretched axes first: they are usually the large trailing ones, and a
  // contiguous reduction followed by a small one is far faster than one strided pass.
  const stretched = shape.map((_, i) => i).filter((i) => shape[i] === 1 && g.shape[i + extra] !== 1);
  if (stretched.length > 0) out = op.reduceSum(out, stretched.map((i) => i + extra), true);
  if (extra > 0) out = op.reduceSum(out, Array.from({ length: extra }, (_, i) => i), false);
  return out;
}

/**
 * dL/dx of a Conv. With stride 1 it is another Conv, over the output gradient,
 * with the kernel flipped and its in/out channels swapped per group; onnxruntime
 * runs that much faster than ConvTranspose. Other strides use ConvTranspose.
 */
export function convInputGrad(g: Value, w: Value, p: ReturnType<typeof op.convParams>, inputSpatial: number[]): Value {
  const sp = inputSpatial.length;
  const kernel = w.shape.slice(2);
  const reach = kernel.map((k, i) => p.dilations[i] * (k - 1));
  const pads = [...reach.map((r, i) => r - p.pads[i]), ...reach.map((r, i) => r - p.pads[i + sp])];
  if (p.strides.some((s) => s !== 1) || pads.some((q) => q < 0)) return op.convTranspose(g, w, p, inputSpatial);
  const [m, ci] = w.shape;
  const co = m / p.group;
  const spatialAxes = kernel.map((_, i) => 3 + i);
  // w [G * co, ci, ...k] -> [G * ci, co, ...k], then flip every spatial axis
  const swapped = op.reshape(op.transpose(op.reshape(w, [p.group, co, ci, ...kernel]), [0, 2, 1, ...spatialAxes]), [p.group * ci, co, ...kernel]);
  const flipped = op.slice(swapped, kernel.map(() => -1), kernel.map((k) => -k - 1), kernel.map((_, i) => 2 + i), kernel.map(() => -1));
  return op.conv(g, flipped, null, { pads, dilations: p.dilations, group: p.group });
}

/**
 * dL/dW of a Conv, for any group, stride, dilation and padding: a second Conv
 * in which batch and channels trade places and stride and dilation swap roles.
 * Plain 1x1 convolutions take a MatMul path instead, which is much faster.
 */
export function convWeightGrad(x: Value, g: Value, wShape: Shape, p: ReturnType<typeof op.convParams>): Value {
  const [n, c] = x.shape;
  const sp = x.rank - 2;
  const kernel = wShape.slice(2);
  const pointwise =
    p.group === 1 && kernel.every((k) => k === 1) && p.strides.every((s) => s === 1) && p.pads.every((q) => q === 0);
  if (pointwise) {
    const xf = op.reshape(x, [n, c, -1]);
    const gf = op.reshape(g, [n, wShape[0], -1]);
    const perBatch = op.matmul(gf, op.transpose(xf, [0, 2, 1]));
    return op.reshape(op.reduceSum(perBatch, [0], false), [...wShape]);
  }
  const groups = p.group;
  const ci = c / groups;
  const spatialAxes = Array.from({ length: sp }, (_, i) => 3 + i);
  // x [N, G, ci, ...] -> [ci, G * N, ...]: each group's batch becomes that group's input channels
  const xs = op.reshape(op.transpose(op.reshape(x, [n, groups, ci, ...x.shape.slice(2)]), [2, 1, 0, ...spatialAxes]), [ci, groups * n, ...x.shape.slice(2)]);
  // g [N, M, ...] -> [M, N, ...]: the output gradient acts as the kernel
  const gs = op.transpose(g, [1, 0, ...spatialAxes.map((a) => a - 1)]);
  const full = op.conv(xs, gs, null, { strides: p.dilations, dilations: p.strides, pads: p.pads, group: groups });
  const cropped = op.slice(full, kernel.map(() => 0), kernel, kernel.map((_, i) => 2 + i));
  return op.transpose(cropped, [1, 0, ...spatialAxes.map((a) => a - 1)]);
}

/**
 * The [outSize, inSize] matrix of ONNX Resize "linear" along one axis, for a
 * coordinate transformation mode (source coordinates clamped to the input, as onnxruntime does).
 */
export function linearResizeMatrix(inSize: number, outSize: number, mode: op.CoordinateMode): Float64Array {
  const m = new Float64Array(outSize * inSize);
  const scale = outSize / inSize;
  for (let o = 0; o < outSize; o++) {
    let src: number;
    if (mode === 'half_pixel') src = (o + 0.5) / scale - 0.5;
    else if (mode === 'pytorch_half_pixel') src = outSize > 1 ? (o + 0.5) / scale - 0.5 : 0;
    else if (mode === 'align_corners') src = outSize > 1 ? (o * (inSize - 1)) / (outSize - 1) : 0;
    else src = o / scale;
    src = Math.min(Math.max(src, 0), inSize - 1);
    const i0 = Math.floor(src);
    const i1 = Math.min(i0 + 1, inSize - 1);
    const frac = src - i0;
    m[o * inSize + i0] += 1 - frac;
    m[o * inSize + i1] += frac;
  }
  return m;
}
