/**
 * Long-run quality of a texture model: run it from its seed (float, and int8 when asked
 * for, with the player's masks, as `evaluateLongRun` does) and measure at given step
 * counts how close its frame is to the exemplar (the texture score's patch and spectral
 * distances, each as a ratio to the exemplar's pixel-shuffled reference), whether it is
 * stationary (the distance from the previous step count's frame, and the colour change
 * over one step) and whether it is alive (the frame's colour standard deviation).
 * `nca eval --texture` prints this report; the trainer scores texture checkpoints with it.
 *
 * The score is minus the worst checked ratio, each divided by its threshold: -1 or more
 * meets the patch and spectral thresholds at every checked step count and the drift
 * thresholds between them (see `TextureThresholds`). A drift threshold is never below the
 * exemplar's own drift floor (`driftFloor`): two grid-sized pieces of the exemplar differ
 * by that much, so a model whose frames differ by less has not drifted.
 */
import { toColours, type Grid, type NcaModel } from '../../formats/index.ts';
import type { RgbaImage } from '../../trainer/image/png.ts';
import { cropPlanes, type RgbPlanes } from '../../trainer/texture/exemplar.ts';
import type { EngineName } from '../render/engine.ts';
import { defaultGrid, evalChunk, markSteps, rmsChange, round, stateRange, stepCounter, walkRun, weightVariants, type RunReport, type StepReport } from './long-run.ts';
import type { RgbImage } from './metrics.ts';
import { textureDistance, textureScore, type TextureDistance, type TextureScore, type TextureScoreOptions } from './texture-score.ts';

export const DEFAULT_TEXTURE_STEPS = [1000, 10_000, 100_000] as const;
/** The grid when the model does not say which one it was trained on (metadata.extra.grid). */
export const DEFAULT_TEXTURE_GRID: Grid = { width: 128, height: 128 };

export interface TextureThresholds {
  /** Patch distance at most this times the shuffled exemplar's (default 0.5). */
  maxPatchRatio: number;
  /** Spectral distance at most this times the shuffled exemplar's (default 0.25). */
  maxSpectralRatio: number;
  /**
   * The two ratios above are checked at the step counts up to this one (default 10000; the
   * first step count always). Later step counts are checked for drift and death only.
   */
  qualityUntil: number;
  /** Died: the frame's colour standard deviation is below this times the exemplar's (default 0.1). */
  minStdRatio: number;
}

/** The issue's targets: patch <= 0.5x and spectral <= 0.25x the shuffled exemplar's at 10^3 and 10^4 steps, no drift after. */
export const DEFAULT_TEXTURE_THRESHOLDS: TextureThresholds = { maxPatchRatio: 0.5, maxSpectralRatio: 0.25, qualityUntil: 10_000, minStdRatio: 0.1 };

export interface TextureRunOptions {
  /** The exemplar at training scale (1 pixel = 1 cell), straight RGBA8; transparent parts count over black. */
  exemplar: RgbaImage;
  /** Grid in cells; default `textureGrid(model)`. */
  grid?: Grid;
  /** Step counts at which to measure (default 1000, 10000, 100000). */
  steps?: readonly number[];
  /** Also run the int8 re-quantisation of the model (default true). */
  int8?: boolean;
  /** Noise and update-mask seed, as the player's (default 0). */
  seed?: number;
  engine?: EngineName;
  /** Steps per onnxruntime call (default: `evalChunk` of the step counts). */
  chunk?: number;
  thresholds?: Partial<TextureThresholds>;
  /** Options of the texture score (scales, patch, projections, spectrumSize). */
  score?: Omit<TextureScoreOptions, 'frameBoundary'>;
  /** Keep the frame at each step count, and the exemplar tiled to the grid, for a strip image. */
  keepFrames?: boolean;
  /** Called as steps are run: steps done so far and the planned total. */
  onProgress?: (done: number, total: number) => void;
}

/** Two distances and their ratios to the shuffled exemplar's (the reference of `textureScore`). */
export interface DistanceRatios extends TextureDistance {
  patchRatio: number;
  spectralRatio: number;
}

export interface TextureMark extends DistanceRatios, Pick<StepReport, 'min' | 'max' | 'nonFinite' | 'exploded'> {
  steps: number;
  /**
   * The frame against the previous step count's frame, measured as against the exemplar but with only
   * the patches inside the grid on both sides (equal frames: 0), ratios to the shuffled exemplar's; null at the first.
   */
  drift: DistanceRatios | null;
  /** Colour standard deviation of the frame (RMS over R, G, B of each channel's deviation over the cells), 0..1. */
  std: number;
  /** RMS change of the colours (0..1) over the next step: a living texture moves, a settled one does not. */
  change: number;
  /** The colour std is below `minStdRatio` times the exemplar's: a flat (dead) texture. */
  died: boolean;
}

export interface TextureRun {
  weights: RunReport['weights'];
  marks: TextureMark[];
  /** With keepFrames: the frame at each step count (colour over black). */
  frames?: RgbImage[];
}

export interface TextureRunReport {
  grid: Grid;
  seed: number;
  engine: EngineName;
  steps: number[];
  /** The exemplar as scored (training scale) and its colour standard deviation. */
  exemplar: { width: number; height: number; std: number };
  /** The exemplar's own reference distances (`textureScore`): a pixel-shuffled half, and one half, against the other half. */
  reference: TextureScore['reference'];
  /**
   * Two disjoint grid-sized crops of the exemplar (from its corners) against each other, measured as drift is,
   * averaged over the pairs: how much two frames of a perfect, stationary model differ. The drift thresholds are
   * at least these ratios. Null when the exemplar has no two disjoint grid-sized crops.
   */
  driftFloor: DistanceRatios | null;
  runs: TextureRun[];
  /** Minus the worst checked ratio divided by its threshold (>= -1 passes the ratio thresholds); -Infinity when a run exploded. */
  score: number;
  thresholds: TextureThresholds;
  pass: boolean;
  /** One line per threshold missed. */
  failures: string[];
  /** With keepFrames: the exemplar repeated (or cropped) to the grid's size, from its top-left corner. */
  exemplarFrame?: RgbImage;
  stepsRun: number;
  seconds: number;
}

/** The grid `nca eval --texture` uses by default: metadata.extra.grid (the training grid), else 128x128. */
export function textureGrid(model: NcaModel): Grid {
  // defaultGrid falls back to the size of its second argument when the metadata has no grid.
  return defaultGrid(model, DEFAULT_TEXTURE_GRID);
}

/** The exemplar's scale in training (`metadata.extra.texture.scale`, written by `nca train --texture`), or null. */
export function trainedTextureScale(model: NcaModel): number | null {
  const t = model.metadata.extra?.texture as { scale?: unknown } | undefined;
  const s = t && typeof t === 'object' ? t.scale : undefined;
  return typeof s === 'number' && Number.isFinite(s) && s > 0 ? s : null;
}

/** Colours of a state as planes [3, H, W] over black (as the texture loss sees them); non-finite colours read 0. */
export function colourPlanes(model: NcaModel, state: Float32Array, grid: Grid): RgbPlanes {
  const rgba = toColours(model.topology, state, grid);
  const n = grid.width * grid.height;
  const data = new Float32Array(3 * n);
  for (let i = 0; i < n; i++) {
    const a = rgba[i * 4 + 3];
    for (let c = 0; c < 3; c++) {
      const v = rgba[i * 4 + c] * a;
      data[c * n + i] = Number.isFinite(v) ? v : 0;
    }
  }
  return { width: grid.width, height: grid.height, data };
}

/** Planes [3, H, W] as an interleaved RGB image (for strips). */
function interleaved(p: RgbPlanes): RgbImage {
  const n = p.width * p.height;
  const data = new Float32Array(3 * n);
  for (let i = 0; i < n; i++) for (let c = 0; c < 3; c++) data[i * 3 + c] = p.data[c * n + i];
  return { width: p.width, height: p.height, data };
}

/** The exemplar as planes over black, in 0..1. */
function exemplarPlanes(image: RgbaImage): RgbPlanes {
  const n = image.width * image.height;
  const data = new Float32Array(3 * n);
  for (let i = 0; i < n; i++) {
    const a = image.data[i * 4 + 3] / 255;
    for (let c = 0; c < 3; c++) data[c * n + i] = (image.data[i * 4 + c] / 255) * a;
  }
  return { width: image.width, height: image.height, data };
}

/** The exemplar repeated from its top-left corner over a grid of another size. */
function tiledTo(p: RgbPlanes, grid: Grid): RgbImage {
  const data = new Float32Array(grid.width * grid.height * 3);
  const n = p.width * p.height;
  for (let y = 0; y < grid.height; y++) {
    for (let x = 0; x < grid.width; x++) {
      const src = (y % p.height) * p.width + (x % p.width);
      for (let c = 0; c < 3; c++) data[(y * grid.width + x) * 3 + c] = p.data[c * n + src];
    }
  }
  return { width: grid.width, height: grid.height, data };
}

/** sqrt(mean over R, G, B of each channel's variance over the pixels). */
export function colourStd(p: RgbPlanes): number {
  const n = p.width * p.height;
  let sum = 0;
  for (let c = 0; c < 3; c++) {
    let mean = 0;
    for (let i = 0; i < n; i++) mean += p.data[c * n + i];
    mean /= n;
    let v = 0;
    for (let i = 0; i < n; i++) v += (p.data[c * n + i] - mean) ** 2;
    sum += v / n;
  }
  return Math.sqrt(sum / 3);
}

/** The spectrum tile that `textureScore` uses for this frame size and exemplar (a power of 2), so that drift is measured on the same frequencies. */
function spectrumTileOf(grid: Grid, exemplar: RgbPlanes, max: number): number {
  const wide = exemplar.width >= exemplar.height;
  const half = wide ? Math.min(exemplar.width >> 1, exemplar.height) : Math.min(exemplar.width, exemplar.height >> 1);
  const side = Math.min(max, grid.width, grid.height, exemplar.width, exemplar.height, half);
  return 1 << Math.floor(Math.log2(Math.max(side, 1)));
}

function ratios(d: TextureDistance, ref: TextureScore['reference']): DistanceRatios {
  return { patch: round(d.patch, 5), spectral: round(d.spectral, 5), patchRatio: round(d.patch / ref.shuffledPatch, 4), spectralRatio: round(d.spectral / ref.shuffledSpectral, 4) };
}

/** See `TextureRunReport.driftFloor`: the grid-sized crops at the exemplar's four corners, every disjoint pair. */
export function exemplarDriftFloor(exemplar: RgbPlanes, grid: Grid, options: TextureScoreOptions, reference: TextureScore['reference']): DistanceRatios | null {
  const { width: w, height: h } = grid;
  if (exemplar.width < w || exemplar.height < h) return null;
  const corners = [[0, 0], [exemplar.width - w, 0], [0, exemplar.height - h], [exemplar.width - w, exemplar.height - h]];
  const sum = { patch: 0, spectral: 0 };
  let pairs = 0;
  for (let i = 0; i < corners.length; i++) {
    for (let j = i + 1; j < corners.length; j++) {
      const [a, b] = [corners[i], corners[j]];
      if (Math.abs(a[0] - b[0]) < w && Math.abs(a[1] - b[1]) < h) continue; // overlapping crops share pixels
      const d = textureDistance(cropPlanes(exemplar, a[0], a[1], w, h), cropPlanes(exemplar, b[0], b[1], w, h), options);
      sum.patch += d.patch;
      sum.spectral += d.spectral;
      pairs++;
    }
  }
  return pairs ? ratios({ patch: sum.patch / pairs, spectral: sum.spectral / pairs }, reference) : null;
}

/** The step counts at which the patch and spectral ratios are checked: those up to `qualityUntil`, and the first one. */
export function qualityChecked(marks: readonly number[], qualityUntil: number): Set<number> {
  return new Set(marks.filter((m, i) => i === 0 || m <= qualityUntil));
}

/** The drift thresholds: the quality thresholds, raised to the exemplar's drift floor where it is higher. */
export function driftThresholds(t: TextureThresholds, floor: DistanceRatios | null): { patch: number; spectral: number } {
  return { patch: Math.max(t.maxPatchRatio, floor?.patchRatio ?? 0), spectral: Math.max(t.maxSpectralRatio, floor?.spectralRatio ?? 0) };
}

/** Minus the worst checked ratio over its threshold (quality at the checked step counts, drift everywhere); -Infinity if any run exploded. */
export function textureRunScore(runs: TextureRun[], thresholds: TextureThresholds, driftFloor: DistanceRatios | null = null): number {
  const drift = driftThresholds(thresholds, driftFloor);
  let worst = -Infinity;
  for (const run of runs) {
    const checked = qualityChecked(run.marks.map((m) => m.steps), thresholds.qualityUntil);
    for (const m of run.marks) {
      if (m.exploded) return -Infinity;
      if (checked.has(m.steps)) worst = Math.max(worst, m.patchRatio / thresholds.maxPatchRatio, m.spectralRatio / thresholds.maxSpectralRatio);
      if (m.drift) worst = Math.max(worst, m.drift.patchRatio / drift.patch, m.drift.spectralRatio / drift.spectral);
    }
  }
  return Number.isNaN(worst) ? -Infinity : -worst;
}

const x = (r: number) => `${r}x`;

function failuresOf(runs: TextureRun[], t: TextureThresholds, exemplarStd: number, driftFloor: DistanceRatios | null): string[] {
  const drift = driftThresholds(t, driftFloor);
  const out: string[] = [];
  for (const run of runs) {
    const w = run.weights;
    const checked = qualityChecked(run.marks.map((m) => m.steps), t.qualityUntil);
    let previous: number | null = null;
    for (const m of run.marks) {
      const at = `${m.steps} steps`;
      if (m.exploded) out.push(`${w}: exploded at ${at} (${m.nonFinite > 0 ? `${(m.nonFinite * 100).toFixed(1)}% of the state not finite` : `state range ${m.min}..${m.max}`})`);
      else if (m.died) out.push(`${w}: died at ${at} (colour std ${m.std} < ${t.minStdRatio} x the exemplar's ${exemplarStd}: flat)`);
      if (checked.has(m.steps)) {
        if (!(m.patchRatio <= t.maxPatchRatio)) out.push(`${w}: patch distance ${x(m.patchRatio)} the shuffled exemplar's at ${at} > ${x(t.maxPatchRatio)}`);
        if (!(m.spectralRatio <= t.maxSpectralRatio)) out.push(`${w}: spectral distance ${x(m.spectralRatio)} the shuffled exemplar's at ${at} > ${x(t.maxSpectralRatio)}`);
      }
      if (m.drift && !(m.drift.patchRatio <= drift.patch && m.drift.spectralRatio <= drift.spectral)) {
        out.push(
          `${w}: drifted from ${previous} to ${at}: patch ${x(m.drift.patchRatio)}, spectral ${x(m.drift.spectralRatio)} the shuffled exemplar's ` +
            `(at most ${x(drift.patch)}, ${x(drift.spectral)})`,
        );
      }
      previous = m.steps;
    }
  }
  return out;
}

/**
 * Why a grid or an exemplar is too small to be scored, or null: every image compared (the
 * frame, and each half of the exemplar for the references) must keep `patch` pixels per side
 * at the coarsest of `scales` pyramid levels, and 8 for the spectrum.
 */
export function textureSizeProblem(grid: Grid, exemplar: { width: number; height: number }, options: TextureScoreOptions = {}): { what: 'grid' | 'exemplar'; message: string } | null {
  const scales = options.scales ?? 4;
  const k = options.patch ?? 3;
  const need = Math.max(8, k << (scales - 1));
  const fits = (side: number) => side >= 8 && side >> (scales - 1) >= k;
  if (!fits(Math.min(grid.width, grid.height))) return { what: 'grid', message: `a ${grid.width}x${grid.height} grid is too small to score (at least ${need} cells per side)` };
  const wide = exemplar.width >= exemplar.height;
  const half = wide ? Math.min(exemplar.width >> 1, exemplar.height) : Math.min(exemplar.width, exemplar.height >> 1);
  if (!fits(half)) {
    return { what: 'exemplar', message: `the exemplar (${exemplar.width}x${exemplar.height} at this scale) is too small to score: each half needs at least ${need} px per side (${wide ? 2 * need : need}x${wide ? need : 2 * need})` };
  }
  return null;
}

/**
 * Runs `model` (and, unless `int8: false`, its int8 re-quantisation) from its seed for the
 * largest of `steps`, scoring the frame at each step count against the exemplar; see
 * TextureRunReport. The trainer's cheap call:
 *
 *   const { score } = await evaluateTexture(model, { exemplar, grid, steps: [500, 2000], int8: false });
 */
export async function evaluateTexture(model: NcaModel, options: TextureRunOptions): Promise<TextureRunReport> {
  const started = performance.now();
  const grid = options.grid ?? textureGrid(model);
  const marks = markSteps(options.steps ?? DEFAULT_TEXTURE_STEPS);
  const thresholds = { ...DEFAULT_TEXTURE_THRESHOLDS, ...options.thresholds };
  const scoreOptions = options.score ?? {};
  const exemplar = exemplarPlanes(options.exemplar);
  const problem = textureSizeProblem(grid, exemplar, scoreOptions);
  if (problem) throw new Error(problem.message);
  const exemplarStd = round(colourStd(exemplar), 5);
  // Drift: both frames' patches inside the grid ('valid'), so that two equal frames are at distance 0
  // (a frame against the exemplar counts the patches across its wrapped edges too).
  const driftOptions = { ...scoreOptions, frameBoundary: 'valid' as const, spectrumSize: spectrumTileOf(grid, exemplar, scoreOptions.spectrumSize ?? 32) };
  const variants = weightVariants(model, options.int8 ?? true);
  // each run: to the last step count (the step after each earlier one, for its change, is on the way), one step after it, and walkRun's last
  const counter = stepCounter((marks[marks.length - 1] + 2) * variants.length, options.onProgress);
  const seed = options.seed ?? 0;
  const engine = options.engine ?? 'ort';
  const settings = { grid, seed, engine, chunk: options.chunk ?? evalChunk(marks), tick: counter.tick };
  let reference: TextureScore['reference'] | null = null;

  const runs: TextureRun[] = [];
  for (const [weights, m] of variants) {
    const run: TextureRun = { weights, marks: [], ...(options.keepFrames ? { frames: [] } : {}) };
    let previous: RgbPlanes | null = null;
    await walkRun(m, marks, settings, async (at, state, eng) => {
      const frame = colourPlanes(m, state, grid);
      let distance: TextureDistance;
      if (reference === null) {
        // The first frame scored also gives the exemplar's references (they depend on the exemplar only).
        const s = textureScore(frame, exemplar, scoreOptions);
        reference = s.reference;
        distance = s;
      } else {
        distance = textureDistance(frame, exemplar, scoreOptions);
      }
      const drift = previous ? ratios(textureDistance(frame, previous, driftOptions), reference) : null;
      await eng.run(1);
      counter.tick(1);
      const next = colourPlanes(m, eng.state(), grid);
      const std = round(colourStd(frame), 5);
      run.marks.push({
        steps: at,
        ...ratios(distance, reference),
        drift,
        std,
        change: round(rmsChange(frame, next), 5),
        ...stateRange(state),
        died: std < thresholds.minStdRatio * exemplarStd,
      });
      run.frames?.push(interleaved(frame));
      previous = frame;
    });
    runs.push(run);
  }
  const driftFloor = exemplarDriftFloor(exemplar, grid, driftOptions, reference!);
  const failures = failuresOf(runs, thresholds, exemplarStd, driftFloor);
  return {
    grid,
    seed,
    engine,
    steps: marks,
    exemplar: { width: exemplar.width, height: exemplar.height, std: exemplarStd },
    reference: reference!,
    driftFloor,
    runs,
    score: textureRunScore(runs, thresholds, driftFloor),
    thresholds,
    pass: failures.length === 0,
    failures,
    ...(options.keepFrames ? { exemplarFrame: tiledTo(exemplar, grid) } : {}),
    stepsRun: counter.stepsRun,
    seconds: round((performance.now() - started) / 1000, 3),
  };
}
