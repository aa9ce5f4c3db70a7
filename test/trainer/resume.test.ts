// `nca train` killed (SIGKILL) or interrupted (SIGINT), then --resume: the result equals an uninterrupted run exactly.
// `--resume --iterations N` lengthens a finished run on the new schedule and keeps its best model; bad flags change nothing.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { decodeNca } from '../../formats/nca-file.ts';
import { encodePng } from '../../trainer/image/png.ts';
import { loadCheckpoint } from '../../trainer/train/checkpoint.ts';

const root = fileURLToPath(new URL('../..', import.meta.url));
const work = mkdtempSync(join(tmpdir(), 'nca-resume-'));
const target = join(work, 'target.png');
{
  const size = 20;
  const data = new Uint8Array(size * size * 4);
  for (let i = 0; i < size * size; i++) {
    const x = i % size;
    const y = Math.floor(i / size);
    data.set(x < y ? [200, 60, 40, 255] : [20, 90, 160, 255], i * 4);
  }
  writeFileSync(target, encodePng({ width: size, height: size, data }));
}
const ITERATIONS = 14;
const flags = ['--iterations', String(ITERATIONS), '--steps', '16-24', '--hidden', '24', '--pool', '8', '--batch', '2', '--save-every', '3', '--preview-every', '0', '--quiet'];

interface Run {
  code: number | null;
  signal: NodeJS.Signals | null;
}

/** Runs `nca train`; `interrupt` (if given) is sent once log.jsonl has `after` lines. */
function nca(args: string[], dir?: string, interrupt?: { signal: NodeJS.Signals; after: number }): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [join(root, 'bin/nca.mjs'), 'train', ...args], { cwd: root, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += d));
    const timer =
      interrupt &&
      setInterval(() => {
        const log = join(dir!, 'log.jsonl');
        if (existsSync(log) && readFileSync(log, 'utf8').trim().split('\n').length >= interrupt.after) {
          child.kill(interrupt.signal);
          clearInterval(timer);
        }
      }, 10);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      if (timer) clearInterval(timer);
      if (code !== 0 && code !== 130 && signal === null) reject(new Error(`nca train failed (${code}): ${stderr}`));
      else resolve({ code, signal });
    });
  });
}

async function finalState(dir: string) {
  const model = decodeNca(readFileSync(join(dir, 'model.nca'))).model;
  const checkpoint = await loadCheckpoint(dir);
  return { weights: model.weights, pool: checkpoint.pool, adam: checkpoint.adam, rng: checkpoint.rngState, iteration: checkpoint.iteration };
}

const reference = (async () => {
  const dir = join(work, 'uninterrupted');
  await nca(['--target', target, '--out', dir, ...flags]);
  return finalState(dir);
})();

test('SIGKILL mid-run, then --resume from the last periodic checkpoint, ends bit-identical', async () => {
  const dir = join(work, 'killed');
  const killed = await nca(['--target', target, '--out', dir, ...flags], dir, { signal: 'SIGKILL', after: 5 });
  assert.equal(killed.signal, 'SIGKILL');
  assert.ok(!existsSync(join(dir, 'model.nca')), 'the run finished before it was killed');
  const saved = await loadCheckpoint(dir);
  assert.ok(saved.iteration > 0 && saved.iteration < ITERATIONS && saved.iteration % 3 === 0, `checkpoint at ${saved.iteration}`);
  await nca(['--resume', dir, '--quiet']);
  assert.deepEqual(await finalState(dir), await reference);
});

test('SIGINT saves a checkpoint at the current iteration and exits 130; --resume ends bit-identical', async () => {
  const dir = join(work, 'interrupted');
  const stopped = await nca(['--target', target, '--out', dir, ...flags], dir, { signal: 'SIGINT', after: 4 });
  assert.equal(stopped.code, 130);
  const saved = await loadCheckpoint(dir);
  const logged = readFileSync(join(dir, 'log.jsonl'), 'utf8').trim().split('\n').length;
  assert.equal(saved.iteration, logged, 'the checkpoint is not at the last finished iteration');
  assert.ok(saved.iteration < ITERATIONS);
  await nca(['--resume', dir, '--quiet']);
  assert.deepEqual(await finalState(dir), await reference);
});

const iterationLines = (dir: string) =>
  readFileSync(join(dir, 'log.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l)).filter((e) => e.kind === 'iteration');
const bestScore = (dir: string) => decodeNca(readFileSync(join(dir, 'model.nca'))).model.metadata.extra!.bestScore as number;

test('--resume --iterations N lengthens a finished run: it trains on with the learning-rate steps of an N-iteration run and keeps its best model', async () => {
  await reference;
  const dir = join(work, 'extended');
  cpSync(join(work, 'uninterrupted'), dir, { recursive: true });
  const before = iterationLines(dir);
  const best = bestScore(dir);
  const LONGER = 20;
  await nca(['--resume', dir, '--iterations', String(LONGER), '--quiet']);

  const saved = await loadCheckpoint(dir);
  assert.equal(saved.iteration, LONGER);
  assert.equal(saved.config.iterations, LONGER);
  const after = iterationLines(dir);
  assert.deepEqual(after.map((e) => e.iteration), [...Array(LONGER).keys()]);
  assert.deepEqual(after.slice(0, ITERATIONS), before, 'the first run was rewritten');
  // The schedule, stated independently: the base rate times the factor once per milestone passed,
  // a milestone being a fraction of the run's length.
  const { lr, lrMilestones, lrFactor } = saved.config;
  const scheduled = (it: number, length: number) => lr * lrFactor ** lrMilestones.filter((m) => it >= Math.round(m * length)).length;
  const added = after.slice(ITERATIONS);
  for (const e of added) assert.ok(Math.abs(e.lr - scheduled(e.iteration, LONGER)) < 1e-12, `iteration ${e.iteration}: lr ${e.lr}`);
  assert.ok(added.some((e) => scheduled(e.iteration, LONGER) !== scheduled(e.iteration, ITERATIONS)), 'the test cannot tell the two schedules apart');
  assert.ok(bestScore(dir) >= best, `model.nca's best score fell from ${best} to ${bestScore(dir)}`);
});

test('--resume refuses a length below what was trained and any setting of the run, and changes nothing', async () => {
  await reference;
  const dir = join(work, 'refused');
  cpSync(join(work, 'uninterrupted'), dir, { recursive: true });
  const checkpoint = readFileSync(join(dir, 'checkpoint.bin'));
  const model = readFileSync(join(dir, 'model.nca'));
  const run = (args: string[]) => spawnSync(process.execPath, [join(root, 'bin/nca.mjs'), 'train', '--resume', dir, ...args], { cwd: root, encoding: 'utf8' });

  const shorter = run(['--iterations', String(ITERATIONS - 4), '--quiet']);
  assert.equal(shorter.status, 65, shorter.stderr);
  assert.match(shorter.stderr, new RegExp(`already trained ${ITERATIONS} iterations`));
  const relearn = run(['--lr', '0.1', '--batch', '4']);
  assert.equal(relearn.status, 64, relearn.stderr);
  assert.match(relearn.stderr, /--lr, --batch cannot be given/);

  assert.ok(readFileSync(join(dir, 'checkpoint.bin')).equals(checkpoint), 'the checkpoint changed');
  assert.ok(readFileSync(join(dir, 'model.nca')).equals(model), 'model.nca changed');
});
