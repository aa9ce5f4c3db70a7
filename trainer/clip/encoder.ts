/**
 * The transformer encoder both CLIP towers share (pre-LN residual blocks:
 * x + attn(ln1(x)), then x + mlp(ln2(x))), as graph ops on tokens flattened to
 * [sequences * length, width]. Linear layers are Gemm with transB, so the
 * checkpoint's [out, in] matrices are used as stored.
 */
import type { Value } from '../graph/graph.ts';
import * as op from '../graph/ops.ts';
import type { EncoderConfig } from './config.ts';
import { scaledBy, type FedWeights } from '../weights/fed-weights.ts';

export interface EncoderShape {
  sequences: number;
  length: number;
}

/** y = x W^T + b for x [rows, in] and a checkpoint Linear `prefix` of size out x in. */
export function linear(w: FedWeights, x: Value, prefix: string, out: number, bias = true, scale = 1): Value {
  const g = x.graph;
  const inSize = x.shape[1];
  const transform = scale === 1 ? undefined : scaledBy(scale);
  const weight = w.param(g, `${prefix}.weight`, [out, inSize], transform);
  const b = bias ? w.param(g, `${prefix}.bias`, [out], transform) : null;
  return op.gemm(x, weight, b, { transB: true });
}

export function layerNorm(w: FedWeights, x: Value, prefix: string, eps: number): Value {
  const d = x.shape[x.rank - 1];
  return op.layerNorm(x, w.param(x.graph, `${prefix}.weight`, [d]), w.param(x.graph, `${prefix}.bias`, [d]), -1, eps).y;
}

function activation(x: Value, kind: EncoderConfig['activation']): Value {
  // QuickGELU is CLIP's original x * sigmoid(1.702 x); "gelu" is the exact erf form.
  return kind === 'quick_gelu' ? op.mul(x, op.sigmoid(op.mul(x, 1.702))) : op.gelu(x);
}

/** The first token of each sequence: [sequences * length, D] -> [sequences, D]. */
export function firstTokens(x: Value, s: EncoderShape): Value {
  const d = x.shape[1];
  return op.reshape(op.slice(op.reshape(x, [s.sequences, s.length, d]), [0], [1], [1]), [s.sequences, d]);
}

/** Self-attention; with `firstOnly`, only the first token of each sequence asks (its keys and values still come from all). */
function attention(w: FedWeights, x: Value, prefix: string, c: EncoderConfig, s: EncoderShape, mask: Value | null, firstOnly: boolean): Value {
  const d = c.hiddenSize;
  const headSize = d / c.heads;
  const heads = (v: Value, length: number) => op.transpose(op.reshape(v, [s.sequences, length, c.heads, headSize]), [0, 2, 1, 3]);
  const queries = firstOnly ? 1 : s.length;
  const q = heads(linear(w, firstOnly ? firstTokens(x, s) : x, `${prefix}.q_proj`, d, true, 1 / Math.sqrt(headSize)), queries);
  const k = heads(linear(w, x, `${prefix}.k_proj`, d), s.length);
  const v = heads(linear(w, x, `${prefix}.v_proj`, d), s.length);
  let scores = op.matmul(q, op.transpose(k, [0, 1, 3, 2]));
  if (mask) scores = op.add(scores, mask);
  const mixed = op.matmul(op.softmax(scores, -1), v);
  const merged = op.reshape(op.transpose(mixed, [0, 2, 1, 3]), [s.sequences * queries, d]);
  return linear(w, merged, `${prefix}.out_proj`, d);
}

/**
 * `prefix` is e.g. "vision_model.encoder"; `mask` is added to the attention scores ([length, length]).
 * With `firstTokenOnly` the result is just each sequence's first token, [sequences, D]: the last
 * layer then computes nothing else (for the ViT's class-token pooling it saves about 7% of the tower).
 */
export function encoder(w: FedWeights, x: Value, prefix: string, c: EncoderConfig, s: EncoderShape, mask: Value | null = null, firstTokenOnly = false): Value {
  if (firstTokenOnly && mask) throw new Error('encoder: first-token-only output is for unmasked (vision) encoders');
  let h = x;
  for (let i = 0; i < c.layers; i++) {
    const p = `${prefix}.layers.${i}`;
    const last = firstTokenOnly && i === c.layers - 1;
    const attended = attention(w, layerNorm(w, h, `${p}.layer_norm1`, c.layerNormEps), `${p}.self_attn`, c, s, mask, last);
    h = op.add(last ? firstTokens(h, s) : h, attended);
    const hidden = activation(linear(w, layerNorm(w, h, `${p}.layer_norm2`, c.layerNormEps), `${p}.mlp.fc1`, c.intermediateSize), c.activation);
    h = op.add(h, linear(w, hidden, `${p}.mlp.fc2`, c.hiddenSize));
  }
  return h;
}
