/**
 * The reference NCA: one plain, readable implementation of SPEC.md §5–6 that the
 * trainer, the exporter and both players are tested against. Clarity over speed.
 *
 * State layout: Float32Array [height][width][channels] (cell-major, like an RGBA texture).
 */
import { alphaBias, filterKernel, perceptionSize, type NcaModel, type Topology } from './model.ts';
import { cellNormal, fires } from './random.ts';

export interface Grid {
  width: number;
  height: number;
}

/** The initial state of a grid from the model's seed recipe (SPEC.md §6). */
export function createState(model: NcaModel, grid: Grid, seed = 0): Float32Array {
  const { channels } = model.topology;
  const { width, height } = grid;
  const state = new Float32Array(width * height * channels);
  const recipe = model.seed;
  if (recipe.kind === 'noise') {
    const cell = new Float32Array(channels);
    for (let y = 0; y < height; y++) {
      for (let x = 0; x < width; x++) {
        for (let c = 0; c < channels; c++) cell[c] = cellNormal(seed, c, x, y);
        let lo = Infinity;
        let hi = -Infinity;
        for (const v of cell) (lo = Math.min(lo, v)), (hi = Math.max(hi, v));
        const range = hi - lo || 1;
        for (let c = 0; c < channels; c++) state[(y * width + x) * channels + c] = (cell[c] - lo) / range;
      }
    }
  } else if (recipe.kind === 'cell') {
    // v1.1 offset: off-centre; a cell that falls off the grid wraps around (any grid size plays)
    const [dx, dy] = recipe.offset ?? [0, 0];
    const x = (((Math.floor(width / 2) + dx) % width) + width) % width;
    const y = (((Math.floor(height / 2) + dy) % height) + height) % height;
    state.set(recipe.value, (y * width + x) * channels);
  } else {
    // The image is centred; where it is larger than the grid, its centre part is kept.
    const x0 = Math.floor((width - recipe.width) / 2);
    const y0 = Math.floor((height - recipe.height) / 2);
    for (let y = 0; y < recipe.height; y++) {
      for (let x = 0; x < recipe.width; x++) {
        const gx = x + x0;
        const gy = y + y0;
        if (gx < 0 || gy < 0 || gx >= width || gy >= height) continue;
        for (let c = 0; c < channels; c++) {
          state[(gy * width + gx) * channels + c] = recipe.data[(y * recipe.width + x) * channels + c];
        }
      }
    }
  }
  return state;
}

/** Perception features of one cell: index = channel * filters + filter. */
export function perceiveCell(topology: Topology, state: Float32Array, grid: Grid, x: number, y: number, out: Float32Array): void {
  const { channels, filters, padding } = topology;
  const { width, height } = grid;
  const kernels = filters.map((_, f) => filterKernel(topology, f));
  out.fill(0);
  for (let dy = -1; dy <= 1; dy++) {
    for (let dx = -1; dx <= 1; dx++) {
      let nx = x + dx;
      let ny = y + dy;
      if (padding === 'circular') {
        nx = (nx + width) % width;
        ny = (ny + height) % height;
      } else if (nx < 0 || ny < 0 || nx >= width || ny >= height) {
        continue; // zero padding
      }
      const base = (ny * width + nx) * channels;
      const tap = (dy + 1) * 3 + (dx + 1);
      for (let f = 0; f < filters.length; f++) {
        const k = kernels[f][tap];
        if (k === 0) continue;
        for (let c = 0; c < channels; c++) out[c * filters.length + f] += k * state[base + c];
      }
    }
  }
}

const clampTo = (v: number, lo: number, hi: number) => (v < lo ? lo : v > hi ? hi : v);

/**
 * The update network for one cell: w2 · relu(w1 · p + b1) (+ b2), with the v1.2 clamps
 * where the topology has them: p to ±perceptionClamp, the hidden units to [0, hiddenClamp],
 * the update to ±updateClamp (`perception` is clamped in place).
 */
export function updateCell(model: NcaModel, perception: Float32Array, hidden: Float32Array, out: Float32Array): void {
  const { w1, b1, w2, b2 } = model.weights;
  const { perceptionClamp: pq, hiddenClamp: hq, updateClamp: uq } = model.topology;
  const n = perception.length;
  if (pq !== undefined) for (let i = 0; i < n; i++) perception[i] = clampTo(perception[i], -pq, pq);
  for (let h = 0; h < hidden.length; h++) {
    let s = b1[h];
    for (let i = 0; i < n; i++) s += w1[h * n + i] * perception[i];
    hidden[h] = s > 0 ? (hq !== undefined && s > hq ? hq : s) : 0;
  }
  for (let c = 0; c < out.length; c++) {
    let s = b2 ? b2[c] : 0;
    for (let h = 0; h < hidden.length; h++) s += w2[c * hidden.length + h] * hidden[h];
    out[c] = uq !== undefined ? clampTo(s, -uq, uq) : s;
  }
}

/** Which cells fire on a step: 1 = update, 0 = keep. Index y * width + x. */
export type UpdateMask = Uint8Array;

/** The mask every implementation draws for (seed, step): SPEC.md §7. */
export function standardMask(topology: Topology, grid: Grid, seed: number, step: number): UpdateMask {
  const mask = new Uint8Array(grid.width * grid.height);
  for (let y = 0; y < grid.height; y++) {
    for (let x = 0; x < grid.width; x++) mask[y * grid.width + x] = fires(seed, step, x, y, topology.fireRate) ? 1 : 0;
  }
  return mask;
}

/**
 * v1.1 alive masking: 1 where the largest value of channel `alive.channel` in
 * the cell's 3x3 neighbourhood exceeds the threshold. Past the edge, `circular`
 * wraps and `zeros` reads 0 (the threshold is >= 0, so such a cell never counts).
 */
export function aliveCells(topology: Topology, state: Float32Array, grid: Grid): Uint8Array {
  const { channels, alive, padding } = topology;
  if (!alive) throw new Error('aliveCells: the topology has no alive masking');
  const { width, height } = grid;
  const out = new Uint8Array(width * height);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      let max = -Infinity;
      for (let dy = -1; dy <= 1; dy++) {
        for (let dx = -1; dx <= 1; dx++) {
          let nx = x + dx;
          let ny = y + dy;
          if (padding === 'circular') (nx = (nx + width) % width), (ny = (ny + height) % height);
          const v = nx < 0 || ny < 0 || nx >= width || ny >= height ? 0 : state[(ny * width + nx) * channels + alive.channel];
          if (v > max) max = v;
        }
      }
      out[y * width + x] = max > alive.threshold ? 1 : 0;
    }
  }
  return out;
}

/**
 * One synchronous step (SPEC.md §6): every cell perceives the old state; firing
 * cells add their update; then alive masking and the state clamp, where the
 * topology has them.
 */
export function step(model: NcaModel, state: Float32Array, grid: Grid, mask: UpdateMask): Float32Array {
  const { topology } = model;
  const { channels, hidden: hiddenSize } = topology;
  const next = state.slice();
  const perception = new Float32Array(perceptionSize(topology));
  const hidden = new Float32Array(hiddenSize);
  const delta = new Float32Array(channels);
  for (let y = 0; y < grid.height; y++) {
    for (let x = 0; x < grid.width; x++) {
      if (!mask[y * grid.width + x]) continue;
      perceiveCell(topology, state, grid, x, y, perception);
      updateCell(model, perception, hidden, delta);
      const base = (y * grid.width + x) * channels;
      for (let c = 0; c < channels; c++) next[base + c] += delta[c];
    }
  }
  if (topology.alive) {
    const before = aliveCells(topology, state, grid);
    const after = aliveCells(topology, next, grid);
    for (let i = 0; i < before.length; i++) if (!(before[i] && after[i])) next.fill(0, i * channels, (i + 1) * channels);
  }
  const q = topology.clamp;
  if (q !== undefined) for (let i = 0; i < next.length; i++) next[i] = Math.min(q, Math.max(-q, next[i]));
  return next;
}

/** A running automaton: a state, its step counter and its seed. */
export class ReferenceNca {
  state: Float32Array;
  steps = 0;
  constructor(
    readonly model: NcaModel,
    readonly grid: Grid,
    readonly seed = 0,
  ) {
    this.state = createState(model, grid, seed);
  }

  run(count: number): this {
    for (let i = 0; i < count; i++) {
      this.state = step(this.model, this.state, this.grid, standardMask(this.model.topology, this.grid, this.seed, this.steps));
      this.steps++;
    }
    return this;
  }

  rgba(): Uint8ClampedArray {
    return toRgba(this.model.topology, this.state, this.grid);
  }
}

/**
 * The displayed colour of one cell (SPEC.md §6) into out[at..at+3], straight
 * (not premultiplied): alpha = clamp(x[offset + 3] + alphaBias, 0, 1), or 1 for
 * RGB models; colour = clamp(x[offset + i] + bias, 0, 1), or, for a
 * premultiplied model, clamp(x[offset + i] + bias, 0, alpha) / alpha (0 where alpha is 0).
 */
function cellColour(topology: Topology, state: Float32Array, cell: number, out: Float32Array, at: number): void {
  const { channels, color } = topology;
  const base = cell * channels + color.offset;
  const a = color.count === 4 ? Math.min(1, Math.max(0, state[base + 3] + alphaBias(color))) : 1;
  for (let k = 0; k < 3; k++) {
    const v = state[base + k] + color.bias;
    out[at + k] = color.premultiplied ? (a > 0 ? Math.min(a, Math.max(0, v)) / a : 0) : Math.min(1, Math.max(0, v));
  }
  out[at + 3] = a;
}

/** Colour of every cell as straight RGBA floats in [0, 1]. */
export function toColours(topology: Topology, state: Float32Array, grid: Grid): Float32Array {
  const out = new Float32Array(grid.width * grid.height * 4);
  for (let i = 0; i < grid.width * grid.height; i++) cellColour(topology, state, i, out, i * 4);
  return out;
}

/** Colour of every cell as straight RGBA8, e.g. for PNG files; alpha 255 for RGB models. */
export function toRgba(topology: Topology, state: Float32Array, grid: Grid): Uint8ClampedArray {
  const colours = toColours(topology, state, grid);
  const out = new Uint8ClampedArray(colours.length);
  for (let i = 0; i < colours.length; i++) out[i] = Math.round(colours[i] * 255);
  return out;
}
