/**
 * The CLIP guidance loss for the trainer: state -> cutouts -> image tower ->
 * distance to the (pre-embedded) targets, with its gradient w.r.t. the state by
 * autodiff, plus the weighted overflow penalty.
 *
 * Distances, per cutout embedding e and target t (weights w, normalised by the
 * sum of the positive weights; negative weights push away):
 *   spherical  2 asin(|ê - t̂| / 2)^2   (the default: the squared great-circle distance / 2)
 *   cosine     1 - ê · t̂
 *   dot        -e · t                 (the source method: raw, unnormalised features)
 *
 * The batch is evaluated `chunk` states per onnxruntime run, the gradients of
 * the chunks are summed: a ViT-B/32 pass over 4 x 8 cutouts at once needs
 * several GB of activations, one state at a time a quarter of that, at the same speed.
 */
import type { Topology } from '../../formats/model.ts';
import { hash32, Rng } from '../../formats/random.ts';
import { Graph, type Value } from '../graph/graph.ts';
import * as op from '../graph/ops.ts';
import { gradients } from '../autodiff/gradients.ts';
import { Session, type SessionOptions } from '../engine/session.ts';
import type { BatchShape } from '../nca/layout.ts';
import { graphLoss, overflowTerm, type Loss } from '../train/loss.ts';
import type { ClipModel } from './model.ts';
import { cutoutFeeds, cutoutPixels, type PipelineOptions, type PipelineShape } from './pipeline.ts';
import { unitRows, unitVector } from './similarity.ts';
import type { ClipTarget } from './targets.ts';
import { visionTower } from './vision.ts';

export const DISTANCES = ['spherical', 'cosine', 'dot'] as const;
export type Distance = (typeof DISTANCES)[number];

export interface ClipLossSettings {
  distance: Distance;
  /** Weight of the CLIP term. */
  weight: number;
  overflowWeight: number;
  cutouts: PipelineOptions;
  /** States per onnxruntime run (a divisor of the batch): memory against nothing much. */
  chunk: number;
  /** Seeds the cutouts and noise; iteration i always draws the same ones. */
  seed: number;
}

export const DEFAULT_CLIP_SETTINGS: Omit<ClipLossSettings, 'seed'> = {
  distance: 'spherical',
  weight: 1,
  overflowWeight: 1,
  cutouts: { count: 8, minScale: 0.5, jitter: 0.03, flip: true, noise: 0.05 },
  chunk: 1,
};

interface TargetGraph {
  loss: Value;
  similarity: Value;
  negativeSimilarity: Value | null;
}

/** The distance loss and the logged similarities of embeddings [N, D] to the targets. */
export function targetLoss(embeds: Value, targets: ClipTarget[], distance: Distance): TargetGraph {
  const g = embeds.graph;
  const d = embeds.shape[1];
  for (const t of targets) {
    if (t.embed.length !== d) throw new Error(`target "${t.label}" has ${t.embed.length} dimensions, the model embeds into ${d} (embedded with another CLIP model?)`);
  }
  const positive = targets.reduce((s, t) => s + Math.max(t.weight, 0), 0);
  const negative = targets.reduce((s, t) => s + Math.max(-t.weight, 0), 0);
  if (!(positive > 0)) throw new Error('CLIP guidance needs at least one target with a positive weight');
  const matrix = (rows: Float32Array[]) => g.constant(Float32Array.from(rows.flatMap((r) => [...r])), [targets.length, d]);
  const unitTargets = matrix(targets.map((t) => unitVector(Float32Array.from(t.embed))));
  const perTarget = (weights: number[]) => g.constant(weights, [targets.length]);
  // cos [N, T], then each target's mean over the cutouts
  const cos = op.matmul(unitRows(embeds), op.transpose(unitTargets, [1, 0]));
  let dist: Value;
  if (distance === 'dot') dist = op.neg(op.matmul(embeds, op.transpose(matrix(targets.map((t) => Float32Array.from(t.embed))), [1, 0])));
  else if (distance === 'cosine') dist = op.sub(op.scalarLike(cos, 1), cos);
  else {
    // |ê - t̂| / 2 = sqrt((1 - cos) / 2); clipped away from 0, where sqrt has no gradient
    const half = op.sqrt(op.clip(op.mul(op.sub(op.scalarLike(cos, 1), cos), 0.5), 1e-12, 1));
    const angle = op.asin(half);
    dist = op.mul(op.mul(angle, angle), 2);
  }
  const meanOver = (v: Value) => op.reduceMean(v, [0], false);
  const weighted = (v: Value, weights: number[]) => op.sumAll(op.mul(meanOver(v), perTarget(weights)));
  return {
    loss: weighted(dist, targets.map((t) => t.weight / positive)),
    similarity: weighted(cos, targets.map((t) => Math.max(t.weight, 0) / positive)),
    negativeSimilarity: negative > 0 ? weighted(cos, targets.map((t) => Math.max(-t.weight, 0) / negative)) : null,
  };
}

export async function clipLoss(
  model: ClipModel,
  targets: ClipTarget[],
  topology: Topology,
  shape: BatchShape,
  settings: ClipLossSettings,
  options: SessionOptions = {},
): Promise<Loss> {
  const { chunk } = settings;
  if (!Number.isInteger(chunk) || chunk < 1 || shape.batch % chunk !== 0) {
    throw new Error(`the CLIP chunk (${chunk}) must divide the batch (${shape.batch})`);
  }
  if (topology.color.count < 3) throw new Error('CLIP guidance needs a model with RGB colour channels');
  const chunks = shape.batch / chunk;
  const pipe: PipelineShape = { batch: chunk, height: shape.height, width: shape.width, size: model.config.vision.imageSize };

  const g = new Graph('clip_loss');
  const state = g.input('state', [chunk, shape.channels, shape.height, shape.width]);
  const embeds = visionTower(model.weights, model.config, cutoutPixels(state, topology, pipe, settings.cutouts));
  const t = targetLoss(embeds, targets, settings.distance);
  // Each chunk's share of the batch mean, times the CLIP weight: the chunk gradients then simply add up.
  const [grad] = gradients(op.mul(t.loss, settings.weight / chunks), [state]);
  g.output(t.loss, 'clip');
  g.output(grad, 'grad');
  g.output(t.similarity, 'similarity');
  if (t.negativeSimilarity) g.output(t.negativeSimilarity, 'negative_similarity');
  const session = await Session.create(g, options);
  const weights = model.weights.feeds(g);
  const overflow = await graphLoss([overflowTerm(settings.overflowWeight)], shape, options);

  return {
    async evaluate(x, batchShape, iteration) {
      const result = await overflow.evaluate(x, batchShape, iteration);
      const grad = result.grad;
      const per = x.length / shape.batch;
      const logs: Record<string, number> = { clip: 0, similarity: 0 };
      for (let c = 0; c < chunks; c++) {
        const range = [c * chunk * per, (c + 1) * chunk * per] as const;
        const rngs = Array.from({ length: chunk }, (_, j) => stateRng(settings.seed, iteration, c * chunk + j));
        const out = await session.run({ ...weights, state: x.subarray(...range), ...cutoutFeeds(pipe, settings.cutouts, rngs) });
        const chunkGrad = out.grad as Float32Array;
        for (let i = 0; i < chunkGrad.length; i++) grad[range[0] + i] += chunkGrad[i];
        for (const name of ['clip', 'similarity', 'negative_similarity']) {
          if (out[name]) logs[name] = (logs[name] ?? 0) + (out[name][0] as number) / chunks;
        }
      }
      return { loss: result.loss + settings.weight * logs.clip, grad, logs: { ...logs, overflow: result.logs.overflow } };
    },
    async release() {
      await session.release();
      await overflow.release?.();
    },
  };
}

/** The cutout generator of one batch state at one iteration. */
function stateRng(seed: number, iteration: number, state: number): Rng {
  return new Rng(hash32((hash32((seed ^ hash32(iteration)) >>> 0) ^ state) >>> 0));
}
