/** The sample pool: `size` states of one grid, [C, H, W] each, stored back to back. */
import { Rng } from '../../formats/random.ts';

export class Pool {
  constructor(
    readonly size: number,
    /** Floats per state (C * H * W). */
    readonly stateSize: number,
    readonly data: Float32Array = new Float32Array(size * stateSize),
  ) {
    if (data.length !== size * stateSize) throw new Error(`pool: ${data.length} values for ${size} x ${stateSize}`);
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

  scatter(slots: number[], batch: Float32Array): void {
    slots.forEach((s, b) => this.data.set(batch.subarray(b * this.stateSize, (b + 1) * this.stateSize), s * this.stateSize));
  }

  set(slot: number, state: Float32Array): void {
    this.data.set(state, slot * this.stateSize);
  }
}
