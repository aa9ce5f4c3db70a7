/**
 * Image files to RGBA8: PNG, JPEG, WebP, GIF (first frame) and SVG (rasterised),
 * through sharp (libvips, prebuilt per platform; see docs/decisions.md).
 * Every failure is an ImageError with a one-line message naming the file.
 */
import sharp, { type Sharp } from 'sharp';
import type { RgbaImage } from './png.ts';

export class ImageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ImageError';
  }
}

/** Formats `loadImage` accepts, by sharp's name for them. */
export const IMAGE_FORMATS = ['png', 'jpeg', 'webp', 'gif', 'svg'] as const;
/** The largest image accepted, in pixels (as the PNG codec). */
export const MAX_IMAGE_PIXELS = 1 << 28;

export interface LoadImageOptions {
  /**
   * SVG only: rasterise at this size. With one side given, the other follows the
   * drawing's aspect; with both, the drawing is stretched to exactly that size.
   * Without it, the SVG's own size (its width/height, or viewBox, at 72 dpi) is used.
   */
  svgSize?: { width?: number; height?: number };
}

/** Decodes an image file's bytes. `name` (a file name or URL) is only used in messages. */
export async function loadImage(bytes: Uint8Array, name: string, options: LoadImageOptions = {}): Promise<RgbaImage> {
  if (bytes.length === 0) throw new ImageError(`${name}: empty file`);
  const input = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const base = { failOn: 'error', limitInputPixels: MAX_IMAGE_PIXELS } as const;
  try {
    const meta = await sharp(input, base).metadata();
    const format = meta.format as string;
    if (!(IMAGE_FORMATS as readonly string[]).includes(format)) {
      throw new ImageError(`${name}: unsupported image format "${format}" (use PNG, JPEG, WebP, GIF or SVG)`);
    }
    let pipeline: Sharp;
    if (format === 'svg') {
      pipeline = svgPipeline(input, meta.width, meta.height, options.svgSize, name);
    } else {
      pipeline = sharp(input, { ...base, autoOrient: true });
    }
    const { data, info } = await pipeline.toColourspace('srgb').ensureAlpha().raw({ depth: 'uchar' }).toBuffer({ resolveWithObject: true });
    if (info.channels !== 4) throw new ImageError(`${name}: decoded to ${info.channels} channels, expected RGBA`);
    return { width: info.width, height: info.height, data: new Uint8Array(data) };
  } catch (err) {
    if (err instanceof ImageError) throw err;
    const reason = String((err as Error).message ?? err).split('\n').find((line) => line.trim() !== '') ?? 'unknown error';
    throw new ImageError(`${name}: not a readable image (${reason.trim()})`);
  }
}

function svgPipeline(input: Buffer, width: number, height: number, size: LoadImageOptions['svgSize'], name: string): Sharp {
  const want = size ?? {};
  for (const [side, v] of Object.entries(want)) {
    if (v !== undefined && !(Number.isInteger(v) && v >= 1 && v <= 1 << 14)) {
      throw new ImageError(`${name}: SVG ${side} must be an integer from 1 to ${1 << 14}, got ${v}`);
    }
  }
  if (want.width === undefined && want.height === undefined) return sharp(input, { failOn: 'error', limitInputPixels: MAX_IMAGE_PIXELS });
  const w = want.width ?? Math.max(1, Math.round((want.height! * width) / height));
  const h = want.height ?? Math.max(1, Math.round((want.width! * height) / width));
  // Render at a density whose natural size covers the wanted one (sharp's 72 dpi = the SVG's own size), then resample exactly.
  const density = Math.min(100000, Math.max(1, 72 * Math.max(w / width, h / height) * 1.0001));
  return sharp(input, { failOn: 'error', limitInputPixels: MAX_IMAGE_PIXELS, density }).resize(w, h, { fit: 'fill', kernel: 'lanczos3' });
}
