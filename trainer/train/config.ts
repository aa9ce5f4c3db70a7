/** Training settings: the source method's defaults, and validation with clear messages. */
import { defaultTopology, type Topology } from '../../formats/model.ts';
import { DAMAGE_SHAPES, type DamageShape } from '../pixel/damage.ts';
import type { SeedKind } from './seeds.ts';

export interface TrainConfig {
  topology: Topology;
  /** Training grid; any aspect (e.g. 16:9 as 224x126). */
  width: number;
  height: number;
  poolSize: number;
  /** Slots sampled at first; the sampled range grows to poolSize over the first 30 % of the run (pool.ts). Absent: poolSize, no growth. */
  poolStart?: number;
  batch: number;
  iterations: number;
  /** Each iteration runs a random number of steps in [minSteps, maxSteps]. */
  minSteps: number;
  maxSteps: number;
  /** Rematerialisation segment: the forward pass keeps one state per this many steps ('auto': see autoSegmentSteps). */
  segmentSteps: number | 'auto';
  lr: number;
  /** Fractions of the run at which the learning rate is multiplied by lrFactor. */
  lrMilestones: number[];
  lrFactor: number;
  /** Every n-th iteration, batch slot 0 is replaced by a fresh seed first. */
  seedEvery: number;
  seed: SeedKind;
  /**
   * A cell seed's cells, [dx, dy] from the grid centre: one (.nca v1.1 offset) or two (an image
   * seed; seeds.ts); absent = one cell at the centre. A checkpoint keeps the recipe these made.
   */
  seedCells?: [number, number][];
  /** Weight of the mean overflow penalty |x - clamp(x, -1, 1)|. */
  overflowWeight: number;
  /**
   * Weight of the settling loss, mean squared change of the rollout's last step over every
   * channel (trainer/train/settle.ts); 0 = none. Absent in checkpoints from before it: 0.
   */
  settleWeight?: number;
  /** Batch states damaged (part of them erased) per iteration; 0 = none. */
  damage: number;
  /** What damage erases: a random disc, a random half-plane, or either (see trainer/pixel/damage.ts). */
  damageShape: DamageShape;
  /**
   * Decay of an exponential moving average of the weights, kept beside them (0 = none). The
   * scored run then scores both and keeps whichever holds better; an unscored run ends with the average.
   */
  weightAverage: number;
  /** Fake int8 quantisation of w1/w2 during training (straight-through gradients). */
  qat: boolean;
  /** Seeds everything random: pool sampling, steps, masks, noise seeds. */
  runSeed: number;
  /** Write a checkpoint every n iterations. */
  saveEvery: number;
  /** Write a preview PNG every n iterations; 0 = never. */
  previewEvery: number;
  /**
   * Pool ageing: every `ageEvery` iterations once the pool is full, the batch just written back
   * runs `ageSteps` more steps (no gradient) and is written back again, so training also sees
   * states far older than one iteration's steps (0 = never; docs/trainer.md).
   */
  ageSteps: number;
  ageEvery: number;
  /**
   * Age the same pool slots every time (the first `batch`), not the batch just trained: a state
   * there grows older with every ageing until a seed replaces it, tens of thousands of steps
   * instead of `ageSteps` (docs/trainer.md). Absent in checkpoints from before it: false.
   */
  ageElders?: boolean;
  /**
   * How many of the states each ageing runs are first half-erased (the first n; a random
   * half-plane, as damageShape 'half'), so the pool also holds states ageSteps steps after
   * losing half: what a page shows long after damage, where a model can overgrow. Absent = 0.
   */
  ageDamage?: number;
  /**
   * The regrowth phase: the last `regrowPhase` of the run (a fraction; 0 = none) damages
   * `regrowDamage` states of each batch with a random half-plane, in place of `damage` with
   * `damageShape`, and only a model scored in the phase can become model.nca unless all of
   * them die (trainer.ts). Why: on detailed icons a half regrew wider or blurrier than before
   * the erase, 2-5 dB short; this phase trains regrowth at the last learning rate
   * (docs/trainer.md). Absent in checkpoints from before it: 0.
   */
  regrowPhase?: number;
  regrowDamage?: number;
  /** Score the model with the trainer's `score` function every n iterations and keep the best; 0 = never (keep the last). */
  scoreEvery: number;
  /** Step counts of the long run that scores the model (the score is its lowest PSNR over them). */
  scoreSteps: number[];
}

export const SOURCE_METHOD: TrainConfig = {
  topology: defaultTopology(),
  width: 128,
  height: 128,
  poolSize: 256,
  batch: 4,
  iterations: 1000,
  minSteps: 64,
  maxSteps: 95,
  segmentSteps: 'auto',
  lr: 2e-3,
  lrMilestones: [0.3, 0.5, 0.85],
  lrFactor: 0.4,
  seedEvery: 8,
  seed: 'noise',
  overflowWeight: 1,
  settleWeight: 0,
  damage: 0,
  damageShape: 'disc',
  weightAverage: 0,
  qat: false,
  runSeed: 0,
  saveEvery: 50,
  previewEvery: 50,
  ageSteps: 0,
  ageEvery: 50,
  ageElders: false,
  scoreEvery: 0,
  scoreSteps: [500, 2000, 6000],
};

/** `nca train --target`'s default run length (living models; docs/trainer.md, docs/decisions.md "Session 21"). */
export const LIVING_ITERATIONS = 3600;

/** The first iteration of the regrowth phase (see TrainConfig.regrowPhase); Infinity without one. */
export function regrowStart(c: Pick<TrainConfig, 'iterations' | 'regrowPhase'>): number {
  return c.regrowPhase ? Math.round((1 - c.regrowPhase) * c.iterations) : Infinity;
}

export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

/** Throws a ConfigError naming the first bad setting. */
export function validateConfig(c: TrainConfig): TrainConfig {
  const positiveInt = (name: keyof TrainConfig, v: number, min = 1) => {
    if (!Number.isInteger(v) || v < min) throw new ConfigError(`${name} must be an integer >= ${min}, got ${v}`);
  };
  positiveInt('width', c.width, 3);
  positiveInt('height', c.height, 3);
  positiveInt('poolSize', c.poolSize);
  positiveInt('batch', c.batch);
  if (c.poolStart !== undefined) positiveInt('poolStart', c.poolStart);
  positiveInt('iterations', c.iterations);
  positiveInt('minSteps', c.minSteps);
  positiveInt('maxSteps', c.maxSteps);
  if (c.segmentSteps !== 'auto') positiveInt('segmentSteps', c.segmentSteps);
  positiveInt('seedEvery', c.seedEvery);
  positiveInt('saveEvery', c.saveEvery);
  positiveInt('previewEvery', c.previewEvery, 0);
  c.ageSteps ??= 0; // checkpoints from before pool ageing
  c.ageEvery ??= SOURCE_METHOD.ageEvery;
  c.ageElders ??= false; // checkpoints from before elder states
  positiveInt('ageSteps', c.ageSteps, 0);
  positiveInt('ageEvery', c.ageEvery);
  c.ageDamage ??= 0; // checkpoints from before damage in ageing
  positiveInt('ageDamage', c.ageDamage, 0);
  if (c.ageDamage > c.batch) throw new ConfigError(`ageDamage (${c.ageDamage}) is more than the ${c.batch} states an ageing runs (batch)`);
  c.regrowPhase ??= 0; // checkpoints from before the regrowth phase
  c.regrowDamage ??= 0;
  if (!(c.regrowPhase >= 0 && c.regrowPhase < 1)) throw new ConfigError(`regrowPhase must be a fraction of the run in [0, 1), got ${c.regrowPhase}`);
  positiveInt('regrowDamage', c.regrowDamage, 0);
  if (c.regrowDamage >= c.batch) throw new ConfigError(`regrowDamage (${c.regrowDamage}) must leave at least one batch state intact (batch ${c.batch})`);
  c.scoreEvery ??= 0; // checkpoints from before scoring
  c.scoreSteps ??= [...SOURCE_METHOD.scoreSteps];
  positiveInt('scoreEvery', c.scoreEvery, 0);
  if (c.scoreSteps.length === 0 || c.scoreSteps.some((n) => !Number.isInteger(n) || n < 1)) throw new ConfigError(`scoreSteps must be positive step counts, got ${c.scoreSteps}`);
  positiveInt('damage', c.damage, 0);
  c.damageShape ??= 'disc'; // checkpoints from before damage shapes
  if (!DAMAGE_SHAPES.includes(c.damageShape)) throw new ConfigError(`damageShape must be one of ${DAMAGE_SHAPES.join(', ')}, got ${c.damageShape}`);
  if (c.batch > c.poolSize) throw new ConfigError(`batch (${c.batch}) is larger than poolSize (${c.poolSize})`);
  if (c.poolStart !== undefined && c.poolStart > c.poolSize) throw new ConfigError(`poolStart (${c.poolStart}) is larger than poolSize (${c.poolSize})`);
  if (c.poolStart !== undefined && c.batch > c.poolStart) throw new ConfigError(`batch (${c.batch}) is larger than poolStart (${c.poolStart})`);
  if (c.maxSteps < c.minSteps) throw new ConfigError(`maxSteps (${c.maxSteps}) is below minSteps (${c.minSteps})`);
  if (c.damage >= c.batch) throw new ConfigError(`damage (${c.damage}) must leave at least one batch state intact (batch ${c.batch})`);
  if (!(c.lr > 0) || !Number.isFinite(c.lr)) throw new ConfigError(`lr must be a positive number, got ${c.lr}`);
  if (!(c.lrFactor > 0)) throw new ConfigError(`lrFactor must be positive, got ${c.lrFactor}`);
  if (c.lrMilestones.some((m) => !(m >= 0 && m <= 1))) throw new ConfigError('lrMilestones are fractions of the run, in [0, 1]');
  c.weightAverage ??= 0; // checkpoints from before weight averages
  if (!(c.weightAverage >= 0 && c.weightAverage < 1)) throw new ConfigError(`weightAverage must be in [0, 1), got ${c.weightAverage}`);
  if (!(c.overflowWeight >= 0)) throw new ConfigError(`overflowWeight must be >= 0, got ${c.overflowWeight}`);
  c.settleWeight ??= 0; // checkpoints from before the settling loss
  if (!(c.settleWeight >= 0) || !Number.isFinite(c.settleWeight)) throw new ConfigError(`settleWeight must be a number >= 0, got ${c.settleWeight}`);
  if (c.seed !== 'noise' && c.seed !== 'cell') throw new ConfigError(`seed must be "noise" or "cell", got ${c.seed}`);
  if (!Number.isInteger(c.runSeed)) throw new ConfigError(`runSeed must be an integer, got ${c.runSeed}`);
  return c;
}
