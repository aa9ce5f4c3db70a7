/**
 * 0/1 update masks -> the index lists the step graph takes (see step-graph.ts).
 * The list length K is rounded up to a bucket, so a handful of compiled graph
 * sizes serve every mask.
 */
import type { Padding } from '../../formats/model.ts';
import type { BatchShape } from './layout.ts';

export interface FiringCells {
  /** Padded length of `cells`. */
  capacity: number;
  count: number;
  /** Firing cell indices, then `mask.length` (padding entries, see step-graph.ts `applyUpdates`) up to `capacity`. */
  cells: Int32Array;
}

/**
 * The K for `count` firing cells out of `total`. About half the grid fires on
 * every step of a plain model: multiples of max(256, total / 64) fit that
 * tightly. With alive masking (`varying`) the count runs from a handful to
 * half the grid as a pattern grows, and every distinct K is a compiled graph
 * (time and memory): there K grows geometrically, four sizes per doubling
 * (at most 19 % padding), rounded up to a multiple of 256.
 */
export function capacityFor(count: number, total: number, varying = false): number {
  if (varying) {
    const geometric = 2 ** (Math.ceil(4 * Math.log2(Math.max(count, 256))) / 4);
    return Math.min(total, Math.ceil(geometric / 256) * 256);
  }
  const bucket = Math.max(256, Math.ceil(total / 64));
  return Math.min(total, Math.max(bucket, Math.ceil(count / bucket) * bucket));
}

/** The cells where `mask` is set (and, given `keep`, `keep` too), padded to a bucket (`capacityFor`). */
export function firingCells(mask: Float32Array, varying = false, keep?: Uint8Array): FiringCells {
  let count = 0;
  for (let i = 0; i < mask.length; i++) if (mask[i] !== 0 && (!keep || keep[i] !== 0)) count++;
  const capacity = capacityFor(count, mask.length, varying);
  const cells = new Int32Array(capacity).fill(mask.length);
  let k = 0;
  for (let i = 0; i < mask.length; i++) if (mask[i] !== 0 && (!keep || keep[i] !== 0)) cells[k++] = i;
  return { capacity, count, cells };
}

/**
 * Every cell's 3x3 neighbourhood, [9 * B*H*W], tap-major: entry t * B*H*W + i is the index
 * of cell i's neighbour at tap t (kernel order: row by row, top left first), or B*H*W (a
 * zero row) off a zero-padded grid. Computed once per grid, so that a step's
 * neighbourhoods are a lookup (`neighbourhoods`), not coordinate arithmetic per cell.
 */
export function neighbourTable(shape: Omit<BatchShape, 'channels'>, padding: Padding): Int32Array {
  const { height: h, width: w } = shape;
  const plane = h * w;
  const total = shape.batch * plane;
  const wrap = padding === 'circular';
  // a neighbour coordinate, or -1 off a zero-padded grid
  const near = (v: number, size: number) => (v >= 0 && v < size ? v : wrap ? (v + size) % size : -1);
  const out = new Int32Array(9 * total);
  for (let cell = 0; cell < total; cell++) {
    const base = cell - (cell % plane);
    const y = ((cell - base) / w) | 0;
    const x = cell - base - y * w;
    for (let t = 0; t < 9; t++) {
      const yy = near(y + ((t / 3) | 0) - 1, h);
      const xx = near(x + (t % 3) - 1, w);
      out[t * total + cell] = yy < 0 || xx < 0 ? total : base + yy * w + xx;
    }
  }
  return out;
}

/**
 * The 3x3 neighbourhoods of the firing cells, [9 * K], tap-major: entry
 * t * K + k is the index (into the B*H*W cells) of cell k's neighbour at tap t,
 * read from the grid's `neighbourTable`, so a gather of them is [9, K * C]
 * (step-graph.ts). Padding entries read cell 0: forward their update is never
 * added (rollout.ts `addRows`), backward their gradient is zero.
 */
export function neighbourhoods(f: FiringCells, table: Int32Array): Int32Array {
  const total = table.length / 9;
  const out = new Int32Array(f.capacity * 9);
  for (let t = 0; t < 9; t++) {
    const from = t * total;
    const to = t * f.capacity;
    for (let k = 0; k < f.count; k++) out[to + k] = table[from + f.cells[k]];
  }
  return out;
}
