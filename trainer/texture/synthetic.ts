/**
 * Seamless textures drawn by code, for tests and offline demos: no file needed.
 * Both tile (their right edge continues at the left, their bottom at the top).
 */
import { Rng } from '../../formats/random.ts';
import type { RgbaImage } from '../image/png.ts';

const PALETTE: [number, number, number][] = [
  [230, 90, 40],
  [40, 120, 200],
  [250, 210, 60],
];

/** Random discs (radius `minRadius`..`maxRadius`) in three colours on a dark background, wrapping around the edges. */
export function discTexture(width: number, height: number, seed = 1, count = Math.round((width * height) / 90), minRadius = 2, maxRadius = 4.5): RgbaImage {
  const rng = new Rng(seed);
  const data = new Uint8Array(width * height * 4);
  for (let i = 0; i < width * height; i++) data.set([30, 28, 40, 255], 4 * i);
  for (let n = 0; n < count; n++) {
    const cx = rng.next() * width;
    const cy = rng.next() * height;
    const r = minRadius + rng.next() * (maxRadius - minRadius);
    const colour = PALETTE[Math.floor(rng.next() * PALETTE.length)];
    for (let dy = -Math.ceil(r); dy <= Math.ceil(r); dy++) {
      for (let dx = -Math.ceil(r); dx <= Math.ceil(r); dx++) {
        const px = Math.floor(cx) + dx;
        const py = Math.floor(cy) + dy;
        if ((px + 0.5 - cx) ** 2 + (py + 0.5 - cy) ** 2 > r * r) continue;
        const x = ((px % width) + width) % width;
        const y = ((py % height) + height) % height;
        data.set([...colour, 255], 4 * (y * width + x));
      }
    }
  }
  return { width, height, data };
}

/** Two-colour stripes of `period` pixels (half of each colour), 'vertical' (varying along x) or 'horizontal'. */
export function stripeTexture(width: number, height: number, period: number, direction: 'vertical' | 'horizontal'): RgbaImage {
  const data = new Uint8Array(width * height * 4);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const t = direction === 'vertical' ? x : y;
      const on = t % period < period / 2;
      data.set(on ? [220, 60, 50, 255] : [30, 40, 120, 255], 4 * (y * width + x));
    }
  }
  return { width, height, data };
}
