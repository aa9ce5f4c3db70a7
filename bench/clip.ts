/**
 * `npm run bench:clip`: whole CLIP-guided training iterations (the trainer's own
 * loop) at the source method's settings (128x128, batch 4, 64-95 steps, pool 256,
 * hidden 128) with a full-size random-weight ViT-B/32 and 8 cutouts per state.
 * Reports the median seconds per iteration (wall clock, and this process's CPU
 * seconds, which a busy shared machine inflates less), the part spent in the
 * CLIP loss, the setup time and peak RSS, as JSON.
 *
 *   python3 tools/make_random_vitb32.py          # once: writes .cache/clip-vit-b32-random
 *   npm run bench:clip -- --iterations 5 --cutouts 8 --chunk 1
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { clipLoss, DEFAULT_CLIP_SETTINGS } from '../trainer/clip/clip-loss.ts';
import { loadClip } from '../trainer/clip/model.ts';
import { parsePrompts } from '../trainer/clip/prompts.ts';
import { embedTargets } from '../trainer/clip/targets.ts';
import { SOURCE_METHOD, type TrainConfig } from '../trainer/train/config.ts';
import type { Loss } from '../trainer/train/loss.ts';
import { Trainer } from '../trainer/train/trainer.ts';

const { values } = parseArgs({
  options: {
    'clip-path': { type: 'string', default: '.cache/clip-vit-b32-random' },
    iterations: { type: 'string', default: '5' },
    cutouts: { type: 'string', default: '8' },
    chunk: { type: 'string', default: '1' },
    size: { type: 'string', default: '128' },
  },
});
const dir = values['clip-path']!;
if (!existsSync(join(dir, 'model.safetensors'))) {
  console.error(`${dir} has no model.safetensors: run  python3 tools/make_random_vitb32.py  first`);
  process.exit(1);
}
const iterations = Number(values.iterations);
const size = Number(values.size);
const config: TrainConfig = { ...SOURCE_METHOD, width: size, height: size, iterations, saveEvery: iterations, previewEvery: 0 };
const shape = { batch: config.batch, channels: config.topology.channels, height: size, width: size };
const settings = {
  ...DEFAULT_CLIP_SETTINGS,
  chunk: Number(values.chunk),
  seed: 0,
  cutouts: { ...DEFAULT_CLIP_SETTINGS.cutouts, count: Number(values.cutouts) },
};

const t0 = performance.now();
const model = loadClip(dir);
const targets = await embedTargets(model, parsePrompts('red coral:1, deep sea:0.5'), []);
const tEmbed = performance.now();
const inner = await clipLoss(model, targets, config.topology, shape, settings);
model.weights.close();
const tLoss = performance.now();

const cpuSeconds = (since?: NodeJS.CpuUsage) => {
  const u = process.cpuUsage(since);
  return (u.user + u.system) / 1e6;
};

/** The CLIP loss, timed (wall and this process's CPU seconds: the machine may be shared). */
const lossSeconds: number[] = [];
const lossCpu: number[] = [];
const timed: Loss = {
  async evaluate(x, s, it) {
    const start = performance.now();
    const cpu = process.cpuUsage();
    const result = await inner.evaluate(x, s, it);
    lossSeconds.push((performance.now() - start) / 1000);
    lossCpu.push(cpuSeconds(cpu));
    return result;
  },
  release: () => inner.release!(),
};

const runDir = mkdtempSync(join(os.tmpdir(), 'bench-clip-'));
const seconds: number[] = [];
const iterationCpu: number[] = [];
let cpuMark = process.cpuUsage();
const steps: number[] = [];
const similarity: number[] = [];
const trainer = await Trainer.start(config, timed, {
  dir: runDir,
  onEvent: (e) => {
    if (e.kind !== 'iteration') return;
    iterationCpu.push(cpuSeconds(cpuMark));
    cpuMark = process.cpuUsage();
    seconds.push(e.seconds);
    steps.push(e.steps);
    similarity.push(e.logs.similarity);
  },
});
await trainer.run();
await trainer.release();
rmSync(runDir, { recursive: true, force: true });

// The first iteration pays onnxruntime's one-off allocations: reported, not in the median.
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const steady = (xs: number[]) => (xs.length > 1 ? xs.slice(1) : xs);
const round = (x: number) => Number(x.toFixed(3));
console.log(
  JSON.stringify(
    {
      bench: 'CLIP-guided training iteration (ViT-B/32, random weights)',
      settings: { size, batch: config.batch, steps: `${config.minSteps}-${config.maxSteps}`, hidden: config.topology.hidden, cutouts: settings.cutouts.count, chunk: settings.chunk, iterations },
      median_s: { iteration: round(median(steady(seconds))), clip_loss: round(median(steady(lossSeconds))), nca: round(median(steady(seconds.map((s, i) => s - lossSeconds[i])))) },
      median_cpu_s: { iteration: round(median(steady(iterationCpu))), clip_loss: round(median(steady(lossCpu))) },
      first_iteration_s: round(seconds[0]),
      all_iteration_s: seconds.map(round),
      steps_per_iteration: steps,
      similarity: similarity.map(round),
      setup_s: { load_and_embed_prompts: round((tEmbed - t0) / 1000), build_loss_session: round((tLoss - tEmbed) / 1000) },
      peak_rss_mb: Math.round(process.resourceUsage().maxRSS / 1024),
      machine: { cpus: os.cpus().length, model: os.cpus()[0]?.model, node: process.version, loadavg_1m: os.loadavg()[0] },
    },
    null,
    2,
  ),
);
