/**
 * 0/1 update masks -> the index list the step graph takes (see step-graph.ts).
 * The list length K is rounded up to a bucket, so a handful of compiled graph
 * sizes serve every mask.
 */

export interface FiringCells {
  /** Padded length of `cells`. */
  capacity: number;
  count: number;
  /** Firing cell indices, then `mask.length` (the scratch row) up to `capacity`. */
  cells: Int32Array;
}

/** The K for `count` firing cells out of `total`: a multiple of max(256, total / 64), at most `total`. */
export function capacityFor(count: number, total: number): number {
  const bucket = Math.max(256, Math.ceil(total / 64));
  return Math.min(total, Math.max(bucket, Math.ceil(count / bucket) * bucket));
}

export function firingCells(mask: Float32Array): FiringCells {
  let count = 0;
  for (let i = 0; i < mask.length; i++) if (mask[i] !== 0) count++;
  const capacity = capacityFor(count, mask.length);
  const cells = new Int32Array(capacity).fill(mask.length);
  let k = 0;
  for (let i = 0; i < mask.length; i++) if (mask[i] !== 0) cells[k++] = i;
  return { capacity, count, cells };
}
