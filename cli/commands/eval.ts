/** `nca eval MODEL [--target IMAGE]`: a long-run quality report (float and int8), with thresholds and an exit code. */
import { writeFile } from 'node:fs/promises';
import {
  DEFAULT_EVAL_STEPS,
  DEFAULT_REGROW_AT,
  DEFAULT_REGROW_TRIALS,
  DEFAULT_THRESHOLDS,
  defaultGrid,
  ERASED_SIDES,
  evaluateLongRun,
  healedNeeded,
  trainedBox,
  type LongRunReport,
  type RegrowReport,
  type RegrowTrial,
  type RunReport,
} from '../../exporter/eval/long-run.ts';
import { toRgba8, type RgbImage } from '../../exporter/eval/metrics.ts';
import {
  DEFAULT_TEXTURE_STEPS,
  DEFAULT_TEXTURE_THRESHOLDS,
  driftThresholds,
  evaluateTexture,
  textureGrid,
  textureSizeProblem,
  trainedTextureScale,
  type TextureRunReport,
} from '../../exporter/eval/texture-run.ts';
import { ImageError, loadImage } from '../../trainer/image/load.ts';
import { TEXTURE_SIDE } from './train-texture.ts';
import { ENGINES } from '../../exporter/render/engine.ts';
import { encodePng, type RgbaImage } from '../../trainer/image/png.ts';
import { resizeRgba } from '../../trainer/pixel/pixel-loss.ts';
import { readInput } from '../args.ts';
import { parseFlagsWithConfig } from '../config.ts';
import { modelArg, readModel } from '../model.ts';
import { checkOutputFile, writing } from '../outputs.ts';
import { Progress } from '../progress.ts';
import { choiceValue, intValue, numberValue, sizeValue, stringValue } from '../values.ts';
import { CliError, EXIT } from '../exit-codes.ts';
import type { Command } from '../command.ts';
import type { NcaModel } from '../../formats/index.ts';

const help = `Usage: nca eval MODEL [--target IMAGE.png] [options]
       nca eval MODEL --texture IMAGE [options]

Runs a model (.nca, training checkpoint or run folder) for a long time from its seed,
as the player does (same seed, same update masks), twice: with its weights as given
and re-quantised to int8. At each step count it measures, against the target (both
composited over white): PSNR and SSIM; and always: the alive fraction, the state range,
and whether the state exploded, died or decayed. With a target it also tests regrowth:
it erases half of the grid at --regrow-at steps, and again at 2, 3 and 4 times that
(--regrow-trials; the ${ERASED_SIDES.join(', ')} half in turn, each in a copy of the run),
and counts the steps until the PSNR is back within 1 dB (in place or up to a cell over,
--regrow-shift). An erase has healed when it is still so --regrow-max steps after it;
each run must heal after --min-healed of its erases. Without a target it checks
stability only (no explosion, death or decay, and a small frame-to-frame change at the end).

With --texture IMAGE it judges a texture model instead: at each step count (default
${DEFAULT_TEXTURE_STEPS.join(',')}) the patch and spectral distances of the frame to the
exemplar, as ratios to the exemplar's pixel-shuffled copy, the drift from the previous
step count, the colour change over one step and the colour standard deviation.

Exit code 0 when every threshold is met, 3 when the model is below them (see
docs/cli.md); --no-thresholds only reports.

Options:
  --target FILE           the image the model should hold (PNG), centred on the grid;
                          a trainer's model resizes and places it as in training
                          (metadata.extra.box)
  --no-box                use the target at its own size, centred, whatever the model says
  --size WxH              grid in cells (default: the grid in the model's metadata,
                          else the target's size, else 64x64)
  --steps A,B,...         step counts to measure at (default ${DEFAULT_EVAL_STEPS.join(',')})
  --min-psnr DB           every PSNR, float and int8, must reach this (default ${DEFAULT_THRESHOLDS.minPsnr})
  --max-change X          without a target: largest RMS colour change over one step at
                          the end, colours in 0..1 (default ${DEFAULT_THRESHOLDS.maxChange})
  --regrow-at N           step count of the first erase (default 1000, or the largest
                          step count if smaller); erase k is at k times it
  --regrow-trials N       erases per run (default ${DEFAULT_REGROW_TRIALS}), each side in turn: a model
                          may heal one half and not another, and one erase is one
                          draw of the update masks
  --min-healed F          each run must heal after at least this fraction of its erases,
                          rounded up (default ${DEFAULT_THRESHOLDS.minHealed}: 3 of 4)
  --regrow-max N          steps allowed to regrow; the regrown pattern must still be
                          there at the end of them (default 2000)
  --regrow-every N        steps between regrowth checks (default 10)
  --regrow-shift N        the regrown pattern may sit up to N cells from where it was,
                          in x and y (default 1: an NCA has no fixed coordinates and may
                          regrow whole one cell over); 0 = in place only
  --no-regrow             skip the regrowth test
  --no-int8               skip the int8 run
  --no-thresholds         report only: exit 0 whatever the quality
  --seed N                noise and update-mask seed (default 0)
  --engine ort|reference  ort is fast; reference is the plain-TS core (default ort)
  --threads N             CPU threads (default: all cores); with 2 or more the float
                          and int8 runs go side by side
  --strip FILE.png        a PNG of the frames: target, then each step count, then
                          for each erase its erased frame and its last; a row per
                          run (float, int8)
  --strip-scale N         pixels per cell in the strip (default 2)
  --config FILE           JSON file with any of these flags, e.g. {"steps": "100,1000"}

Textures (docs/textures.md):
  --texture FILE          the exemplar (PNG, JPEG, WebP, GIF or SVG), resized as in
                          training (metadata.extra.texture.scale); the grid defaults
                          to the training grid, else 128x128
  --texture-scale S       resize the exemplar by S instead (default: as trained, else
                          its short side to ${TEXTURE_SIDE} cells, never enlarged)
  --max-patch-ratio R     patch distance at most R x the shuffled exemplar's (default ${DEFAULT_TEXTURE_THRESHOLDS.maxPatchRatio})
  --max-spectral-ratio R  spectral distance at most R x the shuffled exemplar's (default ${DEFAULT_TEXTURE_THRESHOLDS.maxSpectralRatio})
  --quality-until N       check those two up to N steps (default ${DEFAULT_TEXTURE_THRESHOLDS.qualityUntil}; the first step
                          count always); every step count is checked for drift (the same
                          ratios against the previous step count's frame, at most what two
                          grid-sized crops of the exemplar differ by when that is more)
                          and death
  --min-std-ratio R       dead below R x the exemplar's colour std (default ${DEFAULT_TEXTURE_THRESHOLDS.minStdRatio})
  --json                  print the report as JSON
  --quiet                 no progress bar

Example:
  nca eval runs/heart/model.nca --target heart.png --steps 100,1000,10000 --strip heart-eval.png
  nca eval runs/bark --texture bark.jpg --strip bark-eval.png`;

const options = {
  target: { type: 'string' },
  size: { type: 'string' },
  steps: { type: 'string' },
  'min-psnr': { type: 'string' },
  'max-change': { type: 'string' },
  'regrow-at': { type: 'string' },
  'regrow-trials': { type: 'string' },
  'min-healed': { type: 'string' },
  'regrow-max': { type: 'string' },
  'regrow-every': { type: 'string' },
  'regrow-shift': { type: 'string' },
  'no-regrow': { type: 'boolean' },
  'no-int8': { type: 'boolean' },
  'no-thresholds': { type: 'boolean' },
  'no-box': { type: 'boolean' },
  seed: { type: 'string' },
  engine: { type: 'string' },
  threads: { type: 'string' },
  strip: { type: 'string' },
  'strip-scale': { type: 'string' },
  json: { type: 'boolean' },
  quiet: { type: 'boolean' },
  texture: { type: 'string' },
  'texture-scale': { type: 'string' },
  'max-patch-ratio': { type: 'string' },
  'max-spectral-ratio': { type: 'string' },
  'quality-until': { type: 'string' },
  'min-std-ratio': { type: 'string' },
} as const;

/** Flags of the target evaluation that mean nothing for a texture, and the texture's own. */
const TARGET_FLAGS = ['target', 'no-box', 'min-psnr', 'max-change', 'min-healed', 'regrow-at', 'regrow-trials', 'regrow-max', 'regrow-every', 'regrow-shift', 'no-regrow'] as const;
const TEXTURE_FLAGS = ['texture-scale', 'max-patch-ratio', 'max-spectral-ratio', 'quality-until', 'min-std-ratio'] as const;

const MAX_STEPS = 10_000_000;

function stepsValue(values: Record<string, unknown>, fallback: readonly number[] = DEFAULT_EVAL_STEPS): number[] {
  const raw = values.steps;
  if (raw === undefined) return [...fallback];
  const parts = String(raw).split(',').map((s) => s.trim());
  const steps = parts.map(Number);
  if (parts.length === 0 || !parts.every((p) => /^\d+$/.test(p)) || steps.some((s) => s < 1 || s > MAX_STEPS)) {
    throw new CliError(`--steps must be step counts from 1 to ${MAX_STEPS} separated by commas, e.g. 100,1000,10000, not "${raw}" (see --help)`, EXIT.usage);
  }
  return [...new Set(steps)].sort((a, b) => a - b);
}


const STRIP_GAP = 2;
const GAP_GREY = 128;

/** Tiles of one size in rows, `scale` pixels per cell, separated by grey gaps. */
export function stripImage(rows: RgbImage[][], scale: number): RgbaImage {
  const { width: w, height: h } = rows[0][0];
  const columns = Math.max(...rows.map((r) => r.length));
  const width = columns * w * scale + (columns - 1) * STRIP_GAP;
  const height = rows.length * h * scale + (rows.length - 1) * STRIP_GAP;
  const data = new Uint8Array(width * height * 4).fill(GAP_GREY);
  rows.forEach((row, r) =>
    row.forEach((tile, c) => {
      const px = toRgba8(tile);
      const left = c * (w * scale + STRIP_GAP);
      const top = r * (h * scale + STRIP_GAP);
      for (let y = 0; y < h * scale; y++) {
        for (let x = 0; x < w * scale; x++) {
          const src = (Math.floor(y / scale) * w + Math.floor(x / scale)) * 4;
          data.set(px.subarray(src, src + 4), ((top + y) * width + left + x) * 4);
        }
      }
    }),
  );
  for (let i = 3; i < data.length; i += 4) data[i] = 255;
  return { width, height, data };
}

const pct = (v: number) => `${(v * 100).toFixed(1)}%`;

function flagsOf(m: RunReport['marks'][number]): string {
  return [m.exploded && 'exploded', m.died && 'died', m.decayed && 'decayed'].filter(Boolean).join(', ');
}

/** One erase, e.g. "right half at 1000 steps (25.10 dB): 250 steps, held (25.30 dB at 2000)". */
function trialLine(t: RegrowTrial, max: number): string {
  const moved = t.moved[0] || t.moved[1] ? `, moved ${t.moved[0]},${t.moved[1]}` : '';
  const what = `${t.side} half at ${t.at} steps (${t.psnrBefore.toFixed(2)} dB)`;
  if (t.steps === null) return `${what}: not within ${max} steps (${t.psnrEnd} dB${moved})`;
  return `${what}: ${t.steps} steps, ${t.held ? 'held' : 'not held'} (${t.psnrEnd} dB at ${max}${moved})`;
}

/** The regrowth test: what healing means, then per run the count healed and a line per erase. */
function regrowLines(report: LongRunReport, first: RegrowReport, needed: number): string[] {
  const where = first.shift > 0 ? `, up to ${first.shift} cell${first.shift > 1 ? 's' : ''} over` : ', in place';
  const lines = [`regrowth (half the grid erased; healed = back within ${first.withinDb} dB of the PSNR before the erase${where}, and still so ${first.max} steps after it; ${needed} of ${first.trials.length} needed):`];
  for (const run of report.runs) {
    if (!run.regrow) continue;
    lines.push(`  ${run.weights}: healed after ${run.regrow.healed} of ${run.regrow.trials.length} erases`);
    for (const t of run.regrow.trials) lines.push(`    ${trialLine(t, run.regrow.max)}`);
  }
  return lines;
}

function describe(report: LongRunReport, path: string, target: { path: string; width: number; height: number } | null, bestScore: number | undefined, applied: boolean): string {
  const { grid } = report;
  const t = report.target;
  const resized = target && t && (t.width !== target.width || t.height !== target.height) ? `, resized to ${t.width}x${t.height} as trained` : '';
  const what = target && t ? `target ${target.path} (${target.width}x${target.height}${resized}, at ${t.x},${t.y})` : 'no target (stability only)';
  const lines = [`${path}: ${grid.width}x${grid.height} grid, seed ${report.seed}, ${report.engine} engine, ${what}`];
  if (bestScore !== undefined) lines.push(`best score during training: ${bestScore.toFixed(2)} dB`);
  lines.push('');
  const header = ['weights', 'steps', 'PSNR dB', 'SSIM', 'alive', 'state range', 'flags'];
  const rows = report.runs.flatMap((run) =>
    run.marks.map((m) => [
      run.weights,
      String(m.steps),
      m.psnr === null ? '-' : m.psnr.toFixed(2),
      m.ssim === null ? '-' : m.ssim.toFixed(3),
      pct(m.aliveFraction),
      m.min === null || m.max === null ? 'not finite' : `${m.min.toFixed(3)}..${m.max.toFixed(3)}${m.nonFinite > 0 ? ` (${pct(m.nonFinite)} not finite)` : ''}`,
      flagsOf(m),
    ]),
  );
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const right = new Set([1, 2, 3, 4]);
  for (const row of [header, ...rows]) lines.push(row.map((c, i) => (right.has(i) ? c.padStart(widths[i]) : c.padEnd(widths[i]))).join('  ').trimEnd());
  lines.push('');
  const th = report.thresholds;
  const regrow = report.runs.find((run) => run.regrow)?.regrow;
  const needed = regrow ? healedNeeded(regrow.trials.length, th.minHealed) : 0;
  if (regrow) lines.push(...regrowLines(report, regrow, needed));
  lines.push(`change over one step at the end (RMS, 0..1): ${report.runs.map((r) => `${r.weights} ${r.endChange}`).join(', ')}`);
  lines.push(`ran ${report.stepsRun} steps in ${report.seconds.toFixed(1)} s (${Math.round(report.stepsRun / Math.max(report.seconds, 1e-3))} steps/s, ${report.engine} engine)`);
  if (report.score !== null) lines.push(`score: ${report.score.toFixed(2)} dB (the lowest PSNR above)`);
  const checks = report.target ? `PSNR >= ${th.minPsnr} dB at every step count${regrow ? `, healed after ${needed} of ${regrow.trials.length} erases` : ''}` : `no explosion, death or decay; change <= ${th.maxChange}`;
  if (report.pass) lines.push(`PASS (${checks})`);
  else lines.push(`${applied ? 'FAIL' : 'below thresholds (not applied: --no-thresholds)'} (${checks}):`, ...report.failures.map((f) => `  ${f}`));
  return lines.join('\n');
}

/** The progress bar of a long evaluation, created at the first report (when the total is known). */
function progressBar(values: Record<string, unknown>) {
  let progress: Progress | undefined;
  let ticked = 0;
  return {
    onProgress: (done: number, total: number) => {
      progress ??= new Progress({ label: 'evaluating', total, unit: 'steps', enabled: !values.quiet });
      progress.tick(done - ticked);
      ticked = done;
    },
    finish: () => progress?.finish(),
  };
}

interface StripInfo {
  path: string;
  width: number;
  height: number;
  bytes: number;
}

async function writeStrip(path: string, rows: RgbImage[][], scale: number): Promise<StripInfo> {
  const image = stripImage(rows, scale);
  const bytes = encodePng(image);
  await writing(path, () => writeFile(path, bytes));
  return { path, width: image.width, height: image.height, bytes: bytes.length };
}

/** The trainer's best score (metadata.extra.bestScore), if any. */
function bestScoreOf(model: NcaModel): number | undefined {
  const extra = model.metadata.extra;
  return typeof extra?.bestScore === 'number' && Number.isFinite(extra.bestScore) ? extra.bestScore : undefined;
}

/** A target or an exemplar: PNG, JPEG, WebP, GIF or SVG; a bad file is one line and exit 65. */
async function readImage(path: string): Promise<RgbaImage> {
  try {
    return await loadImage(await readInput(path), path);
  } catch (error) {
    if (error instanceof ImageError) throw new CliError(error.message, EXIT.badInput);
    throw error;
  }
}

const ratio = (r: number) => `${r.toFixed(2)}x`;

function describeTexture(report: TextureRunReport, path: string, texture: string, bestScore: number | undefined, applied: boolean): string {
  const { grid, reference: ref, exemplar: ex, thresholds: th } = report;
  const lines = [`${path}: ${grid.width}x${grid.height} grid, seed ${report.seed}, ${report.engine} engine, ${texture}`];
  lines.push(
    `exemplar references (one half against the other): patch ${ref.cropPatch.toFixed(4)} (crop), ${ref.shuffledPatch.toFixed(4)} (shuffled); ` +
      `spectral ${ref.cropSpectral.toFixed(3)} (crop), ${ref.shuffledSpectral.toFixed(3)} (shuffled); crop/shuffled ${ratio(ref.cropPatch / ref.shuffledPatch)} patch, ${ratio(ref.cropSpectral / ref.shuffledSpectral)} spectral`,
  );
  if (bestScore !== undefined) lines.push(`best score during training: ${bestScore.toFixed(3)}`);
  lines.push('');
  const header = ['weights', 'steps', 'patch', 'x shuf', 'spectral', 'x shuf', 'drift p', 'drift s', 'std', 'change', 'state range', 'flags'];
  const rows = report.runs.flatMap((run) =>
    run.marks.map((m) => [
      run.weights,
      String(m.steps),
      m.patch.toFixed(4),
      ratio(m.patchRatio),
      m.spectral.toFixed(3),
      ratio(m.spectralRatio),
      m.drift ? ratio(m.drift.patchRatio) : '-',
      m.drift ? ratio(m.drift.spectralRatio) : '-',
      m.std.toFixed(3),
      m.change.toFixed(4),
      m.min === null || m.max === null ? 'not finite' : `${m.min.toFixed(3)}..${m.max.toFixed(3)}${m.nonFinite > 0 ? ` (${pct(m.nonFinite)} not finite)` : ''}`,
      [m.exploded && 'exploded', m.died && 'died'].filter(Boolean).join(', '),
    ]),
  );
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  for (const row of [header, ...rows]) lines.push(row.map((c, i) => (i >= 1 && i <= 9 ? c.padStart(widths[i]) : c.padEnd(widths[i]))).join('  ').trimEnd());
  lines.push('');
  lines.push(`exemplar colour std ${ex.std.toFixed(3)}; drift = the frame against the previous step count's frame, x the shuffled exemplar's distances`);
  const floor = report.driftFloor;
  if (floor) lines.push(`drift floor (two ${grid.width}x${grid.height} crops of the exemplar against each other): patch ${ratio(floor.patchRatio)}, spectral ${ratio(floor.spectralRatio)}`);
  const drift = driftThresholds(th, floor);
  lines.push(`ran ${report.stepsRun} steps in ${report.seconds.toFixed(1)} s (${Math.round(report.stepsRun / Math.max(report.seconds, 1e-3))} steps/s, ${report.engine} engine)`);
  lines.push(`score: ${report.score.toFixed(3)} (minus the worst checked ratio over its threshold; -1 or more meets them)`);
  const checks =
    `patch <= ${th.maxPatchRatio}x and spectral <= ${th.maxSpectralRatio}x the shuffled exemplar's up to ${th.qualityUntil} steps, ` +
    `drift <= ${drift.patch}x patch and ${drift.spectral}x spectral, no death or explosion`;
  if (report.pass) lines.push(`PASS (${checks})`);
  else lines.push(`${applied ? 'FAIL' : 'below thresholds (not applied: --no-thresholds)'} (${checks}):`, ...report.failures.map((f) => `  ${f}`));
  return lines.join('\n');
}

/** `--json`: what the command was given (`head`), then the report without its frames, whether the thresholds applied, and the strip. */
function printJsonReport(head: Record<string, unknown>, report: { runs: { frames?: unknown; regrowFrames?: unknown }[] }, applied: boolean, strip: unknown): void {
  const { runs, ...rest } = report;
  const summary = { ...head, ...rest, runs: runs.map(({ frames, regrowFrames, ...run }) => run), thresholdsApplied: applied, strip };
  console.log(JSON.stringify(summary, null, 2));
}

/** `nca eval MODEL --texture IMAGE`: the texture report (exemplar/texture-run.ts). */
async function evalTexture(values: Record<string, unknown>, path: string): Promise<number> {
  const misplaced = TARGET_FLAGS.find((f) => values[f] !== undefined);
  if (misplaced) throw new CliError(`--${misplaced} does not apply with --texture (see --help)`, EXIT.usage);
  const steps = stepsValue(values, DEFAULT_TEXTURE_STEPS);
  const d = DEFAULT_TEXTURE_THRESHOLDS;
  const thresholds = {
    maxPatchRatio: numberValue(values, 'max-patch-ratio', d.maxPatchRatio, 0, 1000),
    maxSpectralRatio: numberValue(values, 'max-spectral-ratio', d.maxSpectralRatio, 0, 1000),
    qualityUntil: intValue(values, 'quality-until', d.qualityUntil, 0, MAX_STEPS),
    minStdRatio: numberValue(values, 'min-std-ratio', d.minStdRatio, 0, 1000),
  };
  const givenScale = values['texture-scale'] === undefined ? null : numberValue(values, 'texture-scale', 1, 1e-3, 16);
  const seed = intValue(values, 'seed', 0, 0, 0xffffffff);
  const engine = choiceValue(values, 'engine', ENGINES, 'ort');
  const stripPath = stringValue(values, 'strip');
  const stripScale = intValue(values, 'strip-scale', 2, 1, 16);
  const size = values.size !== undefined ? sizeValue(values, 'size', '128x128', 1024) : null;
  if (stripPath) checkOutputFile(stripPath);
  const texturePath = stringValue(values, 'texture')!;
  const { model } = await readModel(path);
  const image = await readImage(texturePath);
  // The exemplar as in training: resized by the run's --texture-scale (metadata.extra.texture.scale).
  const trained = trainedTextureScale(model);
  const scale = givenScale ?? trained ?? Math.min(1, TEXTURE_SIDE / Math.min(image.width, image.height));
  const scaleFrom = givenScale !== null ? '--texture-scale' : trained !== null ? 'as trained' : 'the training default';
  const exemplar = resizeRgba(image, Math.max(1, Math.round(image.width * scale)), Math.max(1, Math.round(image.height * scale)));
  const grid = size ?? textureGrid(model);
  const problem = textureSizeProblem(grid, exemplar);
  if (problem?.what === 'grid') throw new CliError(`${problem.message}; use a larger --size`, EXIT.usage);
  if (problem) throw new CliError(`${texturePath}: ${problem.message}; use a larger --texture-scale`, EXIT.badInput);

  const progress = progressBar(values);
  const report = await evaluateTexture(model, {
    exemplar,
    grid,
    steps,
    int8: !values['no-int8'],
    seed,
    engine,
    thresholds,
    keepFrames: stripPath !== undefined,
    onProgress: progress.onProgress,
  });
  progress.finish();
  const strip = stripPath ? await writeStrip(stripPath, report.runs.map((run) => [report.exemplarFrame!, ...run.frames!]), stripScale) : null;
  const bestScore = bestScoreOf(model);
  const applied = !values['no-thresholds'];
  if (values.json) {
    const { exemplarFrame, ...rest } = report;
    printJsonReport({ model: path, texturePath, textureScale: { value: scale, from: scaleFrom }, bestScore: bestScore ?? null }, rest, applied, strip);
  } else {
    const what = `texture ${texturePath} (${image.width}x${image.height}, scale ${Number(scale.toPrecision(4))} ${scaleFrom}: ${exemplar.width}x${exemplar.height})`;
    console.log(describeTexture(report, path, what, bestScore, applied));
    if (strip) console.log(`wrote ${strip.path} (${strip.width}x${strip.height}: exemplar, then each step count)`);
  }
  return report.pass || !applied ? EXIT.ok : EXIT.belowThresholds;
}

export const evalCommand: Command = {
  name: 'eval',
  summary: 'run a model for a long time and report its quality (PSNR, SSIM, stability, regrowth)',
  help,
  async run(argv) {
    const { values, positionals } = await parseFlagsWithConfig(argv, options);
    const path = modelArg(positionals);
    if (values.texture !== undefined) return evalTexture(values, path);
    const misplaced = TEXTURE_FLAGS.find((f) => values[f] !== undefined);
    if (misplaced) throw new CliError(`--${misplaced} needs --texture (see --help)`, EXIT.usage);
    const steps = stepsValue(values);
    const thresholds = {
      minPsnr: numberValue(values, 'min-psnr', DEFAULT_THRESHOLDS.minPsnr, -1000, 1000),
      maxChange: numberValue(values, 'max-change', DEFAULT_THRESHOLDS.maxChange, 0, 10),
      minHealed: numberValue(values, 'min-healed', DEFAULT_THRESHOLDS.minHealed, 0, 1),
    };
    const regrow = values['no-regrow']
      ? false
      : {
          at: intValue(values, 'regrow-at', Math.min(DEFAULT_REGROW_AT, steps[steps.length - 1]), 0, MAX_STEPS),
          trials: intValue(values, 'regrow-trials', DEFAULT_REGROW_TRIALS, 1, 64),
          max: intValue(values, 'regrow-max', 2000, 0, MAX_STEPS),
          every: intValue(values, 'regrow-every', 10, 1, 100_000),
          shift: intValue(values, 'regrow-shift', 1, 0, 8),
        };
    const seed = intValue(values, 'seed', 0, 0, 0xffffffff);
    const engine = choiceValue(values, 'engine', ENGINES, 'ort');
    const stripPath = stringValue(values, 'strip');
    const stripScale = intValue(values, 'strip-scale', 2, 1, 16);
    if (values.size !== undefined) sizeValue(values, 'size', '64x64', 1024); // a bad --size fails before any reading
    if (stripPath) checkOutputFile(stripPath);
    const targetPath = stringValue(values, 'target');
    const { model } = await readModel(path);
    const image = targetPath ? await readImage(targetPath) : null;
    const grid = values.size !== undefined ? sizeValue(values, 'size', '64x64', 1024) : defaultGrid(model, image);
    // A trainer's model says where its target was (metadata.extra.box): resized to that box, at that
    // place on the training grid (centred on another grid).
    const box = image && !values['no-box'] ? trainedBox(model) : null;
    const target = image && box ? resizeRgba(image, box.width, box.height) : image;
    const trainedGrid = model.metadata.extra?.grid !== undefined ? defaultGrid(model, null) : null;
    const targetAt = box && trainedGrid && trainedGrid.width === grid.width && trainedGrid.height === grid.height ? { x: box.x, y: box.y } : undefined;

    const progress = progressBar(values);
    const report = await evaluateLongRun(model, {
      target,
      targetAt,
      grid,
      steps,
      int8: !values['no-int8'],
      regrow,
      seed,
      engine,
      thresholds,
      threads: values.threads === undefined ? undefined : intValue(values, 'threads', 1, 1, 256),
      keepFrames: stripPath !== undefined,
      onProgress: progress.onProgress,
    });
    progress.finish();

    const strip = stripPath ? await writeStrip(stripPath, report.runs.map((run) => [...(report.targetFrame ? [report.targetFrame] : []), ...run.frames!, ...(run.regrowFrames ?? [])]), stripScale) : null;
    const bestScore = bestScoreOf(model);
    const applied = !values['no-thresholds'];
    if (values.json) {
      const { targetFrame, ...rest } = report;
      printJsonReport({ model: path, targetPath: targetPath ?? null, bestScore: bestScore ?? null }, rest, applied, strip);
    } else {
      console.log(describe(report, path, image && targetPath ? { path: targetPath, width: image.width, height: image.height } : null, bestScore, applied));
      if (strip) console.log(`wrote ${strip.path} (${strip.width}x${strip.height})`);
    }
    return report.pass || !applied ? EXIT.ok : EXIT.belowThresholds;
  },
};
