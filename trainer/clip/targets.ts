/**
 * What the image is pulled towards (or pushed from): text prompts and image
 * prompts, embedded once at the start of a run. The embeddings are kept raw
 * (the "dot" distance needs them so) and travel in the checkpoint, so a resumed
 * run needs neither the text tower nor the prompt images.
 */
import type { Prompt } from '../../formats/model.ts';
import type { RgbaImage } from '../image/png.ts';
import type { SessionOptions } from '../engine/session.ts';
import { resampleMatrix } from './cutouts.ts';
import { embedImages, embedTexts, type ClipModel } from './model.ts';

export interface ClipTarget {
  /** The prompt text, or "image:<name>". */
  label: string;
  /** Positive: pull towards; negative: push away. */
  weight: number;
  embed: number[];
}

export interface ImagePrompt {
  name: string;
  image: RgbaImage;
  weight: number;
}

export async function embedTargets(
  model: ClipModel,
  prompts: Prompt[],
  images: ImagePrompt[],
  options: SessionOptions = {},
): Promise<ClipTarget[]> {
  const targets: ClipTarget[] = [];
  if (prompts.length) {
    const embeds = await embedTexts(model, prompts.map((p) => p.text), options);
    prompts.forEach((p, i) => targets.push({ label: p.text, weight: p.weight, embed: [...embeds[i]] }));
  }
  if (images.length) {
    const s = model.config.vision.imageSize;
    const embeds = await embedImages(model, images.map((im) => centreSquare(im.image, s)), options);
    images.forEach((im, i) => targets.push({ label: `image:${im.name}`, weight: im.weight, embed: [...embeds[i]] }));
  }
  if (!targets.some((t) => t.weight > 0)) throw new Error('CLIP guidance needs at least one prompt with a positive weight');
  return targets;
}

/** The largest centred square of an image, resampled to s x s, as RGB planes [3, s, s] in [0, 1] (CLIP's own preprocessing, minus the bicubic). */
export function centreSquare(image: RgbaImage, s: number): Float32Array {
  const { width: w, height: h } = image;
  const side = Math.min(w, h);
  const rows = resampleMatrix(h, (h - side) / 2, side, s);
  const cols = resampleMatrix(w, (w - side) / 2, side, s);
  const out = new Float32Array(3 * s * s);
  const across = new Float32Array(h * s);
  for (let c = 0; c < 3; c++) {
    // across[y][o] = sum_x image[y][x] * cols[o][x]; out[c][r][o] = sum_y rows[r][y] * across[y][o]
    across.fill(0);
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w; x++) {
        const v = image.data[(y * w + x) * 4 + c] / 255;
        for (let o = 0; o < s; o++) across[y * s + o] += v * cols[o * w + x];
      }
    }
    for (let r = 0; r < s; r++) {
      for (let y = 0; y < h; y++) {
        const k = rows[r * h + y];
        if (k === 0) continue;
        for (let o = 0; o < s; o++) out[(c * s + r) * s + o] += k * across[y * s + o];
      }
    }
  }
  return out;
}
