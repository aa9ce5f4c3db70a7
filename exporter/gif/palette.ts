/**
 * A shared 256-colour palette for a whole animation: median cut over pixels sampled
 * from every frame, refined by a few k-means passes, then exact nearest-colour mapping.
 * One global palette keeps colours stable from frame to frame (no palette flicker in loops).
 */

export interface Palette {
  /** RGB triples, `size` of them; size is a power of two, 2..256 (GIF's rule). */
  colors: Uint8Array;
  size: number;
}

/** Sampled RGB pixels, as three parallel arrays. */
interface Samples {
  r: Uint8Array;
  g: Uint8Array;
  b: Uint8Array;
  count: number;
}

const MAX_SAMPLES = 1 << 18;

/** Takes up to MAX_SAMPLES pixels spread evenly over all the RGBA frames (alpha ignored). */
function sample(frames: readonly Uint8Array[]): Samples {
  const total = frames.reduce((n, f) => n + f.length / 4, 0);
  const stride = Math.max(1, Math.floor(total / MAX_SAMPLES));
  const cap = Math.ceil(total / stride);
  const s: Samples = { r: new Uint8Array(cap), g: new Uint8Array(cap), b: new Uint8Array(cap), count: 0 };
  let skip = 0;
  for (const frame of frames) {
    for (let p = skip; p < frame.length / 4; p += stride) {
      s.r[s.count] = frame[p * 4];
      s.g[s.count] = frame[p * 4 + 1];
      s.b[s.count] = frame[p * 4 + 2];
      s.count++;
    }
    // Carry the stride across frame boundaries so no frame is over-sampled.
    skip = (skip + stride - ((frame.length / 4) % stride)) % stride;
  }
  return s;
}

interface Box {
  /** Indices into the samples. */
  members: Uint32Array;
  /** Widest channel (0 r, 1 g, 2 b) and its range. */
  axis: number;
  range: number;
}

function makeBox(members: Uint32Array, s: Samples): Box {
  const channels = [s.r, s.g, s.b];
  let axis = 0;
  let range = -1;
  for (let c = 0; c < 3; c++) {
    let lo = 255;
    let hi = 0;
    for (const i of members) {
      const v = channels[c][i];
      if (v < lo) lo = v;
      if (v > hi) hi = v;
    }
    if (hi - lo > range) (range = hi - lo), (axis = c);
  }
  return { members, axis, range };
}

/** Median cut: keep splitting the box whose widest channel, weighted by its population, is largest. */
function medianCut(s: Samples, maxColors: number): Box[] {
  const all = new Uint32Array(s.count);
  for (let i = 0; i < s.count; i++) all[i] = i;
  const boxes = [makeBox(all, s)];
  const channels = [s.r, s.g, s.b];
  while (boxes.length < maxColors) {
    let pick = -1;
    let best = 0;
    boxes.forEach((box, i) => {
      const score = box.range * Math.sqrt(box.members.length);
      if (box.range > 0 && score > best) (best = score), (pick = i);
    });
    if (pick < 0) break; // every box holds a single colour
    const { members, axis } = boxes[pick];
    const values = channels[axis];
    const sorted = Uint32Array.from(members).sort((a, b) => values[a] - values[b]);
    let cut = sorted.length >> 1;
    // Keep equal values together so both halves are non-empty and distinct.
    const median = values[sorted[cut]];
    while (cut > 0 && values[sorted[cut - 1]] === median) cut--;
    if (cut === 0) while (cut < sorted.length && values[sorted[cut]] === median) cut++;
    boxes.splice(pick, 1, makeBox(sorted.subarray(0, cut), s), makeBox(sorted.subarray(cut), s));
  }
  return boxes;
}

/** Moves each colour to the mean of the samples nearest to it (Lloyd's k-means step). */
function refine(colors: Float64Array, s: Samples, passes: number): void {
  const k = colors.length / 3;
  for (let pass = 0; pass < passes; pass++) {
    const sums = new Float64Array(k * 4);
    for (let i = 0; i < s.count; i++) {
      const j = nearest(colors, k, s.r[i], s.g[i], s.b[i]);
      sums[j * 4] += s.r[i];
      sums[j * 4 + 1] += s.g[i];
      sums[j * 4 + 2] += s.b[i];
      sums[j * 4 + 3]++;
    }
    for (let j = 0; j < k; j++) {
      const n = sums[j * 4 + 3];
      if (n > 0) for (let c = 0; c < 3; c++) colors[j * 3 + c] = sums[j * 4 + c] / n;
    }
  }
}

function nearest(colors: ArrayLike<number>, k: number, r: number, g: number, b: number): number {
  let best = 0;
  let bestDistance = Infinity;
  for (let j = 0; j < k; j++) {
    const dr = colors[j * 3] - r;
    const dg = colors[j * 3 + 1] - g;
    const db = colors[j * 3 + 2] - b;
    const d = dr * dr + dg * dg + db * db;
    if (d < bestDistance) (bestDistance = d), (best = j);
  }
  return best;
}

/** Builds a palette of at most `maxColors` (≤ 256) colours for these RGBA frames. */
export function buildPalette(frames: readonly Uint8Array[], maxColors = 256): Palette {
  const s = sample(frames);
  const boxes = medianCut(s, maxColors);
  const colors = new Float64Array(boxes.length * 3);
  boxes.forEach((box, j) => {
    let r = 0;
    let g = 0;
    let b = 0;
    for (const i of box.members) (r += s.r[i]), (g += s.g[i]), (b += s.b[i]);
    const n = Math.max(1, box.members.length);
    colors.set([r / n, g / n, b / n], j * 3);
  });
  refine(colors, s, 2);
  let size = 2;
  while (size < boxes.length) size *= 2;
  const out = new Uint8Array(size * 3); // unused entries stay black
  for (let i = 0; i < colors.length; i++) out[i] = Math.round(colors[i]);
  return { colors: out, size };
}

/**
 * Maps RGBA frames to palette indices, exactly (nearest in RGB), caching the answer
 * for every colour seen: NCA frames reuse far fewer colours than they have pixels.
 */
export class PaletteMapper {
  private readonly cache = new Int16Array(1 << 24).fill(-1);
  constructor(private readonly palette: Palette) {}

  map(rgba: Uint8Array): Uint8Array {
    const n = rgba.length / 4;
    const out = new Uint8Array(n);
    const { colors, size } = this.palette;
    for (let p = 0; p < n; p++) {
      const r = rgba[p * 4];
      const g = rgba[p * 4 + 1];
      const b = rgba[p * 4 + 2];
      const key = (r << 16) | (g << 8) | b;
      let index = this.cache[key];
      if (index < 0) this.cache[key] = index = nearest(colors, size, r, g, b);
      out[p] = index;
    }
    return out;
  }
}
