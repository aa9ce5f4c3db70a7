/** Small image transforms for tests. */
import type { RgbaImage } from '../../trainer/image/png.ts';

/** The image shifted by (dx, dy) with wrap-around: the same patches, elsewhere. */
export function roll(im: RgbaImage, dx: number, dy: number): RgbaImage {
  const data = new Uint8Array(im.data.length);
  for (let y = 0; y < im.height; y++) {
    for (let x = 0; x < im.width; x++) {
      const to = ((y + dy) % im.height) * im.width + ((x + dx) % im.width);
      data.set(im.data.subarray(4 * (y * im.width + x), 4 * (y * im.width + x) + 4), 4 * to);
    }
  }
  return { ...im, data };
}
