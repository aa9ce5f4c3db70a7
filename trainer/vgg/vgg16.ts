/**
 * VGG16's convolutional part (torchvision's `vgg16().features`, configuration
 * "D") as graph ops, up to the deepest style layer asked for, with weights read
 * from a safetensors checkpoint that uses torchvision's names
 * (`features.{i}.weight` [out, in, 3, 3], `features.{i}.bias`), as timm's
 * `vgg16.tv_in1k` does. Other tensors (the classifier) are never read.
 *
 * The widths come from the checkpoint, so a tiny random VGG with the same
 * layout runs through the same code as the real one (test/fixtures/vgg-tiny).
 * Max pooling is a reshape and ReduceMax (which has a gradient rule).
 */
import type { Value } from '../graph/graph.ts';
import * as op from '../graph/ops.ts';
import { FedWeights } from '../weights/fed-weights.ts';
import { SafetensorsError } from '../weights/safetensors.ts';

/** Convolutions per block in configuration "D". */
const BLOCKS = [2, 2, 3, 3, 3];

/** The style layers of Gatys et al. and Self-Organising Textures: the first ReLU of each block. */
export const STYLE_LAYERS = ['relu1_1', 'relu2_1', 'relu3_1', 'relu4_1', 'relu5_1'] as const;

/** torchvision's ImageNet normalisation, which its VGG weights expect for pixels in [0, 1]. */
export const IMAGENET_MEAN = [0.485, 0.456, 0.406];
export const IMAGENET_STD = [0.229, 0.224, 0.225];

interface ConvLayer {
  /** Index in torchvision's `features` Sequential. */
  index: number;
  inputs: number;
  outputs: number;
}

export interface Vgg16 {
  weights: FedWeights;
  /** Per block, its convolutions (index in `features`, channels in and out). */
  blocks: ConvLayer[][];
}

/** Opens a checkpoint and checks that its `features.*` tensors chain as VGG16's layers; throws SafetensorsError naming the problem. */
export function openVgg16(path: string): Vgg16 {
  const weights = FedWeights.open(path);
  try {
    return { weights, blocks: layout(weights, path) };
  } catch (error) {
    weights.close();
    throw error;
  }
}

function layout(weights: FedWeights, path: string): ConvLayer[][] {
  const file = weights.file;
  const fail = (why: string): never => {
    throw new SafetensorsError(`${path}: not a VGG16 checkpoint with torchvision's names (features.N.weight): ${why}`);
  };
  let index = 0;
  let channels = 3;
  return BLOCKS.map((convs) => {
    const block: ConvLayer[] = [];
    for (let j = 0; j < convs; j++) {
      const name = `features.${index}.weight`;
      if (!file.has(name)) fail(`it has no ${name}`);
      const shape = file.info(name).shape;
      if (shape.length !== 4 || shape[1] !== channels || shape[2] !== 3 || shape[3] !== 3) {
        fail(`${name} has shape [${shape.join(', ')}], expected [out, ${channels}, 3, 3]`);
      }
      block.push({ index, inputs: channels, outputs: shape[0] });
      channels = shape[0];
      index += 2; // conv, ReLU
    }
    index += 1; // max pool
    return block;
  });
}

/** The ReLU outputs of the first `count` style layers for pixels [N, 3, H, W] in [0, 1]. */
export function styleFeatures(vgg: Vgg16, pixels: Value, count: number = STYLE_LAYERS.length): Value[] {
  if (pixels.rank !== 4 || pixels.shape[1] !== 3) throw new Error(`VGG16: expects pixels [N, 3, H, W], got ${pixels}`);
  const g = pixels.graph;
  const [, , h, w] = pixels.shape;
  const reach = 1 << (count - 1);
  if (h < reach || w < reach) throw new Error(`VGG16: a ${w}x${h} image is too small for ${STYLE_LAYERS[count - 1]} (needs ${reach} px per side)`);
  let x = op.div(op.sub(pixels, g.constant(IMAGENET_MEAN, [1, 3, 1, 1])), g.constant(IMAGENET_STD, [1, 3, 1, 1]));
  const out: Value[] = [];
  for (let b = 0; b < count; b++) {
    if (b > 0) x = op.pool2x2(x, 'max');
    vgg.blocks[b].forEach((conv, j) => {
      if (b === count - 1 && j > 0) return; // past the deepest style layer
      const weight = vgg.weights.param(g, `features.${conv.index}.weight`, [conv.outputs, conv.inputs, 3, 3]);
      const bias = vgg.weights.param(g, `features.${conv.index}.bias`, [conv.outputs]);
      x = op.relu(op.conv(x, weight, bias, { pads: [1, 1, 1, 1] }));
      if (j === 0) out.push(x);
    });
  }
  return out;
}
