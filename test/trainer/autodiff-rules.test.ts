// Every gradient rule against central finite differences (trainer/autodiff/gradcheck.ts).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Rng } from '../../formats/random.ts';
import { Graph, type DType, type Value } from '../../trainer/graph/graph.ts';
import { gradients, vjp } from '../../trainer/autodiff/gradients.ts';
import { Session } from '../../trainer/engine/session.ts';
import * as op from '../../trainer/graph/ops.ts';
import { gradcheck, type GradcheckOptions } from '../../trainer/autodiff/gradcheck.ts';
import { rules } from '../../trainer/autodiff/rules.ts';

type Build = (g: Graph, dtype: DType) => { wrt: Value[]; output: Value };
interface Case {
  rule: string;
  name: string;
  build: Build;
  options?: GradcheckOptions;
}

/** Uniform values whose magnitude is in [lo, hi], random sign: keeps kinks and poles further than eps. */
const awayFromZero = (lo: number, hi: number, signed = true) => (rng: Rng) =>
  (signed && rng.next() < 0.5 ? -1 : 1) * (lo + rng.next() * (hi - lo));
const positive = awayFromZero(0.3, 1.5, false);
/** Distinct values, at least 2/97 apart, in an order unlike the index order (sorting cases: no ties within eps). */
const distinct = (rng: Rng, i: number) => (((i * 7919) % 97) / 97) * 2 - 1 + rng.next() * 1e-3;
/** onnxruntime's CPU kernels for these ops are float32-only. */
const f32: GradcheckOptions = { dtype: 'float32' };

/** y = f(x) for one input of `shape`. */
const unary = (shape: number[], f: (x: Value) => Value): Build => (g, dtype) => {
  const x = g.input('x', shape, dtype);
  return { wrt: [x], output: f(x) };
};
/** y = f(a, b), differentiating both. */
const binary = (sa: number[], sb: number[], f: (a: Value, b: Value) => Value): Build => (g, dtype) => {
  const a = g.input('a', sa, dtype);
  const b = g.input('b', sb, dtype);
  return { wrt: [a, b], output: f(a, b) };
};

const cases: Case[] = [
  { rule: 'Add', name: 'broadcast [2,3,4] + [3,1]', build: binary([2, 3, 4], [3, 1], op.add) },
  { rule: 'Sub', name: 'broadcast [2,3] - [3]', build: binary([2, 3], [3], op.sub) },
  { rule: 'Mul', name: 'broadcast [2,1,3] * [4,3]', build: binary([2, 1, 3], [4, 3], op.mul) },
  { rule: 'Div', name: 'broadcast [2,3] / [2,1]', build: binary([2, 3], [2, 1], op.div), options: { values: { b: awayFromZero(0.5, 1.5) } } },
  { rule: 'Pow', name: 'positive base, broadcast exponent', build: binary([2, 3], [3], op.pow), options: { values: { a: positive, b: awayFromZero(0.5, 2) } } },
  {
    rule: 'Where',
    name: 'constant condition, broadcast branches',
    build: (g, dtype) => {
      const a = g.input('a', [2, 3], dtype);
      const b = g.input('b', [3], dtype);
      const cond = op.greater(g.constant([1, -1, 1, -1, -1, 1], [2, 3], dtype), 0);
      return { wrt: [a, b], output: op.where(cond, a, b) };
    },
  },
  { rule: 'Neg', name: '[2,3]', build: unary([2, 3], op.neg) },
  { rule: 'Identity', name: '[2,3]', build: unary([2, 3], op.identity) },
  {
    rule: 'Cast',
    name: 'float64 -> float32 -> float64',
    build: unary([2, 3], (x) => op.cast(op.mul(op.cast(x, 'float32'), op.cast(x, 'float32')), 'float64')),
    options: { eps: 1e-3, rtol: 1e-3, atol: 1e-3 },
  },
  { rule: 'Relu', name: 'away from the kink', build: unary([3, 4], op.relu), options: { values: { x: awayFromZero(0.1, 1) } } },
  { rule: 'Sigmoid', name: '[3,4]', build: unary([3, 4], op.sigmoid) },
  { rule: 'Tanh', name: '[3,4]', build: unary([3, 4], op.tanh) },
  { rule: 'Erf', name: '[3,4]', build: unary([3, 4], op.erf), options: f32 },
  { rule: 'Asin', name: 'inside (-1, 1)', build: unary([3, 4], op.asin), options: { ...f32, values: { x: awayFromZero(0.05, 0.8) } } },
  { rule: 'Sqrt', name: 'positive', build: unary([3, 4], op.sqrt), options: { values: { x: positive } } },
  { rule: 'Exp', name: '[3,4]', build: unary([3, 4], op.exp) },
  { rule: 'Log', name: 'positive', build: unary([3, 4], op.log), options: { values: { x: positive } } },
  { rule: 'Reciprocal', name: 'away from zero', build: unary([3, 4], op.reciprocal), options: { values: { x: awayFromZero(0.5, 1.5) } } },
  { rule: 'Abs', name: 'away from the kink', build: unary([3, 4], op.abs), options: { values: { x: awayFromZero(0.1, 1) } } },
  { rule: 'Gelu', name: 'exact (erf)', build: unary([3, 4], (x) => op.gelu(x, 'none')), options: f32 },
  { rule: 'Gelu', name: 'tanh approximation', build: unary([3, 4], (x) => op.gelu(x, 'tanh')), options: f32 },
  {
    rule: 'Clip',
    name: 'min and max, values off the bounds',
    build: unary([4, 5], (x) => op.clip(x, -0.5, 0.5)),
    options: { values: { x: (rng) => [-0.9, -0.2, 0.1, 0.3, 0.8][Math.floor(rng.next() * 5)] + rng.next() * 0.1 } },
  },
  { rule: 'Clip', name: 'min only', build: unary([4, 5], (x) => op.clip(x, -0.25)), options: { values: { x: (rng) => (rng.next() < 0.5 ? -0.6 : 0.1) + rng.next() * 0.3 } } },
  { rule: 'Softmax', name: 'last axis', build: unary([2, 3, 4], (x) => op.softmax(x, -1)) },
  { rule: 'Softmax', name: 'middle axis', build: unary([2, 3, 4], (x) => op.softmax(x, 1)) },
  { rule: 'ReduceSum', name: 'axis 1, keepdims=0', build: unary([2, 3, 4], (x) => op.reduceSum(x, [1], false)) },
  { rule: 'ReduceMean', name: 'axes 0 and 2, keepdims=1', build: unary([2, 3, 4], (x) => op.reduceMean(x, [0, 2], true)) },
  { rule: 'ReduceMax', name: 'axis 1, keepdims=1', build: unary([2, 5, 3], (x) => op.reduceMax(x, [1], true)), options: { values: { x: distinct } } },
  {
    rule: 'ReduceMax',
    name: '2x2 max pooling (reshape, axes 3 and 5, keepdims=0)',
    build: unary([1, 2, 4, 6], (x) => op.reduceMax(op.reshape(x, [1, 2, 2, 2, 3, 2]), [3, 5], false)),
    options: { values: { x: distinct } },
  },
  {
    rule: 'LayerNormalization',
    name: 'last axis with scale and bias',
    build: (g, dtype) => {
      const x = g.input('x', [2, 3, 5], dtype);
      const scale = g.input('scale', [5], dtype);
      const bias = g.input('bias', [5], dtype);
      return { wrt: [x, scale, bias], output: op.layerNorm(x, scale, bias, -1).y };
    },
  },
  {
    rule: 'LayerNormalization',
    name: 'axes 1.. with 2-D scale, no bias',
    build: (g, dtype) => {
      const x = g.input('x', [2, 3, 4], dtype);
      const scale = g.input('scale', [3, 4], dtype);
      return { wrt: [x, scale], output: op.layerNorm(x, scale, null, 1, 1e-3).y };
    },
  },
  { rule: 'Reshape', name: '[2,3,4] -> [4,-1]', build: unary([2, 3, 4], (x) => op.mul(op.reshape(x, [4, -1]), op.reshape(x, [4, -1]))) },
  { rule: 'Squeeze', name: 'axis 1', build: unary([2, 1, 3], (x) => op.mul(op.squeeze(x, [1]), x.graph.constant([1, 2, 3], [3], x.dtype))) },
  { rule: 'Unsqueeze', name: 'axes 0 and 3', build: unary([2, 3], (x) => op.mul(op.unsqueeze(x, [0, 3]), op.unsqueeze(x, [0, 3]))) },
  { rule: 'Expand', name: '[3,1] -> [2,3,4]', build: unary([3, 1], (x) => op.expand(x, [2, 3, 4])) },
  { rule: 'Transpose', name: 'perm [2,0,1]', build: unary([2, 3, 4], (x) => op.mul(op.transpose(x, [2, 0, 1]), op.transpose(x, [2, 0, 1]))) },
  { rule: 'Concat', name: 'axis 1', build: binary([2, 3], [2, 2], (a, b) => op.concat([a, b, a], 1)) },
  { rule: 'Slice', name: 'window with negative start', build: unary([4, 5], (x) => op.slice(x, [1, -4], [3, 4], [0, 1])) },
  { rule: 'Slice', name: 'reversed axis (flip)', build: unary([3, 4], (x) => op.slice(x, [-1, 2], [-100, 0], [1, 0], [-1, -1])) },
  {
    rule: 'Gather',
    name: 'axis 0, repeated indices',
    build: (g, dtype) => {
      const x = g.input('x', [4, 3], dtype);
      return { wrt: [x], output: op.gather(x, g.constant([1, 3, 1, 0], [4], 'int64'), 0) };
    },
  },
  {
    rule: 'Gather',
    name: 'axis 1, 2-D int32 indices with a negative one',
    build: (g, dtype) => {
      const x = g.input('x', [2, 5, 3], dtype);
      return { wrt: [x], output: op.gather(x, g.constant([0, -1, 2, 2], [2, 2], 'int32'), 1) };
    },
  },
  {
    rule: 'GatherND',
    name: 'rows of a matrix, repeated',
    build: (g, dtype) => {
      const x = g.input('x', [4, 3], dtype);
      return { wrt: [x], output: op.gatherND(x, g.constant([2, 0, 2], [3, 1], 'int64')) };
    },
  },
  {
    rule: 'GatherND',
    name: 'single elements',
    build: (g, dtype) => {
      const x = g.input('x', [3, 4], dtype);
      return { wrt: [x], output: op.gatherND(x, g.constant([0, 1, 2, 3, 1, 1], [3, 2], 'int64')) };
    },
  },
  {
    rule: 'GatherElements',
    name: 'axis 1, repeated and negative indices',
    build: (g, dtype) => {
      const x = g.input('x', [2, 4, 3], dtype);
      const indices = g.constant([0, 3, -1, 1, 1, 2, 3, 0, 0, 2, 2, -4], [2, 2, 3], 'int64');
      return { wrt: [x], output: op.gatherElements(x, indices, 1) };
    },
  },
  { rule: 'TopK', name: 'sort ascending along the last axis (k = n)', build: unary([3, 6], (x) => op.sort(x).values), options: { values: { x: distinct } } },
  { rule: 'TopK', name: '2 largest along axis 0', build: unary([5, 2, 3], (x) => op.topK(x, 2, 0, true).values), options: { values: { x: distinct } } },
  {
    rule: 'ScatterND',
    name: 'reduction none: overwritten data gets no gradient',
    build: (g, dtype) => {
      const [data, updates] = [g.input('data', [4, 3], dtype), g.input('updates', [2, 3], dtype)];
      return { wrt: [data, updates], output: op.scatterND(data, g.constant([3, 1], [2, 1], 'int64'), updates) };
    },
  },
  {
    rule: 'ScatterND',
    name: 'reduction add with repeated indices',
    build: (g, dtype) => {
      const [data, updates] = [g.input('data', [4, 3], dtype), g.input('updates', [3, 3], dtype)];
      return { wrt: [data, updates], output: op.scatterND(data, g.constant([1, 1, 2], [3, 1], 'int64'), updates, 'add') };
    },
  },
  {
    rule: 'ScatterND',
    name: 'reduction add, indices that pick elements, not rows',
    build: (g, dtype) => {
      const [data, updates] = [g.input('data', [3, 4], dtype), g.input('updates', [3], dtype)];
      return { wrt: [data, updates], output: op.scatterND(data, g.constant([0, 1, 2, 3, 0, 1], [3, 2], 'int64'), updates, 'add') };
    },
  },
  { rule: 'Pad', name: 'constant', build: unary([2, 3, 4], (x) => op.pad(x, [0, 1, 2, 1, 0, 1], 'constant', 0.5)) },
  { rule: 'Pad', name: 'wrap (circular), uneven', build: unary([1, 2, 3, 4], (x) => op.pad(x, [0, 0, 1, 2, 0, 0, 2, 1], 'wrap')) },
  { rule: 'MatMul', name: '2-D', build: binary([2, 3], [3, 4], op.matmul) },
  { rule: 'MatMul', name: 'batched with broadcasting', build: binary([2, 1, 3, 4], [5, 4, 2], op.matmul) },
  { rule: 'MatMul', name: 'vector times matrix', build: binary([3], [2, 3, 4], op.matmul) },
  { rule: 'MatMul', name: 'matrix times vector', build: binary([2, 3], [3], op.matmul) },
  {
    rule: 'Gemm',
    name: 'plain, broadcast C',
    build: (g, dtype) => {
      const [a, b, c] = [g.input('a', [2, 3], dtype), g.input('b', [3, 4], dtype), g.input('c', [4], dtype)];
      return { wrt: [a, b, c], output: op.gemm(a, b, c, { alpha: 0.7, beta: 1.5 }) };
    },
  },
  {
    rule: 'Gemm',
    name: 'transA and transB',
    build: (g, dtype) => {
      const [a, b, c] = [g.input('a', [3, 2], dtype), g.input('b', [4, 3], dtype), g.input('c', [2, 1], dtype)];
      return { wrt: [a, b, c], output: op.gemm(a, b, c, { transA: true, transB: true, alpha: 1.3 }) };
    },
  },
  {
    rule: 'Conv',
    name: '3x3, bias, stride 2, asymmetric pads',
    build: (g, dtype) => {
      const [x, w, b] = [g.input('x', [2, 3, 6, 5], dtype), g.input('w', [4, 3, 3, 3], dtype), g.input('b', [4], dtype)];
      return { wrt: [x, w, b], output: op.conv(x, w, b, { strides: [2, 2], pads: [1, 0, 1, 1] }) };
    },
    options: f32,
  },
  {
    rule: 'Conv',
    name: 'grouped (2 groups), dilation 2',
    build: (g, dtype) => {
      const [x, w] = [g.input('x', [1, 4, 7, 6], dtype), g.input('w', [6, 2, 2, 3], dtype)];
      return { wrt: [x, w], output: op.conv(x, w, null, { group: 2, dilations: [2, 1], pads: [1, 1, 0, 1] }) };
    },
    options: f32,
  },
  {
    rule: 'Conv',
    name: 'depthwise x2 channel multiplier, strided patches (ViT-style)',
    build: (g, dtype) => {
      const [x, w] = [g.input('x', [2, 3, 4, 4], dtype), g.input('w', [6, 1, 2, 2], dtype)];
      return { wrt: [x, w], output: op.conv(x, w, null, { group: 3, strides: [2, 2] }) };
    },
    options: f32,
  },
  {
    rule: 'Conv',
    name: '1x1 (MatMul weight-gradient path)',
    build: (g, dtype) => {
      const [x, w, b] = [g.input('x', [2, 3, 3, 4], dtype), g.input('w', [5, 3, 1, 1], dtype), g.input('b', [5], dtype)];
      return { wrt: [x, w, b], output: op.conv(x, w, b) };
    },
    options: f32,
  },
  { rule: 'Resize', name: 'linear upsample, half_pixel', build: unary([1, 2, 3, 4], (x) => op.resizeLinear(x, 5, 7)), options: f32 },
  { rule: 'Resize', name: 'linear downsample, half_pixel', build: unary([2, 1, 6, 6], (x) => op.resizeLinear(x, 4, 3)), options: f32 },
  { rule: 'Resize', name: 'linear, align_corners', build: unary([1, 1, 3, 5], (x) => op.resizeLinear(x, 4, 8, 'align_corners')), options: f32 },
  { rule: 'Resize', name: 'linear, pytorch_half_pixel', build: unary([1, 1, 4, 3], (x) => op.resizeLinear(x, 2, 6, 'pytorch_half_pixel')), options: f32 },
];

for (const c of cases) {
  test(`gradient of ${c.rule}: ${c.name}`, async () => {
    const result = await gradcheck(c.build, c.options);
    assert.ok(result.checked > 0, 'no elements checked');
    assert.ok(result.worst <= 1, `error ${result.worst.toFixed(2)}x tolerance at ${result.where}`);
  });
}

test('every gradient rule has a finite-difference case', () => {
  const covered = new Set(cases.map((c) => c.rule));
  const missing = Object.keys(rules).filter((r) => !covered.has(r));
  assert.deepEqual(missing, []);
});

test('Slice gradient builds on axes longer than the JS argument limit', () => {
  const g = new Graph('long');
  const x = g.input('x', [1, 300_000]);
  const [dx] = vjp([op.slice(x, [5], [-7], [1])], [g.input('dy', [1, 300_000 - 12])], [x]);
  assert.deepEqual(dx.shape, [1, 300_000]);
});

test('ReduceMax shares the gradient among tied largest elements', async () => {
  const g = new Graph('tie');
  const x = g.input('x', [2, 3]);
  const [dx] = gradients(op.sumAll(op.reduceMax(x, [1], false)), [x]);
  g.output(dx, 'dx');
  const session = await Session.create(g);
  try {
    const out = await session.run({ x: Float32Array.from([1, 1, 0, -2, 3, 3]) });
    assert.deepEqual([...(out.dx as Float32Array)], [0.5, 0.5, 0, 0, 0.5, 0.5]);
  } finally {
    await session.release();
  }
});

test('the checker catches a wrong rule', async () => {
  const correct = rules.Sigmoid;
  rules.Sigmoid = (c) => [op.mul(c.grads[0]!, c.outputs[0])]; // forgot the (1 - y) factor
  try {
    const result = await gradcheck(unary([3, 4], op.sigmoid));
    assert.ok(result.worst > 10, `a wrong rule passed (worst ${result.worst})`);
  } finally {
    rules.Sigmoid = correct;
  }
});

test('the checker catches a sort gradient that is not routed back to the source elements', async () => {
  const correct = rules.TopK;
  rules.TopK = (c) => [c.grads[0]!, null]; // the gradient of sorted position i given to element i
  try {
    const result = await gradcheck(unary([3, 6], (x) => op.sort(x).values), { values: { x: distinct } });
    assert.ok(result.worst > 10, `a wrong rule passed (worst ${result.worst})`);
  } finally {
    rules.TopK = correct;
  }
});
