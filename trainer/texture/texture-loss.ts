/**
 * The loss of a texture run (`nca train --texture`, docs/textures.md): one
 * texture term, chosen by the spec, plus the overflow penalty.
 *
 *   patch    multi-scale SWD of raw colour patches (swd-loss.ts; no weights, the default)
 *   vgg      Gram matrices of VGG16 features (vgg-loss.ts)
 *   vgg-swd  SWD of VGG16 features (vgg-loss.ts)
 */
import type { RgbaImage } from '../image/png.ts';
import { decodePng } from '../image/png.ts';
import type { SessionOptions } from '../engine/session.ts';
import type { TrainConfig } from '../train/config.ts';
import { graphLoss, overflowTerm, type Loss, type LossTerm } from '../train/loss.ts';
import type { VggSource } from '../vgg/files.ts';
import { STYLE_LAYERS, type Vgg16 } from '../vgg/vgg16.ts';
import { rgbPlanes } from './exemplar.ts';
import { spectrumTerm } from './spectrum-loss.ts';
import { checkSwd, swdSettings, swdTerm } from './swd-loss.ts';
import { exemplarLayers, vggTerm } from './vgg-loss.ts';

export const TEXTURE_LOSSES = ['patch', 'vgg', 'vgg-swd'] as const;
export type TextureLossKind = (typeof TEXTURE_LOSSES)[number];

/** How a texture run's loss is rebuilt on --resume: the exemplar travels inside the checkpoint. */
export interface TextureLossSpec {
  kind: 'texture';
  /** The exemplar as a PNG, base64, at training resolution (one pixel = one cell). */
  imagePng: string;
  /** Default 'patch'. */
  loss?: TextureLossKind;
  /** Where the VGG16 weights come from (the vgg losses only). */
  vgg?: VggSource;
  /** Patch SWD settings (swd-loss.ts); defaults there. */
  scales?: number;
  patch?: number;
  projections?: number;
  maxExemplar?: number;
  /** Weight of the texture term (default 1); the overflow term keeps config.overflowWeight. */
  weight?: number;
  /** Weight of the spectrum term (spectrum-loss.ts); absent or 0: none (runs from before it existed). */
  spectrumWeight?: number;
  /** Seed of the random directions; default: the run's seed. */
  seed?: number;
  [key: string]: unknown;
}

export const usesVgg = (spec: TextureLossSpec) => (spec.loss ?? 'patch') !== 'patch';

/** The exemplar image of a spec. */
export function specExemplar(spec: TextureLossSpec): RgbaImage {
  return decodePng(Buffer.from(spec.imagePng, 'base64'));
}

/** The texture term plus the overflow penalty, compiled into one loss graph; the vgg losses need the opened network. */
export async function textureLoss(
  spec: TextureLossSpec,
  config: Pick<TrainConfig, 'topology' | 'width' | 'height' | 'batch' | 'overflowWeight' | 'runSeed'>,
  options: SessionOptions = {},
  vgg?: Vgg16,
): Promise<Loss> {
  if (spec.kind !== 'texture') throw new Error(`textureLoss: spec kind "${spec.kind}"`);
  const image = specExemplar(spec);
  const seed = spec.seed ?? config.runSeed;
  const weight = spec.weight ?? 1;
  let term: LossTerm;
  if (usesVgg(spec)) {
    if (!vgg) throw new Error(`the ${spec.loss} texture loss needs VGG16 weights`);
    const reach = 1 << (STYLE_LAYERS.length - 1);
    for (const [what, w, h] of [['exemplar', image.width, image.height], ['grid', config.width, config.height]] as const) {
      if (Math.min(w, h) < reach) throw new Error(`texture loss: the ${w}x${h} ${what} is too small for VGG16's ${STYLE_LAYERS.at(-1)} (needs ${reach} px per side)`);
    }
    const statistic = spec.loss === 'vgg' ? 'gram' : 'swd';
    term = vggTerm(vgg, await exemplarLayers(vgg, rgbPlanes(image), options), config.topology, statistic, seed, weight);
  } else {
    const settings = swdSettings(spec, seed);
    checkSwd(settings, config, image);
    term = swdTerm(rgbPlanes(image), config.topology, settings, weight);
  }
  const terms = [term];
  if (spec.spectrumWeight) terms.push(spectrumTerm(rgbPlanes(image), config.topology, spec.spectrumWeight));
  // Weight 0: another loss of the run (CLIP's) already has the overflow term.
  if (config.overflowWeight > 0) terms.push(overflowTerm(config.overflowWeight));
  const shape = { batch: config.batch, channels: config.topology.channels, height: config.height, width: config.width };
  return graphLoss(terms, shape, options);
}
