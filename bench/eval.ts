/**
 * `npm run bench:eval`: speed of the ort engine for `nca eval`'s long runs, in steps/s,
 * at 72x72 and 128x128, for the default topology (12 channels, hidden 128) as a v1.0
 * model and as a living v1.1 model (alive masking and clamp), for several chunk sizes
 * (steps unrolled per onnxruntime call). Prints JSON; medians of `--repeats` runs.
 * `cpuMsPerStep` (this process's CPU time, all threads) moves less than steps/s when
 * other processes share the cores; `loadAverage` says how busy the machine was.
 *
 *   npm run -s bench:eval -- --sizes 72x72,128x128 --chunks 8,16,32 --steps 512
 */
import os from 'node:os';
import { parseArgs } from 'node:util';
import { createEngine } from '../exporter/render/engine.ts';
import { EVAL_CHUNK } from '../exporter/eval/long-run.ts';
import { livingTopology, randomModel } from '../test/helpers/models.ts';

const { values } = parseArgs({
  options: {
    sizes: { type: 'string', default: '72x72,128x128' },
    chunks: { type: 'string', default: `8,16,${EVAL_CHUNK},32` },
    steps: { type: 'string', default: '512' },
    hidden: { type: 'string', default: '128' },
    repeats: { type: 'string', default: '3' },
  },
});
/** 1-minute load average before this bench starts: what else was running. */
const loadAverage = +os.loadavg()[0].toFixed(2);
const steps = Number(values.steps);
const repeats = Number(values.repeats);
const hidden = Number(values.hidden);
const chunks = [...new Set(values.chunks!.split(',').map(Number))];
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const models = {
  v10: randomModel({ topology: { hidden }, recipe: 'cell' }),
  living: randomModel({ topology: livingTopology({ hidden }), recipe: 'cell' }),
};

const results: Record<string, unknown>[] = [];
for (const size of values.sizes!.split(',')) {
  const [width, height] = size.split('x').map(Number);
  for (const [kind, model] of Object.entries(models)) {
    const row: Record<string, unknown> = { size, model: kind, hidden };
    const runs: Record<number, number[]> = {};
    const cpu: Record<number, number[]> = {};
    // Chunk sizes interleaved within each repeat, so that load from other processes hits them alike.
    for (let r = 0; r < repeats; r++) {
      for (const chunk of chunks) {
        const engine = await createEngine('ort', model, { width, height }, { chunk });
        await engine.run(chunk); // warm-up: onnxruntime plans its first run
        const t0 = performance.now();
        const c0 = process.cpuUsage();
        await engine.run(steps);
        (runs[chunk] ??= []).push(steps / ((performance.now() - t0) / 1000));
        const c = process.cpuUsage(c0);
        (cpu[chunk] ??= []).push((c.user + c.system) / 1000 / steps);
        await engine.dispose();
      }
    }
    for (const chunk of chunks) row[`chunk${chunk}`] = +median(runs[chunk]).toFixed(1);
    const best = Math.max(...chunks.map((c) => row[`chunk${c}`] as number));
    row.stepsPerSecond = row[`chunk${EVAL_CHUNK}`] ?? best;
    row.secondsFor100kSteps = +(1e5 / (row.stepsPerSecond as number)).toFixed(0);
    row.cpuMsPerStep = +median(cpu[EVAL_CHUNK] ?? cpu[chunks[0]]).toFixed(2);
    results.push(row);
  }
}
console.log(JSON.stringify({ date: new Date().toISOString().slice(0, 10), cores: os.cpus().length, loadAverage, evalChunk: EVAL_CHUNK, steps, repeats, results }, null, 2));
