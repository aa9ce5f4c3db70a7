/**
 * Graph -> ONNX ModelProto bytes. Only nodes and initializers that the outputs
 * need are written, so autodiff can emit freely and unused branches vanish.
 */
import onnxProto from 'onnx-proto';
import type { Attr, Graph, Node, Value } from './graph.ts';
import { ONNX_DTYPE } from './ops.ts';

const { onnx } = onnxProto;

/** onnxruntime-node 1.30 accepts IR 10 / opset 21; newer IR versions are rejected. */
export const IR_VERSION = 10;
export const OPSET = 21;

export function serializeGraph(graph: Graph): Uint8Array {
  if (graph.outputs.length === 0) throw new Error(`graph ${graph.name} has no outputs`);
  const nodes = liveNodes(graph);
  const used = new Set<Value>(graph.outputs);
  for (const n of nodes) for (const v of n.inputs) if (v) used.add(v);

  const model = onnx.ModelProto.create({
    irVersion: IR_VERSION,
    opsetImport: [{ domain: '', version: OPSET }],
    producerName: 'nca-studio trainer',
    graph: onnx.GraphProto.create({
      name: graph.name,
      node: nodes.map(nodeProto),
      input: graph.inputs.map(valueInfo),
      output: graph.outputs.map(valueInfo),
      initializer: graph.initializers.filter((v) => used.has(v)).map(tensorProto),
    }),
  });
  return onnx.ModelProto.encode(model).finish();
}

/** Nodes that some output depends on, in creation (= topological) order. */
export function liveNodes(graph: Graph): Node[] {
  const producer = new Map<Value, Node>();
  for (const n of graph.nodes) for (const o of n.outputs) producer.set(o, n);
  const live = new Set<Node>();
  const stack = [...graph.outputs];
  while (stack.length) {
    const n = producer.get(stack.pop()!);
    if (!n || live.has(n)) continue;
    live.add(n);
    for (const v of n.inputs) if (v) stack.push(v);
  }
  return graph.nodes.filter((n) => live.has(n));
}

function valueInfo(v: Value) {
  return onnx.ValueInfoProto.create({
    name: v.name,
    type: { tensorType: { elemType: ONNX_DTYPE[v.dtype], shape: { dim: v.shape.map((d) => ({ dimValue: d })) } } },
  });
}

function tensorProto(v: Value) {
  const data = v.data!;
  return onnx.TensorProto.create({
    name: v.name,
    dims: [...v.shape],
    dataType: ONNX_DTYPE[v.dtype],
    rawData: new Uint8Array(data.buffer, data.byteOffset, data.byteLength),
  });
}

function nodeProto(n: Node) {
  return onnx.NodeProto.create({
    opType: n.opType,
    input: n.inputs.map((v) => (v ? v.name : '')),
    output: n.outputs.map((v) => v.name),
    attribute: Object.entries(n.attrs).map(([name, a]) => attributeProto(name, a)),
  });
}

function attributeProto(name: string, a: Attr) {
  const T = onnx.AttributeProto.AttributeType;
  switch (a.kind) {
    case 'int':
      return onnx.AttributeProto.create({ name, type: T.INT, i: a.value });
    case 'float':
      return onnx.AttributeProto.create({ name, type: T.FLOAT, f: a.value });
    case 'ints':
      return onnx.AttributeProto.create({ name, type: T.INTS, ints: a.value });
    case 'floats':
      return onnx.AttributeProto.create({ name, type: T.FLOATS, floats: a.value });
    case 'string':
      return onnx.AttributeProto.create({ name, type: T.STRING, s: new TextEncoder().encode(a.value) });
  }
}
