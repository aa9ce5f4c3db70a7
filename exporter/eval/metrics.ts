/**
 * Image quality metrics for the long-run evaluation: PSNR and SSIM of RGB images in
 * [0, 1], and the conversions that put a model's colours and a target image on the
 * same footing (straight RGBA composited over white, the target centred on the grid).
 */
import type { Grid } from '../../formats/index.ts';
import type { RgbaImage } from '../../trainer/image/png.ts';

/** An RGB image, 3 floats per pixel in [0, 1], row-major. */
export interface RgbImage {
  width: number;
  height: number;
  data: Float32Array;
}

/** PSNR values are reported up to this cap: identical images would give +Infinity, which JSON cannot hold. */
export const PSNR_CAP_DB = 100;

/** Straight RGBA floats in [0, 1] (as `toColours` gives) over white: c = a·rgb + (1 − a). */
export function overWhite(rgba: Float32Array, grid: Grid): RgbImage {
  const n = grid.width * grid.height;
  if (rgba.length !== n * 4) throw new Error(`overWhite: ${rgba.length} values for ${grid.width}x${grid.height} RGBA`);
  const data = new Float32Array(n * 3);
  for (let i = 0; i < n; i++) {
    const a = rgba[i * 4 + 3];
    for (let k = 0; k < 3; k++) data[i * 3 + k] = a * rgba[i * 4 + k] + (1 - a);
  }
  return { width: grid.width, height: grid.height, data };
}

/** `image` moved by (dx, dy) cells; the cells moved in are white (frames are composited over white). */
export function shifted(image: RgbImage, dx: number, dy: number): RgbImage {
  const { width, height } = image;
  const data = new Float32Array(image.data.length).fill(1);
  for (let y = Math.max(0, dy); y < Math.min(height, height + dy); y++) {
    const from = ((y - dy) * width + Math.max(0, -dx)) * 3;
    data.set(image.data.subarray(from, from + (width - Math.abs(dx)) * 3), (y * width + Math.max(0, dx)) * 3);
  }
  return { width, height, data };
}

/** Where an image's top-left corner goes when centred on a grid, as image seeds are placed (SPEC.md §6). */
export function centredAt(image: { width: number; height: number }, grid: Grid): { x: number; y: number } {
  return { x: Math.floor((grid.width - image.width) / 2), y: Math.floor((grid.height - image.height) / 2) };
}

/**
 * A target image on a grid: transparent everywhere except the image, whose top-left
 * corner goes to `at`, by default (floor((W − w) / 2), floor((H − h) / 2)) as image seeds
 * are placed (SPEC.md §6); parts outside the grid are cropped. Straight RGBA floats in [0, 1].
 */
export function placeTarget(image: RgbaImage, grid: Grid, at: { x: number; y: number } = centredAt(image, grid)): Float32Array {
  const { width, height } = grid;
  const out = new Float32Array(width * height * 4);
  const { x: x0, y: y0 } = at;
  for (let y = 0; y < image.height; y++) {
    const gy = y + y0;
    if (gy < 0 || gy >= height) continue;
    for (let x = 0; x < image.width; x++) {
      const gx = x + x0;
      if (gx < 0 || gx >= width) continue;
      for (let k = 0; k < 4; k++) out[(gy * width + gx) * 4 + k] = image.data[(y * image.width + x) * 4 + k] / 255;
    }
  }
  return out;
}

function sameSize(a: RgbImage, b: RgbImage, what: string): void {
  if (a.width !== b.width || a.height !== b.height || a.data.length !== b.data.length || a.data.length === 0) {
    throw new Error(`${what}: images differ in size (${a.width}x${a.height} vs ${b.width}x${b.height})`);
  }
}

/**
 * Peak signal-to-noise ratio in dB, peak 1: −10·log10(mean squared error over every
 * pixel and channel). +Infinity for identical images, NaN when a value is NaN.
 */
export function psnr(a: RgbImage, b: RgbImage): number {
  sameSize(a, b, 'psnr');
  return psnrOfValues(a.data, b.data);
}

/** The same PSNR over two equally long lists of values in [0, 1] (any layout). */
export function psnrOfValues(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length || a.length === 0) throw new Error('psnr: images differ in size');
  let sum = 0;
  for (let i = 0; i < a.length; i++) sum += (a[i] - b[i]) ** 2;
  const mse = sum / a.length;
  return mse === 0 ? Infinity : 10 * Math.log10(1 / mse);
}

const SSIM_SIGMA = 1.5;
const SSIM_RADIUS = 5; // an 11 x 11 window, as in Wang et al. 2004
const C1 = (0.01 * 1) ** 2;
const C2 = (0.03 * 1) ** 2;
const GAUSS = Array.from({ length: 2 * SSIM_RADIUS + 1 }, (_, i) => Math.exp(-((i - SSIM_RADIUS) ** 2) / (2 * SSIM_SIGMA ** 2)));

/**
 * Gaussian-weighted local mean of one plane (separable, σ = 1.5, 11 taps). Near the
 * border the window keeps only the taps inside the image, renormalised, so any size works.
 */
function blur(plane: Float64Array, width: number, height: number): Float64Array {
  const rows = new Float64Array(plane.length);
  const out = new Float64Array(plane.length);
  for (let y = 0; y < height; y++) blurLine(plane, rows, y * width, 1, width);
  for (let x = 0; x < width; x++) blurLine(rows, out, x, width, height);
  return out;
}

/** One line of `length` values from `start`, `stride` apart; the window is cut (and renormalised) at the edges. */
function blurLine(src: Float64Array, dst: Float64Array, start: number, stride: number, length: number): void {
  for (let i = 0; i < length; i++) {
    let s = 0;
    let w = 0;
    for (let d = -SSIM_RADIUS; d <= SSIM_RADIUS; d++) {
      if (i + d < 0 || i + d >= length) continue;
      s += GAUSS[d + SSIM_RADIUS] * src[start + (i + d) * stride];
      w += GAUSS[d + SSIM_RADIUS];
    }
    dst[start + i * stride] = s / w;
  }
}

/**
 * Structural similarity (Wang et al. 2004): Gaussian window σ = 1.5 (11 x 11), K1 = 0.01,
 * K2 = 0.03, dynamic range 1; the SSIM map of each of R, G, B, averaged over every pixel
 * and the three channels. 1 for identical images, lower (down to −1) as structure differs.
 */
export function ssim(a: RgbImage, b: RgbImage): number {
  sameSize(a, b, 'ssim');
  const { width, height } = a;
  const n = width * height;
  let total = 0;
  for (let k = 0; k < 3; k++) {
    const x = new Float64Array(n);
    const y = new Float64Array(n);
    for (let i = 0; i < n; i++) (x[i] = a.data[i * 3 + k]), (y[i] = b.data[i * 3 + k]);
    const xx = x.map((v) => v * v);
    const yy = y.map((v) => v * v);
    const xy = x.map((v, i) => v * y[i]);
    const [mx, my, sxx, syy, sxy] = [x, y, xx, yy, xy].map((p) => blur(p, width, height));
    for (let i = 0; i < n; i++) {
      const vx = sxx[i] - mx[i] * mx[i];
      const vy = syy[i] - my[i] * my[i];
      const cov = sxy[i] - mx[i] * my[i];
      total += ((2 * mx[i] * my[i] + C1) * (2 * cov + C2)) / ((mx[i] * mx[i] + my[i] * my[i] + C1) * (vx + vy + C2));
    }
  }
  return total / (3 * n);
}

/** An RGB image as opaque RGBA8 (for PNG strips). */
export function toRgba8(image: RgbImage): Uint8Array {
  const n = image.width * image.height;
  const out = new Uint8Array(n * 4);
  for (let i = 0; i < n; i++) {
    const rgb = image.data.subarray(i * 3, i * 3 + 3);
    // A pixel with a non-finite value (an exploded state) shows as magenta.
    const bad = !rgb.every(Number.isFinite);
    for (let k = 0; k < 3; k++) out[i * 4 + k] = bad ? (k === 1 ? 0 : 255) : Math.round(Math.min(1, Math.max(0, rgb[k])) * 255);
    out[i * 4 + 3] = 255;
  }
  return out;
}
