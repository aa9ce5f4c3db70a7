/**
 * Runs NCA rollouts forward and backward on onnxruntime.
 *
 * Two compiled graphs do all the work, each in a few sizes (one per bucket of
 * firing-cell counts, see firing.ts):
 * - the step: the firing cells' updates [K, C] (added to the state here, in
 *   place) and their perception feature rows [K, C * F + 1] (a column of ones
 *   appended, step-graph.ts `withOnes`);
 * - the step's vector-Jacobian product (written out, step-graph.ts `stepVjp`).
 *   It takes those features instead of the state and recomputes the hidden
 *   activations from them; perception is linear, so its own VJP needs no
 *   forward values at all.
 *
 * The forward pass keeps every step's record (features, firing cells and, for
 * v1.1 models, the alive/clamp factor `pass`, see living.ts) when they fit
 * (segmentSteps 1), or the state at the start of every `segmentSteps`-step
 * segment, which the backward pass replays to get the records back. States travel cell-major
 * ([B * H * W, C], layout.ts, and one zero sink row, step-graph.ts) between steps; forward,
 * step and backward take and give [B, C, H, W]. Memory grows with
 * (C * F) x steps or C x steps / segmentSteps, never with hidden width x steps.
 */
import { perceptionSize, weightShapes, type Topology, type Weights } from '../../formats/model.ts';
import { Graph, type Value } from '../graph/graph.ts';
import { cast, mul } from '../graph/ops.ts';
import { Session, type SessionOptions } from '../engine/session.ts';
import { firingFeatures, joinBias, splitBias, stepVjp, updateRows, withOnes, type StepParams } from './step-graph.ts';
import { int8RoundTrip } from './fake-quant.ts';
import { firingCells, neighbourhoods, neighbourTable, type FiringCells } from './firing.ts';
import { batchSize, fromCells, toCells, type BatchShape } from './layout.ts';
import { aliveRows, hasLivingRules, nearAlive, settle } from './living.ts';

/** The trained tensors (the source method has no b2). */
export const WEIGHT_NAMES = ['w1', 'b1', 'w2'] as const;

/** The weights as the step graphs take them (step-graph.ts `StepParams`). */
interface WeightFeeds {
  w1b: Float32Array;
  w2: Float32Array;
}

export interface RolloutOptions extends SessionOptions {
  /** 1: keep every step's features (no recomputation); n > 1: keep every n-th state. Default 16. */
  segmentSteps?: number;
  /** Fake int8 quantisation of w1/w2 with straight-through gradients. */
  qat?: boolean;
}

/** Yields the [B, 1, H, W] 0/1 update mask of a step. */
export type MaskSource = (step: number) => Float32Array;

/** What the backward pass needs of one step. */
export interface StepRecord {
  /** The cells that computed an update: masked, and (alive masking) alive before the step. */
  firing: FiringCells & { neighbours: Int32Array };
  /** Their perception feature rows, with the column of ones [K, C * F + 1]. */
  features: Float32Array;
  /** v1.1 models: d(state after)/d(state before alive masking and clamp), 0 or 1 per value [B * H * W, C]. */
  pass?: Uint8Array;
}

export interface Trajectory {
  steps: number;
  /** [B, C, H, W] */
  final: Float32Array;
  /** The state before the last step, [B, C, H, W] (what the last step changed: the settling loss, trainer/train/settle.ts). */
  previous: Float32Array;
  /** With segmentSteps > 1: the state before step k, for k = 0, n, 2n, ..., cell-major (layout.ts). */
  checkpoints: Map<number, Float32Array>;
  /** With segmentSteps = 1: every step's record. */
  records: StepRecord[];
}

export interface RolloutGradients {
  state: Float32Array;
  weights: Weights;
}

/** Memory the kept features may take before `autoSegmentSteps` switches to 16-step segments. */
export const KEEP_ALL_BUDGET = 1 << 30;

/**
 * Keep every step's features (no recomputation: one forward pass less per
 * iteration) when `maxSteps` of them fit in 1 GiB, else 16-step segments (the
 * source method's checkpoint interval). 128x128, batch 4, 95 steps: 600 MB.
 */
export function autoSegmentSteps(topology: Topology, shape: Omit<BatchShape, 'channels'>, maxSteps: number): number {
  const cells = shape.batch * shape.height * shape.width;
  // bytes: float features, one byte of `pass` per value
  const perStep = 4 * cells * topology.fireRate * (perceptionSize(topology) + 1) + (hasLivingRules(topology) ? cells * topology.channels : 0);
  return maxSteps * perStep <= KEEP_ALL_BUDGET ? 1 : 16;
}

export class NcaRollout {
  private readonly graphs = new Map<string, Promise<Session>>();
  private readonly cellLists = new WeakMap<Float32Array, FiringCells & { neighbours: Int32Array }>();
  private readonly living: boolean;
  private readonly neighbourTable: Int32Array;

  private constructor(
    readonly topology: Topology,
    readonly shape: BatchShape,
    readonly segmentSteps: number,
    private readonly qat: boolean,
    private readonly sessionOptions: SessionOptions,
  ) {
    this.living = hasLivingRules(topology);
    this.neighbourTable = neighbourTable(shape, topology.padding);
  }

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
    const x = toCells(state, this.shape, 1);
    await this.stepInPlace(x, this.weightFeeds(weights), mask);
    return fromCells(x, this.shape);
  }

  async forward(state: Float32Array, weights: Weights, masks: MaskSource, steps: number): Promise<Trajectory> {
    const checkpoints = new Map<number, Float32Array>();
    const records: StepRecord[] = [];
    const feeds = this.weightFeeds(weights);
    const x = toCells(state, this.shape, 1);
    let previous = x;
    for (let k = 0; k < steps; k++) {
      if (this.segmentSteps > 1 && k % this.segmentSteps === 0) checkpoints.set(k, x.slice());
      if (k === steps - 1) previous = x.slice();
      const record = await this.stepInPlace(x, feeds, masks(k));
      if (this.segmentSteps === 1) records.push(record);
    }
    return { steps, final: fromCells(x, this.shape), previous: fromCells(previous, this.shape), checkpoints, records };
  }

  /** `steps` steps keeping no record (no gradient will be asked for): a long run in constant memory. */
  async advance(state: Float32Array, weights: Weights, masks: MaskSource, steps: number): Promise<Float32Array> {
    const feeds = this.weightFeeds(weights);
    const x = toCells(state, this.shape, 1);
    for (let k = 0; k < steps; k++) await this.stepInPlace(x, feeds, masks(k));
    return fromCells(x, this.shape);
  }

  /**
   * dL/d(initial state) and dL/d(weights), given dL/d(final state) and, where the loss also reads
   * the state before the last step (trajectory.previous), dL/d(that state), added in there.
   */
  async backward(trajectory: Trajectory, weights: Weights, masks: MaskSource, gradFinal: Float32Array, gradPrevious?: Float32Array): Promise<RolloutGradients> {
    const feeds = this.weightFeeds(weights);
    const dw1b = new Float64Array(feeds.w1b.length);
    const dw2 = new Float64Array(feeds.w2.length);
    let g = toCells(gradFinal, this.shape, 1);
    const sink = batchSize(this.shape);
    for (let end = trajectory.steps; end > 0; ) {
      const start = end - 1 - ((end - 1) % this.segmentSteps);
      const records = this.segmentSteps === 1 ? [trajectory.records[start]] : await this.replay(trajectory.checkpoints.get(start)!, start, end, feeds, masks);
      for (let k = end - 1; k >= start; k--) {
        const { firing: f, features, pass } = records[k - start];
        const session = await this.session(f.capacity, true);
        const [gx, d1, d2] = await session.runList({ features, cells: f.cells, neighbours: f.neighbours, gy: g, ...(pass ? { pass } : {}), ...feeds });
        g = gx as Float32Array;
        g.fill(0, sink); // the sink row collected what went off the grid
        if (gradPrevious && k === trajectory.steps - 1) addInto(g, toCells(gradPrevious, this.shape, 1));
        addInto(dw1b, d1 as Float32Array);
        addInto(dw2, d2 as Float32Array);
      }
      end = start;
    }
    return { state: fromCells(g, this.shape), weights: { ...splitBias(dw1b, this.topology.hidden), w2: Float32Array.from(dw2) } };
  }

  /** The records of steps [start, end), replayed from the state before `start`. */
  private async replay(state: Float32Array, start: number, end: number, feeds: WeightFeeds, masks: MaskSource): Promise<StepRecord[]> {
    const records: StepRecord[] = [];
    const x = state.slice();
    for (let k = start; k < end; k++) records.push(await this.stepInPlace(x, feeds, masks(k)));
    return records;
  }

  /**
   * One step of the cell-major `state`, in place; returns what its backward step needs. The graph
   * gives the firing cells' updates, added here: a copy of the whole state out of onnxruntime at
   * every step cost more than the adds (docs/performance.md "Session 20").
   */
  private async stepInPlace(state: Float32Array, feeds: WeightFeeds, mask: Float32Array): Promise<StepRecord> {
    // Cells more than 2 cells from life are zeroed after the step whatever their update, and nothing reads it: they skip the network.
    const before = this.living ? aliveRows(state, this.shape, this.topology) : null;
    const firing = before && this.topology.alive ? this.cellList(mask, nearAlive(before, this.shape, this.topology)) : this.firing(mask);
    const session = await this.session(firing.capacity, false);
    const [updates, features] = await session.runList({ x: state, neighbours: firing.neighbours, ...feeds });
    addRows(state, firing, updates as Float32Array, this.shape.channels);
    const record: StepRecord = { firing, features: features as Float32Array };
    if (before) record.pass = settle(state, before, this.shape, this.topology);
    return record;
  }

  /** A step's cell lists, kept as long as its mask is (a MaskSource returns the same array forward and backward). */
  private firing(mask: Float32Array): FiringCells & { neighbours: Int32Array } {
    let f = this.cellLists.get(mask);
    if (!f) {
      f = this.cellList(mask);
      this.cellLists.set(mask, f);
    }
    return f;
  }

  /** The firing cells of `mask`; with `keep` (alive masking) only where it is set too, and K bucketed for counts that vary. */
  private cellList(mask: Float32Array, keep?: Uint8Array): FiringCells & { neighbours: Int32Array } {
    const cells = firingCells(mask, keep !== undefined, keep);
    return { ...cells, neighbours: neighbourhoods(cells, this.neighbourTable) };
  }

  private session(capacity: number, withGradient: boolean): Promise<Session> {
    const key = `${capacity}/${withGradient}`;
    let s = this.graphs.get(key);
    if (!s) {
      s = Session.create(stepGraph(this.topology, this.shape, capacity, withGradient, this.living), this.sessionOptions);
      this.graphs.set(key, s);
    }
    return s;
  }

  /** The step graphs' weight inputs (w1 and b1 joined, step-graph.ts `StepParams`); with QAT, w1 and w2 as the int8 file holds them (fake-quant.ts). */
  private weightFeeds(weights: Weights): WeightFeeds {
    const shapes = weightShapes(this.topology);
    for (const n of WEIGHT_NAMES) {
      const expected = shapes[n].reduce((a, b) => a * b, 1);
      if (!weights[n]) throw new Error(`weights: missing ${n}`);
      if (weights[n].length !== expected) throw new Error(`weights: ${n} has ${weights[n].length} values, expected ${expected} ([${shapes[n].join(', ')}])`);
    }
    const fed = this.qat ? int8RoundTrip(weights, this.topology) : weights;
    return { w1b: joinBias(fed.w1, fed.b1), w2: fed.w2 };
  }

  async release(): Promise<void> {
    await Promise.all([...this.graphs.values()].map(async (s) => (await s).release()));
    this.graphs.clear();
  }
}

/** state[cells[k]] += updates[k] for the real (not padding) entries; rows of `channels` values. */
function addRows(state: Float32Array, f: FiringCells, updates: Float32Array, channels: number): void {
  for (let k = 0; k < f.count; k++) {
    const to = f.cells[k] * channels;
    const from = k * channels;
    for (let c = 0; c < channels; c++) state[to + c] += updates[from + c];
  }
}

/** sum += add, elementwise. */
function addInto(sum: Float32Array | Float64Array, add: Float32Array): void {
  for (let i = 0; i < sum.length; i++) sum[i] += add[i];
}

/**
 * The step (outputs the firing cells' updates and features), or (withGradient) its
 * VJP (step-graph.ts `stepVjp`): gx, d_w1b and d_w2 from gy and the stored
 * features, and for v1.1 models (`living`) the alive/clamp factor `pass`, by
 * which gy is multiplied first. States are [N + 1, C]: the cells and the sink row. Outputs keep their node names (read in order
 * with `runList`): a renamed output costs an Identity copy, 0.85 ms per step for the features.
 */
function stepGraph(topology: Topology, s: BatchShape, capacity: number, withGradient: boolean, living: boolean): Graph {
  const g = new Graph(withGradient ? 'nca_step_vjp' : 'nca_step');
  const stateShape = [s.batch * s.height * s.width + 1, s.channels]; // the cells and the sink row (step-graph.ts)
  const neighbours = g.input('neighbours', [capacity * 9], 'int32');
  const features = perceptionSize(topology);
  const params: StepParams = { w1b: g.input('w1b', [topology.hidden, features + 1]), w2: g.input('w2', weightShapes(topology).w2) };
  if (!withGradient) {
    const rows = withOnes(firingFeatures(g.input('x', stateShape), neighbours, topology));
    g.output(updateRows(rows, params));
    g.output(rows);
    return g;
  }
  const cells = g.input('cells', [capacity], 'int32');
  const rows = g.input('features', [capacity, features + 1]);
  const gy = living ? mul(g.input('gy', stateShape), cast(g.input('pass', stateShape, 'uint8'), 'float32')) : g.input('gy', stateShape);
  const d = stepVjp({ gy, cells, neighbours, rows }, params, topology);
  for (const out of [d.dx, d.dw1b, d.dw2]) g.output(out);
  return g;
}
