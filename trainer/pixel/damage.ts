/**
 * Growing-NCA style damage: erase part of some batch states so the NCA learns to regrow.
 *
 * 'disc' is Growing NCA's random circle. 'half' erases everything on one side of a random
 * line through the middle half of the grid: the kind of loss `nca eval`'s regrowth test
 * inflicts (the right half), which discs rarely do to a pattern centred in its grid.
 * 'mixed' picks one of the two per damaged state.
 */
import type { Rng } from '../../formats/random.ts';
import type { BatchShape } from '../nca/layout.ts';

export const DAMAGE_SHAPES = ['disc', 'half', 'mixed'] as const;
export type DamageShape = (typeof DAMAGE_SHAPES)[number];

/** Zeros every channel of the erased cells of each of `slots`. */
export function eraseDamage(batch: Float32Array, shape: BatchShape, slots: number[], rng: Rng, kind: DamageShape = 'disc'): void {
  const { channels, height, width } = shape;
  const plane = height * width;
  for (const b of slots) {
    const erased = (kind === 'mixed' ? (rng.next() < 0.5 ? 'disc' : 'half') : kind) === 'disc' ? randomDisc(shape, rng) : randomHalfPlane(shape, rng);
    for (let y = 0; y < height; y++) {
      for (let x = 0; x < width; x++) {
        if (!erased(x + 0.5, y + 0.5)) continue;
        for (let c = 0; c < channels; c++) batch[(b * channels + c) * plane + y * width + x] = 0;
      }
    }
  }
}

type Region = (x: number, y: number) => boolean;

/** A circle of radius 10-40% of the short side, centred anywhere. */
function randomDisc({ width, height }: BatchShape, rng: Rng): Region {
  const radius = (0.1 + 0.3 * rng.next()) * Math.min(width, height);
  const cx = rng.next() * width;
  const cy = rng.next() * height;
  return (x, y) => (x - cx) ** 2 + (y - cy) ** 2 <= radius * radius;
}

/** One side of a line at a random angle through a point in the middle half of the grid. */
function randomHalfPlane({ width, height }: BatchShape, rng: Rng): Region {
  const angle = 2 * Math.PI * rng.next();
  const nx = Math.cos(angle);
  const ny = Math.sin(angle);
  const px = (0.25 + 0.5 * rng.next()) * width;
  const py = (0.25 + 0.5 * rng.next()) * height;
  return (x, y) => (x - px) * nx + (y - py) * ny > 0;
}
