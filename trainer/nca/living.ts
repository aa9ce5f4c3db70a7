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
import type { AliveMasking, Topology } from '../../formats/model.ts';
import type { BatchShape } from './layout.ts';

/** True when a step is followed by alive masking or a clamp. */
export function hasLivingRules(topology: Topology): boolean {
  return topology.alive !== undefined || topology.clamp !== undefined;
}

/** How many cells of slot `b` of a [B, C, H, W] batch have their alive channel above the threshold. */
export function liveCells(batch: Float32Array, shape: BatchShape, alive: AliveMasking, b: number): number {
  const plane = shape.height * shape.width;
  const start = (b * shape.channels + alive.channel) * plane;
  let live = 0;
  for (let i = start; i < start + plane; i++) if (batch[i] > alive.threshold) live++;
  return live;
}

/**
 * 1 for each cell whose 3x3 neighbourhood has a value of channel
 * `alive.channel` above the threshold (the reference core's aliveCells, per
 * batch slot; a NaN is never above it); all ones without alive masking.
 */
export function aliveRows(x: Float32Array, shape: BatchShape, topology: Topology): Uint8Array {
  const { batch, height: h, width: w, channels } = shape;
  const alive = topology.alive;
  if (!alive) return new Uint8Array(batch * h * w).fill(1);
  const above = new Uint8Array(batch * h * w);
  const threshold = alive.threshold;
  for (let i = 0, j = alive.channel; i < above.length; i++, j += channels) above[i] = x[j] > threshold ? 1 : 0;
  return dilate(above, shape, topology.padding === 'circular');
}

/**
 * The cells whose update can matter: those within 2 cells of one alive before
 * the step (the 3x3 dilation of `alive`). A cell further away is zeroed after the
 * step, and no cell that survives reads its new value when it checks whether
 * it is still alive, so it may skip the network. (Within 1 is not enough: an
 * alive cell's survival reads its neighbours' new values.)
 */
export function nearAlive(alive: Uint8Array, shape: BatchShape, topology: Topology): Uint8Array {
  return dilate(alive, shape, topology.padding === 'circular');
}

/**
 * The 3x3 dilation (OR) of a 0/1 plane per batch slot [B * H * W], along rows,
 * then along columns. Off a zero-padded grid a neighbour reads 0. On 0/1 bytes,
 * not float maxima: these run three times per training step (1.45-1.63x faster,
 * docs/performance.md "a living step, profiled").
 */
function dilate(v: Uint8Array, shape: BatchShape, wrap: boolean): Uint8Array {
  const { batch, height: h, width: w } = shape;
  const rows = new Uint8Array(v.length);
  for (let o = 0; o < v.length; o += w) {
    const last = o + w - 1;
    for (let i = o; i <= last; i++) rows[i] = (i > o ? v[i - 1] : wrap ? v[last] : 0) | v[i] | (i < last ? v[i + 1] : wrap ? v[o] : 0);
  }
  const out = new Uint8Array(v.length);
  for (let b = 0; b < batch; b++) {
    const o = b * h * w;
    for (let y = 0; y < h; y++) {
      const row = o + y * w;
      const up = y > 0 ? row - w : wrap ? o + (h - 1) * w : -1;
      const down = y < h - 1 ? row + w : wrap ? o : -1;
      for (let i = 0; i < w; i++) out[row + i] = (up < 0 ? 0 : rows[up + i]) | rows[row + i] | (down < 0 ? 0 : rows[down + i]);
    }
  }
  return out;
}

/**
 * y = clamp(y · (before and alive(y)), -q, q), in place, and returns `pass`, the
 * derivative of the settled y by the y given, per value, 0 or 1: 1 where the cell lives and the value is inside
 * the clamp (an exact ±q passes: a clamped cell that did not fire keeps its value).
 * Bytes, not floats: a quarter of the memory every step keeps for its backward step.
 */
export function settle(y: Float32Array, before: Uint8Array, shape: BatchShape, topology: Topology): Uint8Array {
  const c = shape.channels;
  const after = aliveRows(y, shape, topology);
  const q = topology.clamp ?? Infinity;
  const pass = new Uint8Array(y.length); // dead cells and clamped values: 0
  for (let cell = 0, from = 0; cell < before.length; cell++, from += c) {
    const to = from + c;
    if ((before[cell] & after[cell]) === 0) {
      for (let i = from; i < to; i++) y[i] = 0; // a loop, not fill(): half the cells, 12 values each
      continue;
    }
    for (let i = from; i < to; i++) {
      const v = y[i];
      if (v > q) y[i] = q;
      else if (v < -q) y[i] = -q;
      else pass[i] = 1;
    }
  }
  return pass;
}
