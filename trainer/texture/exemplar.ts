/**
 * Plain helpers shared by the texture loss (an ORT graph) and the texture score
 * (plain TypeScript): the exemplar as colour planes, and random unit projections.
 * Nothing here needs onnxruntime.
 */
import { Rng, hash32 } from '../../formats/random.ts';
import type { RgbaImage } from '../image/png.ts';

/** An RGB image as planes [3, H, W], values in [0, 1]. */
export interface RgbPlanes {
  width: number;
  height: number;
  data: Float32Array;
}

/** The image's colour as [3, H, W] planes in [0, 1]; transparent pixels are composited over black (premultiplied). */
export function rgbPlanes(image: RgbaImage): RgbPlanes {
  const { width, height, data } = image;
  const plane = width * height;
  const out = new Float32Array(3 * plane);
  for (let i = 0; i < plane; i++) {
    const a = data[4 * i + 3] / 255;
    for (let c = 0; c < 3; c++) out[c * plane + i] = (data[4 * i + c] / 255) * a;
  }
  return { width, height, data: out };
}

/** A width x height crop of planes at (x0, y0); the planes themselves when the crop is all of them. */
export function cropPlanes(p: RgbPlanes, x0: number, y0: number, width: number, height: number): RgbPlanes {
  if (width === p.width && height === p.height) return p;
  const data = new Float32Array(3 * width * height);
  for (let c = 0; c < 3; c++) {
    for (let y = 0; y < height; y++) {
      const from = (c * p.height + y0 + y) * p.width + x0;
      data.set(p.data.subarray(from, from + width), (c * height + y) * width);
    }
  }
  return { width, height, data };
}

/** One 2x average-pooling step of planes [C, H, W]; an odd last row or column is dropped. */
export function halve(p: RgbPlanes, channels = 3): RgbPlanes {
  const width = p.width >> 1;
  const height = p.height >> 1;
  const out = new Float32Array(channels * width * height);
  for (let c = 0; c < channels; c++) {
    const src = c * p.width * p.height;
    for (let y = 0; y < height; y++) {
      for (let x = 0; x < width; x++) {
        const i = src + 2 * y * p.width + 2 * x;
        out[(c * height + y) * width + x] = 0.25 * (p.data[i] + p.data[i + 1] + p.data[i + p.width] + p.data[i + p.width + 1]);
      }
    }
  }
  return { width, height, data: out };
}

/** `count` random unit vectors of `dims` numbers each (row-major [count, dims]), Gaussian directions. */
export function unitDirections(rng: Rng, count: number, dims: number): Float32Array {
  const out = new Float32Array(count * dims);
  for (let p = 0; p < count; p++) {
    let norm = 0;
    const row = out.subarray(p * dims, (p + 1) * dims);
    for (let d = 0; d < dims; d++) {
      row[d] = rng.normal();
      norm += row[d] * row[d];
    }
    const inv = 1 / Math.sqrt(Math.max(norm, 1e-30));
    for (let d = 0; d < dims; d++) row[d] *= inv;
  }
  return out;
}

const STREAM_TEXTURE = 0x74657874; // "text"

/** The generator for one iteration's projections and crops: a function of (seed, iteration) only, so a resumed run repeats them. */
export function iterationRng(seed: number, iteration: number): Rng {
  return new Rng(hash32((hash32(seed ^ STREAM_TEXTURE) + Math.imul(iteration + 1, 0x9e3779b1)) >>> 0));
}

/** Quantile index map: for each of `n` ranks, the rank among `m` sorted values at the same quantile, (j + 0.5) m / n. */
export function quantileIndices(n: number, m: number): number[] {
  return Array.from({ length: n }, (_, j) => Math.min(m - 1, Math.floor(((j + 0.5) * m) / n)));
}
