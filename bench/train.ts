/**
 * `npm run bench:train`: one NCA training iteration's forward + backward at the
 * source method's settings (128x128, batch 4, 80 steps, hidden 128), median of
 * several iterations, plus peak RSS. Prints JSON. `--from-run DIR` measures a living run
 * instead: its model, grid and the first `--batch` states of its checkpoint's pool (grown
 * patterns, so alive masking skips what a real iteration skips). `--threads T` splits the batch
 * into min(T, batch) worker threads, as training does (trainer/nca/batch-rollout.ts); CPU is the
 * whole process's, workers included. `--compare-split` also times each iteration, alternating,
 * unsplit (one in-process part on T intra-op threads) and prints the ratio of the fastest.
 *
 *   npm run bench:train -- --iterations 7 --segment-steps auto|N --size 128 --steps 80 --threads 2 --device cpu|webgpu
 *   npm run bench:train -- --from-run runs/logo --batch 8 --threads 1
 *   npm run bench:train -- --size 48 --batch 8 --threads 2 --compare-split
 */
import os from 'node:os';
import { parseArgs } from 'node:util';
import { checkDevice, resolveDevice } from '../trainer/engine/session.ts';
import { defaultTopology, weightShapes, type Weights } from '../formats/model.ts';
import { Rng } from '../formats/random.ts';
import { autoSegmentSteps } from '../trainer/nca/rollout.ts';
import { BatchRollout } from '../trainer/nca/batch-rollout.ts';
import { RolloutPart } from '../trainer/nca/rollout-part.ts';
import { loadCheckpoint } from '../trainer/train/checkpoint.ts';

const { values } = parseArgs({
  options: {
    iterations: { type: 'string', default: '5' },
    'segment-steps': { type: 'string', default: 'auto' },
    size: { type: 'string', default: '128' },
    batch: { type: 'string', default: '4' },
    steps: { type: 'string', default: '80' },
    hidden: { type: 'string', default: '128' },
    threads: { type: 'string', default: String(os.cpus().length) },
    device: { type: 'string', default: 'cpu' },
    'from-run': { type: 'string' },
    'compare-split': { type: 'boolean' },
  },
});
const n = (k: keyof typeof values) => Number(values[k]);
const run = values['from-run'] ? await loadCheckpoint(values['from-run']) : null;
const topology = run ? run.config.topology : defaultTopology({ hidden: n('hidden') });
const shape = run ? { batch: n('batch'), height: run.config.height, width: run.config.width } : { batch: n('batch'), height: n('size'), width: n('size') };
const rng = new Rng(7);
const shapes = weightShapes(topology);
const random = (k: 'w1' | 'b1' | 'w2', scale: number) => Float32Array.from({ length: shapes[k].reduce((a, b) => a * b, 1) }, () => rng.normal() * scale);
const weights: Weights = run ? run.weights : { w1: random('w1', 0.05), b1: random('b1', 0.05), w2: random('w2', 0.01) };
const stateSize = topology.channels * shape.height * shape.width;
if (run && run.pool.length < shape.batch * stateSize) throw new Error(`the run's pool holds fewer than ${shape.batch} states`);
const state = run ? run.pool.slice(0, shape.batch * stateSize) : Float32Array.from({ length: shape.batch * stateSize }, () => rng.next());

const segmentSteps = values['segment-steps'] === 'auto' ? autoSegmentSteps(topology, shape, n('steps')) : n('segment-steps');
const device = checkDevice(values.device!);
// What the sessions really run on (webgpu falls back to the CPU where it finds no adapter).
const ranOn = resolveDevice(device);
const options = { segmentSteps, threads: n('threads'), device, qat: run?.config.qat };
const rollout = await BatchRollout.create(topology, shape, options);
// --compare-split: the same iterations, alternating, on one in-process part with all the threads as intra-op threads
const unsplit = values['compare-split'] ? await RolloutPart.create({ topology, shape, options }) : null;
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const forward: number[] = [];
const backward: number[] = [];
const cpu: number[] = [];
const unsplitTotal: number[] = [];
for (let it = 0; it < n('iterations'); it++) {
  const seeds = Array.from({ length: shape.batch }, (_, b) => b + 1 + it * 10);
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  const final = await rollout.forward(state, weights, seeds, n('steps'));
  const t1 = performance.now();
  await rollout.backward(weights, Float32Array.from(final, () => 1e-3));
  const t2 = performance.now();
  const c1 = process.cpuUsage(c0);
  cpu.push((c1.user + c1.system) / 1e6);
  forward.push((t1 - t0) / 1000);
  backward.push((t2 - t1) / 1000);
  if (unsplit) {
    const t3 = performance.now();
    await unsplit.backward(weights, Float32Array.from(await unsplit.forward(state, weights, seeds, n('steps')), () => 1e-3));
    unsplitTotal.push((performance.now() - t3) / 1000);
  }
}
const total = forward.map((f, i) => f + backward[i]);
console.log(
  JSON.stringify(
    {
      bench: 'nca forward+backward',
      settings: { ...shape, fromRun: values['from-run'] ?? null, device: ranOn, requestedDevice: device, steps: n('steps'), hidden: topology.hidden, segmentSteps, threads: n('threads'), parts: rollout.partCount, iterations: n('iterations') },
      median_s: { forward: median(forward), backward: median(backward), total: median(total), cpu: median(cpu) },
      all_total_s: total.map((t) => Number(t.toFixed(3))),
      ...(unsplit ? { unsplit_all_total_s: unsplitTotal.map((t) => Number(t.toFixed(3))), split_speedup_fastest: Number((Math.min(...unsplitTotal) / Math.min(...total)).toFixed(2)) } : {}),
      peak_rss_mb: Math.round(process.resourceUsage().maxRSS / 1024),
      // other processes on a shared machine slow the wall clock; cpu is this process's CPU seconds
      machine: { cpus: os.cpus().length, model: os.cpus()[0]?.model, node: process.version, loadavg_1m: os.loadavg()[0] },
    },
    null,
    2,
  ),
);
// releasing the sessions also writes onnxruntime's per-node profiles (NCA_ORT_PROFILE=PREFIX)
await rollout.release();
await unsplit?.release();
