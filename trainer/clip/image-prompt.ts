/**
 * Image prompt files (`--image-prompt`): any format `loadImage` reads (PNG, JPEG, WebP, GIF,
 * SVG), prepared for the image tower, whose input is side x side pixels (its `imageSize`).
 *
 * Two steps, because a file is checked before the CLIP model is found (a bad file should fail
 * before a download), and the tower's input size is known only after:
 *   readImagePrompt   decodes the file (an SVG at its own size): every failure is an ImageError
 *   fitImagePrompt    an SVG is rasterised again with its short side at `side` pixels, so it is
 *                     drawn at the size CLIP sees rather than resampled; a raster image whose short
 *                     side is larger is shrunk to that (lanczos3), as centreSquare's resampling
 *                     costs width x height x side per channel: seconds for a photograph.
 */
import sharp from 'sharp';
import { loadImage } from '../image/load.ts';
import type { RgbaImage } from '../image/png.ts';

export interface ImagePromptFile {
  /** The path or name given, for messages. */
  name: string;
  bytes: Uint8Array;
  /** Decoded at its own size. */
  image: RgbaImage;
  svg: boolean;
}

export async function readImagePrompt(bytes: Uint8Array, name: string): Promise<ImagePromptFile> {
  const image = await loadImage(bytes, name);
  // loadImage accepted the bytes, so sharp reads their format.
  const { format } = await sharp(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)).metadata();
  return { name, bytes, image, svg: format === 'svg' };
}

/** The image to embed for a tower whose input is side x side pixels. */
export async function fitImagePrompt(file: ImagePromptFile, side: number): Promise<RgbaImage> {
  const { width, height } = file.image;
  if (file.svg) return loadImage(file.bytes, file.name, { svgSize: width <= height ? { width: side } : { height: side } });
  if (Math.min(width, height) <= side) return file.image;
  const scale = side / Math.min(width, height);
  const w = Math.max(side, Math.round(width * scale));
  const h = Math.max(side, Math.round(height * scale));
  const data = await sharp(file.image.data, { raw: { width, height, channels: 4 } })
    .resize(w, h, { fit: 'fill', kernel: 'lanczos3' })
    .raw()
    .toBuffer();
  return { width: w, height: h, data: new Uint8Array(data.buffer, data.byteOffset, data.byteLength) };
}
