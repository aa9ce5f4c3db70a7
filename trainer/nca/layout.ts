/**
 * State layouts. The trainer keeps batches as [B, C, H, W] (what the graphs
 * use); the reference core, the players and seeds use one grid as [H, W, C].
 */

export interface BatchShape {
  batch: number;
  channels: number;
  height: number;
  width: number;
}

export function batchSize(s: BatchShape): number {
  return s.batch * s.channels * s.height * s.width;
}

/** One [H, W, C] grid into batch slot `b` of a [B, C, H, W] array. */
export function putHwc(batch: Float32Array, s: BatchShape, b: number, hwc: Float32Array): void {
  const plane = s.height * s.width;
  const base = b * s.channels * plane;
  for (let i = 0; i < plane; i++) {
    for (let c = 0; c < s.channels; c++) batch[base + c * plane + i] = hwc[i * s.channels + c];
  }
}

/** Batch slot `b` of a [B, C, H, W] array as one [H, W, C] grid. */
export function takeHwc(batch: Float32Array, s: BatchShape, b: number): Float32Array {
  const plane = s.height * s.width;
  const base = b * s.channels * plane;
  const out = new Float32Array(plane * s.channels);
  for (let i = 0; i < plane; i++) {
    for (let c = 0; c < s.channels; c++) out[i * s.channels + c] = batch[base + c * plane + i];
  }
  return out;
}

/**
 * [B, C, H, W] -> cell-major [B * H * W, C], the layout rollouts keep between
 * steps: a step reads and writes whole cells, so no transposes inside the graphs.
 * `extraRows` zero rows follow the cells (the step graphs' sink row, step-graph.ts).
 */
export function toCells(batch: Float32Array, s: BatchShape, extraRows = 0): Float32Array {
  const out = new Float32Array(batch.length + extraRows * s.channels);
  for (let b = 0; b < s.batch; b++) out.set(takeHwc(batch, s, b), b * s.height * s.width * s.channels);
  return out;
}

/** Cell-major [B * H * W, C] -> [B, C, H, W]; rows after the cells are left out. */
export function fromCells(cells: Float32Array, s: BatchShape): Float32Array {
  const out = new Float32Array(batchSize(s));
  const grid = s.height * s.width * s.channels;
  for (let b = 0; b < s.batch; b++) putHwc(out, s, b, cells.subarray(b * grid, (b + 1) * grid));
  return out;
}
