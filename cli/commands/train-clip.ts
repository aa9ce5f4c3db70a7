/**
 * The CLIP side of `nca train "PROMPT"`: its flags, finding the model (cache,
 * download or --clip-path), embedding the prompts once, and rebuilding the loss
 * on --resume from the checkpoint's stored embeddings.
 */
import { basename } from 'node:path';
import type { Metadata } from '../../formats/model.ts';
import { clipLoss, DEFAULT_CLIP_SETTINGS, DISTANCES, type ClipLossSettings } from '../../trainer/clip/clip-loss.ts';
import { ClipConfigError } from '../../trainer/clip/config.ts';
import { coverCount } from '../../trainer/clip/cutouts.ts';
import { checkClipDir, DEFAULT_CLIP_REPO, ensureClipFiles } from '../../trainer/clip/files.ts';
import { HubError, HubOfflineError } from '../../trainer/weights/hub.ts';
import { fitImagePrompt, readImagePrompt, type ImagePromptFile } from '../../trainer/clip/image-prompt.ts';
import { loadClip, type ClipModel } from '../../trainer/clip/model.ts';
import { parseImagePrompt, parseNegativePrompts, parsePrompts, PromptError } from '../../trainer/clip/prompts.ts';
import { SafetensorsError } from '../../trainer/weights/safetensors.ts';
import { embedTargets, type ClipTarget, type ImagePrompt } from '../../trainer/clip/targets.ts';
import type { SessionOptions } from '../../trainer/engine/session.ts';
import { ImageError } from '../../trainer/image/load.ts';
import type { TrainConfig } from '../../trainer/train/config.ts';
import { sumLosses, type Loss } from '../../trainer/train/loss.ts';
import type { TextureLossSpec } from '../../trainer/texture/texture-loss.ts';
import { readInput } from '../args.ts';
import { CliError, EXIT } from '../exit-codes.ts';
import { choiceValue, intValue, numberValue, sizeValue, stringValue } from '../values.ts';
import { textureLossFor, textureSpec } from './train-texture.ts';

export const clipOptions = {
  negative: { type: 'string' },
  'image-prompt': { type: 'string', multiple: true },
  clip: { type: 'string' },
  'clip-revision': { type: 'string' },
  'clip-path': { type: 'string' },
  'clip-loss': { type: 'string' },
  'clip-weight': { type: 'string' },
  'clip-chunk': { type: 'string' },
  cutouts: { type: 'string' },
  'cutout-min': { type: 'string' },
  jitter: { type: 'string' },
  noise: { type: 'string' },
  'no-flip': { type: 'boolean' },
} as const;

export const clipHelp = `CLIP guidance (a PROMPT instead of --target; docs/clip.md):
  PROMPT                 "red coral:1, deep sea:0.5": weighted prompts; a negative weight pushes away
  --negative TEXT        negative prompts, same syntax ("blurry, text:0.5")
  --image-prompt F[:W]   an image (PNG, JPEG, WebP, GIF or SVG) whose CLIP embedding is a target (repeatable)
  --clip REPO            Hub repository (default ${DEFAULT_CLIP_REPO}; e.g. openai/clip-vit-base-patch16,
                         openai/clip-vit-large-patch14, laion/CLIP-ViT-B-32-laion2B-s34B-b79K)
  --clip-revision REV    commit or branch (default: pinned for the default repositories, else main)
  --clip-path DIR        a local directory with config.json, tokenizer.json, model.safetensors (no download)
  --clip-loss KIND       ${DISTANCES.join(' | ')} (default ${DEFAULT_CLIP_SETTINGS.distance}; dot = the source method's raw dot product)
  --clip-weight X        weight of the CLIP term (default 1)
  --cutouts N            CLIP views per state per iteration (default ${DEFAULT_CLIP_SETTINGS.cutouts.count}); the first ones cover the frame
  --cutout-min X         smallest random cutout, fraction of the short side (default ${DEFAULT_CLIP_SETTINGS.cutouts.minScale})
  --jitter X             random shift, fraction of the cutout (default ${DEFAULT_CLIP_SETTINGS.cutouts.jitter})
  --noise X              largest std of the noise added to cutouts (default ${DEFAULT_CLIP_SETTINGS.cutouts.noise})
  --no-flip              no random mirroring of cutouts
  --clip-chunk N         states per CLIP pass, a divisor of --batch (default 1: least memory)
  Without --size the grid is 128x128; the seed defaults to noise. Offline with no
  cached weights the command exits with code 2 and says how to provide them.`;

type Values = Record<string, unknown>;

/** How a CLIP run's loss is rebuilt on --resume: the model's location and the embedded targets. */
export interface ClipLossSpec {
  kind: 'clip';
  model: { repo: string; revision?: string } | { path: string };
  targets: ClipTarget[];
  settings: ClipLossSettings;
  /** A texture term added to the CLIP loss (PROMPT plus --texture). */
  texture?: TextureLossSpec;
  [key: string]: unknown;
}

/** What a new run takes from its goal (a target image or prompts). */
export interface RunSource<Spec = ClipLossSpec> {
  grid: { width: number; height: number };
  colorCount: 3 | 4;
  /** A cell seed's cells, [dx, dy] from the grid centre (TrainConfig.seedCells). */
  seedCells?: [number, number][];
  seed: 'cell' | 'noise';
  spec: Spec;
  title: string;
  metadata: Metadata;
}

export interface ClipRunOptions extends SessionOptions {
  quiet?: boolean;
}

export function isClipRun(values: Values, positionals: string[]): boolean {
  return positionals.length > 0 || values['image-prompt'] !== undefined;
}

export async function clipSource(values: Values, positionals: string[], options: ClipRunOptions): Promise<RunSource> {
  if (positionals.length > 1) throw new CliError(`give one PROMPT (quote it), got ${positionals.length} words: ${positionals.map((p) => `"${p}"`).join(' ')}`, EXIT.usage);
  if (values.target !== undefined) throw new CliError('give either a PROMPT or --target, not both', EXIT.usage);
  const negative = stringValue(values, 'negative');
  const prompts = asUsage(() => [
    ...(positionals[0] !== undefined ? parsePrompts(positionals[0]) : []),
    ...(negative !== undefined ? parseNegativePrompts(negative) : []),
  ]);
  // Image files are read (and bad ones refused) before the model is found, which may download it.
  const images = await Promise.all(((values['image-prompt'] as string[] | undefined) ?? []).map(readImagePromptArg));
  const grid = sizeValue(values, 'size', '128x128', 1024);
  const texture = values.texture !== undefined ? await textureSpec(values, grid) : undefined;
  const cutouts = {
    count: intValue(values, 'cutouts', DEFAULT_CLIP_SETTINGS.cutouts.count, 1, 256),
    minScale: numberValue(values, 'cutout-min', DEFAULT_CLIP_SETTINGS.cutouts.minScale, 0.05, 1),
    jitter: numberValue(values, 'jitter', DEFAULT_CLIP_SETTINGS.cutouts.jitter, 0, 0.5),
    noise: numberValue(values, 'noise', DEFAULT_CLIP_SETTINGS.cutouts.noise, 0, 1),
    flip: values['no-flip'] !== true,
  };
  const cover = coverCount(grid.width, grid.height);
  if (cutouts.count < cover) throw new CliError(`a ${grid.width}x${grid.height} grid needs --cutouts ${cover} or more to be covered`, EXIT.usage);
  const settings: ClipLossSettings = {
    distance: choiceValue(values, 'clip-loss', DISTANCES, DEFAULT_CLIP_SETTINGS.distance),
    weight: numberValue(values, 'clip-weight', DEFAULT_CLIP_SETTINGS.weight, 0, 1e6),
    overflowWeight: numberValue(values, 'overflow-weight', DEFAULT_CLIP_SETTINGS.overflowWeight, 0, 1e6),
    cutouts,
    chunk: intValue(values, 'clip-chunk', DEFAULT_CLIP_SETTINGS.chunk, 1, 1024),
    seed: intValue(values, 'run-seed', 0, 0, 0xffffffff),
  };
  const path = stringValue(values, 'clip-path');
  const modelRef: ClipLossSpec['model'] = path
    ? { path }
    : { repo: stringValue(values, 'clip') ?? DEFAULT_CLIP_REPO, revision: stringValue(values, 'clip-revision') };
  const model = await openModel(modelRef, options);
  try {
    const side = model.config.vision.imageSize;
    const imagePrompts: ImagePrompt[] = await Promise.all(
      images.map(async ({ file, name, weight }) => ({ name, weight, image: await badInput(() => fitImagePrompt(file, side)) })),
    );
    const targets = await clipCall(() => embedTargets(model, prompts, imagePrompts, options));
    const positive = prompts.filter((p) => p.weight > 0);
    const negatives = prompts.filter((p) => p.weight < 0).map((p) => ({ ...p, weight: -p.weight }));
    const title = positive.map((p) => p.text).join(', ') || images.map((i) => i.name).join(', ');
    return {
      grid,
      colorCount: 3,
      seed: 'noise',
      spec: { kind: 'clip', model: modelRef, targets, settings, ...(texture ? { texture } : {}) },
      title,
      metadata: {
        title,
        prompts: positive,
        ...(negatives.length ? { negativePrompts: negatives } : {}),
        clipModel: 'path' in modelRef ? basename(modelRef.path) : modelRef.repo,
        tool: 'nca-studio',
        extra: {
          clipDistance: settings.distance,
          cutouts: cutouts.count,
          ...(images.length ? { imagePrompts: images.map((i) => ({ name: i.name, weight: i.weight })) } : {}),
          // nca eval --texture resizes the exemplar by the same scale
          ...(texture ? { texture: { scale: texture.scale, exemplar: texture.exemplarName, loss: texture.loss ?? 'patch' } } : {}),
        },
      },
    };
  } finally {
    model.weights.close();
  }
}

/** The CLIP loss of a new or resumed run, plus its texture term if it has one. */
export async function clipLossFor(spec: ClipLossSpec, config: TrainConfig, options: ClipRunOptions): Promise<Loss> {
  const model = await openModel(spec.model, options);
  const shape = { batch: config.batch, channels: config.topology.channels, height: config.height, width: config.width };
  let clip: Loss;
  try {
    clip = await clipCall(() => clipLoss(model, spec.targets, config.topology, shape, spec.settings, options));
  } finally {
    model.weights.close();
  }
  if (!spec.texture) return clip;
  // The CLIP loss holds the overflow term already.
  return sumLosses([clip, await textureLossFor(spec.texture, { ...config, overflowWeight: 0 }, options)]);
}

/** Finds (or downloads) the model and opens it, turning each failure into the right exit code. */
async function openModel(ref: ClipLossSpec['model'], options: ClipRunOptions): Promise<ClipModel> {
  let dir: string;
  try {
    dir =
      'path' in ref
        ? checkClipDir(ref.path)
        : await ensureClipFiles({ repo: ref.repo, revision: ref.revision, ...(options.quiet ? { progress: { write: () => true } as never, log: () => {} } : {}) });
  } catch (error) {
    if (error instanceof HubOfflineError) throw new CliError(error.message, EXIT.offline);
    if (error instanceof HubError) throw new CliError(error.message, 'path' in ref ? EXIT.noInput : EXIT.failure);
    throw error;
  }
  return clipCall(() => loadClip(dir));
}

/** Bad model files are bad input (65), not a crash. */
async function clipCall<T>(f: () => T | Promise<T>): Promise<T> {
  try {
    return await f();
  } catch (error) {
    if (error instanceof ClipConfigError || error instanceof SafetensorsError) throw new CliError(error.message, EXIT.badInput);
    throw error;
  }
}

/** Malformed prompts are usage errors (64). */
function asUsage<T>(f: () => T): T {
  try {
    return f();
  } catch (error) {
    if (error instanceof PromptError) throw new CliError(error.message, EXIT.usage);
    throw error;
  }
}

/** Unreadable or unsupported images are bad input (65), one line naming the file. */
async function badInput<T>(f: () => Promise<T>): Promise<T> {
  try {
    return await f();
  } catch (error) {
    if (error instanceof ImageError) throw new CliError(error.message, EXIT.badInput);
    throw error;
  }
}

async function readImagePromptArg(spec: string): Promise<{ file: ImagePromptFile; name: string; weight: number }> {
  const { path, weight } = asUsage(() => parseImagePrompt(spec));
  const bytes = await readInput(path);
  return { file: await badInput(() => readImagePrompt(bytes, path)), name: basename(path), weight };
}
