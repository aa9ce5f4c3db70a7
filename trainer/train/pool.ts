/**
 * The sample pool: `size` states of one grid, [C, H, W] each, stored back to
 * back, with the loss each state had when it was written (Growing NCA ranks a
 * batch by it: the worst state makes way for a seed, the best get damaged).
 */
import { Rng } from '../../formats/random.ts';

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

  /** `count` distinct slots, uniformly at random. */
  sample(count: number, rng: Rng): number[] {
    if (count > this.size) throw new Error(`pool: cannot sample ${count} of ${this.size}`);
    const chosen = new Set<number>();
    while (chosen.size < count) chosen.add(rng.int(0, this.size - 1));
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
