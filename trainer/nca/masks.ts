/**
 * Update masks for a batch: slot b uses the `.nca` contract's counter-based
 * mask (formats/SPEC.md §7, the reference core's standardMask) with its own
 * seed, so a run repeats exactly and any rollout can be replayed by the reference core.
 */
import type { Topology } from '../../formats/model.ts';
import { hash32, STREAM_MASK } from '../../formats/random.ts';
import type { MaskSource } from './rollout.ts';

/** The mask seed of batch slot `slot` in training iteration `iteration` of a run seeded `runSeed`. */
export function maskSeed(runSeed: number, iteration: number, slot: number): number {
  return hash32((hash32((runSeed ^ 0x5eed) >>> 0) + iteration * 1024 + slot) >>> 0);
}

/**
 * SPEC §7's mask for one grid, written as 0/1 floats into `out` at `offset`.
 * Same numbers as standardMask, with the per-step key hashed once instead of
 * per cell (3x fewer hashes: masks are a visible share of a training iteration).
 */
export function fillMask(out: Float32Array, offset: number, grid: { width: number; height: number }, seed: number, step: number, fireRate: number): void {
  const key = hash32((hash32((seed ^ STREAM_MASK) >>> 0) ^ step) >>> 0);
  const threshold = fireRate * 16777216;
  for (let y = 0; y < grid.height; y++) {
    const row = (y & 0xffff) << 16;
    for (let x = 0; x < grid.width; x++) {
      out[offset + y * grid.width + x] = hash32((key ^ ((x & 0xffff) | row)) >>> 0) >>> 8 < threshold ? 1 : 0;
    }
  }
}

/**
 * [B, 1, H, W] masks per step, computed once per step and cached (forward and backward share
 * them); `cache` false for a long run that never replays (pool ageing), so memory stays flat.
 */
export function batchMasks(topology: Topology, grid: { width: number; height: number }, seeds: number[], cache = true): MaskSource {
  const cached = new Map<number, Float32Array>();
  const plane = grid.width * grid.height;
  return (step) => {
    let m = cached.get(step);
    if (!m) {
      m = new Float32Array(seeds.length * plane);
      for (let b = 0; b < seeds.length; b++) fillMask(m, b * plane, grid, seeds[b], step, topology.fireRate);
      if (cache) cached.set(step, m);
    }
    return m;
  };
}
