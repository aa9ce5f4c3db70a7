/**
 * `nca train --texture IMAGE`: a seamless, living texture from one example image,
 * with no download by default (multi-scale patch sliced-Wasserstein loss), or
 * with VGG16 features (--texture-loss vgg | vgg-swd; docs/textures.md).
 */
import { basename, extname } from 'node:path';
import { textureSizeProblem } from '../../exporter/eval/texture-run.ts';
import { encodePng } from '../../trainer/image/png.ts';
import { ImageError, loadImage } from '../../trainer/image/load.ts';
import { resizeRgba } from '../../trainer/pixel/pixel-loss.ts';
import type { SessionOptions } from '../../trainer/engine/session.ts';
import type { TrainConfig } from '../../trainer/train/config.ts';
import type { Loss } from '../../trainer/train/loss.ts';
import { textureLoss, TEXTURE_LOSSES, usesVgg, type TextureLossSpec } from '../../trainer/texture/texture-loss.ts';
import { DEFAULT_VGG_REPO, vggCheckpoint, type VggSource } from '../../trainer/vgg/files.ts';
import { openVgg16 } from '../../trainer/vgg/vgg16.ts';
import { HubError, HubOfflineError } from '../../trainer/weights/hub.ts';
import { SafetensorsError } from '../../trainer/weights/safetensors.ts';
import { readInput } from '../args.ts';
import { CliError, EXIT } from '../exit-codes.ts';
import { choiceValue, numberValue, sizeValue, stringValue } from '../values.ts';
import type { RunSource } from './train-clip.ts';

type Values = Record<string, unknown>;

export const textureOptions = {
  texture: { type: 'string' },
  'texture-scale': { type: 'string' },
  'texture-loss': { type: 'string' },
  'texture-weight': { type: 'string' },
  'spectrum-weight': { type: 'string' },
  vgg: { type: 'string' },
  'vgg-revision': { type: 'string' },
  'vgg-path': { type: 'string' },
} as const;

/** The spectrum term's default weight (docs/textures.md, "The spectrum term"). */
export const TEXTURE_SPECTRUM_WEIGHT = 1e-3;

export const textureHelp = `Textures (--texture IMAGE: PNG, JPEG, WebP, GIF or SVG; no download by default):
  --texture FILE         train a seamless texture that looks like FILE everywhere:
                         noise seed, circular padding, state clamp, patch
                         statistics at 4 scales instead of pixels (docs/textures.md)
  --texture-scale S      resize the example by S before training (default: its short
                         side to 128 cells, never enlarged); a feature of F pixels is
                         F x S cells wide: aim for a few to tens of cells
  --size WxH             training grid (default 64x64; any size plays later)
  --texture-loss KIND    patch (default: colour patches, no weights) | vgg (Gram
                         matrices of VGG16 features, as Self-Organising Textures) |
                         vgg-swd (sliced Wasserstein of VGG16 features)
  --vgg REPO             Hub repository of the VGG16 weights (default ${DEFAULT_VGG_REPO},
                         528 MiB, downloaded once into the Hugging Face cache)
  --vgg-revision REV     commit or branch (default main)
  --vgg-path FILE        a local VGG16 .safetensors (torchvision names: features.N.weight)
  --texture-weight W     weight of the texture term (default 1)
  --spectrum-weight W    weight of the spectrum term: the frames' log power spectrum
                         against the example's, so features keep their size and
                         spacing (default ${TEXTURE_SPECTRUM_WEIGHT}; 0 = patches only)
  With a PROMPT, --texture adds the texture term to the CLIP loss: text + texture.`;

/**
 * The exemplar's short side in cells by default (never enlarged). 128, not 64: 128-pixel crops of
 * real photographs learn at scale 1 (a brick wall meets every threshold) and turn to noise at 0.5
 * (gravel: crop ratios 0.75x/0.90x); larger photographs are still brought down to feature sizes
 * the NCA can coordinate (docs/textures.md, "Scale").
 */
export const TEXTURE_SIDE = 128;

/** Texture runs' defaults, where they differ from the source method (Self-Organising Textures). */
export const TEXTURE_DEFAULTS = { width: 64, height: 64, clamp: 2, minSteps: 32, maxSteps: 64 };

/** Whether --texture was given; its companion flags without it are a usage error, not silently ignored. */
export function isTextureRun(values: Values): boolean {
  if (values.texture !== undefined) return true;
  const stray = Object.keys(textureOptions).filter((flag) => flag !== 'texture' && values[flag] !== undefined);
  if (stray.length) throw new CliError(`${stray.map((f) => `--${f}`).join(', ')} need${stray.length === 1 ? 's' : ''} --texture IMAGE`, EXIT.usage);
  return false;
}

export async function textureSource(values: Values): Promise<RunSource<TextureLossSpec>> {
  const path = stringValue(values, 'texture')!;
  if (values.target !== undefined) throw new CliError('give either --texture or --target, not both', EXIT.usage);
  const grid = sizeValue(values, 'size', `${TEXTURE_DEFAULTS.width}x${TEXTURE_DEFAULTS.height}`, 1024);
  const spec = await textureSpec(values, grid);
  const name = basename(path, extname(path));
  const loss = spec.loss ?? 'patch';
  return {
    grid,
    colorCount: 3,
    seed: 'noise',
    spec,
    title: name,
    metadata: { title: name, clipModel: loss === 'patch' ? 'texture-swd' : `texture-${loss}`, tool: 'nca-studio' },
  };
}

/**
 * The texture loss that --texture and its flags ask for: the exemplar resized by --texture-scale
 * and checked against the grid (before any training or download), the loss kind, the VGG source.
 */
export async function textureSpec(values: Values, grid: { width: number; height: number }): Promise<TextureLossSpec> {
  const path = stringValue(values, 'texture')!;
  let image;
  try {
    image = await loadImage(await readInput(path), path);
  } catch (error) {
    if (error instanceof ImageError) throw new CliError(error.message, EXIT.badInput);
    throw error;
  }
  const scale = numberValue(values, 'texture-scale', Math.min(1, TEXTURE_SIDE / Math.min(image.width, image.height)), 1e-3, 16);
  const exemplar = resizeRgba(image, Math.max(1, Math.round(image.width * scale)), Math.max(1, Math.round(image.height * scale)));
  // Checked before any training: the run scores itself by the texture score, which needs these sizes.
  const problem = textureSizeProblem(grid, exemplar);
  if (problem?.what === 'grid') throw new CliError(`${problem.message}; use a larger --size`, EXIT.usage);
  if (problem) throw new CliError(`${path}: ${problem.message}; use a larger image or --texture-scale`, EXIT.badInput);
  const loss = choiceValue(values, 'texture-loss', TEXTURE_LOSSES, 'patch');
  const vggPath = stringValue(values, 'vgg-path');
  const vgg: VggSource = vggPath ? { path: vggPath } : { repo: stringValue(values, 'vgg') ?? DEFAULT_VGG_REPO, revision: stringValue(values, 'vgg-revision') };
  const weight = numberValue(values, 'texture-weight', 1, 0, 1e6);
  const spectrumWeight = numberValue(values, 'spectrum-weight', TEXTURE_SPECTRUM_WEIGHT, 0, 1e6);
  return {
    kind: 'texture',
    imagePng: Buffer.from(encodePng(exemplar)).toString('base64'),
    exemplarName: basename(path),
    scale,
    ...(weight !== 1 ? { weight } : {}),
    ...(spectrumWeight > 0 ? { spectrumWeight } : {}),
    ...(loss === 'patch' ? {} : { loss, vgg }),
  };
}

/** The loss of a new or resumed texture run; the vgg losses find (or download) and open VGG16 first. */
export async function textureLossFor(spec: TextureLossSpec, config: TrainConfig, options: SessionOptions & { quiet?: boolean }): Promise<Loss> {
  if (!usesVgg(spec)) return textureLoss(spec, config, options);
  const source = spec.vgg ?? { repo: DEFAULT_VGG_REPO };
  let file: string;
  try {
    file = await vggCheckpoint(source, options.quiet ? { progress: { write: () => true } as never, log: () => {} } : {});
  } catch (error) {
    if (error instanceof HubOfflineError) throw new CliError(error.message, EXIT.offline);
    if (error instanceof HubError) throw new CliError(error.message, 'path' in source ? EXIT.noInput : EXIT.failure);
    throw error;
  }
  let vgg;
  try {
    vgg = openVgg16(file);
  } catch (error) {
    if (error instanceof SafetensorsError) throw new CliError(error.message, EXIT.badInput);
    throw error;
  }
  // Sizes were checked by textureSpec (textureSizeProblem asks for more than VGG16's 16 cells).
  try {
    return await textureLoss(spec, config, options, vgg);
  } finally {
    vgg.weights.close();
  }
}
