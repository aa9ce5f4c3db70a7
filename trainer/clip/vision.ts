/**
 * The ViT image tower: pixels [N, 3, S, S] (already normalised with CLIP's
 * mean/std) -> image embeddings [N, projection]. Patch embedding, class token,
 * position embedding, pre-LN, encoder, post-LN on the class token, projection.
 */
import type { Value } from '../graph/graph.ts';
import * as op from '../graph/ops.ts';
import type { ClipConfig } from './config.ts';
import { encoder, layerNorm, linear } from './encoder.ts';
import type { FedWeights } from '../weights/fed-weights.ts';

export function visionTower(w: FedWeights, config: ClipConfig, pixels: Value): Value {
  const c = config.vision;
  const g = pixels.graph;
  const [n, channels, height, width] = pixels.shape;
  if (channels !== c.channels || height !== c.imageSize || width !== c.imageSize) {
    throw new Error(`vision tower: expects [N, ${c.channels}, ${c.imageSize}, ${c.imageSize}] pixels, got ${pixels}`);
  }
  const p = c.patchSize;
  const grid = c.imageSize / p;
  const d = c.hiddenSize;
  const length = grid * grid + 1;
  // The patch conv has stride = kernel, so it is a matmul over non-overlapping patches:
  // [N, C, gy, p, gx, p] -> [N, gy, gx, C, p, p] -> [N * patches, C * p * p].
  const patches = op.reshape(
    op.transpose(op.reshape(pixels, [n, channels, grid, p, grid, p]), [0, 2, 4, 1, 3, 5]),
    [n * grid * grid, channels * p * p],
  );
  const kernel = w.param(g, 'vision_model.embeddings.patch_embedding.weight', [d, channels, p, p]);
  const embedded = op.gemm(patches, op.reshape(kernel, [d, channels * p * p]), null, { transB: true });
  const classToken = op.expand(op.reshape(w.param(g, 'vision_model.embeddings.class_embedding', [d]), [1, 1, d]), [n, 1, d]);
  const tokens = op.concat([classToken, op.reshape(embedded, [n, grid * grid, d])], 1);
  const positions = w.param(g, 'vision_model.embeddings.position_embedding.weight', [length, d]);
  const x = op.reshape(op.add(tokens, positions), [n * length, d]);
  const shape = { sequences: n, length };
  // Pooling reads the class token only, so the encoder returns just that.
  const cls = encoder(w, layerNorm(w, x, 'vision_model.pre_layrnorm', c.layerNormEps), 'vision_model.encoder', c, shape, null, true);
  const pooled = layerNorm(w, cls, 'vision_model.post_layernorm', c.layerNormEps);
  return linear(w, pooled, 'visual_projection', config.projectionDim, false);
}
