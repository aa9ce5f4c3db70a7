/**
 * The counter-based random numbers of the `.nca` contract (SPEC.md §6).
 *
 * A stateless integer hash instead of a stateful generator, so that the reference
 * core, the trainer, and the WebGL2/WebGPU shaders draw the very same update mask
 * for a (seed, step, x, y) and can be compared cell for cell. Only 32-bit integer
 * multiply, xor and shift are used: GLSL ES 3.00 and WGSL have them all.
 */

/** Chris Wellons' "lowbias32" integer hash. */
export function hash32(x: number): number {
  x = (x ^ (x >>> 16)) >>> 0;
  x = Math.imul(x, 0x7feb352d) >>> 0;
  x = (x ^ (x >>> 15)) >>> 0;
  x = Math.imul(x, 0x846ca68b) >>> 0;
  return (x ^ (x >>> 16)) >>> 0;
}

/** Stream keys keep the mask and the noise seed independent for one user seed. */
export const STREAM_MASK = 0x6d61736b; // "mask"
export const STREAM_NOISE = 0x6e6f6973; // "nois"

/**
 * A uniform number in [0, 1) for one cell: 24 bits, so it is exact in float32.
 * `counter` is the step number for masks, or the draw index for the noise seed.
 */
export function cellUniform(seed: number, stream: number, counter: number, x: number, y: number): number {
  const key = hash32((hash32((seed ^ stream) >>> 0) ^ counter) >>> 0);
  const h = hash32((key ^ ((x & 0xffff) | ((y & 0xffff) << 16))) >>> 0);
  return (h >>> 8) / 16777216;
}

/** The stochastic update mask of one cell at one step: 1 when the cell fires. */
export function fires(seed: number, step: number, x: number, y: number, fireRate: number): boolean {
  return cellUniform(seed, STREAM_MASK, step, x, y) < fireRate;
}

/** A standard normal number for one cell and channel (Box-Muller, cosine branch). */
export function cellNormal(seed: number, channel: number, x: number, y: number): number {
  const u1 = Math.max(cellUniform(seed, STREAM_NOISE, 2 * channel, x, y), 1 / 16777216);
  const u2 = cellUniform(seed, STREAM_NOISE, 2 * channel + 1, x, y);
  return Math.sqrt(-2 * Math.log(u1)) * Math.cos(2 * Math.PI * u2);
}

/**
 * A small seedable generator for everything that need not match the shaders
 * (pool sampling, augmentations): mulberry32-style, with state you can save.
 */
export class Rng {
  constructor(public state: number) {
    this.state = state >>> 0;
  }
  /** Uniform in [0, 1). */
  next(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    return hash32(this.state) / 4294967296;
  }
  /** Integer in [lo, hi] inclusive. */
  int(lo: number, hi: number): number {
    return lo + Math.floor(this.next() * (hi - lo + 1));
  }
  normal(): number {
    const u1 = Math.max(this.next(), 1e-12);
    return Math.sqrt(-2 * Math.log(u1)) * Math.cos(2 * Math.PI * this.next());
  }
}
