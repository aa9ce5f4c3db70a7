/**
 * Long-run quality of a model: run it for many steps from its seed, with the player's
 * update masks, and measure at given step counts how close it stays to a target image
 * (PSNR, SSIM) and whether it stays stable (state range, alive fraction, explosion,
 * death, decay, frame-to-frame change). Optionally, erase half of the grid at several
 * settled step counts (a different half and a different draw of the update masks each
 * time) and count the steps it takes to regrow. `nca eval` prints this report; the
 * trainer can call `evaluateLongRun` to score a checkpoint.
 *
 * The score is the smallest PSNR (dB, over white) at the measured step counts, over
 * every run (float, and int8 when asked for): a pattern that forms and then drifts,
 * fades, explodes or turns to noise scores low.
 */
import os from 'node:os';
import { toColours, type Grid, type NcaModel } from '../../formats/index.ts';
import { moduleBeside, startWorker } from '../../trainer/engine/module-worker.ts';
import type { RgbaImage } from '../../trainer/image/png.ts';
import { quantize } from '../quantize.ts';
import { createEngine, type Engine, type EngineName } from '../render/engine.ts';
import { centredAt, overWhite, placeTarget, psnr, PSNR_CAP_DB, shifted, ssim, type RgbImage } from './metrics.ts';

export const DEFAULT_EVAL_STEPS = [100, 1000, 10_000, 100_000] as const;
export const DEFAULT_GRID: Grid = { width: 64, height: 64 };
/**
 * Steps per onnxruntime call for the long runs: 25 divides the default step counts (and
 * the trainer's), so no step of a chunk is computed in vain. Measured with `npm run
 * bench:eval` at 72x72: chunks of 8 to 32 run within a few percent of each other.
 */
export const EVAL_CHUNK = 25;

/** The chunk for a run that stops at `events`: the largest divisor of their gcd up to 32 if at least 16, else EVAL_CHUNK. */
export function evalChunk(events: readonly number[]): number {
  const gcd = (a: number, b: number): number => (b === 0 ? a : gcd(b, a % b));
  const g = events.filter((e) => e > 0).reduce(gcd, 0);
  for (let k = Math.min(g, 32); k >= 16; k--) if (g % k === 0) return k;
  return EVAL_CHUNK;
}

/** A cell counts as alive when its displayed alpha exceeds this (RGBA models). */
export const ALIVE_ALPHA = 0.1;
/** A state value beyond this (or a non-finite one) means the model exploded. */
export const EXPLODED_ABOVE = 1e3;
/** `decayed` (with a target): the PSNR fell more than this below its best at an earlier step count. */
export const DECAY_DB = 3;

/** Regrowth is tested on the pattern after this many steps by default (or the largest step count, if smaller). */
export const DEFAULT_REGROW_AT = 1000;
/**
 * Erases per run by default, one per side: a model may heal one half and never another (the
 * shipped ring heals its right half 6 times of 6 and its top 0 of 6; session 25), and one erase
 * is one draw of the update masks (session 24; docs/performance.md). Four erases cost 6000
 * steps more than one did: 108,001 steps per run of a default evaluation against 102,001.
 */
export const DEFAULT_REGROW_TRIALS = 4;
/** The half each erase clears, in turn: the first is the right half (x >= W/2), as before trials. */
export const ERASED_SIDES = ['right', 'left', 'bottom', 'top'] as const;
export type ErasedSide = (typeof ERASED_SIDES)[number];
/** One erase of the regrowth test: the step count and the half. */
export interface Erase {
  at: number;
  side: ErasedSide;
}

export interface RegrowOptions {
  /** Step count of the first erase (default 1000, or the largest step count if smaller); erase k (from 1) is at k times it. */
  at?: number;
  /** Erases (default 4): erase k clears ERASED_SIDES[(k - 1) % 4] at k x `at` steps, each in a copy of the run. */
  trials?: number;
  /** Give up after this many steps (default 2000). */
  max?: number;
  /** Check the PSNR every this many steps (default 10). */
  every?: number;
  /** Regrown = PSNR back within this many dB of the PSNR just before erasing (default 1). */
  withinDb?: number;
  /**
   * The regrown pattern may have moved by up to this many cells in x and y (default 1; 0 = in place
   * only): its PSNR is the best against the target moved by each such offset. An NCA has no fixed
   * coordinates: a pattern that lost half of itself may regrow whole one cell from where it was
   * (docs/decisions.md, session 15).
   */
  shift?: number;
}

export interface Thresholds {
  /** Every PSNR (float and int8, every step count) must reach this, in dB (default 25). Only with a target. */
  minPsnr: number;
  /** Without a target: largest allowed RMS change of the displayed colours over one step at the end (default 0.01). */
  maxChange: number;
  /**
   * With a regrowth test: each run (float, int8) must heal and hold after at least this fraction
   * of its erases, rounded up (default 0.75: 3 of 4). Not all of them: one erase in a
   * handful can meet an unlucky draw of the masks that a model heals from at every other step.
   */
  minHealed: number;
}

export const DEFAULT_THRESHOLDS: Thresholds = { minPsnr: 25, maxChange: 0.01, minHealed: 0.75 };

export interface LongRunOptions {
  /** The target image (straight RGBA8, as decodePng gives), centred on the grid. Without it: stability only, score null. */
  target?: RgbaImage | null;
  /** Top-left cell of the target on the grid (default: centred, as image seeds are). */
  targetAt?: { x: number; y: number };
  /** Grid in cells; default: `defaultGrid(model, target)`. */
  grid?: Grid;
  /** Step counts at which to measure (default 100, 1000, 10000, 100000). */
  steps?: readonly number[];
  /** Also run the int8 re-quantisation of the model (default true). */
  int8?: boolean;
  /** The regrowth test (needs a target): true/omitted = defaults, false = off. */
  regrow?: boolean | RegrowOptions;
  /** Noise and update-mask seed, as the player's (default 0). */
  seed?: number;
  engine?: EngineName;
  /** Steps per onnxruntime call (default: `evalChunk` of the step counts). */
  chunk?: number;
  thresholds?: Partial<Thresholds>;
  /** Keep the frame (over white) at each step count, for a strip image. */
  keepFrames?: boolean;
  /** Called as steps are run: steps done so far and the planned total (all runs, regrowth included). */
  onProgress?: (done: number, total: number) => void;
  /**
   * CPU threads (default: all cores). With 2 or more, the float and the int8 run go side by side in
   * worker threads (eval-worker.ts): one grid keeps a second onnxruntime thread busy for
   * only part of a step, two runs keep two cores busy (docs/performance.md).
   */
  threads?: number;
  /**
   * Stop as soon as a PSNR at a step count falls below this, in every run (a trainer's score
   * that cannot beat its best so far). The report then holds the step counts
   * measured until then, and its score is below `stopBelow` (and at least the full run's).
   */
  stopBelow?: number;
}

export interface StepReport {
  steps: number;
  /** dB against the target, both over white, capped at 100; 0 when the colours are not finite; null without a target. */
  psnr: number | null;
  /** SSIM against the target over white; null without a target. */
  ssim: number | null;
  /** Fraction of cells alive: displayed alpha > 0.1 (RGBA), or state not all zero (RGB). */
  aliveFraction: number;
  /** Smallest and largest finite state value over all channels and cells (null when none is finite). */
  min: number | null;
  max: number | null;
  /** Fraction of state values that are NaN or infinite. */
  nonFinite: number;
  /** A non-finite state value, or one beyond ±1000. */
  exploded: boolean;
  /** Alive fraction 0 (nothing left). */
  died: boolean;
  /**
   * Fading: with a target, the PSNR is more than 3 dB below its best so far (at the seed
   * or an earlier step count); without one, the alive fraction is below half its largest so far.
   */
  decayed: boolean;
}

/** One erase of the regrowth test. */
export interface RegrowTrial {
  /** Step count at which the half was erased, and which half (right: x >= W/2, left: x < W/2, bottom: y >= H/2, top: y < H/2). */
  at: number;
  side: ErasedSide;
  /** PSNR just before erasing, and just after. */
  psnrBefore: number;
  psnrErased: number;
  /** Steps until the PSNR was back within `withinDb` of psnrBefore (a multiple of `every`), or null if not within `max`. */
  steps: number | null;
  /**
   * PSNR `max` steps after the erase: the test always runs its whole window, so a pattern that
   * regrows and then overgrows or fades is caught (`held`).
   */
  psnrEnd: number;
  /** Regrown, and still within `withinDb` of psnrBefore at the end of the window. */
  held: boolean;
  /** The target's offset [dx, dy] in cells that gave psnrEnd (within ±shift; [0, 0] when in place). */
  moved: [number, number];
}

/** The regrowth test of one run: its erases and its settings (RegrowOptions). */
export interface RegrowReport {
  trials: RegrowTrial[];
  /** Erases after which the pattern regrew and held. */
  healed: number;
  max: number;
  every: number;
  withinDb: number;
  shift: number;
}

export interface RunReport {
  /** 'float': the model as given; 'int8': its int8 re-quantisation (what an int8 .nca plays). */
  weights: 'float' | 'int8';
  marks: StepReport[];
  regrow: RegrowReport | null;
  /** RMS change of the displayed colours (over white, in [0, 1]) over one step after the last step count. */
  endChange: number;
  /** With keepFrames: the frame at each step count, over white. */
  frames?: RgbImage[];
  /** With keepFrames and a regrowth test: for each erase, the frame just after it and the one where the test stopped. */
  regrowFrames?: RgbImage[];
  /** The run stopped early (`stopBelow`): `marks` ends where it stopped; no regrowth, and endChange is NaN. */
  cut?: boolean;
}

export interface LongRunReport {
  grid: Grid;
  seed: number;
  engine: EngineName;
  steps: number[];
  /** Where the target sits on the grid (its own size, top-left cell), or null. */
  target: { x: number; y: number; width: number; height: number } | null;
  /** The target as placed on the grid, over white (for strips). */
  targetFrame: RgbImage | null;
  runs: RunReport[];
  /** Smallest PSNR over every step count of every run (dB); null without a target. */
  score: number | null;
  thresholds: Thresholds;
  /** Every threshold met (see `failures`). */
  pass: boolean;
  /** One line per threshold missed, e.g. "int8: PSNR 21.3 dB at 10000 steps < 25 dB". */
  failures: string[];
  /** Steps run in all (regrowth included), and the time taken (engine set-up and measuring included). */
  stepsRun: number;
  seconds: number;
}

/** Step counts to measure at: sorted, without repeats; each a whole number >= 1. */
export function markSteps(steps: readonly number[]): number[] {
  const marks = [...new Set(steps)].sort((a, b) => a - b);
  if (marks.length === 0 || !marks.every((s) => Number.isInteger(s) && s >= 1)) throw new Error(`steps must be whole numbers >= 1, not ${marks.join(', ')}`);
  return marks;
}

/** The grid `nca eval` uses by default: metadata.extra.grid ({width, height}), else the target's size, else 64x64. */
export function defaultGrid(model: NcaModel, target?: { width: number; height: number } | null): Grid {
  const g = model.metadata.extra?.grid as { width?: unknown; height?: unknown } | undefined;
  const side = (v: unknown) => typeof v === 'number' && Number.isInteger(v) && v >= 1 && v <= 4096;
  if (g && typeof g === 'object' && side(g.width) && side(g.height)) return { width: g.width as number, height: g.height as number };
  if (target) return { width: target.width, height: target.height };
  return { ...DEFAULT_GRID };
}

/**
 * Where the trainer put the target: `metadata.extra.box` ({x, y, width, height}), the target
 * resized to width x height with its top-left cell at (x, y) of the training grid. Null when absent or malformed.
 */
export function trainedBox(model: NcaModel): { x: number; y: number; width: number; height: number } | null {
  const b = model.metadata.extra?.box as Record<string, unknown> | undefined;
  if (!b || typeof b !== 'object') return null;
  const int = (v: unknown, min: number) => typeof v === 'number' && Number.isInteger(v) && v >= min && v <= 4096;
  if (!int(b.x, -4096) || !int(b.y, -4096) || !int(b.width, 1) || !int(b.height, 1)) return null;
  return { x: b.x as number, y: b.y as number, width: b.width as number, height: b.height as number };
}

function regrowSettings(regrow: LongRunOptions['regrow'], lastMark: number): Required<RegrowOptions> | null {
  if (regrow === false) return null;
  const o = regrow === true || regrow === undefined ? {} : regrow;
  const s = { at: o.at ?? Math.min(DEFAULT_REGROW_AT, lastMark), trials: o.trials ?? DEFAULT_REGROW_TRIALS, max: o.max ?? 2000, every: o.every ?? 10, withinDb: o.withinDb ?? 1, shift: o.shift ?? 1 };
  const least = (k: string) => (k === 'every' || k === 'trials' ? 1 : 0);
  for (const [k, v] of Object.entries(s)) {
    if (!(Number.isFinite(v) && v >= least(k))) throw new Error(`regrow.${k} must be a number >= ${least(k)}, not ${v}`);
  }
  for (const k of ['shift', 'trials'] as const) if (!Number.isInteger(s[k])) throw new Error(`regrow.${k} must be a whole number${k === 'shift' ? ' of cells' : ''}, not ${s[k]}`);
  return s;
}

/** The erases of a regrowth test: erase k (from 1) at k x `at` steps, the sides in turn. */
export function regrowErases(r: Pick<Required<RegrowOptions>, 'at' | 'trials'>): Erase[] {
  return Array.from({ length: r.trials }, (_, i) => ({ at: r.at * (i + 1), side: ERASED_SIDES[i % ERASED_SIDES.length] }));
}

/** PSNR as reported: capped at 100 dB, 0 for non-finite colours. */
function reportedPsnr(frame: RgbImage, target: RgbImage): number {
  const p = psnr(frame, target);
  return Number.isNaN(p) ? 0 : Math.min(PSNR_CAP_DB, p);
}

/** The displayed colours of a state, over white. */
export function frameOf(model: NcaModel, state: Float32Array, grid: Grid): RgbImage {
  return overWhite(toColours(model.topology, state, grid), grid);
}

function aliveFraction(model: NcaModel, state: Float32Array, colours: Float32Array): number {
  const { channels, color } = model.topology;
  const cells = state.length / channels;
  let alive = 0;
  for (let i = 0; i < cells; i++) {
    if (color.count === 4) {
      if (colours[i * 4 + 3] > ALIVE_ALPHA) alive++;
    } else {
      for (let c = 0; c < channels; c++) {
        if (state[i * channels + c] !== 0) {
          alive++;
          break;
        }
      }
    }
  }
  return alive / cells;
}

/** RMS difference of two images of the same size; 1 when not finite. */
export function rmsChange(a: RgbImage, b: RgbImage): number {
  let sum = 0;
  for (let i = 0; i < a.data.length; i++) sum += (a.data[i] - b.data[i]) ** 2;
  const rms = Math.sqrt(sum / a.data.length);
  return Number.isFinite(rms) ? rms : 1;
}

export const round = (v: number, digits: number) => (Number.isFinite(v) ? Number(v.toFixed(digits)) : v);

export interface RunPlan {
  grid: Grid;
  marks: number[];
  regrow: Required<RegrowOptions> | null;
  target: RgbImage | null;
  seed: number;
  engine: EngineName;
  chunk: number;
  keepFrames: boolean;
  /** onnxruntime intra-op threads of each engine. */
  threads?: number;
  /** `n` steps were run. */
  tick: (n: number) => void;
  /** With `stopBelow`: a flag (index 0) over shared memory that the first run to fall below it sets, and every run reads. */
  cut?: { below: number; flag: Int32Array };
}

/** The largest divisor of `n` up to `max` (a regrowth engine's chunk, so no step is computed in vain). */
function divisorUpTo(n: number, max: number): number {
  for (let k = Math.min(n, max); k > 1; k--) if (n % k === 0) return k;
  return 1;
}

/** Runs `engine` forward to step `to` in slices, reporting progress; stops early between slices once `stopped()` says so. */
export async function advance(engine: Engine, to: number, slice: number, tick: (n: number) => void, stopped: () => boolean = () => false): Promise<void> {
  while (engine.steps < to && !stopped()) {
    const n = Math.min(slice, to - engine.steps);
    await engine.run(n);
    tick(n);
  }
}

/**
 * A copy of a [H][W][C] state with every channel of one half of the grid set to zero: right
 * x >= W/2, left x < W/2, bottom y >= H/2, top y < H/2 (on an odd side the middle column or
 * row belongs to the left or top half).
 */
export function eraseHalf(state: Float32Array, grid: Grid, channels: number, side: ErasedSide): Float32Array {
  const erased = state.slice();
  const { width: w, height: h } = grid;
  const [x0, x1] = side === 'right' ? [Math.ceil(w / 2), w] : side === 'left' ? [0, Math.ceil(w / 2)] : [0, w];
  const [y0, y1] = side === 'bottom' ? [Math.ceil(h / 2), h] : side === 'top' ? [0, Math.ceil(h / 2)] : [0, h];
  for (let y = y0; y < y1; y++) erased.fill(0, (y * w + x0) * channels, (y * w + x1) * channels);
  return erased;
}

async function regrowth(model: NcaModel, state: Float32Array, erase: Erase, before: number, plan: RunPlan): Promise<{ trial: RegrowTrial; frames: [RgbImage, RgbImage] }> {
  const r = plan.regrow!;
  const { grid, target } = plan;
  const { at, side } = erase;
  const erased = eraseHalf(state, grid, model.topology.channels, side);
  // A copy of the engine, from the erased state at the same step count: same masks as the main run would draw.
  const engine = await createEngine(plan.engine, model, grid, { seed: plan.seed, chunk: divisorUpTo(r.every, 32), threads: plan.threads });
  try {
    engine.setState(erased, at);
    const offsets = offsetsUpTo(r.shift);
    const targets = offsets.map(([dx, dy]) => shifted(target!, dx, dy));
    let frame = frameOf(model, engine.state(), grid);
    const erasedFrame = frame;
    const psnrs = () => targets.map((t) => reportedPsnr(frame, t));
    // The best PSNR over the offsets; the first (in place) wins ties.
    const best = (of: number[]): { psnr: number; moved: [number, number] } => {
      const i = of.indexOf(Math.max(...of));
      return { psnr: of[i], moved: offsets[i] };
    };
    const back = (psnr: number) => psnr >= before - r.withinDb;
    let steps: number | null = null;
    const erasedPsnrs = psnrs();
    let end = best(erasedPsnrs);
    for (let k = 0; ; ) {
      // once regrown, only the end of the window is measured
      if (steps === null && back(end.psnr)) steps = k;
      if (k >= r.max) break;
      const n = steps === null ? Math.min(r.every, r.max - k) : r.max - k;
      await engine.run(n);
      plan.tick(n);
      k += n;
      frame = frameOf(model, engine.state(), grid);
      end = best(psnrs());
    }
    const trial = { at, side, psnrBefore: before, psnrErased: round(erasedPsnrs[0], 2), steps, psnrEnd: round(end.psnr, 2), held: steps !== null && back(end.psnr), moved: end.moved };
    return { trial, frames: [erasedFrame, frame] };
  } finally {
    await engine.dispose();
  }
}

/** Every offset [dx, dy] with |dx|, |dy| <= n, in place first. */
function offsetsUpTo(n: number): [number, number][] {
  const offsets: [number, number][] = [[0, 0]];
  for (let dy = -n; dy <= n; dy++) for (let dx = -n; dx <= n; dx++) if (dx !== 0 || dy !== 0) offsets.push([dx, dy]);
  return offsets;
}

/** Smallest and largest finite state value, the fraction that is not finite, and whether it exploded (StepReport's fields). */
export function stateRange(state: Float32Array): Pick<StepReport, 'min' | 'max' | 'nonFinite' | 'exploded'> {
  let min = Infinity;
  let max = -Infinity;
  let nonFinite = 0;
  for (const v of state) {
    if (!Number.isFinite(v)) {
      nonFinite++;
      continue;
    }
    if (v < min) min = v;
    if (v > max) max = v;
  }
  const none = nonFinite === state.length;
  return {
    min: none ? null : round(min, 4),
    max: none ? null : round(max, 4),
    nonFinite: round(nonFinite / state.length, 4),
    exploded: nonFinite > 0 || Math.max(-min, max) > EXPLODED_ABOVE,
  };
}

/** The model as given and, when asked, its int8 re-quantisation (what an int8 .nca plays). */
export function weightVariants(model: NcaModel, int8: boolean): [RunReport['weights'], NcaModel][] {
  return int8 ? [['float', model], ['int8', quantize(model, 'int8')]] : [['float', model]];
}

/** Progress over several runs: `tick` counts steps run and reports (done, total). */
export function stepCounter(total: number, onProgress?: (done: number, total: number) => void) {
  let done = 0;
  const counter = {
    stepsRun: 0,
    tick: (n: number) => {
      counter.stepsRun += n;
      done += n;
      onProgress?.(done, total);
    },
  };
  return counter;
}

export interface WalkSettings {
  grid: Grid;
  seed: number;
  engine: EngineName;
  chunk: number;
  threads?: number;
  tick: (n: number) => void;
  /** Checked between slices of steps: once it says stop, the walk ends without its last step (endChange NaN). */
  stopped?: () => boolean;
}

/**
 * Runs `model` from its seed through `events` (sorted step counts; 0 = the seed itself),
 * calling `visit` with the state at each (it may run the engine further, e.g. one step
 * to measure a change). Then one more step: the RMS change of the displayed colours over
 * it (over white) is returned as `endChange`. The engine is disposed of at the end. When
 * `settings.stopped` says so, the walk ends at once and `endChange` is NaN.
 */
export async function walkRun(
  model: NcaModel,
  events: readonly number[],
  settings: WalkSettings,
  visit: (at: number, state: Float32Array, engine: Engine) => Promise<void> | void,
): Promise<{ endChange: number; stopped: boolean }> {
  const { grid } = settings;
  const engine = await createEngine(settings.engine, model, grid, { seed: settings.seed, chunk: settings.chunk, threads: settings.threads });
  try {
    const slice = settings.chunk * 8;
    const stopped = settings.stopped ?? (() => false);
    for (const at of events) {
      await advance(engine, at, slice, settings.tick, stopped);
      if (stopped()) return { endChange: NaN, stopped: true };
      await visit(at, engine.state(), engine);
    }
    if (stopped()) return { endChange: NaN, stopped: true };
    const last = frameOf(model, engine.state(), grid);
    await engine.run(1);
    settings.tick(1);
    return { endChange: round(rmsChange(last, frameOf(model, engine.state(), grid)), 5), stopped: false };
  } finally {
    await engine.dispose();
  }
}

/** One run of `evaluateLongRun`: `model` (one weight variant) through every step count, regrowth included. */
export async function evaluateRun(model: NcaModel, weights: RunReport['weights'], plan: RunPlan): Promise<RunReport> {
  const { grid, target, marks } = plan;
  const erases = plan.regrow && target ? regrowErases(plan.regrow) : [];
  // 0: the seed counts as "so far" for decay: a pattern that starts right and fades has decayed.
  const events = [...new Set([0, ...marks, ...erases.map((e) => e.at)])].sort((a, b) => a - b);
  const reports: StepReport[] = [];
  const frames: RgbImage[] = [];
  const trials: RegrowTrial[] = [];
  const regrowFrames: RgbImage[] = [];
  let bestPsnr = -Infinity;
  let mostAlive = 0;
  const cut = plan.cut;
  const stopped = cut ? () => Atomics.load(cut.flag, 0) === 1 : undefined;
  const walk = await walkRun(model, events, { ...plan, stopped }, async (at, state) => {
    const colours = toColours(model.topology, state, grid);
    const frame = overWhite(colours, grid);
    const p = target ? reportedPsnr(frame, target) : null;
    if (at === 0) {
      if (p !== null) bestPsnr = p;
      mostAlive = aliveFraction(model, state, colours);
    }
    if (marks.includes(at)) {
      const alive = aliveFraction(model, state, colours);
      const s = target ? ssim(frame, target) : null;
      reports.push({
        steps: at,
        psnr: p === null ? null : round(p, 2),
        ssim: s === null ? null : Number.isFinite(s) ? round(s, 4) : 0,
        aliveFraction: round(alive, 4),
        ...stateRange(state),
        died: alive === 0,
        decayed: p !== null ? p < bestPsnr - DECAY_DB : alive < mostAlive / 2,
      });
      if (p !== null) bestPsnr = Math.max(bestPsnr, p);
      mostAlive = Math.max(mostAlive, alive);
      if (plan.keepFrames) frames.push(frame);
      if (cut && p !== null && round(p, 2) < cut.below) Atomics.store(cut.flag, 0, 1);
    }
    for (const erase of erases.filter((e) => e.at === at)) {
      const { trial, frames: pair } = await regrowth(model, state, erase, round(p!, 2), plan);
      trials.push(trial);
      regrowFrames.push(...pair);
    }
  });
  const r = plan.regrow;
  // A run cut short (stopBelow) has no regrowth test, even where some erases were done.
  const regrow: RegrowReport | null = r && target && !walk.stopped ? { trials, healed: trials.filter((t) => t.held).length, max: r.max, every: r.every, withinDb: r.withinDb, shift: r.shift } : null;
  return {
    weights,
    marks: reports,
    regrow,
    endChange: walk.endChange,
    ...(plan.keepFrames ? { frames, ...(regrow ? { regrowFrames } : {}) } : {}),
    ...(walk.stopped ? { cut: true } : {}),
  };
}

function failuresOf(runs: RunReport[], thresholds: Thresholds, withTarget: boolean): string[] {
  const out: string[] = [];
  for (const run of runs) {
    for (const m of run.marks) {
      const at = `${m.steps} steps`;
      if (m.exploded) out.push(`${run.weights}: exploded at ${at} (${m.nonFinite > 0 ? `${(m.nonFinite * 100).toFixed(1)}% of the state not finite` : `state range ${m.min}..${m.max}`})`);
      else if (m.died) out.push(`${run.weights}: died at ${at} (nothing alive)`);
      if (withTarget && m.psnr !== null && !(m.psnr >= thresholds.minPsnr)) out.push(`${run.weights}: PSNR ${m.psnr} dB at ${at} < ${thresholds.minPsnr} dB`);
      if (!withTarget && m.decayed) out.push(`${run.weights}: decayed at ${at} (alive fraction ${m.aliveFraction})`);
    }
    const r = withTarget ? run.regrow : null;
    const needed = r ? healedNeeded(r.trials.length, thresholds.minHealed) : 0;
    if (r && r.healed < needed) {
      const missed = r.trials.filter((t) => !t.held).map((t) => unhealed(t, r.max));
      out.push(`${run.weights}: healed after ${r.healed} of ${r.trials.length} erases (${needed} needed): ${missed.join('; ')}`);
    }
    if (!withTarget && !(run.endChange <= thresholds.maxChange)) {
      out.push(`${run.weights}: frame-to-frame change ${run.endChange} > ${thresholds.maxChange} at the end (not settled: noise or motion)`);
    }
  }
  return out;
}

/** Erases that must heal: `minHealed` of `trials`, rounded up (a float error may not demand one more). */
export function healedNeeded(trials: number, minHealed: number): number {
  return Math.min(trials, Math.max(0, Math.ceil(trials * minHealed - 1e-9)));
}

/** Why an erase did not heal, e.g. "the right half erased at 1000 steps did not regrow within 2000 steps". */
function unhealed(t: RegrowTrial, max: number): string {
  const what = `the ${t.side} half erased at ${t.at} steps`;
  if (t.steps === null) return `${what} did not regrow within ${max} steps`;
  return `${what} regrew in ${t.steps} steps, then fell to ${t.psnrEnd} dB by ${max} steps after the erase (${t.psnrBefore} dB before)`;
}

/** `evaluateRun` in a worker thread of its own (eval-worker.ts); progress comes back as events. */
async function evaluateRunInWorker(model: NcaModel, weights: RunReport['weights'], plan: RunPlan): Promise<RunReport> {
  const { tick, ...data } = plan;
  const worker = await startWorker(moduleBeside(import.meta.url, 'eval-worker'), null, `nca eval worker (${weights})`);
  try {
    return (await worker.call('evaluateRun', [model, weights, data], (n) => tick(n as number))) as RunReport;
  } finally {
    await worker.close();
  }
}

/**
 * Runs `model` (and, unless `int8: false`, its int8 re-quantisation) from its seed for
 * the largest of `steps`, measuring at each step count; see LongRunReport. A trainer
 * scoring a checkpoint cheaply:
 *
 *   const { score } = await evaluateLongRun(model, { target, grid, steps: [200, 1000, 3000], regrow: false, int8: false });
 *
 * `score` = the smallest PSNR (dB) at those step counts, or null without a target.
 */
export async function evaluateLongRun(model: NcaModel, options: LongRunOptions = {}): Promise<LongRunReport> {
  const started = performance.now();
  const targetImage = options.target ?? null;
  const grid = options.grid ?? defaultGrid(model, targetImage);
  const marks = markSteps(options.steps ?? DEFAULT_EVAL_STEPS);
  const thresholds = { ...DEFAULT_THRESHOLDS, ...options.thresholds };
  const regrow = targetImage ? regrowSettings(options.regrow, marks[marks.length - 1]) : null;
  const targetAt = targetImage ? (options.targetAt ?? centredAt(targetImage, grid)) : null;
  const target = targetImage ? overWhite(placeTarget(targetImage, grid, targetAt!), grid) : null;
  const variants = weightVariants(model, options.int8 ?? true);

  const erases = regrow ? regrowErases(regrow) : [];
  const perRun = Math.max(marks[marks.length - 1], ...erases.map((e) => e.at)) + 1 + erases.length * (regrow?.max ?? 0);
  const counter = stepCounter(perRun * variants.length, options.onProgress);
  const plan: RunPlan = {
    grid,
    marks,
    regrow,
    target,
    seed: options.seed ?? 0,
    engine: options.engine ?? 'ort',
    chunk: options.chunk ?? evalChunk([...marks, ...erases.map((e) => e.at)]),
    keepFrames: options.keepFrames ?? false,
    tick: counter.tick,
    ...(options.stopBelow !== undefined && target ? { cut: { below: options.stopBelow, flag: new Int32Array(new SharedArrayBuffer(4)) } } : {}),
  };
  const threads = options.threads ?? os.availableParallelism();
  const runs: RunReport[] = [];
  if (variants.length > 1 && threads > 1 && plan.engine === 'ort') {
    const each = { ...plan, threads: Math.max(1, Math.floor(threads / variants.length)) };
    runs.push(...(await Promise.all(variants.map(([weights, m]) => evaluateRunInWorker(m, weights, each)))));
  } else {
    for (const [weights, m] of variants) runs.push(await evaluateRun(m, weights, { ...plan, threads }));
  }

  const psnrs = runs.flatMap((r) => r.marks.map((m) => m.psnr ?? NaN));
  const score = target ? Math.min(...psnrs) : null;
  const failures = failuresOf(runs, thresholds, target !== null);
  return {
    grid,
    seed: plan.seed,
    engine: plan.engine,
    steps: marks,
    target: targetImage ? { ...targetAt!, width: targetImage.width, height: targetImage.height } : null,
    targetFrame: target,
    runs,
    score,
    thresholds,
    pass: failures.length === 0,
    failures,
    stepsRun: counter.stepsRun,
    seconds: round((performance.now() - started) / 1000, 3),
  };
}
