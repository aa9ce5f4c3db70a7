/**
 * `npm run bench:score -- RUN`: the trainer's long-run scoring of a living run's scored models
 * (kept with `nca train --keep-scored`), whole and cut at the best score so far (what the
 * trainer does), side by side at equal work: the same models in the same order, alternating,
 * the fastest of `--repeats` passes each. Checks that both keep the same model. Prints JSON.
 *
 *   npm run -s bench:score -- runs/icon --repeats 2 --threads 2
 */
import { readdir } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import os from 'node:os';
import { parseArgs } from 'node:util';
import { decodeNca, type NcaModel } from '../formats/index.ts';
import { pixelScore } from '../cli/commands/train.ts';
import { loadCheckpoint } from '../trainer/train/checkpoint.ts';
import { SCORED_DIR } from '../trainer/train/trainer.ts';
import type { PixelLossSpec } from '../trainer/pixel/pixel-loss.ts';

const { values, positionals } = parseArgs({ allowPositionals: true, options: { repeats: { type: 'string', default: '2' }, threads: { type: 'string', default: '2' } } });
const dir = positionals[0];
if (!dir) throw new Error('usage: npm run bench:score -- RUN_DIR [--repeats N] [--threads N]');
const loadAverage = +os.loadavg()[0].toFixed(2);
const state = await loadCheckpoint(dir);
const score = pixelScore(state.lossSpec as PixelLossSpec, state.config, Number(values.threads));
const files = (await readdir(join(dir, SCORED_DIR))).filter((f) => f.endsWith('.nca'));
const load = (f: string): NcaModel => decodeNca(new Uint8Array(readFileSync(join(dir, SCORED_DIR, f)))).model;
// per scoring (iteration order): the weights and, if kept, their average
const scorings = [...new Set(files.map((f) => f.slice(0, 'iter-000000'.length)))].sort().map((it) => ({
  it,
  weights: load(`${it}-weights.nca`),
  average: files.includes(`${it}-average.nca`) ? load(`${it}-average.nca`) : null,
}));

/** One pass over every scoring as the trainer runs it (trainer.ts scoreModel); `cut`: each against the best so far. */
async function pass(cut: boolean): Promise<{ seconds: number; scores: number[]; pick: string }> {
  const started = performance.now();
  const scores: number[] = [];
  let best = -Infinity;
  let pick = '';
  for (const { it, weights, average } of scorings) {
    const floor = cut ? best : -Infinity;
    const current = await score(weights, floor);
    const averaged = average ? await score(average, Math.max(floor, current)) : -Infinity;
    scores.push(current, ...(average ? [averaged] : []));
    const top = Math.max(current, averaged);
    if (top > best) [best, pick] = [top, `${it}-${averaged > current ? 'average' : 'weights'}`];
  }
  return { seconds: (performance.now() - started) / 1000, scores, pick };
}

const whole: number[] = [];
const cut: number[] = [];
let wholeScores: number[] = [];
let cutScores: number[] = [];
const picks = new Set<string>();
for (let r = 0; r < Number(values.repeats); r++) {
  const a = await pass(false);
  const b = await pass(true);
  whole.push(a.seconds);
  cut.push(b.seconds);
  [wholeScores, cutScores] = [a.scores, b.scores];
  picks.add(a.pick).add(b.pick);
}
const cutShort = cutScores.filter((s, i) => s !== wholeScores[i]).length;
const fastest = (xs: number[]) => +Math.min(...xs).toFixed(2);
console.log(
  JSON.stringify(
    {
      date: new Date().toISOString().slice(0, 10),
      run: dir,
      cores: os.cpus().length,
      loadAverage,
      threads: Number(values.threads),
      scorings: scorings.length,
      models: wholeScores.length,
      repeats: Number(values.repeats),
      wholeSeconds: fastest(whole),
      cutSeconds: fastest(cut),
      speedup: +(Math.min(...whole) / Math.min(...cut)).toFixed(2),
      modelsCutShort: cutShort,
      pick: [...picks].join(' / '),
      samePick: picks.size === 1,
    },
    null,
    2,
  ),
);
