/**
 * Where CLIP looks: square cutouts of the (possibly wide) frame, each resampled
 * to the tower's input size. The first cutouts tile the frame with squares of
 * the short side, evenly spaced along the long side, so that together they
 * cover every pixel and nothing is squashed (one square for a square frame, two
 * for 16:9). The rest are random squares of random size. Every cutout may be
 * mirrored and shifted by a small jitter.
 *
 * A cutout becomes two resampling matrices (rows [S, H] and columns [S, W]), so
 * the graph does crop + resize + flip as two batched MatMuls whose gradient is
 * exact, and the random choices stay outside the graph (fed per iteration).
 */
import type { Rng } from '../../formats/random.ts';

export interface Cutout {
  /** Top-left corner and side, in frame pixels (fractional). */
  x: number;
  y: number;
  size: number;
  flip: boolean;
}

export interface CutoutOptions {
  count: number;
  /** Smallest random cutout, as a fraction of the frame's short side. */
  minScale: number;
  /** Largest random shift, as a fraction of the cutout side. */
  jitter: number;
  /** Mirror cutouts left-right at random. */
  flip: boolean;
}

export const DEFAULT_CUTOUTS: CutoutOptions = { count: 8, minScale: 0.5, jitter: 0.03, flip: true };

/** How many short-side squares tile a width x height frame. */
export function coverCount(width: number, height: number): number {
  return Math.ceil(Math.max(width, height) / Math.min(width, height) - 1e-9);
}

export function planCutouts(width: number, height: number, o: CutoutOptions, rng: Rng): Cutout[] {
  const short = Math.min(width, height);
  const long = Math.max(width, height);
  const cover = coverCount(width, height);
  if (o.count < cover) {
    throw new Error(`a ${width}x${height} frame needs at least ${cover} cutouts to be covered (got ${o.count})`);
  }
  const cutouts: Cutout[] = [];
  for (let i = 0; i < cover; i++) {
    const along = cover === 1 ? 0 : (i * (long - short)) / (cover - 1);
    cutouts.push(width >= height ? square(along, 0, short) : square(0, along, short));
  }
  while (cutouts.length < o.count) {
    const size = short * (o.minScale + (1 - o.minScale) * rng.next());
    cutouts.push(square(rng.next() * (width - size), rng.next() * (height - size), size));
  }
  return cutouts.map((c) => {
    const shift = o.jitter * c.size;
    return { ...c, x: c.x + (rng.next() * 2 - 1) * shift, y: c.y + (rng.next() * 2 - 1) * shift, flip: o.flip && rng.next() < 0.5 };
  });
}

function square(x: number, y: number, size: number): Cutout {
  return { x, y, size, flip: false };
}

/**
 * The [out, n] matrix that resamples the window [start, start + size) of an axis
 * of n pixels to `out` pixels, as torch's `interpolate(mode="bilinear")` does:
 * half-pixel centres clamped to the axis (so edges repeat beyond the frame), a
 * tent filter, widened to the pixel footprint when shrinking (torch's
 * `antialias=True`, so nothing aliases), taps outside the axis dropped, rows summing to 1.
 */
export function resampleMatrix(n: number, start: number, size: number, out: number, flip = false): Float32Array {
  const m = new Float32Array(out * n);
  const scale = size / out;
  const radius = Math.max(scale, 1);
  for (let o = 0; o < out; o++) {
    const row = (flip ? out - 1 - o : o) * n;
    const centre = Math.min(Math.max(start + (o + 0.5) * scale - 0.5, 0), n - 1);
    const first = Math.max(Math.ceil(centre - radius), 0);
    const last = Math.min(Math.floor(centre + radius), n - 1);
    let total = 0;
    for (let i = first; i <= last; i++) total += Math.max(1 - Math.abs(i - centre) / radius, 0);
    for (let i = first; i <= last; i++) m[row + i] = Math.max(1 - Math.abs(i - centre) / radius, 0) / total;
  }
  return m;
}

/** Row matrix [S, H] and transposed column matrix [W, S] of one cutout. */
export function cutoutMatrices(c: Cutout, width: number, height: number, s: number): { rows: Float32Array; colsT: Float32Array } {
  const rows = resampleMatrix(height, c.y, c.size, s);
  const cols = resampleMatrix(width, c.x, c.size, s, c.flip);
  const colsT = new Float32Array(width * s);
  for (let o = 0; o < s; o++) for (let i = 0; i < width; i++) colsT[i * s + o] = cols[o * width + i];
  return { rows, colsT };
}
