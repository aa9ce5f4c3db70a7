/**
 * What both backends bake into their shaders for one model. Shaders are generated per
 * topology so that every loop has a constant bound and the compiler can unroll it.
 */
import { filterKernel, STREAM_MASK, type Topology } from '../formats/index.ts';

export interface ShaderConstants {
  channels: number;
  /** RGBA groups of 4 channels (WebGL2 textures layers); the last one is zero-padded. */
  packs: number;
  filters: number;
  hidden: number;
  /** The topology's 3x3 kernels in order, flattened: kernels[f * 9 + tap], tap = (dy + 1) * 3 + (dx + 1). */
  kernels: number[];
  circular: boolean;
  /**
   * A cell fires when (hash >> 8) < fireThreshold. The reference compares (hash >> 8) / 2^24 < fireRate
   * in float64; comparing integers with ceil(fireRate * 2^24) gives exactly the same mask on any GPU.
   */
  fireThreshold: number;
  streamMask: number;
  color: Topology['color'];
  /** v1.1 alive masking: the channel and an f32 threshold that decides exactly like the reference's (see `f32Below`). */
  alive: { channel: number; threshold: number } | null;
  /** v1.1 state clamp q (as f32), or null. */
  clamp: number | null;
}

export function shaderConstants(topology: Topology): ShaderConstants {
  return {
    channels: topology.channels,
    packs: Math.ceil(topology.channels / 4),
    filters: topology.filters.length,
    hidden: topology.hidden,
    kernels: topology.filters.flatMap((_, f) => filterKernel(topology, f)),
    circular: topology.padding === 'circular',
    fireThreshold: Math.ceil(topology.fireRate * 2 ** 24),
    streamMask: STREAM_MASK,
    color: topology.color,
    alive: topology.alive ? { channel: topology.alive.channel, threshold: f32Below(topology.alive.threshold) } : null,
    clamp: topology.clamp === undefined ? null : Math.fround(topology.clamp),
  };
}

/**
 * The largest float32 <= t. The reference compares a float32 state value v with a float64
 * threshold t; a shader compares two float32s. For every float32 v, v > t exactly when
 * v > f32Below(t), whereas rounding t to nearest (0.1 -> 0.100000001) would call v = 0.1f dead.
 */
export function f32Below(t: number): number {
  const f = new Float32Array([t]);
  if (f[0] > t) new Int32Array(f.buffer)[0] += f[0] > 0 ? -1 : 1;
  return f[0];
}

/** The shortest decimal that reads back as the float32 `n`: a float literal in GLSL and WGSL alike. */
export function f32Literal(n: number): string {
  for (let digits = 1; ; digits++) {
    const s = n.toPrecision(digits);
    if (Math.fround(Number(s)) === n || digits === 9) return /[.e]/.test(s) ? s : `${s}.0`;
  }
}

/** A number as a float literal both GLSL and WGSL accept (`2` would be an int). */
export function float(n: number): string {
  return Number.isInteger(n) ? `${n}.0` : `${n}`;
}

/** The 3x3 taps, (dy + 1) * 3 + (dx + 1), that some filter of the topology reads. */
export function usedTaps(k: ShaderConstants): number[] {
  return [...Array(9).keys()].filter((tap) => k.kernels.some((v, i) => i % 9 === tap && v !== 0));
}

/**
 * The perception as one sum per vec4: sums[f * packs + i] is filter f of channels 4i..4i+3,
 * the reference core's sum over the filter's non-zero taps in the same order. `sample(tap, i)`
 * names the neighbour's vec4 (zero past the edge with zero padding); `zero` is the language's zero vec4.
 */
export function perceptionSums(k: ShaderConstants, sample: (tap: number, pack: number) => string, zero: string): string[] {
  return Array.from({ length: k.filters * k.packs }, (_, j) => {
    const f = Math.floor(j / k.packs);
    const terms = usedTaps(k)
      .filter((tap) => k.kernels[f * 9 + tap] !== 0)
      .map((tap) => `${float(k.kernels[f * 9 + tap])} * ${sample(tap, j % k.packs)}`);
    return terms.join(' + ') || zero;
  });
}

/** `c0 − z · (c1 − z · (c2 − …))` with c_k = 1 / d(k), as float literals: the series of the noise seed, shared by both languages. */
function series(z: string, terms: number, d: (k: number) => number, sign = '-'): string {
  let out = '';
  for (let k = terms - 1; k >= 0; k--) out = `${f32Literal(Math.fround(1 / d(k)))}${out && ` ${sign} ${z} * (${out})`}`;
  return out;
}
const factorial = (n: number): number => (n < 2 ? 1 : n * factorial(n - 1));

/**
 * The noise seed's ln and cos in float32 (formats/random.ts cellNormal: sqrt(−2 ln u1) · cos(2π u2)),
 * as expressions over variables that both shading languages declare the same way:
 *   ln:  e · ln 2 + 2 s (1 + z/3 + z²/5 + …), s = (m − 1) / (m + 1), z = s², for u = m · 2^(e+24), m in [0.707, 1.414];
 *   cos, sin of a in [0, π/4], z = a²: their Taylor series.
 * Built here from their coefficients so that the bundle carries no table of constants.
 */
export const NOISE = {
  ln: `e * ${f32Literal(Math.fround(Math.LN2))} + 2.0 * s * (${series('z', 6, (k) => 2 * k + 1, '+')})`,
  cos: series('z', 6, (k) => factorial(2 * k)),
  sin: `a * (${series('z', 5, (k) => factorial(2 * k + 1))})`,
  /** π / 2^23: one step of u in a quarter turn (u counts 2^-24 turns). */
  step: f32Literal(Math.fround(Math.PI / 2 ** 23)),
};
