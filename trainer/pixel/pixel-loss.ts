/**
 * The pixel-target loss (Growing NCA style): mean squared error between the
 * displayed colour channels, x[offset + i] + bias, and the target image.
 */
import type { Topology } from '../../formats/model.ts';
import { decodePng, type RgbaImage } from '../image/png.ts';
import { add, mul, reduceMean, slice, sub } from '../graph/ops.ts';
import type { SessionOptions } from '../engine/session.ts';
import type { TrainConfig } from '../train/config.ts';
import { graphLoss, overflowTerm, type Loss, type LossTerm } from '../train/loss.ts';

/** The target as [1, count, H, W] floats in [0, 1], bilinearly resized to the grid when sizes differ. */
export function targetPlanes(image: RgbaImage, count: 3 | 4, width: number, height: number): Float32Array {
  const out = new Float32Array(count * width * height);
  for (let y = 0; y < height; y++) {
    const sy = Math.min(Math.max(((y + 0.5) * image.height) / height - 0.5, 0), image.height - 1);
    const y0 = Math.floor(sy);
    const y1 = Math.min(y0 + 1, image.height - 1);
    for (let x = 0; x < width; x++) {
      const sx = Math.min(Math.max(((x + 0.5) * image.width) / width - 0.5, 0), image.width - 1);
      const x0 = Math.floor(sx);
      const x1 = Math.min(x0 + 1, image.width - 1);
      const at = (px: number, py: number, c: number) => image.data[(py * image.width + px) * 4 + c] / 255;
      for (let c = 0; c < count; c++) {
        const top = at(x0, y0, c) * (1 - (sx - x0)) + at(x1, y0, c) * (sx - x0);
        const bottom = at(x0, y1, c) * (1 - (sx - x0)) + at(x1, y1, c) * (sx - x0);
        out[(c * height + y) * width + x] = top * (1 - (sy - y0)) + bottom * (sy - y0);
      }
    }
  }
  return out;
}

export function pixelTerm(target: Float32Array, topology: Topology, weight = 1): LossTerm {
  const { offset, count, bias } = topology.color;
  return {
    name: 'pixel',
    weight,
    build(state) {
      const [, , h, w] = state.shape;
      const colour = add(slice(state, [offset], [offset + count], [1]), bias);
      const goal = state.graph.constant(target, [1, count, h, w]);
      const diff = sub(colour, goal);
      return reduceMean(mul(diff, diff), [0, 1, 2, 3], false);
    },
  };
}

/** How a pixel-target run's loss is rebuilt on --resume: the target PNG travels inside the checkpoint. */
export interface PixelLossSpec {
  kind: 'pixel';
  /** The target PNG file, base64. */
  targetPng: string;
  [key: string]: unknown;
}

/** The pixel term plus the overflow penalty, compiled into one loss graph. */
export async function pixelLoss(spec: PixelLossSpec, config: TrainConfig, options: SessionOptions = {}): Promise<Loss> {
  const image = decodePng(Buffer.from(spec.targetPng, 'base64'));
  const topology = config.topology;
  const target = targetPlanes(image, topology.color.count, config.width, config.height);
  const shape = { batch: config.batch, channels: topology.channels, height: config.height, width: config.width };
  return graphLoss([pixelTerm(target, topology), overflowTerm(config.overflowWeight)], shape, options);
}
