/**
 * Runs NCA rollouts forward and backward on onnxruntime.
 *
 * Two compiled graphs do all the work: one step forward, and one step's
 * vector-Jacobian product (made by autodiff), which recomputes that step's
 * hidden activations from its input state instead of storing them. Both come
 * in a few sizes, one per bucket of firing-cell counts (see firing.ts). The
 * forward pass keeps only every `segmentSteps`-th state; the backward pass
 * walks the segments from the last, recomputes the states inside a segment,
 * then runs the step VJPs back through it. Memory therefore grows with
 * channels x steps / segmentSteps, never with hidden width x steps.
 */
import type { Topology, Weights } from '../../formats/model.ts';
import { weightShapes } from '../../formats/model.ts';
import { Graph, type Value } from '../graph/graph.ts';
import { vjp } from '../autodiff/gradients.ts';
import { Session, type SessionOptions } from '../engine/session.ts';
import { ncaStep, prepareParams } from './step-graph.ts';
import { fakeQuantParams } from './fake-quant.ts';
import { firingCells } from './firing.ts';
import { batchSize, type BatchShape } from './layout.ts';

/** The trained tensors (the source method has no b2). */
export const WEIGHT_NAMES = ['w1', 'b1', 'w2'] as const;
export type WeightName = (typeof WEIGHT_NAMES)[number];

export interface RolloutOptions extends SessionOptions {
  /** Keep every n-th state in the forward pass (1 = keep all, no recomputation). Default 16. */
  segmentSteps?: number;
  /** Fake int8 quantisation of w1/w2 with straight-through gradients. */
  qat?: boolean;
}

/** Yields the [B, 1, H, W] 0/1 update mask of a step. */
export type MaskSource = (step: number) => Float32Array;

export interface Trajectory {
  steps: number;
  final: Float32Array;
  /** State before step k, for k = 0, n, 2n, ... */
  checkpoints: Map<number, Float32Array>;
}

export interface RolloutGradients {
  state: Float32Array;
  weights: Weights;
}

/** Memory the kept states may take before `autoSegmentSteps` switches to 16-step segments. */
export const KEEP_ALL_STATES_BUDGET = 1 << 30;

/**
 * Keep every state (no recomputation: one forward pass less per iteration)
 * when `maxSteps` states of the batch fit in 1 GiB, else 16-step segments (the
 * source method's checkpoint interval). 128x128, batch 4, 95 steps: 300 MB.
 */
export function autoSegmentSteps(shape: BatchShape, maxSteps: number): number {
  return maxSteps * batchSize(shape) * 4 <= KEEP_ALL_STATES_BUDGET ? 1 : 16;
}

export class NcaRollout {
  private readonly graphs = new Map<string, Promise<Session>>();

  private constructor(
    readonly topology: Topology,
    readonly shape: BatchShape,
    readonly segmentSteps: number,
    private readonly qat: boolean,
    private readonly sessionOptions: SessionOptions,
  ) {}

  static async create(topology: Topology, shape: Omit<BatchShape, 'channels'>, options: RolloutOptions = {}): Promise<NcaRollout> {
    const every = options.segmentSteps ?? 16;
    if (!Number.isInteger(every) || every < 1) throw new Error(`segmentSteps must be a positive integer, got ${every}`);
    const rollout = new NcaRollout(topology, { ...shape, channels: topology.channels }, every, options.qat ?? false, {
      device: options.device,
      threads: options.threads,
    });
    await rollout.session(rollout.shape.batch * shape.height * shape.width, false); // fail early on a bad device
    return rollout;
  }

  async step(state: Float32Array, weights: Weights, mask: Float32Array): Promise<Float32Array> {
    const f = firingCells(mask);
    const session = await this.session(f.capacity, false);
    const out = await session.run({ x: state, cells: f.cells, ...this.weightFeeds(weights) });
    return out.y as Float32Array;
  }

  async forward(state: Float32Array, weights: Weights, masks: MaskSource, steps: number): Promise<Trajectory> {
    const checkpoints = new Map<number, Float32Array>();
    let x = state;
    for (let k = 0; k < steps; k++) {
      if (k % this.segmentSteps === 0) checkpoints.set(k, x);
      x = await this.step(x, weights, masks(k));
    }
    return { steps, final: x, checkpoints };
  }

  /** dL/d(initial state) and dL/d(weights), given dL/d(final state). */
  async backward(trajectory: Trajectory, weights: Weights, masks: MaskSource, gradFinal: Float32Array): Promise<RolloutGradients> {
    const feeds = this.weightFeeds(weights);
    const sums = Object.fromEntries(WEIGHT_NAMES.map((n) => [n, new Float64Array(feeds[n].length)]));
    let g = gradFinal;
    const starts = [...trajectory.checkpoints.keys()].sort((a, b) => b - a);
    for (const start of starts) {
      const end = Math.min(start + this.segmentSteps, trajectory.steps);
      const states = [trajectory.checkpoints.get(start)!];
      for (let k = start; k < end - 1; k++) states.push(await this.step(states[states.length - 1], weights, masks(k)));
      for (let k = end - 1; k >= start; k--) {
        const f = firingCells(masks(k));
        const session = await this.session(f.capacity, true);
        const out = await session.run({ x: states[k - start], cells: f.cells, gy: g, ...feeds });
        g = out.gx as Float32Array;
        for (const n of WEIGHT_NAMES) {
          const d = out[`d_${n}`] as Float32Array;
          const s = sums[n];
          for (let i = 0; i < d.length; i++) s[i] += d[i];
        }
      }
    }
    const grads = Object.fromEntries(Object.entries(sums).map(([n, s]) => [n, Float32Array.from(s)])) as unknown as Weights;
    return { state: g, weights: grads };
  }

  private session(capacity: number, withGradient: boolean): Promise<Session> {
    const key = `${capacity}/${withGradient}`;
    let s = this.graphs.get(key);
    if (!s) {
      s = Session.create(stepGraph(this.topology, this.shape, this.qat, capacity, withGradient), this.sessionOptions);
      this.graphs.set(key, s);
    }
    return s;
  }

  private weightFeeds(weights: Weights): Record<string, Float32Array> {
    const feeds: Record<string, Float32Array> = {};
    for (const n of WEIGHT_NAMES) {
      const w = weights[n];
      if (!w) throw new Error(`weights: missing ${n}`);
      feeds[n] = w;
    }
    return feeds;
  }

  async release(): Promise<void> {
    await Promise.all([...this.graphs.values()].map(async (s) => (await s).release()));
    this.graphs.clear();
  }
}

/** One step y = step(x), or (withGradient) its VJP: gx and d_<weight> from gy. */
function stepGraph(topology: Topology, s: BatchShape, qat: boolean, capacity: number, withGradient: boolean): Graph {
  const g = new Graph(withGradient ? 'nca_step_vjp' : 'nca_step');
  const x = g.input('x', [s.batch, s.channels, s.height, s.width]);
  const cells = g.input('cells', [capacity], 'int32');
  const shapes = weightShapes(topology);
  const params = Object.fromEntries(WEIGHT_NAMES.map((n) => [n, g.input(n, shapes[n])])) as Record<WeightName, Value>;
  const y = ncaStep(x, cells, prepareParams(qat ? fakeQuantParams(params) : params), topology);
  if (!withGradient) {
    g.output(y, 'y');
    return g;
  }
  const gy = g.input('gy', y.shape);
  const [gx, ...gw] = vjp([y], [gy], [x, ...WEIGHT_NAMES.map((n) => params[n])]);
  g.output(gx, 'gx');
  WEIGHT_NAMES.forEach((n, i) => g.output(gw[i], `d_${n}`));
  return g;
}
