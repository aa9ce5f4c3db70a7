/**
 * The training loop (the source method, NOTES §1), with a pluggable loss.
 *
 * One iteration: sample a batch from the pool, ordered worst first by the
 * loss each state had when written back (when the loss ranks states) -> every
 * `seedEvery`-th iteration a fresh seed replaces the worst -> optional damage
 * to the best (in the regrowth phase at the run's end, `regrowDamage` of them lose a half-plane) -> run a random minSteps-maxSteps steps -> loss and dLoss/dState
 * (plus, with `settleWeight`, the size of the last step's change: settle.ts)
 * -> backward through the rollout -> per-parameter gradient normalisation ->
 * Adam with step decay -> write the batch back, with each state's loss -> every
 * `ageEvery`-th iteration once the pool is full, age that batch (`ageSteps`
 * more steps, no gradient), so the pool also holds states thousands of steps old.
 *
 * Keeping the best model, not the last: with a `score` function (a long-run
 * evaluation, higher is better) the model is scored every `scoreEvery`
 * iterations and model.nca is rewritten whenever the score improves. With
 * `weightAverage` a moving average of the weights is kept too, and scored beside them.
 * Once the regrowth phase starts, only its own models can become model.nca (`rival`).
 *
 * A run lives in one directory: checkpoint.bin (every `saveEvery` iterations,
 * on stop, and at the end), log.jsonl, previews/*.png, model.nca and (keepScored) scored/*.nca.
 */
import { appendFile, mkdir, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { encodeNca } from '../../formats/nca-file.ts';
import { perceptionSize, type NcaModel, type Topology, type Weights } from '../../formats/model.ts';
import { Rng } from '../../formats/random.ts';
import { toRgba } from '../../formats/reference-core.ts';
import type { SessionOptions } from '../engine/session.ts';
import { encodePng } from '../image/png.ts';
import { batchSize, takeHwc, type BatchShape } from '../nca/layout.ts';
import { BatchRollout } from '../nca/batch-rollout.ts';
import { liveCells } from '../nca/living.ts';
import { maskSeed } from '../nca/masks.ts';
import { autoSegmentSteps } from '../nca/rollout.ts';
import { eraseDamage } from '../pixel/damage.ts';
import { adamInit, adamStep, learningRate, normalizeGradients } from './adam.ts';
import { CheckpointError, copyWeights, loadCheckpoint, MODEL_FILE, modelOf, saveCheckpoint, type TrainState } from './checkpoint.ts';
import { regrowStart, validateConfig, type TrainConfig } from './config.ts';
import type { Loss } from './loss.ts';
import { activePoolSize, Pool } from './pool.ts';
import { settleTerm } from './settle.ts';
import { seedRecipe, seedState } from './seeds.ts';

export type TrainEvent =
  | { kind: 'iteration'; iteration: number; loss: number; logs: Record<string, number>; lr: number; steps: number; seconds: number }
  | { kind: 'rollback'; iteration: number; to: number; reason: string; lrScale: number }
  | { kind: 'checkpoint'; iteration: number }
  | { kind: 'regrow'; iteration: number; damage: number; batch: number }
  | { kind: 'score'; iteration: number; score: number; best: number; bestIteration: number; averageScore?: number; seconds: number }
  | { kind: 'preview'; iteration: number; path: string }
  | { kind: 'done'; iteration: number; model: string };

export interface TrainerOptions extends SessionOptions {
  /** The run directory. */
  dir: string;
  onEvent?: (event: TrainEvent) => void;
  /**
   * Long-run quality of a model, higher is better (e.g. the lowest PSNR over a long rollout); used every
   * `scoreEvery` iterations. A model that scores below `floor` cannot be kept, so its score may be cut
   * short: any value below `floor` that is at least its true score (a long run stopped at the first
   * step count under the floor).
   */
  score?: (model: NcaModel, floor: number) => Promise<number>;
  /** Also write every scored model to scored/iter-NNNNNN-{weights,average}.nca (float32), e.g. to rescore them later. */
  keepScored?: boolean;
}

/** Where `keepScored` puts every scored model, in the run directory. */
export const SCORED_DIR = 'scored';

/** Consecutive rollbacks without a good checkpoint in between before the run gives up. */
const MAX_ROLLBACKS = 6;

export class Trainer {
  private rng: Rng;
  private pool: Pool;
  private readonly shape: BatchShape;
  /** The checkpoint being written (see save). */
  private writing: Promise<void> | null = null;
  private poolCopy: Float32Array | null = null;

  private constructor(
    private state: TrainState,
    private readonly loss: Loss,
    private readonly rollout: BatchRollout,
    private readonly options: TrainerOptions,
  ) {
    const c = state.config;
    this.shape = { batch: c.batch, channels: c.topology.channels, height: c.height, width: c.width };
    this.rng = new Rng(state.rngState);
    this.pool = new Pool(c.poolSize, batchSize({ ...this.shape, batch: 1 }), state.pool, state.poolLoss);
  }

  /** A new run in `options.dir` (created if needed); writes the iteration-0 checkpoint. */
  static async start(config: TrainConfig, loss: Loss, options: TrainerOptions, extra: Partial<Pick<TrainState, 'metadata' | 'lossSpec'>> = {}): Promise<Trainer> {
    const c = validateConfig(structuredClone(config));
    const rng = new Rng(c.runSeed);
    const seed = seedRecipe(c.seed, c.topology, c.seedCells);
    const grid = { width: c.width, height: c.height };
    const stateSize = c.topology.channels * c.width * c.height;
    const pool = new Float32Array(c.poolSize * stateSize);
    const cellSeed = c.seed === 'cell' ? seedState(c.topology, seed, grid, 0) : undefined;
    for (let i = 0; i < c.poolSize; i++) pool.set(cellSeed ?? seedState(c.topology, seed, grid, rng.int(0, 0x7fffffff)), i * stateSize);
    const weights = initialWeights(c, rng);
    const state: TrainState = {
      config: c,
      seed,
      iteration: 0,
      rngState: rng.state,
      lrScale: 1,
      rollbacks: 0,
      weights,
      ...(c.weightAverage > 0 ? { average: copyWeights(weights) } : {}),
      adam: adamInit(weights as unknown as Record<string, Float32Array>),
      pool,
      poolLoss: new Float32Array(c.poolSize).fill(Infinity),
      metadata: extra.metadata ?? {},
      lossSpec: extra.lossSpec ?? { kind: 'custom' },
    };
    await mkdir(options.dir, { recursive: true });
    await saveCheckpoint(options.dir, state);
    return Trainer.open(state, loss, options);
  }

  /**
   * Continues the run in `options.dir` exactly where its checkpoint (`state`, as loaded from there) stopped. With `iterations`,
   * the run's length becomes that (a finished run trains on): the schedules that are fractions of
   * the length (learning-rate steps, pool growth) follow the new length from here on, and the best
   * model so far stays model.nca until a better one is scored. The new length is saved at once.
   */
  static async resume(state: TrainState, loss: Loss, options: TrainerOptions, iterations?: number): Promise<Trainer> {
    if (iterations !== undefined && iterations !== state.config.iterations) {
      if (iterations < state.iteration) {
        throw new CheckpointError(`the run in ${options.dir} has already trained ${state.iteration} iterations; --iterations must be at least that`);
      }
      state.config = { ...state.config, iterations };
      await saveCheckpoint(options.dir, state);
    }
    return Trainer.open(state, loss, options);
  }

  private static async open(state: TrainState, loss: Loss, options: TrainerOptions): Promise<Trainer> {
    const c = state.config;
    const grid = { batch: c.batch, height: c.height, width: c.width };
    const rollout = await BatchRollout.create(c.topology, grid, {
      segmentSteps: c.segmentSteps === 'auto' ? autoSegmentSteps(c.topology, grid, c.maxSteps) : c.segmentSteps,
      qat: c.qat,
      device: options.device,
      threads: options.threads,
    });
    return new Trainer(state, loss, rollout, options);
  }

  get iteration(): number {
    return this.state.iteration;
  }

  get config(): TrainConfig {
    return this.state.config;
  }

  /**
   * Trains until the last iteration, or until `signal` aborts (then saves and returns). The
   * result is model.nca in the run directory: the best-scored model, or the last (averaged) one.
   */
  async run(signal?: AbortSignal): Promise<{ stopped: boolean }> {
    const c = this.state.config;
    while (this.state.iteration < c.iterations) {
      if (signal?.aborted) {
        await this.save();
        await this.saved();
        return { stopped: true };
      }
      const failure = await this.iterate();
      if (failure) {
        await this.rollback(failure);
        continue;
      }
      const it = this.state.iteration;
      if (this.options.score && c.scoreEvery > 0 && it % c.scoreEvery === 0) await this.scoreModel();
      if (it % c.saveEvery === 0) await this.save();
      if (c.previewEvery > 0 && it % c.previewEvery === 0) await this.preview();
    }
    const path = this.modelPath();
    if (this.options.score && c.scoreEvery > 0) {
      if (c.iterations % c.scoreEvery !== 0) await this.scoreModel(); // else the loop just scored the last iteration
    } else {
      await writeModel(path, this.model(c.weightAverage > 0));
    }
    await this.save();
    await this.saved();
    this.emit({ kind: 'done', iteration: this.state.iteration, model: path });
    return { stopped: false };
  }

  /** The current weights (or their moving average) as a model; metadata.extra records the training grid (nca eval's default grid). */
  model(average = false): NcaModel {
    const m = modelOf(this.state, average);
    const c = this.state.config;
    m.metadata.extra = { ...m.metadata.extra, grid: { width: c.width, height: c.height } };
    return m;
  }

  private modelPath(): string {
    return join(this.options.dir, MODEL_FILE);
  }

  /**
   * Scores the current model (and the weights' average); a new best is written to model.nca at once, so a killed run keeps it.
   * Each is scored against the best so far as its floor, so a loser's long run stops early (its logged score is then an upper bound).
   */
  private async scoreModel(): Promise<void> {
    const it = this.state.iteration;
    const started = performance.now();
    const current = this.model();
    const rival = this.rival(it);
    const floor = rival?.score ?? -Infinity;
    const score = await this.options.score!(current, floor);
    const averaged = this.state.average ? this.model(true) : null;
    const averageScore = averaged ? await this.options.score!(averaged, Math.max(floor, score)) : -Infinity;
    if (this.options.keepScored) await this.keepScored(it, current, averaged);
    const [top, model, weights] = averageScore > score ? [averageScore, averaged!, 'average'] : [score, current, 'current'];
    if (!rival || top > rival.score) {
      this.state.best = { iteration: it, score: top };
      model.metadata.extra = { ...model.metadata.extra, bestScore: top, bestIteration: it, ...(averaged ? { bestWeights: weights } : {}) };
      await writeModel(this.modelPath(), model);
    }
    const event: TrainEvent = {
      kind: 'score',
      iteration: it,
      score,
      best: this.state.best!.score,
      bestIteration: this.state.best!.iteration,
      ...(averaged ? { averageScore } : {}),
      seconds: Number(((performance.now() - started) / 1000).toFixed(3)),
    };
    await this.log(event);
  }

  /**
   * The best so far that a model scored at iteration `it` (trained by iterations 0 to it - 1) must
   * beat. Once the regrowth phase has trained it, a model from before the phase counts as dead
   * (score 0): any living model of the phase replaces it, however well it held, since it was not
   * trained to regrow as the phase's models are.
   */
  private rival(it: number): { iteration: number; score: number } | undefined {
    const best = this.state.best;
    const start = regrowStart(this.state.config);
    return best && it > start && best.iteration <= start ? { iteration: best.iteration, score: 0 } : best;
  }

  private async keepScored(it: number, current: NcaModel, averaged: NcaModel | null): Promise<void> {
    const dir = join(this.options.dir, SCORED_DIR);
    await mkdir(dir, { recursive: true });
    const name = (which: string) => join(dir, `iter-${String(it).padStart(6, '0')}-${which}.nca`);
    await writeModel(name('weights'), current);
    if (averaged) await writeModel(name('average'), averaged);
  }

  /** One iteration; returns why it failed (NaN/Inf) or null. */
  private async iterate(): Promise<string | null> {
    const s = this.state;
    const c = s.config;
    const it = s.iteration;
    const started = performance.now();
    const lr = learningRate(c.lr, it, c.iterations, c.lrMilestones, c.lrFactor) * s.lrScale;
    const slots = this.pool.worstFirst(this.pool.sample(c.batch, this.rng, activePoolSize(c, it)));
    const x = this.pool.gather(slots);
    if (it % c.seedEvery === 0) x.set(seedState(c.topology, s.seed, c, this.rng.int(0, 0x7fffffff)), 0);
    const regrowFrom = regrowStart(c);
    if (it === regrowFrom) await this.log({ kind: 'regrow', iteration: it, damage: c.regrowDamage!, batch: c.batch });
    const [damage, shape] = it >= regrowFrom ? [c.regrowDamage!, 'half' as const] : [c.damage, c.damageShape];
    if (damage > 0) eraseDamage(x, this.shape, range(c.batch - damage, c.batch), this.rng, shape);
    const steps = this.rng.int(c.minSteps, c.maxSteps);
    const maskSeeds = slots.map((_, b) => maskSeed(c.runSeed, it, b));

    const final = await this.rollout.forward(x, s.weights, maskSeeds, steps);
    const result = await this.loss.evaluate(final, this.shape, it);
    const settle = c.settleWeight! > 0 ? settleTerm(final, await this.rollout.previous(), c.settleWeight!) : null;
    if (settle) {
      result.loss += c.settleWeight! * settle.value;
      result.logs.settle = settle.value;
      for (let i = 0; i < result.grad.length; i++) result.grad[i] += settle.gradFinal[i];
    }
    if (!Number.isFinite(result.loss)) return `loss is ${result.loss}`;
    const grads = await this.rollout.backward(s.weights, result.grad, settle?.gradPrevious);
    const g = grads.weights as unknown as Record<string, Float32Array>;
    normalizeGradients(g);
    adamStep(s.weights as unknown as Record<string, Float32Array>, g, s.adam, lr);
    if (!Object.values(s.weights).every((w) => w === undefined || w.every(Number.isFinite))) return 'weights are not finite';
    if (s.average) updateAverage(s.average, s.weights, c.weightAverage);

    this.pool.scatter(slots, final, result.perSample && deadLast(result.perSample, final, this.shape, c.topology));
    if (c.ageSteps > 0 && (it + 1) % c.ageEvery === 0 && activePoolSize(c, it) === c.poolSize) await this.age(c.ageElders ? range(0, c.batch) : slots, it);
    s.iteration++;
    const event: TrainEvent = { kind: 'iteration', iteration: it, loss: result.loss, logs: result.logs, lr, steps, seconds: (performance.now() - started) / 1000 };
    await this.log(event);
    return null;
  }

  /**
   * Pool ageing: runs the batch just written back (or, `ageElders`, the first `batch` slots) `ageSteps`
   * more steps with the new weights and writes it back, keeping each state's loss. Why: a state otherwise lives at most about
   * (iterations x batch / pool) visits of maxSteps steps, about 10^3 steps, and models trained so
   * shrank slowly from there and died between 10^4 and 10^5 steps (docs/trainer.md); an aged state
   * that has decayed is trained back to the target like a damaged one. With `ageDamage` the first
   * states lose a random half before they age. Masks come from their own seeds (negative iterations),
   * so a run still repeats exactly.
   */
  private async age(slots: number[], it: number): Promise<void> {
    const c = this.state.config;
    const maskSeeds = slots.map((_, b) => maskSeed(c.runSeed, -1 - it, b));
    const states = this.pool.gather(slots);
    if (c.ageDamage) eraseDamage(states, this.shape, range(0, c.ageDamage), this.rng, 'half');
    const aged = await this.rollout.advance(states, this.state.weights, maskSeeds, c.ageSteps);
    slots.forEach((slot, b) => this.pool.set(slot, aged.subarray(b * this.pool.stateSize, (b + 1) * this.pool.stateSize)));
  }

  /**
   * Checkpoints this moment. The write (about 110 MB for a living run's pool, 0.1-0.6 s with its
   * sync) goes on beside the next iterations: it writes a copy of the state, made here. One write at
   * a time; `saved()` waits for it and throws its error, so a failed write still stops the run.
   */
  private async save(): Promise<void> {
    await this.saved();
    this.state.rngState = this.rng.state;
    const snapshot = this.snapshot();
    this.state.rollbacks = 0;
    const written = saveCheckpoint(this.options.dir, snapshot).then(() => this.emit({ kind: 'checkpoint', iteration: snapshot.iteration }));
    written.catch(() => {}); // not unhandled meanwhile: saved() rethrows it
    this.writing = written;
  }

  /** Waits for the checkpoint being written, if any. */
  private async saved(): Promise<void> {
    const writing = this.writing;
    this.writing = null;
    await writing;
  }

  /** A copy of the training state that the next iterations cannot change; the pool goes to a buffer reused from save to save. */
  private snapshot(): TrainState {
    const s = this.state;
    if (this.poolCopy?.length !== this.pool.data.length) this.poolCopy = new Float32Array(this.pool.data.length);
    this.poolCopy.set(this.pool.data);
    const copy64 = (r: Record<string, Float64Array>) => Object.fromEntries(Object.entries(r).map(([k, v]) => [k, v.slice()]));
    return {
      ...s,
      weights: copyWeights(s.weights),
      ...(s.average ? { average: copyWeights(s.average) } : {}),
      adam: { step: s.adam.step, m: copy64(s.adam.m), v: copy64(s.adam.v) },
      pool: this.poolCopy,
      poolLoss: this.pool.losses.slice(),
      ...(s.best ? { best: { ...s.best } } : {}),
    };
  }

  /** Back to the last checkpoint, with half the learning rate. */
  private async rollback(reason: string): Promise<void> {
    const failedAt = this.state.iteration;
    const lrScale = this.state.lrScale / 2;
    const rollbacks = this.state.rollbacks + 1;
    if (rollbacks > MAX_ROLLBACKS) {
      throw new Error(`training diverged: ${reason} at iteration ${failedAt} after ${MAX_ROLLBACKS} rollbacks (try a lower --lr)`);
    }
    await this.saved();
    this.state = { ...(await loadCheckpoint(this.options.dir)), lrScale, rollbacks };
    this.rng = new Rng(this.state.rngState);
    this.pool = new Pool(this.pool.size, this.pool.stateSize, this.state.pool, this.state.poolLoss);
    this.emit({ kind: 'rollback', iteration: failedAt, to: this.state.iteration, reason, lrScale });
  }

  private async preview(): Promise<void> {
    const path = await writePreview(this.options.dir, this.state.iteration, this.state.config, this.pool);
    this.emit({ kind: 'preview', iteration: this.state.iteration, path });
  }

  /** Appends the event to log.jsonl and emits it. */
  private async log(event: TrainEvent): Promise<void> {
    await appendFile(join(this.options.dir, 'log.jsonl'), JSON.stringify(event) + '\n');
    this.emit(event);
  }

  private emit(event: TrainEvent): void {
    this.options.onEvent?.(event);
  }

  async release(): Promise<void> {
    try {
      await this.saved();
    } finally {
      await this.rollout.release();
      await this.loss.release?.();
    }
  }
}

/**
 * Per-state losses where a state that died (alive masking left no cell) ranks
 * worst, so a seed replaces it next: it would teach nothing (no gradient
 * flows through dead cells), however low its loss against a sparse target.
 */
function deadLast(losses: Float32Array, batch: Float32Array, shape: BatchShape, topology: Topology): Float32Array {
  const alive = topology.alive;
  if (!alive) return losses;
  return losses.map((loss, b) => (liveCells(batch, shape, alive, b) > 0 ? loss : Infinity));
}

/** model.nca, written to a temporary name and renamed, so a reader never sees half a file. */
async function writeModel(path: string, model: NcaModel): Promise<void> {
  const tmp = `${path}.tmp-${process.pid}`;
  await writeFile(tmp, encodeNca(model, { weightDtype: 'float32' }));
  await rename(tmp, path);
}

/** average = decay * average + (1 - decay) * weights, in place. */
function updateAverage(average: Weights, weights: Weights, decay: number): void {
  for (const [k, w] of Object.entries(weights) as [keyof Weights, Float32Array | undefined][]) {
    const a = average[k];
    if (!w || !a) continue;
    for (let i = 0; i < w.length; i++) a[i] = decay * a[i] + (1 - decay) * w[i];
  }
}

/** PyTorch's default 1x1-conv init for w1/b1 (uniform +-1/sqrt(fan_in)); w2 starts at zero. */
function initialWeights(c: TrainConfig, rng: Rng): Weights {
  const { channels, hidden } = c.topology;
  const features = perceptionSize(c.topology);
  const bound = 1 / Math.sqrt(features);
  const uniform = (n: number) => Float32Array.from({ length: n }, () => (rng.next() * 2 - 1) * bound);
  return { w1: uniform(hidden * features), b1: uniform(hidden), w2: new Float32Array(channels * hidden) };
}

/** The first (up to) 8 pool states side by side, as displayed, in previews/iter-NNNNNN.png. */
async function writePreview(dir: string, iteration: number, c: TrainConfig, pool: Pool): Promise<string> {
  const tiles = Math.min(8, pool.size);
  const shape: BatchShape = { batch: tiles, channels: c.topology.channels, height: c.height, width: c.width };
  const batch = pool.gather(range(0, tiles));
  const data = new Uint8Array(tiles * c.width * c.height * 4);
  for (let b = 0; b < tiles; b++) {
    const rgba = toRgba(c.topology, takeHwc(batch, shape, b), c);
    for (let y = 0; y < c.height; y++) data.set(rgba.subarray(y * c.width * 4, (y + 1) * c.width * 4), (y * tiles * c.width + b * c.width) * 4);
  }
  await mkdir(join(dir, 'previews'), { recursive: true });
  const path = join(dir, 'previews', `iter-${String(iteration).padStart(6, '0')}.png`);
  await writeFile(path, encodePng({ width: tiles * c.width, height: c.height, data }));
  return path;
}

function range(from: number, to: number): number[] {
  return Array.from({ length: to - from }, (_, i) => from + i);
}
