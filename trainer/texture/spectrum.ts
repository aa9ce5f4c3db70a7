/**
 * Power spectra of colour planes, in plain TypeScript (no ORT): shared by the
 * texture score (exporter/eval/texture-score.ts) and the spectrum term of the
 * texture loss (spectrum-loss.ts), so that both see an image the same way.
 *
 * Welch's method: Hann-windowed L x L tiles at a stride of L/2, each tile's
 * mean removed, power averaged over the tiles and the RGB channels.
 */
import type { RgbPlanes } from './exemplar.ts';

/** Power spectrum floor: the 8-bit quantisation noise's power is about 1.3e-6 per bin. */
export const POWER_FLOOR = 1e-5;

/** The periodic Hann window of length L (sampled at pixel centres). */
export function hannWindow(L: number): Float64Array {
  return Float64Array.from({ length: L }, (_, i) => 0.5 - 0.5 * Math.cos((2 * Math.PI * (i + 0.5)) / L));
}

/** The sum of the squared 2-D window: divides a windowed tile's power so that white noise has the same level at any L. */
export function windowPower(hann: ArrayLike<number>): number {
  let sum = 0;
  for (let i = 0; i < hann.length; i++) sum += hann[i] * hann[i];
  return sum * sum;
}

/** Where the L-wide tiles along a side of `side` pixels start: every L/2, and the last one flush with the end. */
export function tileStarts(side: number, L: number): number[] {
  const step = L >> 1;
  const last = side - L;
  const out: number[] = [];
  for (let s = 0; s <= last; s += step) out.push(s);
  if (out[out.length - 1] !== last) out.push(last);
  return out;
}

/** Welch-averaged power on an L x L grid of frequencies (row-major: vertical frequency, then horizontal; DC at index 0). */
export function welchPower(img: RgbPlanes, L: number): Float64Array {
  const { width: w, height: h, data } = img;
  const hann = hannWindow(L);
  const norm = windowPower(hann);
  const power = new Float64Array(L * L);
  const re = new Float64Array(L * L);
  const im = new Float64Array(L * L);
  let tiles = 0;
  for (const y0 of tileStarts(h, L)) {
    for (const x0 of tileStarts(w, L)) {
      for (let c = 0; c < 3; c++) {
        let mean = 0;
        for (let y = 0; y < L; y++) for (let x = 0; x < L; x++) mean += data[(c * h + y0 + y) * w + x0 + x];
        mean /= L * L;
        for (let y = 0; y < L; y++) {
          for (let x = 0; x < L; x++) {
            re[y * L + x] = (data[(c * h + y0 + y) * w + x0 + x] - mean) * hann[y] * hann[x];
            im[y * L + x] = 0;
          }
        }
        fft2d(re, im, L);
        for (let i = 0; i < L * L; i++) power[i] += (re[i] * re[i] + im[i] * im[i]) / norm;
        tiles++;
      }
    }
  }
  return power.map((p) => p / tiles);
}

/** log(power + floor) of `welchPower`. */
export function logPowerSpectrum(img: RgbPlanes, L: number): Float64Array {
  return welchPower(img, L).map((p) => Math.log(p + POWER_FLOOR));
}

/** In-place 2-D FFT of an L x L complex array (L a power of 2): rows, then columns. */
export function fft2d(re: Float64Array, im: Float64Array, L: number): void {
  const rowRe = new Float64Array(L);
  const rowIm = new Float64Array(L);
  for (let pass = 0; pass < 2; pass++) {
    for (let r = 0; r < L; r++) {
      const at = (i: number) => (pass === 0 ? r * L + i : i * L + r);
      for (let i = 0; i < L; i++) {
        rowRe[i] = re[at(i)];
        rowIm[i] = im[at(i)];
      }
      fft(rowRe, rowIm);
      for (let i = 0; i < L; i++) {
        re[at(i)] = rowRe[i];
        im[at(i)] = rowIm[i];
      }
    }
  }
}

/** In-place iterative radix-2 FFT (forward, unnormalised); the length must be a power of 2. */
export function fft(re: Float64Array, im: Float64Array): void {
  const n = re.length;
  if (n & (n - 1)) throw new Error(`fft: length ${n} is not a power of 2`);
  for (let i = 1, j = 0; i < n; i++) {
    let bit = n >> 1;
    for (; j & bit; bit >>= 1) j ^= bit;
    j ^= bit;
    if (i < j) {
      [re[i], re[j]] = [re[j], re[i]];
      [im[i], im[j]] = [im[j], im[i]];
    }
  }
  for (let len = 2; len <= n; len <<= 1) {
    const angle = (-2 * Math.PI) / len;
    for (let i = 0; i < n; i += len) {
      for (let k = 0; k < len >> 1; k++) {
        const wr = Math.cos(angle * k);
        const wi = Math.sin(angle * k);
        const a = i + k;
        const b = a + (len >> 1);
        const tr = re[b] * wr - im[b] * wi;
        const ti = re[b] * wi + im[b] * wr;
        re[b] = re[a] - tr;
        im[b] = im[a] - ti;
        re[a] += tr;
        im[a] += ti;
      }
    }
  }
}
