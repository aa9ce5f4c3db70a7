/**
 * `nca farm` end to end, with a real redis-server and real `nca farm worker` processes:
 * a worker SIGKILLed mid-job, bad jobs, Ctrl-C, a Redis restart. Every interrupted job's
 * model must equal the same job run by plain `nca train` on this machine, byte for byte.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { checkpointIteration } from '../../cli/farm/progress.ts';
import { loggedIterations, nca, NcaProcess, RedisServer, referenceRun, status, tinyJob, waitFor, writeTarget } from './helpers.ts';

const root = mkdtempSync(join(tmpdir(), 'nca-farm-test-'));
const cleanups: (() => Promise<unknown>)[] = [];
after(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup().catch(() => {});
  rmSync(root, { recursive: true, force: true, maxRetries: 3 });
});

async function setup(name: string, jobs: Record<string, unknown>[]) {
  const dir = join(root, name);
  mkdirSync(dir);
  const redis = await RedisServer.start(join(dir, 'redis'));
  cleanups.push(() => redis.stop());
  writeTarget(join(dir, 'dot.png'));
  writeFileSync(join(dir, 'jobs.jsonl'), jobs.map((j) => JSON.stringify(j)).join('\n') + '\n');
  return { dir, redis };
}

function startWorker(dir: string, url: string, name: string, extra: string[] = []): NcaProcess {
  const worker = new NcaProcess(['farm', 'worker', '--redis', url, '--runs', 'runs', '--lock-seconds', '2', '--name', name, ...extra], dir);
  cleanups.push(() => worker.kill('SIGKILL'));
  return worker;
}

function submit(dir: string, url: string, args: string[] = []): string[] {
  const r = nca(['farm', 'submit', '--redis', url, 'jobs.jsonl', ...args], dir);
  assert.equal(r.code, 0, r.stderr);
  return r.stdout.trim().split('\n');
}

const doneCount = (worker: NcaProcess) => worker.stderr.split('\n').filter((l) => / done, \d+ iterations/.test(l)).length;
const iterationsIn = (log: string) => (existsSync(log) ? loggedIterations(readFileSync(log, 'utf8')) : 0);

/** Processes whose command line contains all of `parts` (separated by NULs there). */
function processesWith(parts: string[]): number[] {
  const pids: number[] = [];
  for (const pid of readdirSync('/proc').filter((p) => /^\d+$/.test(p))) {
    try {
      const cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
      if (parts.every((p) => cmd.includes(p))) pids.push(Number(pid));
    } catch {
      // gone
    }
  }
  return pids;
}

test('two workers, three jobs, one worker SIGKILLed mid-job: all finish, and the interrupted one equals a one-machine run', async () => {
  const long = tinyJob({ iterations: 100, 'save-every': 10 });
  const { dir, redis } = await setup('kill', [long, tinyJob({ 'run-seed': 1 }), tinyJob({ 'run-seed': 2 })]);
  const ids = submit(dir, redis.url);
  assert.equal(ids.length, 3);
  assert.match(ids[0], /^dot-s0-[0-9a-f]{8}$/);
  const reference = referenceRun(dir, long, 'reference');
  cleanups.push(() => reference.kill('SIGKILL'));

  const evalSteps = ['--eval-steps', '20,50'];
  const w1 = startWorker(dir, redis.url, 'w1', evalSteps);
  const runDir = join(dir, 'runs', ids[0]);
  const log = join(runDir, 'log.jsonl');
  await waitFor('w1 to start the first job', () => existsSync(log), 240_000);
  const w2 = startWorker(dir, redis.url, 'w2', evalSteps);
  await waitFor('the first job to pass its checkpoint at iteration 20', () => iterationsIn(log) >= 24, 240_000, 50);
  w1.child.kill('SIGKILL');
  await w1.exited;
  const killedAt = iterationsIn(log);
  assert.ok(killedAt < 100, `killed mid-job (at iteration ${killedAt})`);
  // its `nca train` child dies with it: nothing is left training in the run directory
  await waitFor("w1's training child to end", () => processesWith(['--out', runDir]).length === 0, 2000, 50);

  await waitFor('w2 to finish all three jobs', () => doneCount(w2) === 3 || !w2.alive, 240_000, 250);
  assert.equal(doneCount(w2), 3, w2.stderr);
  const resumed = new RegExp(`job ${ids[0]}: resuming at iteration (\\d+) of 100`).exec(w2.stderr);
  assert.ok(resumed, `w2 resumed the job:\n${w2.stderr}`);
  assert.ok(Number(resumed[1]) >= 20 && Number(resumed[1]) <= killedAt && Number(resumed[1]) % 10 === 0, `resumed at ${resumed[1]}`);

  const st = status(redis.url, dir);
  assert.equal(st.counts.completed, 3);
  const first = st.jobs.find((j) => j.id === ids[0])!;
  assert.equal(first.state, 'completed');
  assert.ok(first.stalls >= 1, 'found stalled');
  assert.equal(first.worker, 'w2');
  const human = nca(['farm', 'status', '--redis', redis.url], dir);
  assert.equal(human.code, 0);
  assert.match(human.stdout, /3 completed/);
  for (const id of ids) assert.match(human.stdout, new RegExp(`${id}\\s+completed\\s+\\d+/\\d+`));

  assert.equal(await reference.exited, 0, reference.stderr);
  const expected = readFileSync(join(dir, 'reference', 'model.nca'));
  assert.ok(readFileSync(join(runDir, 'model.nca')).equals(expected), 'the resumed model equals the uninterrupted one, byte for byte');

  // results come from Redis alone: with the runs directory gone
  rmSync(join(dir, 'runs'), { recursive: true });
  const results = nca(['farm', 'results', '--redis', redis.url, '--out', 'out'], dir);
  assert.equal(results.code, 0, results.stderr);
  assert.match(results.stderr, /3 models in out; 0 failed; 0 still queued or training/);
  assert.ok(readFileSync(join(dir, 'out', `${ids[0]}.nca`)).equals(expected));
  for (const id of ids) {
    const report = JSON.parse(readFileSync(join(dir, 'out', `${id}.json`), 'utf8'));
    assert.equal(report.summary.iteration, report.config.iterations);
    assert.deepEqual(report.eval.steps, [20, 50], 'nca eval ran on the finished model');
    assert.equal(typeof report.eval.score, 'number');
  }
  await w2.kill('SIGKILL');
});

test('bad jobs fail at once with one clear line, a failing job after its attempts, while the others run; Ctrl-C checkpoints a job and returns it to the queue', async () => {
  const good = tinyJob({ iterations: 80, 'save-every': 10, 'run-seed': 5 });
  const jobs = [tinyJob({ target: 'bad.png' }), tinyJob({ iterations: 'many' }), good, tinyJob({ 'run-seed': 6 })];
  const { dir, redis } = await setup('bad', jobs);
  writeFileSync(join(dir, 'bad.png'), 'this is not an image');
  const ids = submit(dir, redis.url, ['--attempts', '2']);
  // the last job cannot make its run directory (a file is in the way): an I/O failure, retried
  mkdirSync(join(dir, 'runs'));
  writeFileSync(join(dir, 'runs', ids[3]), 'in the way');
  const reference = referenceRun(dir, good, 'reference');
  cleanups.push(() => reference.kill('SIGKILL'));

  const w = startWorker(dir, redis.url, 'w', ['--no-eval']);
  const log = join(dir, 'runs', ids[2], 'log.jsonl');
  await waitFor('the good job to pass iteration 25', () => iterationsIn(log) >= 25 || !w.alive, 240_000, 50, () => w.stderr);
  w.child.kill('SIGINT');
  assert.equal(await w.exited, 130, w.stderr);
  assert.match(w.stderr, new RegExp(`job ${ids[2]}: checkpointed at iteration \\d+, back in the queue`));

  const st = status(redis.url, dir);
  const [bad, many, waiting] = ids.map((id) => st.jobs.find((j) => j.id === id)!);
  for (const job of [bad, many]) {
    assert.equal(job.state, 'failed');
    assert.equal(job.attempts, 1, 'a bad job is not retried');
    assert.ok(job.failedReason && !job.failedReason.includes('\n') && !job.failedReason.includes('nca-farm-'), job.failedReason ?? '');
  }
  assert.match(bad.failedReason!, /^nca train: .*bad\.png/);
  assert.match(many.failedReason!, /^nca train: --iterations must be a whole number/);
  assert.equal(waiting.state, 'waiting');
  assert.ok(waiting.iteration >= 25, `its progress stays (${waiting.iteration})`);
  const saved = await checkpointIteration(join(dir, 'runs', ids[2], 'checkpoint.bin'));
  assert.ok(saved !== null && saved >= 25 && saved < 80, `Ctrl-C wrote a checkpoint at the current iteration (${saved})`);

  const again = startWorker(dir, redis.url, 'again', ['--no-eval']);
  const failedTwice = new RegExp(`job ${ids[3]}: failed \\(attempt 2 of 2\\)`);
  await waitFor('the job to finish', () => (doneCount(again) === 1 && failedTwice.test(w.stderr + again.stderr)) || !again.alive, 240_000, 250);
  assert.match(w.stderr + again.stderr, new RegExp(`job ${ids[3]}: failed \\(attempt 1 of 2, will retry\\)`));
  const io = status(redis.url, dir).jobs.find((j) => j.id === ids[3])!;
  assert.equal(io.state, 'failed');
  assert.equal(io.attempts, 2, 'retried once, then failed');
  assert.ok(io.failedReason && !io.failedReason.includes('\n') && /^nca train: /.test(io.failedReason), io.failedReason ?? '');
  assert.match(again.stderr, new RegExp(`job ${ids[2]}: resuming at iteration ${saved} of 80`));
  assert.equal(await reference.exited, 0, reference.stderr);
  assert.ok(readFileSync(join(dir, 'runs', ids[2], 'model.nca')).equals(readFileSync(join(dir, 'reference', 'model.nca'))));
  await again.kill('SIGKILL');
});

test('a worker keeps training through a Redis restart and takes new jobs after it; status says Redis is unreachable (exit 69)', async () => {
  const long = tinyJob({ iterations: 200, 'save-every': 10, 'run-seed': 7 });
  const { dir, redis } = await setup('restart', [long]);
  const [id] = submit(dir, redis.url);
  const reference = referenceRun(dir, long, 'reference');
  cleanups.push(() => reference.kill('SIGKILL'));
  const w = startWorker(dir, redis.url, 'w', ['--no-eval']);
  const log = join(dir, 'runs', id, 'log.jsonl');
  await waitFor('the job to start training', () => iterationsIn(log) >= 10 || !w.alive, 240_000, 50);

  await redis.stop();
  const before = iterationsIn(log);
  const down = nca(['farm', 'status', '--redis', redis.url], dir);
  assert.equal(down.code, 69);
  assert.match(down.stderr, new RegExp(`Redis is unreachable at ${redis.url}`));
  await new Promise((resolve) => setTimeout(resolve, 3000)); // longer than the 2 s lock
  const during = iterationsIn(log);
  assert.ok(during > before, `training went on without Redis (iteration ${before} -> ${during})\n${w.stderr}`);
  await redis.restart(0);

  await waitFor('the job to finish', () => doneCount(w) === 1 || !w.alive, 240_000, 250);
  assert.ok(w.alive, w.stderr);
  assert.match(w.stderr, /is unreachable/);
  assert.match(w.stderr, /connected again/);
  writeFileSync(join(dir, 'jobs.jsonl'), JSON.stringify(tinyJob({ 'run-seed': 8 })) + '\n');
  const [next] = submit(dir, redis.url);
  await waitFor('the worker to take a new job', () => doneCount(w) === 2 || !w.alive, 240_000, 250);
  const st = status(redis.url, dir);
  assert.deepEqual(
    st.jobs.map((j) => [j.id, j.state]),
    [
      [id, 'completed'],
      [next, 'completed'],
    ],
  );
  assert.equal(await reference.exited, 0, reference.stderr);
  assert.ok(readFileSync(join(dir, 'runs', id, 'model.nca')).equals(readFileSync(join(dir, 'reference', 'model.nca'))));
  await w.kill('SIGKILL');
});
