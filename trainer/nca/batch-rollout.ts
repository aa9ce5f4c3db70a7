/**
 * A training batch's rollout, split by slots across worker threads.
 *
 * Why: onnxruntime-node runs a session on the calling thread, and on living grids
 * (48x48, batch 8) its intra-op threads do not help: an iteration took as long on 2
 * threads as on 1. Half the batch on each of 2 worker threads took 0.51-0.63x the time
 * (docs/performance.md). So `threads` CPU threads become min(threads, batch)
 * parts, each a RolloutPart (rollout-part.ts) with threads / parts intra-op
 * threads in its own worker (rollout-worker.ts); a batch that is not split runs in-process.
 *
 * With alive masking a slot costs about its live cells (dead ones skip the
 * network), and a batch mixes a one-cell seed, damaged states and overgrown ones:
 * with contiguous halves one worker was idle 29 % of a run's first 100 iterations, the other 9 %.
 * So each forward pass deals the slots out by their live cells (`assignSlots`).
 *
 * A slot's masks come from its own seed and a slot's states never mix with
 * another's, so the split changes no state; the weight gradients are the parts'
 * sums added in part order (the split changes only their rounding).
 */
import os from 'node:os';
import type { Topology, Weights } from '../../formats/model.ts';
import { moduleBeside, startWorker } from '../engine/module-worker.ts';
import { resolveDevice, checkDevice } from '../engine/session.ts';
import type { BatchShape } from './layout.ts';
import { liveCells } from './living.ts';
import { RolloutPart, type PartSpec } from './rollout-part.ts';
import type { RolloutGradients, RolloutOptions } from './rollout.ts';

interface Part {
  /** The number of slots this part runs. */
  batch: number;
  call(method: 'forward' | 'backward' | 'advance' | 'previous', args: unknown[]): Promise<unknown>;
  close(): Promise<void>;
}

/** Parts for `batch` slots on `threads` CPU threads: as many as threads, at most one per slot; one on other devices. */
export function partCount(batch: number, options: RolloutOptions): number {
  const device = resolveDevice(checkDevice(options.device ?? 'cpu'));
  return device === 'cpu' ? Math.max(1, Math.min(batch, options.threads ?? os.availableParallelism())) : 1;
}

/**
 * Which batch slots each part runs, given each slot's cost and each part's size:
 * heaviest first, each to the part with the least cost so far that has room (ties:
 * the first such part). Each part's slots are in increasing order.
 */
export function assignSlots(costs: number[], sizes: number[]): number[][] {
  const parts = sizes.map(() => [] as number[]);
  const load = sizes.map(() => 0);
  const heaviestFirst = costs.map((_, slot) => slot).sort((a, b) => costs[b] - costs[a] || a - b);
  for (const slot of heaviestFirst) {
    let best = -1;
    for (let p = 0; p < sizes.length; p++) if (parts[p].length < sizes[p] && (best < 0 || load[p] < load[best])) best = p;
    parts[best].push(slot);
    load[best] += costs[slot];
  }
  return parts.map((slots) => slots.sort((a, b) => a - b));
}

export class BatchRollout {
  /** The slots of the last forward pass, per part (its backward pass needs the same split). */
  private forwardSlots: number[][] | null = null;

  private constructor(
    private readonly parts: Part[],
    readonly topology: Topology,
    readonly shape: BatchShape,
  ) {}

  static async create(topology: Topology, shape: Omit<BatchShape, 'channels'>, options: RolloutOptions = {}): Promise<BatchRollout> {
    const n = partCount(shape.batch, options);
    const threads = Math.max(1, Math.floor((options.threads ?? os.availableParallelism()) / n));
    const specs = Array.from({ length: n }, (_, i): PartSpec => {
      const batch = Math.floor(((i + 1) * shape.batch) / n) - Math.floor((i * shape.batch) / n);
      return { topology, shape: { ...shape, batch }, options: { ...options, threads: n > 1 ? threads : options.threads } };
    });
    const made = await Promise.allSettled(specs.map((spec, i) => (n === 1 ? localPart(spec) : workerPart(`rollout worker ${i + 1} of ${n}`, spec))));
    const parts = made.flatMap((m) => (m.status === 'fulfilled' ? [m.value] : []));
    const failed = made.find((m) => m.status === 'rejected');
    if (failed) {
      await Promise.all(parts.map((p) => p.close()));
      throw failed.reason;
    }
    return new BatchRollout(parts, topology, { ...shape, channels: topology.channels });
  }

  /** How many parts the batch is split into (1: in-process). */
  get partCount(): number {
    return this.parts.length;
  }

  /** `steps` steps from `state` [B, C, H, W], slot b with the masks of `seeds[b]`; the final state. Keeps the trajectory for `backward`. */
  async forward(state: Float32Array, weights: Weights, seeds: number[], steps: number): Promise<Float32Array> {
    this.forwardSlots = null; // a failed forward pass must not leave the previous split for backward
    const slots = this.split(state);
    const final = await this.stepped('forward', slots, state, weights, seeds, steps);
    this.forwardSlots = slots;
    return final;
  }

  /** The state before the last step of the last forward pass, [B, C, H, W]. */
  async previous(): Promise<Float32Array> {
    const slots = this.lastForward();
    return this.joined(slots, await Promise.all(this.parts.map((p) => p.call('previous', []))));
  }

  /**
   * dL/d(initial state) and dL/d(weights) of the last forward pass, given dL/d(its final state)
   * and, when the loss also read `previous()`, dL/d(that state).
   */
  async backward(weights: Weights, gradFinal: Float32Array, gradPrevious?: Float32Array): Promise<RolloutGradients> {
    const slots = this.lastForward();
    // always three arguments: a worker appends its event callback after them
    const args = (i: number) => [weights, this.taken(gradFinal, slots[i]), gradPrevious && this.taken(gradPrevious, slots[i])];
    const grads = (await Promise.all(this.parts.map((p, i) => p.call('backward', args(i))))) as RolloutGradients[];
    const sum = grads[0].weights;
    for (const g of grads.slice(1)) {
      for (const [name, d] of Object.entries(g.weights) as [keyof Weights, Float32Array | undefined][]) {
        const s = sum[name];
        if (!s || !d) continue;
        for (let i = 0; i < s.length; i++) s[i] += d[i];
      }
    }
    return { state: this.joined(slots, grads.map((g) => g.state)), weights: sum };
  }

  /** `steps` steps keeping no record (pool ageing). */
  advance(state: Float32Array, weights: Weights, seeds: number[], steps: number): Promise<Float32Array> {
    return this.stepped('advance', this.split(state), state, weights, seeds, steps);
  }

  async release(): Promise<void> {
    await Promise.all(this.parts.map((p) => p.close()));
  }

  private lastForward(): number[][] {
    if (!this.forwardSlots) throw new Error('rollout: backward() or previous() without a forward() before it');
    return this.forwardSlots;
  }

  /** The slots of each part for `state`: balanced by live cells with alive masking, else contiguous. */
  private split(state: Float32Array): number[][] {
    const sizes = this.parts.map((p) => p.batch);
    const alive = this.topology.alive;
    if (!alive || this.parts.length === 1) {
      let from = 0;
      return sizes.map((n) => Array.from({ length: n }, () => from++));
    }
    const costs = Array.from({ length: this.shape.batch }, (_, b) => liveCells(state, this.shape, alive, b));
    return assignSlots(costs, sizes);
  }

  private async stepped(method: 'forward' | 'advance', slots: number[][], state: Float32Array, weights: Weights, seeds: number[], steps: number): Promise<Float32Array> {
    if (seeds.length !== this.shape.batch) throw new Error(`rollout: ${this.shape.batch} slots need ${this.shape.batch} mask seeds, got ${seeds.length}`);
    const results = await Promise.all(this.parts.map((p, i) => p.call(method, [this.taken(state, slots[i]), weights, slots[i].map((b) => seeds[b]), steps])));
    return this.joined(slots, results);
  }

  /** The given slots of a [B, C, H, W] batch, in that order. */
  private taken(batch: Float32Array, slots: number[]): Float32Array {
    const size = this.shape.channels * this.shape.height * this.shape.width;
    const out = new Float32Array(slots.length * size);
    slots.forEach((b, i) => out.set(batch.subarray(b * size, (b + 1) * size), i * size));
    return out;
  }

  /** The parts' [b, C, H, W] results put back at their slots. */
  private joined(slots: number[][], pieces: unknown[]): Float32Array {
    if (pieces.length === 1) return pieces[0] as Float32Array;
    const size = this.shape.channels * this.shape.height * this.shape.width;
    const out = new Float32Array(this.shape.batch * size);
    (pieces as Float32Array[]).forEach((piece, p) => slots[p].forEach((b, i) => out.set(piece.subarray(i * size, (i + 1) * size), b * size)));
    return out;
  }
}

async function localPart(spec: PartSpec): Promise<Part> {
  const part = await RolloutPart.create(spec);
  return {
    batch: spec.shape.batch,
    call: (method, args) => (part[method] as (...a: unknown[]) => Promise<unknown>).apply(part, args),
    close: () => part.release(),
  };
}

/** A part in a worker thread (rollout-worker.ts), named in its errors. */
async function workerPart(name: string, spec: PartSpec): Promise<Part> {
  const worker = await startWorker(moduleBeside(import.meta.url, 'rollout-worker'), spec, name);
  return { batch: spec.shape.batch, call: (method, args) => worker.call(method, args), close: () => worker.close() };
}
