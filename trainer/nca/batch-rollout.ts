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
 * A slot's masks come from its own seed and a slot's states never mix with
 * another's, so the split changes no state; the weight gradients are the parts'
 * sums added in part order (the split changes only their rounding).
 */
import os from 'node:os';
import type { Topology, Weights } from '../../formats/model.ts';
import { moduleBeside, startWorker } from '../engine/module-worker.ts';
import { resolveDevice, checkDevice } from '../engine/session.ts';
import type { BatchShape } from './layout.ts';
import { RolloutPart, type PartSpec } from './rollout-part.ts';
import type { RolloutGradients, RolloutOptions } from './rollout.ts';

interface Part {
  /** The first slot and the number of slots this part runs. */
  from: number;
  batch: number;
  call(method: 'forward' | 'backward' | 'advance' | 'previous', args: unknown[]): Promise<unknown>;
  close(): Promise<void>;
}

/** Parts for `batch` slots on `threads` CPU threads: as many as threads, at most one per slot; one on other devices. */
export function partCount(batch: number, options: RolloutOptions): number {
  const device = resolveDevice(checkDevice(options.device ?? 'cpu'));
  return device === 'cpu' ? Math.max(1, Math.min(batch, options.threads ?? os.availableParallelism())) : 1;
}

export class BatchRollout {
  private constructor(
    private readonly parts: Part[],
    readonly shape: BatchShape,
  ) {}

  static async create(topology: Topology, shape: Omit<BatchShape, 'channels'>, options: RolloutOptions = {}): Promise<BatchRollout> {
    const n = partCount(shape.batch, options);
    const threads = Math.max(1, Math.floor((options.threads ?? os.availableParallelism()) / n));
    const specs = Array.from({ length: n }, (_, i) => {
      const from = Math.floor((i * shape.batch) / n);
      const batch = Math.floor(((i + 1) * shape.batch) / n) - from;
      const spec: PartSpec = { topology, shape: { ...shape, batch }, options: { ...options, threads: n > 1 ? threads : options.threads } };
      return { from, spec };
    });
    const made = await Promise.allSettled(specs.map(({ from, spec }) => (n === 1 ? localPart(from, spec) : workerPart(from, spec))));
    const parts = made.flatMap((m) => (m.status === 'fulfilled' ? [m.value] : []));
    const failed = made.find((m) => m.status === 'rejected');
    if (failed) {
      await Promise.all(parts.map((p) => p.close()));
      throw failed.reason;
    }
    return new BatchRollout(parts, { ...shape, channels: topology.channels });
  }

  /** How many parts the batch is split into (1: in-process). */
  get partCount(): number {
    return this.parts.length;
  }

  /** `steps` steps from `state` [B, C, H, W], slot b with the masks of `seeds[b]`; the final state. Keeps the trajectory for `backward`. */
  forward(state: Float32Array, weights: Weights, seeds: number[], steps: number): Promise<Float32Array> {
    return this.stepped('forward', state, weights, seeds, steps);
  }

  /** The state before the last step of the last forward pass, [B, C, H, W]. */
  async previous(): Promise<Float32Array> {
    return this.joined(await Promise.all(this.parts.map((p) => p.call('previous', []))));
  }

  /**
   * dL/d(initial state) and dL/d(weights) of the last forward pass, given dL/d(its final state)
   * and, when the loss also read `previous()`, dL/d(that state).
   */
  async backward(weights: Weights, gradFinal: Float32Array, gradPrevious?: Float32Array): Promise<RolloutGradients> {
    // always three arguments: a worker appends its event callback after them
    const args = (p: Part) => [weights, this.slice(gradFinal, p), gradPrevious && this.slice(gradPrevious, p)];
    const grads = (await Promise.all(this.parts.map((p) => p.call('backward', args(p))))) as RolloutGradients[];
    const sum = grads[0].weights;
    for (const g of grads.slice(1)) {
      for (const [name, d] of Object.entries(g.weights) as [keyof Weights, Float32Array | undefined][]) {
        const s = sum[name];
        if (!s || !d) continue;
        for (let i = 0; i < s.length; i++) s[i] += d[i];
      }
    }
    return { state: this.joined(grads.map((g) => g.state)), weights: sum };
  }

  /** `steps` steps keeping no record (pool ageing). */
  advance(state: Float32Array, weights: Weights, seeds: number[], steps: number): Promise<Float32Array> {
    return this.stepped('advance', state, weights, seeds, steps);
  }

  async release(): Promise<void> {
    await Promise.all(this.parts.map((p) => p.close()));
  }

  private async stepped(method: 'forward' | 'advance', state: Float32Array, weights: Weights, seeds: number[], steps: number): Promise<Float32Array> {
    if (seeds.length !== this.shape.batch) throw new Error(`rollout: ${this.shape.batch} slots need ${this.shape.batch} mask seeds, got ${seeds.length}`);
    return this.joined(await Promise.all(this.parts.map((p) => p.call(method, [this.slice(state, p), weights, seeds.slice(p.from, p.from + p.batch), steps]))));
  }

  private slice(batch: Float32Array, part: Part): Float32Array {
    const size = this.shape.channels * this.shape.height * this.shape.width;
    return batch.slice(part.from * size, (part.from + part.batch) * size);
  }

  private joined(pieces: unknown[]): Float32Array {
    if (pieces.length === 1) return pieces[0] as Float32Array;
    const out = new Float32Array(pieces.reduce((n: number, p) => n + (p as Float32Array).length, 0));
    let at = 0;
    for (const p of pieces as Float32Array[]) {
      out.set(p, at);
      at += p.length;
    }
    return out;
  }
}

async function localPart(from: number, spec: PartSpec): Promise<Part> {
  const part = await RolloutPart.create(spec);
  return {
    from,
    batch: spec.shape.batch,
    call: (method, args) => (part[method] as (...a: unknown[]) => Promise<unknown>).apply(part, args),
    close: () => part.release(),
  };
}

/** A part in a worker thread (rollout-worker.ts). */
async function workerPart(from: number, spec: PartSpec): Promise<Part> {
  const worker = await startWorker(moduleBeside(import.meta.url, 'rollout-worker'), spec, `rollout worker for slots ${from}-${from + spec.shape.batch - 1}`);
  return { from, batch: spec.shape.batch, call: (method, args) => worker.call(method, args), close: () => worker.close() };
}
