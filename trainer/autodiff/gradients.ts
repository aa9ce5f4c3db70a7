/**
 * Reverse-mode autodiff over a Graph: walks the nodes between `wrt` and the
 * outputs backwards and asks each op's rule (rules.ts) for input gradients.
 * The gradient nodes are appended to the same graph, so one graph computes the
 * forward values and the gradients together.
 */
import type { Node, Value } from '../graph/graph.ts';
import { add, expand } from '../graph/ops.ts';
import { rules } from './rules.ts';

const DIFFERENTIABLE = new Set(['float32', 'float64', 'float16']);

/**
 * Gradients of a scalar `loss` w.r.t. each of `wrt`. A `wrt` value the loss does
 * not depend on gets zeros.
 */
export function gradients(loss: Value, wrt: Value[]): Value[] {
  if (loss.size !== 1) throw new Error(`gradients: loss ${loss} is not a scalar; use vjp with a cotangent`);
  return vjp([loss], [loss.graph.constant([1], loss.shape, loss.dtype)], wrt);
}

/**
 * Vector-Jacobian product: sum_k cotangents[k] . d outputs[k] / d wrt, for each of `wrt`.
 * Cotangents have the shapes of their outputs (usually graph inputs fed with the upstream gradient).
 */
export function vjp(outputs: Value[], cotangents: Value[], wrt: Value[]): Value[] {
  if (outputs.length !== cotangents.length) throw new Error('vjp: one cotangent per output');
  outputs.forEach((o, i) => {
    if (o.shape.join() !== cotangents[i].shape.join()) {
      throw new Error(`vjp: cotangent ${cotangents[i]} does not match output ${o}`);
    }
  });
  const graph = outputs[0].graph;
  const nodes = relevantNodes(graph.nodes, wrt, outputs);
  const dependsOnWrt = new Set<Value>(wrt);
  for (const n of nodes) for (const o of n.outputs) dependsOnWrt.add(o);

  const pending = new Map<Value, Value[]>();
  const push = (v: Value, g: Value) => pending.set(v, [...(pending.get(v) ?? []), g]);
  outputs.forEach((o, i) => push(o, cotangents[i]));
  const total = (v: Value): Value | null => {
    const gs = pending.get(v);
    if (!gs) return null;
    const sum = gs.reduce((a, b) => add(a, b));
    pending.set(v, [sum]);
    return sum;
  };

  for (let k = nodes.length - 1; k >= 0; k--) {
    const node = nodes[k];
    const grads = node.outputs.map(total);
    if (grads.every((g) => g === null)) continue;
    const needs = node.inputs.map((v) => v !== null && dependsOnWrt.has(v) && DIFFERENTIABLE.has(v.dtype));
    if (!needs.some(Boolean)) continue;
    const rule = rules[node.opType];
    if (!rule) throw new Error(`autodiff: no gradient rule for ${node.opType} (add one to trainer/autodiff/rules.ts)`);
    const inputGrads = rule({ node, inputs: node.inputs, outputs: node.outputs, grads, needs });
    node.inputs.forEach((v, i) => {
      const g = inputGrads[i];
      if (v && needs[i] && g) {
        if (g.shape.join() !== v.shape.join()) {
          throw new Error(`autodiff: ${node.opType} rule gave gradient ${g} for input ${v}`);
        }
        push(v, g);
      }
    });
  }
  return wrt.map((v) => total(v) ?? expand(graph.scalar(0, v.dtype), [...v.shape]));
}

/** Nodes that both depend on some `wrt` and feed some output, in graph order; `noGrad` nodes cut the path. */
function relevantNodes(all: Node[], wrt: Value[], outputs: Value[]): Node[] {
  const forward = new Set<Value>(wrt);
  const downstream: Node[] = [];
  for (const n of all) {
    if (n.noGrad || !n.inputs.some((v) => v && forward.has(v))) continue;
    downstream.push(n);
    for (const o of n.outputs) forward.add(o);
  }
  const needed = new Set<Value>(outputs);
  const result: Node[] = [];
  for (let k = downstream.length - 1; k >= 0; k--) {
    const n = downstream[k];
    if (!n.outputs.some((o) => needed.has(o))) continue;
    result.push(n);
    for (const v of n.inputs) if (v) needed.add(v);
  }
  return result.reverse();
}
