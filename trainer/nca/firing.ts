/**
 * 0/1 update masks -> the index lists the step graph takes (see step-graph.ts).
 * The list length K is rounded up to a bucket, so a handful of compiled graph
 * sizes serve every mask.
 */

export interface FiringCells {
  /** Padded length of `cells`. */
  capacity: number;
  count: number;
  cells: Int32Array;
  slots: Int32Array;
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
  const cells = new Int32Array(capacity); // padding points at cell 0; nothing reads its update
  const slots = new Int32Array(mask.length);
  let k = 0;
  for (let i = 0; i < mask.length; i++) {
    if (mask[i] === 0) continue;
    cells[k] = i;
    slots[i] = ++k;
  }
  return { capacity, count, cells, slots };
}
