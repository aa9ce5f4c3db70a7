/**
 * The pixel-target loss (Growing NCA style): mean squared error between the
 * displayed colour channels, x[offset + i] + bias (alphaBias for alpha), and the
 * target image, premultiplied by its alpha when the model's colour is
 * (living models). The target may sit in a box inside a larger, transparent
 * grid, so the pattern has room to grow and regrow.
 */
import type { Topology } from '../../formats/model.ts';
import type { Value } from '../graph/graph.ts';
import { decodePng, type RgbaImage } from '../image/png.ts';
import { add, mul, reduceMean, slice, sub } from '../graph/ops.ts';
import { alphaBias } from '../../formats/model.ts';
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

/** The image bilinearly resized (targetPlanes' sampling), as straight RGBA8. */
export function resizeRgba(image: RgbaImage, width: number, height: number): RgbaImage {
  if (image.width === width && image.height === height) return image;
  const planes = targetPlanes(image, 4, width, height);
  const data = new Uint8Array(width * height * 4);
  for (let i = 0; i < width * height; i++) for (let c = 0; c < 4; c++) data[i * 4 + c] = Math.round(planes[c * width * height + i] * 255);
  return { width, height, data };
}

/** A box of the grid: where the target goes. */
export interface Box {
  x: number;
  y: number;
  width: number;
  height: number;
}

/** The target box centred in a grid, placed like an image seed (SPEC.md §6): top-left at floor((W - w) / 2). */
export function centredBox(grid: { width: number; height: number }, width: number, height: number): Box {
  return { x: Math.floor((grid.width - width) / 2), y: Math.floor((grid.height - height) / 2), width, height };
}

/**
 * The goal of each colour channel as [1, count, H, W]: the image resized to
 * `box` (default: the whole grid), premultiplied by its alpha when the
 * topology's colour is, zero (transparent) outside the box.
 */
export function goalPlanes(image: RgbaImage, topology: Topology, grid: { width: number; height: number }, box: Box = { x: 0, y: 0, ...grid }): Float32Array {
  const { count, premultiplied } = topology.color;
  const inner = targetPlanes(image, 4, box.width, box.height);
  const plane = box.width * box.height;
  const out = new Float32Array(count * grid.width * grid.height);
  for (let c = 0; c < count; c++) {
    for (let y = 0; y < box.height; y++) {
      for (let x = 0; x < box.width; x++) {
        const i = y * box.width + x;
        const v = inner[c * plane + i] * (premultiplied && c < 3 ? inner[3 * plane + i] : 1);
        out[(c * grid.height + y + box.y) * grid.width + x + box.x] = v;
      }
    }
  }
  return out;
}

/** The displayed colour channels minus the goal, [B, count, H, W]. */
function colourError(state: Value, goal: Float32Array, topology: Topology): Value {
  const { offset, count, bias } = topology.color;
  const [, , h, w] = state.shape;
  const biases = Float32Array.from({ length: count }, (_, c) => (c === 3 ? alphaBias(topology.color) : bias));
  const colour = add(slice(state, [offset], [offset + count], [1]), state.graph.constant(biases, [1, count, 1, 1]));
  return sub(colour, state.graph.constant(goal, [1, count, h, w]));
}

export function pixelTerm(goal: Float32Array, topology: Topology, weight = 1): LossTerm {
  return {
    name: 'pixel',
    weight,
    build(state) {
      const diff = colourError(state, goal, topology);
      return reduceMean(mul(diff, diff), [0, 1, 2, 3], false);
    },
  };
}

/** Each batch state's own mean squared error, [B]: how the pool ranks its states. */
export function pixelRank(goal: Float32Array, topology: Topology): (state: Value) => Value {
  return (state) => {
    const diff = colourError(state, goal, topology);
    return reduceMean(mul(diff, diff), [1, 2, 3], false);
  };
}

/** How a pixel-target run's loss is rebuilt on --resume: the target PNG travels inside the checkpoint. */
export interface PixelLossSpec {
  kind: 'pixel';
  /** The target PNG file, base64. */
  targetPng: string;
  /** Where the target goes in the grid; absent: the whole grid. */
  box?: Box;
  [key: string]: unknown;
}

/** The pixel term plus the overflow penalty, compiled into one loss graph. */
export async function pixelLoss(spec: PixelLossSpec, config: TrainConfig, options: SessionOptions = {}): Promise<Loss> {
  const image = decodePng(Buffer.from(spec.targetPng, 'base64'));
  const topology = config.topology;
  const goal = goalPlanes(image, topology, config, spec.box);
  const shape = { batch: config.batch, channels: topology.channels, height: config.height, width: config.width };
  return graphLoss([pixelTerm(goal, topology), overflowTerm(config.overflowWeight)], shape, options, pixelRank(goal, topology));
}
