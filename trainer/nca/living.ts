/**
 * The `.nca` v1.1 rules that follow the update (SPEC.md §6): alive masking and
 * the state clamp, on a cell-major batch [B * H * W, C] (layout.ts).
 *
 * They run in plain TypeScript between the step graphs: both are cheap
 * elementwise passes, and the alive mask of the state before a step is needed
 * on this side anyway, to skip the update of cells that cannot survive it.
 * Their derivative is a 0/1 factor per value (`pass`), which the step's VJP
 * graph takes as an input.
 *
 * Zero padding reads 0 past the edge, which never exceeds a threshold (>= 0).
 */
import type { Topology } from '../../formats/model.ts';
import type { BatchShape } from './layout.ts';

/** True when a step is followed by alive masking or a clamp. */
export function hasLivingRules(topology: Topology): boolean {
  return topology.alive !== undefined || topology.clamp !== undefined;
}

/**
 * 1 for each cell whose 3x3 neighbourhood has a value of channel
 * `alive.channel` above the threshold (the reference core's aliveCells, per
 * batch slot); all ones without alive masking.
 */
export function aliveRows(x: Float32Array, shape: BatchShape, topology: Topology): Uint8Array {
  const { batch, height: h, width: w, channels } = shape;
  const alive = topology.alive;
  if (!alive) return new Uint8Array(batch * h * w).fill(1);
  const v = new Float32Array(batch * h * w);
  for (let i = 0; i < v.length; i++) v[i] = x[i * channels + alive.channel];
  const max = neighbourhoodMax(v, shape, topology.padding === 'circular');
  const out = new Uint8Array(v.length);
  for (let i = 0; i < v.length; i++) out[i] = max[i] > alive.threshold ? 1 : 0;
  return out;
}

/**
 * The cells whose update can matter: those within 2 cells of one alive before
 * the step (the 3x3 max of `alive`). A cell further away is zeroed after the
 * step, and no cell that survives reads its new value when it checks whether
 * it is still alive, so it may skip the network. (Within 1 is not enough: an
 * alive cell's survival reads its neighbours' new values.)
 */
export function nearAlive(alive: Uint8Array, shape: BatchShape, topology: Topology): Uint8Array {
  const max = neighbourhoodMax(Float32Array.from(alive), shape, topology.padding === 'circular');
  return Uint8Array.from(max);
}

/**
 * The 3x3 max of a per-cell plane [B * H * W], as a max along rows, then
 * along columns. Off a zero-padded grid a neighbour reads 0, which never
 * exceeds an alive threshold (>= 0).
 */
function neighbourhoodMax(v: Float32Array, shape: BatchShape, wrap: boolean): Float32Array {
  const { batch, height: h, width: w } = shape;
  const rows = new Float32Array(v.length);
  for (let r = 0; r < batch * h; r++) {
    const o = r * w;
    for (let i = 0; i < w; i++) {
      const left = i > 0 ? v[o + i - 1] : wrap ? v[o + w - 1] : 0;
      const right = i < w - 1 ? v[o + i + 1] : wrap ? v[o] : 0;
      rows[o + i] = Math.max(left, v[o + i], right);
    }
  }
  const out = new Float32Array(v.length);
  for (let b = 0; b < batch; b++) {
    const o = b * h * w;
    for (let y = 0; y < h; y++) {
      const up = y > 0 ? o + (y - 1) * w : wrap ? o + (h - 1) * w : -1;
      const down = y < h - 1 ? o + (y + 1) * w : wrap ? o : -1;
      for (let i = 0; i < w; i++) out[o + y * w + i] = Math.max(up < 0 ? 0 : rows[up + i], rows[o + y * w + i], down < 0 ? 0 : rows[down + i]);
    }
  }
  return out;
}

/**
 * y = clamp(yPre · (before and alive(yPre)), -q, q), in place, and
 * pass = dy/dyPre per value: 1 where the cell lives and the value is inside
 * the clamp (an exact ±q passes: a clamped cell that did not fire keeps its value).
 */
export function settle(yPre: Float32Array, before: Uint8Array, shape: BatchShape, topology: Topology): { y: Float32Array; pass: Float32Array } {
  const c = shape.channels;
  const after = aliveRows(yPre, shape, topology);
  const q = topology.clamp ?? Infinity;
  const pass = new Float32Array(yPre.length); // dead cells and clamped values: 0
  for (let cell = 0; cell < before.length; cell++) {
    const from = cell * c;
    if (!(before[cell] && after[cell])) {
      yPre.fill(0, from, from + c);
      continue;
    }
    for (let i = from; i < from + c; i++) {
      const v = yPre[i];
      if (v > q) yPre[i] = q;
      else if (v < -q) yPre[i] = -q;
      else pass[i] = 1;
    }
  }
  return { y: yPre, pass };
}
