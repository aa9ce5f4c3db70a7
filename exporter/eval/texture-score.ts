/**
 * How close a frame is to a texture exemplar, in plain TypeScript (no ORT):
 *
 * - `patch`: the sliced Wasserstein distance between the distributions of k x k
 *   colour patches, over a 2x average-pooling pyramid, like the training loss
 *   (trainer/texture/swd-loss.ts) but with fixed directions (a fixed seed, more
 *   of them than training draws), reported as its square root (an RMS
 *   difference of sorted projections, in colour units 0..1).
 * - `spectral`: the mean absolute difference of the two log power spectra
 *   (Welch's method: Hann-windowed L x L tiles, mean removed, power averaged over
 *   tiles and the RGB channels, DC left out). It sees the size, shape and
 *   orientation of features, which colour histograms do not.
 *
 * `reference` puts the numbers on a scale, computed from the exemplar alone: one
 * half of it against the other half (`crop*`: what a faithful new piece of the
 * texture scores) and a pixel-shuffled copy of that half against the other half
 * (`shuffled*`: the same colours with no structure). See docs/textures.md.
 */
import { Rng } from '../../formats/random.ts';
import type { RgbaImage } from '../../trainer/image/png.ts';
import { halve, rgbPlanes, unitDirections, quantileIndices, type RgbPlanes } from '../../trainer/texture/exemplar.ts';
import { logPowerSpectrum } from '../../trainer/texture/spectrum.ts';

/** An image to score: RGBA8, or RGB planes [3, H, W] in 0..1 (e.g. a state's colour channels + bias). */
export type ScoreImage = RgbaImage | RgbPlanes;

export interface TextureScoreOptions {
  /** Pyramid levels (default 4). */
  scales?: number;
  /** Patch side (default 3). */
  patch?: number;
  /** Fixed directions per scale (default 64, training draws 32). */
  projections?: number;
  /** The frame's patches wrap around its edges (an NCA grid) or stay inside it ('valid'). Default 'circular'. */
  frameBoundary?: 'circular' | 'valid';
  /** Largest spectrum tile side, a power of 2 (default 32); smaller images use the largest power of 2 that fits. */
  spectrumSize?: number;
}

export interface TextureDistance {
  patch: number;
  spectral: number;
}

export interface TextureScore extends TextureDistance {
  reference: { shuffledPatch: number; shuffledSpectral: number; cropPatch: number; cropSpectral: number };
}

const DEFAULTS: Required<TextureScoreOptions> = { scales: 4, patch: 3, projections: 64, frameBoundary: 'circular', spectrumSize: 32 };
/** The fixed seed of the score's directions and of the shuffle; never the training seed. */
export const SCORE_SEED = 0x5c07e;

function withDefaults(options: TextureScoreOptions): Required<TextureScoreOptions> {
  const given = Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined));
  return { ...DEFAULTS, ...given };
}

function planes(image: ScoreImage): RgbPlanes {
  if (image.data instanceof Float32Array) {
    if (image.data.length !== 3 * image.width * image.height) throw new Error(`texture score: ${image.data.length} values for 3x${image.height}x${image.width} planes`);
    return image as RgbPlanes;
  }
  return rgbPlanes(image as RgbaImage);
}

/** The frame's patch and spectral distance to the exemplar, and the exemplar's reference values. */
export function textureScore(frame: ScoreImage, exemplar: ScoreImage, options: TextureScoreOptions = {}): TextureScore {
  const o = withDefaults(options);
  const f = planes(frame);
  const e = planes(exemplar);
  const [a, b] = halves(e);
  const size = spectrumTile(o.spectrumSize, [f, e, a, b]);
  const shuffled = shuffle(a, new Rng(SCORE_SEED));
  const valid = { ...o, frameBoundary: 'valid' as const };
  const main = distance(f, e, o, size);
  const crop = distance(a, b, valid, size);
  const noise = distance(shuffled, b, valid, size);
  return {
    ...main,
    reference: { shuffledPatch: noise.patch, shuffledSpectral: noise.spectral, cropPatch: crop.patch, cropSpectral: crop.spectral },
  };
}

/** Only the distances of a frame to the exemplar (no references): for scoring many frames against one exemplar. */
export function textureDistance(frame: ScoreImage, exemplar: ScoreImage, options: TextureScoreOptions = {}): TextureDistance {
  const o = withDefaults(options);
  const f = planes(frame);
  const e = planes(exemplar);
  return distance(f, e, o, spectrumTile(o.spectrumSize, [f, e, ...halves(e)]));
}

function distance(f: RgbPlanes, e: RgbPlanes, o: Required<TextureScoreOptions>, tile: number): TextureDistance {
  return { patch: patchDistance(f, e, o), spectral: spectralDistance(f, e, tile) };
}

/** The exemplar's two halves, split across its longer side. */
function halves(e: RgbPlanes): [RgbPlanes, RgbPlanes] {
  const wide = e.width >= e.height;
  const w = wide ? e.width >> 1 : e.width;
  const h = wide ? e.height : e.height >> 1;
  const part = (x0: number, y0: number): RgbPlanes => {
    const data = new Float32Array(3 * w * h);
    for (let c = 0; c < 3; c++) {
      for (let y = 0; y < h; y++) {
        const src = (c * e.height + y0 + y) * e.width + x0;
        data.set(e.data.subarray(src, src + w), (c * h + y) * w);
      }
    }
    return { width: w, height: h, data };
  };
  return wide ? [part(0, 0), part(e.width - w, 0)] : [part(0, 0), part(0, e.height - h)];
}

/** The same pixels in a random order. */
function shuffle(p: RgbPlanes, rng: Rng): RgbPlanes {
  const n = p.width * p.height;
  const order = Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(rng.next() * (i + 1));
    [order[i], order[j]] = [order[j], order[i]];
  }
  const data = new Float32Array(3 * n);
  for (let c = 0; c < 3; c++) for (let i = 0; i < n; i++) data[c * n + i] = p.data[c * n + order[i]];
  return { width: p.width, height: p.height, data };
}

// ---------------------------------------------------------------- patch SWD

function patchDistance(f: RgbPlanes, e: RgbPlanes, o: Required<TextureScoreOptions>): number {
  const { scales, patch: k, projections: P } = o;
  if (k % 2 !== 1) throw new Error(`texture score: patch must be odd, got ${k}`);
  const rng = new Rng(SCORE_SEED);
  let fl = f;
  let el = e;
  let sum = 0;
  for (let s = 0; s < scales; s++) {
    if (s > 0) {
      fl = halve(fl);
      el = halve(el);
    }
    if (Math.min(el.width, el.height) < k || Math.min(fl.width, fl.height) < k) {
      throw new Error(`texture score: images too small for ${scales} scales of ${k}x${k} patches (${f.width}x${f.height} and ${e.width}x${e.height})`);
    }
    const dirs = unitDirections(rng, P, 3 * k * k);
    const fp = project(fl, dirs, P, k, o.frameBoundary === 'circular');
    const ep = project(el, dirs, P, k, false);
    const n = fp.length / P;
    const m = ep.length / P;
    const pick = quantileIndices(n, m);
    let level = 0;
    for (let p = 0; p < P; p++) {
      const a = fp.subarray(p * n, (p + 1) * n).sort();
      const b = ep.subarray(p * m, (p + 1) * m).sort();
      for (let j = 0; j < n; j++) level += (a[j] - b[pick[j]]) ** 2;
    }
    sum += level / (P * n);
  }
  return Math.sqrt(sum / scales);
}

/** Every patch's projection on every direction, [P, patches] (circular: one patch per pixel; else only patches inside). */
function project(img: RgbPlanes, dirs: Float32Array, P: number, k: number, circular: boolean): Float64Array {
  const r = k >> 1;
  const src = circular ? wrapPad(img, r) : img;
  const { width: w, height: h, data } = src;
  const ow = w - 2 * r;
  const oh = h - 2 * r;
  const count = ow * oh;
  const out = new Float64Array(P * count);
  const dims = 3 * k * k;
  // offsets of the patch's values from its top-left corner, in the directions' [3, k, k] order
  const offsets = new Int32Array(dims);
  for (let c = 0, d = 0; c < 3; c++) for (let dy = 0; dy < k; dy++) for (let dx = 0; dx < k; dx++) offsets[d++] = (c * h + dy) * w + dx;
  const values = new Float64Array(dims);
  const weights = Float64Array.from(dirs);
  for (let y = 0; y < oh; y++) {
    for (let x = 0; x < ow; x++) {
      const corner = y * w + x;
      for (let d = 0; d < dims; d++) values[d] = data[corner + offsets[d]];
      const at = y * ow + x;
      for (let p = 0, base = 0; p < P; p++, base += dims) {
        let v = 0;
        for (let d = 0; d < dims; d++) v += weights[base + d] * values[d];
        out[p * count + at] = v;
      }
    }
  }
  return out;
}

/** Planes with `r` wrapped rows and columns added on every side. */
function wrapPad(img: RgbPlanes, r: number): RgbPlanes {
  const { width: w, height: h } = img;
  const pw = w + 2 * r;
  const ph = h + 2 * r;
  const data = new Float32Array(3 * pw * ph);
  for (let c = 0; c < 3; c++) {
    for (let y = 0; y < ph; y++) {
      const sy = (((y - r) % h) + h) % h;
      for (let x = 0; x < pw; x++) data[(c * ph + y) * pw + x] = img.data[(c * h + sy) * w + ((((x - r) % w) + w) % w)];
    }
  }
  return { width: pw, height: ph, data };
}

// ---------------------------------------------------------------- spectra

/** The spectrum tile side: a power of 2, at most `max` and at most the smallest side of every image. */
function spectrumTile(max: number, images: RgbPlanes[]): number {
  const side = Math.min(max, ...images.map((p) => Math.min(p.width, p.height)));
  if (side < 8) throw new Error(`texture score: images of ${side} px are too small for a spectrum (at least 8 px per side)`);
  return 1 << Math.floor(Math.log2(side));
}

function spectralDistance(f: RgbPlanes, e: RgbPlanes, tile: number): number {
  const a = logPowerSpectrum(f, tile);
  const b = logPowerSpectrum(e, tile);
  let sum = 0;
  for (let i = 1; i < a.length; i++) sum += Math.abs(a[i] - b[i]); // bin 0 is DC
  return sum / (a.length - 1);
}
