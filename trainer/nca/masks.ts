/**
 * Update masks for a batch: slot b uses the `.nca` contract's counter-based
 * mask (formats/reference-core.ts standardMask) with its own seed, so a run
 * repeats exactly and any rollout can be replayed by the reference core.
 */
import type { Topology } from '../../formats/model.ts';
import { standardMask } from '../../formats/reference-core.ts';
import { hash32 } from '../../formats/random.ts';
import type { MaskSource } from './rollout.ts';

/** The mask seed of batch slot `slot` in training iteration `iteration` of a run seeded `runSeed`. */
export function maskSeed(runSeed: number, iteration: number, slot: number): number {
  return hash32((hash32((runSeed ^ 0x5eed) >>> 0) + iteration * 1024 + slot) >>> 0);
}

/** [B, 1, H, W] masks per step, computed once per step and cached (forward and backward share them). */
export function batchMasks(topology: Topology, grid: { width: number; height: number }, seeds: number[]): MaskSource {
  const cache = new Map<number, Float32Array>();
  const plane = grid.width * grid.height;
  return (step) => {
    let m = cache.get(step);
    if (!m) {
      m = new Float32Array(seeds.length * plane);
      seeds.forEach((seed, b) => m!.set(standardMask(topology, grid, seed, step), b * plane));
      cache.set(step, m);
    }
    return m;
  };
}
