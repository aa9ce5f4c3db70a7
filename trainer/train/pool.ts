/**
 * The sample pool: `size` states of one grid, [C, H, W] each, stored back to
 * back, with the loss each state had when it was written (Growing NCA ranks a
 * batch by it: the worst state makes way for a seed, the best get damaged).
 */
import { Rng } from '../../formats/random.ts';

/** Fraction of the run over which a growing pool reaches its full size. */
export const POOL_GROWTH = 0.3;

/**
 * How many pool slots iteration `it` samples from: `poolStart` at first,
 * growing linearly to `poolSize` over the first POOL_GROWTH of the run (no
 * growth without a poolStart). Why: in a large pool each state comes back only
 * every poolSize/batch iterations, so the overgrown states of the first
 * iterations would be trained on for hundreds of iterations and learning would
 * stall; a small pool flushes them fast while the model learns to grow, and
 * the full pool keeps older states later, which persistence needs.
 */
export function activePoolSize(c: { poolStart?: number; poolSize: number; iterations: number }, it: number): number {
  const start = c.poolStart ?? c.poolSize;
  const span = Math.max(1, Math.round(POOL_GROWTH * c.iterations));
  return it >= span ? c.poolSize : Math.round(start + ((c.poolSize - start) * it) / span);
}

export class Pool {
  constructor(
    readonly size: number,
    /** Floats per state (C * H * W). */
    readonly stateSize: number,
    readonly data: Float32Array = new Float32Array(size * stateSize),
    /** Infinity: not ranked yet. */
    readonly losses: Float32Array = new Float32Array(size).fill(Infinity),
  ) {
    if (data.length !== size * stateSize) throw new Error(`pool: ${data.length} values for ${size} x ${stateSize}`);
    if (losses.length !== size) throw new Error(`pool: ${losses.length} losses for ${size} states`);
  }

  /** The slots ordered worst first (highest loss; unranked ones first, in their given order). */
  worstFirst(slots: number[]): number[] {
    return slots.map((s, i) => [s, i]).sort((a, b) => this.losses[b[0]] - this.losses[a[0]] || a[1] - b[1]).map(([s]) => s);
  }

  /** `count` distinct slots, uniformly at random among the first `active` (all by default). */
  sample(count: number, rng: Rng, active = this.size): number[] {
    if (count > active || active > this.size) throw new Error(`pool: cannot sample ${count} of ${active} (size ${this.size})`);
    const chosen = new Set<number>();
    while (chosen.size < count) chosen.add(rng.int(0, active - 1));
    return [...chosen];
  }

  /** The states at `slots` as one [B, C, H, W] batch. */
  gather(slots: number[]): Float32Array {
    const out = new Float32Array(slots.length * this.stateSize);
    slots.forEach((s, b) => out.set(this.data.subarray(s * this.stateSize, (s + 1) * this.stateSize), b * this.stateSize));
    return out;
  }

  /** Writes a batch back; `losses` ([B]) ranks the states, else they stay unranked. */
  scatter(slots: number[], batch: Float32Array, losses?: Float32Array): void {
    slots.forEach((s, b) => {
      this.data.set(batch.subarray(b * this.stateSize, (b + 1) * this.stateSize), s * this.stateSize);
      this.losses[s] = losses ? losses[b] : Infinity;
    });
  }

  set(slot: number, state: Float32Array): void {
    this.data.set(state, slot * this.stateSize);
  }
}
