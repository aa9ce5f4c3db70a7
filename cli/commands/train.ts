/** `nca train --target image.png` or `nca train "PROMPT"` (CLIP guidance): train an NCA, with checkpoints and --resume. */
import { basename, extname, join } from 'node:path';
import { defaultTopology, type NcaModel, type Topology } from '../../formats/model.ts';
import { DEVICES, checkDevice, type Device } from '../../trainer/engine/session.ts';
import { DAMAGE_SHAPES } from '../../trainer/pixel/damage.ts';
import { decodePng, encodePng, type RgbaImage } from '../../trainer/image/png.ts';
import { ImageError, loadImage } from '../../trainer/image/load.ts';
import { evaluateLongRun } from '../../exporter/eval/long-run.ts';
import { centredBox, pixelLoss, resizeRgba, type PixelLossSpec } from '../../trainer/pixel/pixel-loss.ts';
import { placeSeedCells } from '../../trainer/pixel/seed-cells.ts';
import { CheckpointError, loadCheckpoint, type TrainState } from '../../trainer/train/checkpoint.ts';
import { ConfigError, LIVING_ITERATIONS, SOURCE_METHOD, validateConfig, type TrainConfig } from '../../trainer/train/config.ts';
import type { Loss } from '../../trainer/train/loss.ts';
import { Trainer, type TrainerOptions, type TrainEvent } from '../../trainer/train/trainer.ts';
import { readInput } from '../args.ts';
import type { Command } from '../command.ts';
import { parseFlagsWithConfig } from '../config.ts';
import { CliError, EXIT } from '../exit-codes.ts';
import { Progress } from '../progress.ts';
import { choiceValue, intValue, numberValue, sizeValue, stringValue } from '../values.ts';
import { isTextureRun, textureHelp, textureLossFor, textureOptions, textureSource, TEXTURE_DEFAULTS } from './train-texture.ts';
import { specExemplar, type TextureLossSpec } from '../../trainer/texture/texture-loss.ts';
import { evaluateTexture, textureSizeProblem } from '../../exporter/eval/texture-run.ts';
import { clipHelp, clipLossFor, clipOptions, clipSource, isClipRun, type ClipLossSpec, type ClipRunOptions, type RunSource } from './train-clip.ts';

const help = `Usage: nca train --target IMAGE [--out DIR] [options]
       nca train --texture IMAGE [--out DIR] [options]
       nca train "PROMPT" [--out DIR] [options]
       nca train --resume DIR [--iterations N]

Trains a neural cellular automaton to grow IMAGE and keep it alive (pixel-target
mode, Growing-NCA style; needs no download). The model is a living one (.nca
v1.1): transparent where empty, alive masking, a bounded state; it grows from
one cell and is trained to hold its shape and regrow what is erased. Simple
logos hold for 10^5 steps and more; detailed images blur, and may drift between
10^4 and 10^5 steps (docs/trainer.md "What to expect"). Every
--score-every iterations the model is scored by a long run (the lowest PSNR over
its --score-steps) and model.nca is the best so far (float32; quantise it with
\`nca export\`, check it with \`nca eval\`). The run directory also gets
checkpoint.bin (every --save-every iterations and on Ctrl-C), log.jsonl and
previews/iter-*.png.

Options:
  --target FILE          the image to grow (PNG, JPEG, WebP, GIF or SVG)
  --out DIR              run directory (default runs/<image name>)
  --resume DIR           continue a stopped run exactly where its checkpoint is; with
                         --iterations N, lengthen it to N (also a finished run): the
                         learning-rate steps follow the new length (docs/trainer.md)
  --iterations N         training iterations (default ${LIVING_ITERATIONS} for living models: about
                         27 minutes for a 48 px icon on 2 cores; else 1000)
  --size WxH             size of the target in cells (default: the image's size,
                         scaled down to 32 cells on its long side; 64 with --no-alive)
  --pad N                empty cells around the target (default: a quarter of
                         its long side, at least 6): room to grow and regrow
  --no-alive             a v1.0 model instead: the target fills the whole grid,
                         colour = state + 0.5, circular padding, no alive masking
  --clamp Q              clamp the state to [-Q, Q] after each step (default 3
                         for living models, 2 for textures, 0 = none)
  --seed cell|noise      initial state: live cells (default) or per-cell noise
  --seed-cells 1|2       living models: cells in the seed (default 2: the deepest
                         point of the target and its mirror image through the
                         centre, so every half of it can regrow; 1 = one cell)
  --steps MIN-MAX        NCA steps per iteration (default 64-95; living models: 64-96,
                         or 2 x the target's long side + 32 for large targets;
                         textures: 32-64)
  --batch N              states per iteration (default 8; 4 with --no-alive)
  --pool N               pool size (default 1024 for living models, else 256)
  --pool-start N         sample from the first N pool states at first, growing to
                         the whole pool over the first 30 % of the run (default
                         256 for living models; else the pool size = no growth)
  --age-steps N          pool ageing: every --age-every iterations once the pool is
                         full, run the batch N more steps (no gradient) and put it
                         back, so training sees old states too (default 4000 for
                         living models, else 0 = never)
  --age-every N          iterations between agings (default 200 for living models,
                         else 50)
  --age-elders, --no-age-elders
                         age the same pool slots every time, so that they grow
                         tens of thousands of steps old (default for living
                         models), or the batch just trained (docs/trainer.md)
  --age-damage N         half-erase the first N states of each ageing before they
                         age, so training sees what follows a loss thousands of
                         steps later (default 0)
  --hidden N             hidden units of the update network (default 128)
  --lr X                 Adam learning rate (default 0.002)
  --lr-milestones F,..   fractions of the run at which the rate is multiplied by 0.4
                         (default 0.3,0.5,0.85; none = constant)
  --damage N             erase part of the N best batch states per iteration, so
                         the model learns to regrow (default: a quarter of the
                         batch; 0 with --no-alive)
  --damage-shape S       what damage erases: disc (a random circle), half (one side
                         of a random line) or mixed (either; the default)
  --regrow-phase F       the regrowth phase, the last fraction F of the run: there
                         --regrow-damage states per iteration lose one side of a
                         random line, and only the phase's models can become
                         model.nca (default 0.15 for living models, else 0 = none)
  --regrow-damage N      states half-erased per iteration in that phase (default:
                         half the batch)
  --seed-every N         every N-th iteration a seed replaces the worst batch
                         state (default 1; 8 with --no-alive)
  --overflow-weight X    weight of the mean overflow penalty (default 1)
  --settle-weight X      weight of the settling loss, the mean squared change of the
                         last step over every channel, which pulls the state to a
                         fixed point (default 0 = none; docs/trainer.md)
  --score-every N        score the model by a long run every N iterations and keep
                         the best (default 200 for living models, else 100; 0 = keep
                         the last); textures are scored by the texture score
                         (docs/textures.md)
  --score-steps A,B,..   step counts of that long run (default 500,2000,6000;
                         250,1000 for textures)
  --keep-scored          also keep every scored model, as scored/iter-N-weights.nca
                         and scored/iter-N-average.nca (float32), to pick by eye or
                         rescore later (npm run bench:score)
  --weight-average D     also keep a moving average of the weights (decay D); scored
                         runs score it beside the weights and keep whichever holds
                         better (default 0.99 for living models, else 0 = none)
  --qat, --no-qat        quantisation-aware training (fake int8 w1/w2, what an int8
                         .nca computes); default on for living models, off otherwise
  --run-seed N           seed of every random choice (default 0)
  --save-every N         checkpoint interval in iterations (default 50)
  --preview-every N      preview PNG interval, 0 = none (default 50)
  --segment-steps N      rematerialisation segment; default auto: keep every state
                         when they fit in 1 GiB (fastest), else 16 steps
  --device DEVICE        ${DEVICES.join(', ')} (default cpu)
  --threads N            CPU threads (default: all cores); the batch is split across
                         up to N worker threads (docs/trainer.md)
  --config FILE          JSON file with any of these flags
  --json                 print a JSON summary at the end
  --quiet                no progress bar

${textureHelp}

${clipHelp}

Examples:
  nca train --target examples/targets/ring.png --out runs/ring --iterations 600 --damage 1
  nca train "red coral:1, deep sea:0.5" --negative blurry --size 256x144 --out runs/coral`;

const options = {
  target: { type: 'string' },
  out: { type: 'string' },
  resume: { type: 'string' },
  iterations: { type: 'string' },
  size: { type: 'string' },
  pad: { type: 'string' },
  alive: { type: 'boolean' },
  'no-alive': { type: 'boolean' },
  clamp: { type: 'string' },
  'seed-every': { type: 'string' },
  'score-every': { type: 'string' },
  'score-steps': { type: 'string' },
  'keep-scored': { type: 'boolean' },
  seed: { type: 'string' },
  'seed-cells': { type: 'string' },
  steps: { type: 'string' },
  batch: { type: 'string' },
  pool: { type: 'string' },
  hidden: { type: 'string' },
  lr: { type: 'string' },
  'lr-milestones': { type: 'string' },
  damage: { type: 'string' },
  'damage-shape': { type: 'string' },
  'regrow-phase': { type: 'string' },
  'regrow-damage': { type: 'string' },
  'weight-average': { type: 'string' },
  'pool-start': { type: 'string' },
  'age-steps': { type: 'string' },
  'age-every': { type: 'string' },
  'age-elders': { type: 'boolean' },
  'no-age-elders': { type: 'boolean' },
  'age-damage': { type: 'string' },
  'overflow-weight': { type: 'string' },
  'settle-weight': { type: 'string' },
  qat: { type: 'boolean' },
  'no-qat': { type: 'boolean' },
  'run-seed': { type: 'string' },
  'save-every': { type: 'string' },
  'preview-every': { type: 'string' },
  'segment-steps': { type: 'string' },
  device: { type: 'string' },
  threads: { type: 'string' },
  json: { type: 'boolean' },
  quiet: { type: 'boolean' },
  ...clipOptions,
  ...textureOptions,
} as const;

type Values = Record<string, unknown>;

/** "64-95" -> [64, 95]; "80" -> [80, 80]. */
function stepsValue(values: Values, fallback: [number, number]): [number, number] {
  const raw = stringValue(values, 'steps');
  if (raw === undefined) return fallback;
  const m = /^(\d+)(?:-(\d+))?$/.exec(raw.trim());
  if (!m) throw new CliError(`--steps must be MIN-MAX or N, e.g. 64-95, not "${raw}" (see --help)`, EXIT.usage);
  return [Number(m[1]), Number(m[2] ?? m[1])];
}

/** A living model (Growing NCA, .nca v1.1) unless --no-alive (or "alive": false in a config file). */
function isLiving(values: Values): boolean {
  return values['no-alive'] !== true && values.alive !== false;
}

/**
 * The longest side a target gets by default: training cost grows with the grid's area (and a
 * living run's steps with its side). Living runs: 32 cells, so the default run on a 48 px icon
 * (a 48x48 grid, 64-96 steps) fits in 30 minutes on 2 cores (docs/performance.md); 64 would
 * take 4-5 times as long. v1.0 runs (--no-alive): 64.
 */
const DEFAULT_TARGET_SIDE = { living: 32, plain: 64 };

/**
 * The pixel-target goal: the image, where it goes in the grid and the colour
 * channels. Living runs put it in a box with --pad empty cells around it.
 */
async function pixelSource(values: Values, living: boolean): Promise<RunSource<PixelLossSpec>> {
  const targetPath = stringValue(values, 'target');
  if (!targetPath) throw new CliError('give --target IMAGE.png, a "PROMPT", or --resume DIR (see --help)', EXIT.usage);
  let image;
  try {
    image = await loadImage(await readInput(targetPath), targetPath);
  } catch (error) {
    if (error instanceof ImageError) throw new CliError(error.message, EXIT.badInput);
    throw error;
  }
  const transparent = image.data.some((v, i) => i % 4 === 3 && v < 255);
  const name = basename(targetPath, extname(targetPath));
  const shrink = Math.min(1, DEFAULT_TARGET_SIDE[living ? 'living' : 'plain'] / Math.max(image.width, image.height));
  const size = values.size === undefined ? { width: Math.max(1, Math.round(image.width * shrink)), height: Math.max(1, Math.round(image.height * shrink)) } : sizeValue(values, 'size', '', 1024);
  // The checkpoint carries the target as PNG, whatever the input format, so --resume needs no file.
  const spec: PixelLossSpec = { kind: 'pixel', targetPng: Buffer.from(encodePng(image)).toString('base64'), targetName: basename(targetPath) };
  let grid = size;
  let seedCells: [number, number][] | undefined;
  if (living) {
    const pad = intValue(values, 'pad', Math.max(6, Math.round(Math.max(size.width, size.height) / 4)), 0, 512);
    grid = { width: size.width + 2 * pad, height: size.height + 2 * pad };
    spec.box = centredBox(grid, size.width, size.height);
    seedCells = placeSeedCells(resizeRgba(image, size.width, size.height), spec.box, grid, intValue(values, 'seed-cells', 2, 1, 2) as 1 | 2);
  }
  return {
    grid,
    seedCells,
    colorCount: living || transparent ? 4 : 3,
    seed: 'cell',
    spec,
    title: name,
    // nca eval places a target in this box (resized to it) by default
    metadata: { title: name, clipModel: 'pixel-target', tool: 'nca-studio', ...(spec.box ? { extra: { box: spec.box } } : {}) },
  };
}

/**
 * The trainer's long-run score for a pixel-target run: the lowest PSNR (over
 * white, float and int8) of `steps`-long rollouts from the seed, as `nca eval`
 * measures it; 0 when the pattern died or exploded at any of them. (Counting the
 * regrowth test in the score too was tried twice: it picked models that held worse
 * past the score's horizon, then the same checkpoint as without it; docs/performance.md.)
 */
export function pixelScore(spec: PixelLossSpec, config: TrainConfig, threads: number | undefined): NonNullable<TrainerOptions['score']> {
  const steps = config.scoreSteps;
  const image = decodePng(Buffer.from(spec.targetPng, 'base64'));
  const box = spec.box ?? { x: 0, y: 0, width: config.width, height: config.height };
  const target = resizeRgba(image, box.width, box.height);
  const grid = { width: config.width, height: config.height };
  return async (model, floor) => {
    const stopBelow = Number.isFinite(floor) ? floor : undefined;
    const report = await evaluateLongRun(model, { target, grid, steps, regrow: false, int8: true, threads, stopBelow });
    // An empty frame can out-score a pattern that is almost right; on a page, nothing is the worst outcome.
    const dead = report.runs.some((run) => run.marks.some((m) => m.died || m.exploded));
    return dead ? 0 : (report.score ?? 0);
  };
}

/** "500,2000,6000" -> [500, 2000, 6000]. */
function milestonesValue(values: Values, fallback: readonly number[]): number[] {
  const raw = stringValue(values, 'lr-milestones');
  if (raw === undefined) return [...fallback];
  if (raw.trim() === 'none') return [];
  const fractions = raw.split(',').map((v) => Number(v.trim()));
  if (fractions.some((f) => !(f > 0 && f < 1))) throw new CliError(`--lr-milestones must be fractions of the run like 0.5,0.85 (or none), not "${raw}"`, EXIT.usage);
  return fractions;
}

function scoreStepsValue(values: Values, fallback: readonly number[] = SOURCE_METHOD.scoreSteps): number[] {
  const raw = stringValue(values, 'score-steps') ?? fallback.join(',');
  const steps = raw.split(',').map((v) => Number(v.trim()));
  if (steps.some((n) => !Number.isInteger(n) || n < 1 || n > 1e6)) throw new CliError(`--score-steps must be step counts like 500,2000,6000, not "${raw}" (see --help)`, EXIT.usage);
  return steps;
}

/**
 * The trainer's score for a texture run (docs/textures.md): `evaluateTexture` on the training
 * grid, float only, at the --score-steps: minus the worst of the patch and spectral ratios (to
 * the shuffled exemplar's), each divided by its threshold (0.5, 0.25), at those step counts and
 * for the drift between them. None when the exemplar or the grid is too small to be scored.
 */
function textureScorer(spec: TextureLossSpec, config: TrainConfig): TrainerOptions['score'] {
  const exemplar = specExemplar(spec);
  const grid = { width: config.width, height: config.height };
  const problem = textureSizeProblem(grid, exemplar);
  if (problem) {
    console.error(`texture score off (model.nca is the last model, not the best): ${problem.message}`);
    return undefined;
  }
  return async (model) => (await evaluateTexture(model, { exemplar, grid, steps: config.scoreSteps, int8: false })).score;
}

/** The long-run scorer of a run's loss, if it has one. */
function scorerFor(spec: TrainState['lossSpec'], config: TrainConfig, threads: number | undefined): TrainerOptions['score'] {
  if (spec.kind === 'texture') return textureScorer(spec as TextureLossSpec, config);
  return spec.kind === 'pixel' ? pixelScore(spec as PixelLossSpec, config, threads) : undefined;
}

/**
 * Growing NCA's colour and rules: transparent premultiplied RGBA, alive masking on alpha,
 * zero padding, and its perception scale (Sobel / 8; the Laplacian / 8 as in Self-Organising
 * Textures). Unscaled, the Laplacian's -12 makes the first Adam steps blow a seed up, then kill it.
 */
export function livingTopology(hidden: number, clamp: number): Topology {
  return defaultTopology({
    hidden,
    padding: 'zeros',
    filterScales: [1, 1 / 8, 1 / 8, 1 / 8],
    color: { offset: 0, count: 4, bias: 0, alphaBias: 0, premultiplied: true },
    alive: { channel: 3, threshold: 0.1 },
    ...(clamp > 0 ? { clamp } : {}),
  });
}

/**
 * Texture runs score the model (evaluateTexture, float) every 100 iterations by default, at
 * 250 and 1000 steps: about 3 s of CPU on a 64x64 grid here (7 s wall at load 20), a few
 * percent of 100 iterations.
 */
const TEXTURE_SCORE_EVERY = 100;
const TEXTURE_SCORE_STEPS = [250, 1000];

/**
 * Living runs' defaults (Growing NCA's persistent and regenerating experiments), where they
 * differ from the source method. Pool 1024, 2000 iterations and the weight average were measured
 * on a real 48 px icon (docs/performance.md): the pool-256, 1000-iteration run died before 10^5 steps.
 * 3600 iterations scored every 200 fit in 30 minutes on 2 cores since the step's VJP was written out
 * (26.9 minutes for the folder icon, session 21; 2800 from session 14, when the batch was split
 * across worker threads; 1800 before). Mixed damage
 * (discs and half-planes) held the icon in int8 to 10^5 steps, where discs only let it slide.
 * Pool ageing kept two icons alive to 10^5 steps where runs without it died (session 9: 1000 steps
 * every 50 iterations, +11 % CPU); 4000 steps every 200, the same CPU, held 0.7 dB more on average
 * at 10^4 over five icon runs and let fewer models die by 10^5, though it lost both Chromium draws
 * (session 11, docs/performance.md).
 */
const LIVING_DEFAULTS = { batch: 8, poolSize: 1024, poolStart: 256, ageSteps: 4000, ageEvery: 200, ageElders: true, seedEvery: 1, clamp: 3, scoreEvery: 200, iterations: LIVING_ITERATIONS, weightAverage: 0.99, damageShape: 'mixed' as const };

/**
 * The regrowth phase of a living run: its last 15 %, which starts with the last learning-rate
 * step (0.85). Session 23 (docs/performance.md): on the three default draws that failed regrowth
 * in session 21, the regrown half came back 4.49 dB short on average (each capped at 10) against
 * 6.14, and the lowest PSNR to 10^5 steps averaged 25.7 dB against 25.5; one copy of six healed within 1 dB.
 * Those were single erases (one draw each); erased at five step counts (session 24) the same
 * draws healed and held 15 times of 30 with the phase, 11 without; a 0.25 phase did worse (10).
 */
const LIVING_REGROW_PHASE = 0.15;

/** --pool-start, or a living run's default (256, within [batch, pool]); absent = no growth. */
function poolStartValue(values: Values, living: boolean, batch: number, poolSize: number): { poolStart?: number } {
  if (!living && values['pool-start'] === undefined) return {};
  return { poolStart: intValue(values, 'pool-start', Math.max(batch, Math.min(LIVING_DEFAULTS.poolStart, poolSize)), 1) };
}

/**
 * A living run's steps per iteration: time to grow the target from its seed
 * (about 1.5 steps per cell of the long side at fire rate 0.5) and then to
 * hold it, Growing NCA's 64-96 for small targets, 2 x the long side + 32 for
 * large ones. Measured on a 20-cell ring: 64-96 held 28 dB at 1000 steps
 * after 400 iterations, where 36-68 (grow, barely settle) stayed under 13.
 */
function livingSteps(box: { width: number; height: number }): [number, number] {
  const min = Math.max(64, 2 * Math.max(box.width, box.height));
  return [min, min + 32];
}

async function newRun(values: Values, positionals: string[], options: ClipRunOptions) {
  const clip = isClipRun(values, positionals);
  const texture = isTextureRun(values) && !clip; // called first: it refuses texture flags without --texture
  const living = !clip && !texture && isLiving(values);
  const source: RunSource<PixelLossSpec | ClipLossSpec | TextureLossSpec> = clip
    ? await clipSource(values, positionals, options)
    : texture
      ? await textureSource(values)
      : await pixelSource(values, living);
  const defaults = living ? { ...SOURCE_METHOD, ...LIVING_DEFAULTS } : texture ? { ...SOURCE_METHOD, ...TEXTURE_DEFAULTS } : { ...SOURCE_METHOD, clamp: 0 };
  const box = (source.spec as PixelLossSpec).box;
  const [minSteps, maxSteps] = stepsValue(values, living && box ? livingSteps(box) : [defaults.minSteps, defaults.maxSteps]);
  const hidden = intValue(values, 'hidden', 128, 1, 1024);
  const clamp = numberValue(values, 'clamp', defaults.clamp, 0, 1e6);
  const topology = living
    ? livingTopology(hidden, clamp)
    : defaultTopology({ hidden, color: { offset: 0, count: source.colorCount, bias: 0.5 }, ...(clamp > 0 ? { clamp } : {}) });
  const batch = intValue(values, 'batch', defaults.batch, 1);
  const poolSize = intValue(values, 'pool', defaults.poolSize, 1);
  const config: TrainConfig = {
    ...SOURCE_METHOD,
    topology,
    ...source.grid,
    iterations: intValue(values, 'iterations', defaults.iterations, 1),
    seed: choiceValue(values, 'seed', ['cell', 'noise'] as const, source.seed),
    ...(source.seedCells ? { seedCells: source.seedCells } : {}),
    minSteps,
    maxSteps,
    batch,
    poolSize,
    ...poolStartValue(values, living, batch, poolSize),
    ageSteps: intValue(values, 'age-steps', defaults.ageSteps, 0),
    ageEvery: intValue(values, 'age-every', defaults.ageEvery, 1),
    ageElders: values['no-age-elders'] === true ? false : values['age-elders'] === true || defaults.ageElders,
    ageDamage: intValue(values, 'age-damage', 0, 0),
    lr: numberValue(values, 'lr', SOURCE_METHOD.lr, 1e-8, 1),
    lrMilestones: milestonesValue(values, defaults.lrMilestones),
    damage: intValue(values, 'damage', living ? Math.floor(batch / 4) : 0, 0),
    damageShape: choiceValue(values, 'damage-shape', DAMAGE_SHAPES, defaults.damageShape),
    regrowPhase: numberValue(values, 'regrow-phase', living ? LIVING_REGROW_PHASE : 0, 0, 0.99),
    regrowDamage: intValue(values, 'regrow-damage', Math.floor(batch / 2), 0),
    weightAverage: numberValue(values, 'weight-average', defaults.weightAverage, 0, 0.999999),
    seedEvery: intValue(values, 'seed-every', defaults.seedEvery, 1),
    overflowWeight: numberValue(values, 'overflow-weight', SOURCE_METHOD.overflowWeight, 0, 1e6),
    settleWeight: numberValue(values, 'settle-weight', defaults.settleWeight ?? 0, 0, 1e6),
    qat: values['no-qat'] === true ? false : values.qat === true || (living && values.qat !== false),
    runSeed: intValue(values, 'run-seed', 0, 0, 0xffffffff),
    saveEvery: intValue(values, 'save-every', SOURCE_METHOD.saveEvery, 1),
    previewEvery: intValue(values, 'preview-every', SOURCE_METHOD.previewEvery, 0),
    scoreEvery: living || texture ? intValue(values, 'score-every', living ? defaults.scoreEvery : TEXTURE_SCORE_EVERY, 0) : 0,
    scoreSteps: scoreStepsValue(values, texture ? TEXTURE_SCORE_STEPS : SOURCE_METHOD.scoreSteps),
    segmentSteps: values['segment-steps'] === undefined || values['segment-steps'] === 'auto' ? 'auto' : intValue(values, 'segment-steps', 16, 1),
  };
  // nca eval --texture resizes the exemplar by the same scale
  const metadata = texture ? { ...source.metadata, extra: { ...source.metadata.extra, texture: { scale: (source.spec as TextureLossSpec).scale } } } : source.metadata;
  const dirName = source.title.replace(/[^\w.-]+/g, '-').replace(/^-+|-+$/g, '').slice(0, 60) || 'run';
  return { config, spec: source.spec, metadata, dir: stringValue(values, 'out') ?? join('runs', dirName) };
}

async function lossFor(spec: TrainState['lossSpec'], config: TrainConfig, options: ClipRunOptions): Promise<Loss> {
  if (spec.kind === 'pixel') return pixelLoss(spec as PixelLossSpec, config, options);
  if (spec.kind === 'clip') return clipLossFor(spec as ClipLossSpec, config, options);
  if (spec.kind === 'texture') return textureLossFor(spec as TextureLossSpec, config, options);
  throw new CliError(`this checkpoint's loss ("${spec.kind}") is not available in this build`, EXIT.badInput);
}

function describe(event: TrainEvent): string | null {
  switch (event.kind) {
    case 'rollback':
      return `iteration ${event.iteration}: ${event.reason}; rolled back to the checkpoint at iteration ${event.to}, learning rate x${event.lrScale}`;
    case 'iteration':
      // CLIP runs: the similarity every 10 iterations (log.jsonl has every one).
      return event.logs.similarity !== undefined && (event.iteration + 1) % 10 === 0
        ? `iteration ${event.iteration + 1}: CLIP similarity ${event.logs.similarity.toFixed(4)}, loss ${event.loss.toFixed(4)}`
        : null;
    case 'score': {
      const average = event.averageScore === undefined ? '' : `, averaged weights ${event.averageScore.toFixed(2)}`;
      return `iteration ${event.iteration}: long-run score ${event.score.toFixed(2)}${average} (best ${event.best.toFixed(2)}, iteration ${event.bestIteration})`;
    }
    case 'regrow':
      return `iteration ${event.iteration}: regrowth phase: ${event.damage} of the ${event.batch} states of each batch lose one side of a random line; from now on only its models can become model.nca`;
    case 'done':
      return `wrote ${event.model}`;
    default:
      return null;
  }
}

/** What may go with --resume: a run keeps its own settings; only its length and where it runs can change. */
const RESUME_FLAGS = new Set(['resume', 'iterations', 'threads', 'device', 'quiet', 'json', 'keep-scored']);

/** The new length for a resumed run (--iterations), if given; any other setting is a usage error, not silently ignored. */
function resumeLength(values: Values, positionals: string[]): number | undefined {
  const fixed = [...Object.keys(values).filter((k) => values[k] !== undefined && !RESUME_FLAGS.has(k)).map((k) => `--${k}`), ...positionals.map((p) => JSON.stringify(p))];
  if (fixed.length > 0) {
    throw new CliError(`--resume continues a run with the settings it was started with, so ${fixed.join(', ')} cannot be given; with --resume give only --iterations, --threads, --device, --quiet or --json`, EXIT.usage);
  }
  return values.iterations === undefined ? undefined : intValue(values, 'iterations', 1, 1);
}

export const train: Command = {
  name: 'train',
  summary: 'train an NCA to grow an image (--target) or to match a text prompt (CLIP), with checkpoints and --resume',
  help,
  async run(argv) {
    const { values, positionals } = await parseFlagsWithConfig(argv, options);
    let device: Device;
    try {
      device = checkDevice(choiceValue(values, 'device', DEVICES, 'cpu'));
    } catch (error) {
      throw new CliError((error as Error).message, EXIT.unavailable);
    }
    const threads = values.threads === undefined ? undefined : intValue(values, 'threads', 1, 1, 256);
    const keepScored = values['keep-scored'] === true;
    const resumeDir = stringValue(values, 'resume');
    let trainer: Trainer;
    let dir: string;
    let progress: Progress | undefined;
    let lastLoss = NaN;
    const onEvent = (event: TrainEvent) => {
      if (event.kind === 'iteration') {
        progress?.tick();
        lastLoss = event.loss;
      }
      const line = describe(event);
      if (line && !values.quiet) console.error(line);
    };
    try {
      if (resumeDir) {
        dir = resumeDir;
        const length = resumeLength(values, positionals);
        const saved = await loadCheckpoint(dir);
        const config = validateConfig(saved.config);
        const score = scorerFor(saved.lossSpec, config, threads);
        const loss = await lossFor(saved.lossSpec, saved.config, { device, threads, quiet: values.quiet === true });
        trainer = await Trainer.resume(saved, loss, { dir, device, threads, onEvent, score, keepScored }, length);
        if (length !== undefined && length !== config.iterations && !values.quiet) {
          console.error(`${dir}: ${config.iterations} → ${length} iterations (learning-rate steps at ${config.lrMilestones.map((f) => Math.round(f * length)).join(', ')})`);
        }
      } else {
        const runOptions = { device, threads, quiet: values.quiet === true };
        const run = await newRun(values, positionals, runOptions);
        dir = run.dir;
        validateConfig(run.config);
        const loss = await lossFor(run.spec, run.config, runOptions);
        const score = scorerFor(run.spec, run.config, threads);
        trainer = await Trainer.start(run.config, loss, { dir, device, threads, onEvent, score, keepScored }, { metadata: run.metadata, lossSpec: run.spec });
      }
    } catch (error) {
      if (error instanceof ConfigError || error instanceof CheckpointError) throw new CliError(error.message, EXIT.badInput);
      throw error;
    }
    const total = trainer.config.iterations;
    progress = new Progress({ label: 'training', total, unit: 'it', enabled: !values.quiet, start: trainer.iteration });

    const stop = new AbortController();
    const onSigint = () => {
      if (stop.signal.aborted) process.exit(EXIT.interrupted); // a second Ctrl-C: leave now
      stop.abort();
      console.error('\nstopping after this iteration and saving a checkpoint (Ctrl-C again to quit at once)');
    };
    process.on('SIGINT', onSigint);
    try {
      const result = await trainer.run(stop.signal);
      progress.finish();
      const summary = { dir, iteration: trainer.iteration, iterations: total, loss: lastLoss, stopped: result.stopped, model: result.stopped ? null : join(dir, 'model.nca') };
      if (values.json) console.log(JSON.stringify(summary));
      if (result.stopped) {
        if (!values.json) console.error(`interrupted at iteration ${trainer.iteration}; continue with: nca train --resume ${dir}`);
        return EXIT.interrupted;
      }
      return EXIT.ok;
    } finally {
      process.off('SIGINT', onSigint);
      await trainer.release();
    }
  },
};
