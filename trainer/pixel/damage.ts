/** Growing-NCA style damage: erase a random disc in some batch states so the NCA learns to regrow. */
import type { Rng } from '../../formats/random.ts';
import type { BatchShape } from '../nca/layout.ts';

/** Zeros every channel inside one random circle (radius 10-40% of the short side) in each of `slots`. */
export function eraseCircles(batch: Float32Array, shape: BatchShape, slots: number[], rng: Rng): void {
  const { channels, height, width } = shape;
  const plane = height * width;
  for (const b of slots) {
    const radius = (0.1 + 0.3 * rng.next()) * Math.min(width, height);
    const cx = rng.next() * width;
    const cy = rng.next() * height;
    for (let y = 0; y < height; y++) {
      for (let x = 0; x < width; x++) {
        if ((x + 0.5 - cx) ** 2 + (y + 0.5 - cy) ** 2 > radius * radius) continue;
        for (let c = 0; c < channels; c++) batch[(b * channels + c) * plane + y * width + x] = 0;
      }
    }
  }
}
