/**
 * The text tower: token ids [T, L] -> text embeddings [T, projection].
 * Token + position embedding, causal encoder, final LN, pooling at each
 * prompt's end-of-text token (`eot`, flat indices t * L + position), projection.
 */
import type { Value } from '../graph/graph.ts';
import * as op from '../graph/ops.ts';
import type { ClipConfig } from './config.ts';
import { encoder, layerNorm, linear } from './encoder.ts';
import type { FedWeights } from '../weights/fed-weights.ts';

export function textTower(w: FedWeights, config: ClipConfig, ids: Value, eot: Value): Value {
  const c = config.text;
  const g = ids.graph;
  const [t, length] = ids.shape;
  if (length !== c.contextLength) throw new Error(`text tower: expects ${c.contextLength} tokens per prompt, got ${ids}`);
  const d = c.hiddenSize;
  const tokens = op.gather(w.param(g, 'text_model.embeddings.token_embedding.weight', [c.vocabSize, d]), ids);
  const positions = w.param(g, 'text_model.embeddings.position_embedding.weight', [length, d]);
  const x = op.reshape(op.add(tokens, positions), [t * length, d]);
  // Causal mask: token i attends to tokens 0..i only.
  const mask = new Float32Array(length * length);
  for (let i = 0; i < length; i++) for (let j = i + 1; j < length; j++) mask[i * length + j] = -1e9;
  const h = encoder(w, x, 'text_model.encoder', c, { sequences: t, length }, g.constant(mask, [length, length]));
  // The final LN is per token, so pooling first saves normalising tokens nobody reads.
  const pooled = layerNorm(w, op.gather(h, eot), 'text_model.final_layer_norm', c.layerNormEps);
  return linear(w, pooled, 'text_projection', config.projectionDim, false);
}
