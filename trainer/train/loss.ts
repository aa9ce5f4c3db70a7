/**
 * The pluggable loss. The trainer hands the batch after the rollout to a Loss
 * and gets back the loss, its gradient w.r.t. that batch, and figures to log.
 *
 * Most losses are graphs: `graphLoss` compiles weighted terms into one ORT
 * session that returns the loss and its gradient (by autodiff), so a new loss
 * is a function from the state Value to a scalar Value.
 */
import { Graph, type TensorData, type Value } from '../graph/graph.ts';
import { abs, add, clip, mul, reduceMean, sub } from '../graph/ops.ts';
import { gradients } from '../autodiff/gradients.ts';
import { Session, type SessionOptions } from '../engine/session.ts';
import type { BatchShape } from '../nca/layout.ts';

export interface LossResult {
  loss: number;
  /** dLoss/dState, [B, C, H, W] like the state. */
  grad: Float32Array;
  /** Named figures for the log (e.g. each term before weighting). */
  logs: Record<string, number>;
  /** Each batch state's own loss, [B], where the loss can rank states (the pool replaces the worst). */
  perSample?: Float32Array;
}

export interface Loss {
  /** `state` is the batch after the rollout, [B, C, H, W] float32. */
  evaluate(state: Float32Array, shape: BatchShape, iteration: number): Promise<LossResult>;
  release?(): Promise<void>;
}

/** One term of a graph loss: a scalar from the state batch [B, C, H, W]. */
export interface LossTerm {
  name: string;
  weight: number;
  build(state: Value): Value;
  /** Feeds for graph inputs the term declares itself (random crops and the like), per iteration. */
  feeds?(iteration: number): Record<string, TensorData>;
}

/** Compiles sum(weight * term) and its gradient into one session; `rank` ([B] per-state losses) is an extra output. */
export async function graphLoss(terms: LossTerm[], shape: BatchShape, options: SessionOptions = {}, rank?: (state: Value) => Value): Promise<Loss> {
  const g = new Graph('loss');
  const state = g.input('state', [shape.batch, shape.channels, shape.height, shape.width]);
  let total: Value | null = null;
  for (const t of terms) {
    const value = t.build(state);
    if (value.size !== 1) throw new Error(`loss term ${t.name} is not a scalar (${value})`);
    g.output(value, `term_${t.name}`);
    const weighted = mul(value, t.weight);
    total = total ? add(total, weighted) : weighted;
  }
  if (!total) throw new Error('graphLoss: no terms');
  const [grad] = gradients(total, [state]);
  g.output(total, 'loss');
  g.output(grad, 'grad');
  if (rank) g.output(rank(state), 'rank');
  const session = await Session.create(g, options);
  return {
    async evaluate(x, _shape, iteration) {
      const feeds: Record<string, TensorData> = { state: x };
      for (const t of terms) Object.assign(feeds, t.feeds?.(iteration));
      const out = await session.run(feeds);
      const logs: Record<string, number> = {};
      for (const t of terms) logs[t.name] = out[`term_${t.name}`][0] as number;
      return { loss: out.loss[0] as number, grad: out.grad as Float32Array, logs, perSample: out.rank as Float32Array | undefined };
    },
    release: () => session.release(),
  };
}

/** Several losses as one: losses, gradients and logs add up (each log name should come from one loss only). */
export function sumLosses(losses: Loss[]): Loss {
  return {
    async evaluate(x, shape, iteration) {
      const results = [];
      for (const loss of losses) results.push(await loss.evaluate(x, shape, iteration));
      const grad = results[0].grad;
      for (const r of results.slice(1)) for (let i = 0; i < grad.length; i++) grad[i] += r.grad[i];
      const logs: Record<string, number> = {};
      for (const r of results) for (const [name, v] of Object.entries(r.logs)) logs[name] = (logs[name] ?? 0) + v;
      return { loss: results.reduce((s, r) => s + r.loss, 0), grad, logs };
    },
    async release() {
      for (const loss of losses) await loss.release?.();
    },
  };
}

/**
 * The overflow penalty, mean |x - clamp(x, -1, 1)| over every state value
 * (the source method summed it, which made its weight depend on the grid size).
 */
export function overflowTerm(weight: number): LossTerm {
  return { name: 'overflow', weight, build: (x) => reduceMean(abs(sub(x, clip(x, -1, 1))), x.shape.map((_, i) => i), false) };
}
