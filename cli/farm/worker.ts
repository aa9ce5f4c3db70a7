/**
 * `nca farm worker`: a BullMQ worker that trains each job with a child `nca train`
 * into RUNS/<job id>/, the same run directory `nca train --out` makes.
 *
 * - A job whose directory has a checkpoint is resumed with `nca train --resume`, so a
 *   job that another worker left (killed, stalled, Ctrl-C) continues exactly where its
 *   last checkpoint is, with the thread count its first worker fixed in the job.
 * - The child runs `nca` itself (bin/nca.mjs) and dies with its worker, even on SIGKILL.
 * - Ctrl-C: each child checkpoints (it gets one SIGINT) and its job goes back to the
 *   queue; a second Ctrl-C quits at once.
 * - Redis away: the children go on training; BullMQ's connections reconnect; a job that
 *   finished meanwhile is reported when Redis is back. A job whose lock expired while
 *   Redis was away is checkpointed and left to the queue (another worker, or this one,
 *   resumes it); the run directory's lease (lease.ts) keeps two trainers out of one directory.
 * - Failures: a bad job (exit 64/65/66/69: a bad image, a bad value) fails at once with
 *   the child's one-line error; anything else is retried up to the job's attempts.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { UnrecoverableError, WaitingError, Worker, type Job } from 'bullmq';
import type { Redis } from 'ioredis';
import { CHECKPOINT_FILE, MODEL_FILE } from '../../trainer/train/checkpoint.ts';
import { EXIT } from '../exit-codes.ts';
import { configWithFiles, type FarmFile, type FarmJobData } from './jobs.ts';
import { Lease } from './lease.ts';
import { checkpointIteration, LogFollower, type FarmProgress } from './progress.ts';
import { connectForever, displayUrl, isConnectionError, modelKey } from './redis.ts';

/** bin/nca.mjs: beside cli/ in a checkout, beside dist/ in the npm package (dist/lib/cli/farm/worker.js). */
const BIN = ['../../bin/nca.mjs', '../../../../bin/nca.mjs'].map((p) => fileURLToPath(new URL(p, import.meta.url))).find((p) => existsSync(p)) ?? 'nca';

/**
 * The child: `nca` itself (bin/nca.mjs), which also ends when its worker dies. The worker
 * holds an IPC channel to it; when that closes (the worker was killed, even with SIGKILL)
 * the child exits at once, so a dead worker leaves nothing training in the shared run
 * directory. Its last checkpoint stays intact (written to a temporary name, then renamed).
 * argv: [node, BIN, ...args], so bin/nca.mjs sees its usual process.argv.slice(2).
 */
const CHILD_CODE = `
import { pathToFileURL } from 'node:url';
if (process.channel) {
  process.channel.unref();
  process.on('disconnect', () => process.exit(137));
}
await import(pathToFileURL(process.argv[1]).href);
`;

export interface WorkerSettings {
  url: string;
  queue: string;
  /** The shared runs directory (absolute). */
  runs: string;
  concurrency: number;
  device?: string;
  /** CPU threads of a job that does not set its own. */
  threads: number;
  name: string;
  /** BullMQ lock duration: a dead worker's job is taken back after about this long (and the stall check runs this often). */
  lockMs: number;
  /** Run `nca eval` on finished models of jobs with a target (or a texture: `nca eval --texture`). */
  eval: boolean;
  /** `nca eval --steps` (default: eval's own). */
  evalSteps?: string;
  log: (line: string) => void;
}

/** What a finished job returns (BullMQ return value); the .nca itself is under modelKey(). */
export interface FarmResult {
  summary: {
    iteration: number;
    iterations: number;
    loss: number | null;
    /** Wall-clock seconds of the last attempt's training (the job's whole time: finishedOn - timestamp). */
    seconds: number;
    worker: string;
    threads: number;
    resumedAt: number;
    bytes: number;
    sha256: string;
  };
  /** `nca eval --json` of the model against the job's target, or null. */
  eval: unknown;
  evalError?: string;
}

type StopReason = 'interrupt' | 'lock-lost' | 'lease-lost';

interface Running {
  id: string;
  stop: StopReason | null;
  child: ChildProcess | null;
  iteration: number;
  resumedAt: number;
  threads: number;
}

interface ChildResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Exit codes of `nca train` that no retry can fix: the job itself is wrong. */
const BAD_JOB = new Set<number>([EXIT.usage, EXIT.badInput, EXIT.noInput, EXIT.unavailable]);

const MAX_STALLED = 5;
const KEEP_OUTPUT = 64 * 1024;

/** The last line of a child's output, less `nca`'s "(set NCA_DEBUG=1 for a stack trace)" hint. */
function lastLine(text: string): string {
  const lines = text.split('\n').map((l) => l.trim()).filter((l) => l !== '' && !/^\(set NCA_DEBUG=1/.test(l));
  return lines[lines.length - 1] ?? '';
}

/** A child's message names the job's files by their names, not by the worker's temporary copies ("TMP/0/logo.png" -> "logo.png"). */
function withoutTmp(line: string, tmp: string): string {
  return line.replace(new RegExp(`${tmp.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}/(\\d+/)?`, 'g'), '');
}

function timeout<T>(promise: Promise<T>, ms: number): Promise<T | 'timeout'> {
  let timer: NodeJS.Timeout;
  return Promise.race([promise, new Promise<'timeout'>((resolve) => (timer = setTimeout(() => resolve('timeout'), ms)))]).finally(() => clearTimeout(timer));
}

export class FarmWorker {
  private readonly running = new Map<string, Running>();
  private worker!: Worker;
  private store!: Redis;
  private stopping = false;
  private redisDown = false;
  /** The lease owner: the worker's name plus a nonce, so a restarted worker with the same name and pid is another owner. */
  private readonly owner: string;
  private readonly tickMs: number;

  constructor(private readonly s: WorkerSettings) {
    this.owner = `${s.name}#${randomBytes(3).toString('hex')}`;
    this.tickMs = Math.max(250, Math.min(2000, s.lockMs / 6));
  }

  static defaultName(): string {
    return `${hostname()}-${process.pid}`;
  }

  /** Takes jobs until Ctrl-C / SIGTERM; returns the exit code. */
  async run(): Promise<number> {
    const s = this.s;
    const connection = connectForever(s.url);
    connection.on('error', (error) => this.redisError(error));
    connection.on('ready', () => this.redisBack());
    this.store = connectForever(s.url);
    this.store.on('error', () => {});
    this.worker = new Worker(s.queue, (job, token) => this.process(job as Job<FarmJobData>, token ?? ''), {
      connection,
      concurrency: s.concurrency,
      lockDuration: s.lockMs,
      stalledInterval: s.lockMs,
      maxStalledCount: MAX_STALLED,
      name: s.name,
      autorun: false,
    });
    this.worker.on('error', (error) => this.redisError(error));
    this.worker.on('lockRenewalFailed', (ids) => this.lockLost(ids));
    this.worker.on('completed', (job, result) => this.completed(job.id!, result as FarmResult));
    this.worker.on('stalled', (id) => s.log(`job ${id}: its worker stopped answering; back in the queue`));

    await mkdir(join(s.runs, '.farm'), { recursive: true });
    s.log(
      `worker ${s.name}: queue ${s.queue} at ${displayUrl(s.url)}, runs in ${s.runs}, ` +
        `${s.concurrency} job${s.concurrency > 1 ? 's' : ''} at a time, ${s.threads} thread${s.threads > 1 ? 's' : ''} each${s.device ? `, device ${s.device}` : ''}`,
    );
    let interrupted = false;
    const onSignal = (signal: NodeJS.Signals) => {
      if (this.stopping) {
        s.log('quitting at once; the jobs go back to the queue when their locks expire');
        process.exit(EXIT.interrupted);
      }
      this.stopping = true;
      interrupted = true;
      const n = this.running.size;
      s.log(
        `${signal === 'SIGINT' ? 'Ctrl-C' : signal}: ` +
          (n > 0 ? `checkpointing ${n} job${n > 1 ? 's' : ''} and returning ${n > 1 ? 'them' : 'it'} to the queue` : 'no job running') +
          ` (${signal === 'SIGINT' ? 'Ctrl-C' : signal} again to quit at once)`,
      );
      for (const r of this.running.values()) this.stop(r, 'interrupt');
      void this.worker.close();
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
    try {
      await this.worker.run();
    } finally {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
      await this.worker.close();
      this.store.disconnect();
      connection.disconnect();
    }
    return interrupted ? EXIT.interrupted : EXIT.ok;
  }

  private redisError(error: Error): void {
    if (isConnectionError(error)) {
      if (!this.redisDown) {
        this.redisDown = true;
        const code = (error as NodeJS.ErrnoException).code ?? error.message;
        this.s.log(`Redis at ${displayUrl(this.s.url)} is unreachable (${code}); ${this.running.size > 0 ? 'training goes on, ' : ''}reconnecting`);
      }
      return;
    }
    if (/could not renew lock/.test(error.message)) return; // lockLost() tells
    this.s.log(`worker: ${error.message}`);
  }

  private redisBack(): void {
    if (!this.redisDown) return;
    this.redisDown = false;
    this.s.log(`Redis at ${displayUrl(this.s.url)}: connected again`);
  }

  private lockLost(ids: string[]): void {
    for (const id of ids) {
      const r = this.running.get(id);
      if (!r || r.stop) continue;
      this.s.log(`job ${id}: its Redis lock expired (Redis was away longer than the lock lasts); checkpointing and leaving it to the queue`);
      this.stop(r, 'lock-lost');
    }
  }

  private stop(r: Running, reason: StopReason): void {
    if (r.stop) return;
    r.stop = reason;
    if (r.child && r.child.exitCode === null && r.child.signalCode === null) r.child.kill(reason === 'lease-lost' ? 'SIGKILL' : 'SIGINT');
  }

  private report(job: Job<FarmJobData>, r: Running, progress: Omit<FarmProgress, 'worker' | 'updatedAt' | 'iterations'>): void {
    // one update in flight at a time: while Redis is away it waits, and later ones replace it
    const p: FarmProgress = { ...progress, iterations: job.data.iterations, worker: this.s.name, updatedAt: Date.now() };
    const state = r as Running & { sending?: boolean; next?: FarmProgress };
    if (state.sending) {
      state.next = p;
      return;
    }
    state.sending = true;
    const send = (value: FarmProgress): void => {
      job.updateProgress(value as unknown as object).catch(() => {}).finally(() => {
        const next = state.next;
        state.next = undefined;
        if (next && this.running.get(r.id) === r) send(next);
        else state.sending = false;
      });
    };
    send(p);
  }

  private async process(job: Job<FarmJobData>, token: string): Promise<FarmResult> {
    const id = job.id!;
    const r: Running = { id, stop: this.stopping ? 'interrupt' : null, child: null, iteration: 0, resumedAt: 0, threads: this.s.threads };
    this.running.set(id, r);
    const tmp = await mkdtemp(join(tmpdir(), 'nca-farm-'));
    try {
      const lease = new Lease(join(this.s.runs, '.farm', `${id}.lease`), { owner: this.owner, staleMs: this.s.lockMs });
      let result: ChildResult | null = null;
      let started = 0;
      if (!r.stop) {
        const got = await lease.acquire(
          (owner) => {
            this.s.log(`job ${id}: waiting for ${owner} to leave its run directory`);
            this.report(job, r, { phase: 'waiting', iteration: 0, loss: null, rate: null, eta: null, resumedAt: 0 });
          },
          () => r.stop !== null,
        );
        if (got) {
          try {
            started = performance.now();
            result = await this.train(job, r, lease, tmp);
          } finally {
            await lease.release();
          }
        }
      }
      if (r.stop) return await this.leave(job, token, r);
      const res = result!;
      if (res.code === 0) return await this.finish(job, token, r, res, tmp, (performance.now() - started) / 1000);
      const line =
        withoutTmp(lastLine(res.stderr), tmp) ||
        (res.signal ? `nca train was killed (${res.signal})` : `nca train exited with code ${res.code}`);
      if (res.code !== null && BAD_JOB.has(res.code)) {
        this.s.log(`job ${id}: failed: ${line}`);
        throw new UnrecoverableError(line);
      }
      const attempts = job.opts.attempts ?? 1;
      const made = job.attemptsMade + 1;
      this.s.log(`job ${id}: failed (attempt ${made} of ${attempts}${made < attempts ? ', will retry' : ''}): ${line}`);
      throw new Error(line);
    } finally {
      this.running.delete(id);
      await rm(tmp, { recursive: true, force: true });
    }
  }

  /** Waits (a little) until the last progress report has reached Redis. */
  private async flushReports(r: Running, ms: number): Promise<void> {
    const until = performance.now() + ms;
    while ((r as Running & { sending?: boolean }).sending && performance.now() < until) await new Promise((resolve) => setTimeout(resolve, 20));
  }

  /** After a stop: back to the queue (Ctrl-C), or left to the stall check (lock or lease lost). */
  private async leave(job: Job<FarmJobData>, token: string, r: Running): Promise<never> {
    if (r.stop === 'interrupt') {
      await this.flushReports(r, 2000);
      const moved = await timeout(
        job.moveToWait(token).then(
          () => true,
          () => false,
        ),
        5000,
      );
      this.s.log(
        moved === true
          ? `job ${r.id}: checkpointed at iteration ${r.iteration}, back in the queue`
          : `job ${r.id}: checkpointed at iteration ${r.iteration}; Redis did not take it back now, so it goes back to the queue when its lock expires`,
      );
    } else if (r.stop === 'lease-lost') {
      this.s.log(`job ${r.id}: another worker took over its run directory; stopped here`);
    }
    throw new WaitingError();
  }

  /** Writes the embedded files, then runs `nca train` (fresh, or --resume) until it exits. */
  private async train(job: Job<FarmJobData>, r: Running, lease: Lease, tmp: string): Promise<ChildResult> {
    const id = job.id!;
    const data = job.data;
    const dir = join(this.s.runs, id);
    const own = Number(data.config.threads);
    const threads = data.threads ?? (Number.isInteger(own) && own > 0 ? own : this.s.threads);
    if (data.threads === undefined) await job.updateData({ ...data, threads });
    r.threads = threads;
    const checkpoint = join(dir, CHECKPOINT_FILE);
    const resumedAt = existsSync(checkpoint) ? await checkpointIteration(checkpoint) : null;
    let args: string[];
    if (resumedAt !== null) {
      args = ['train', '--resume', dir];
      this.s.log(`job ${id}: resuming at iteration ${resumedAt} of ${data.iterations} (${threads} thread${threads > 1 ? 's' : ''})`);
    } else {
      const config = configWithFiles(data, (f) => this.filePath(tmp, data, f));
      await this.writeFiles(tmp, data);
      const configPath = join(tmp, `${id}.json`);
      await writeFile(configPath, JSON.stringify(config));
      args = ['train', '--config', configPath, '--out', dir];
      this.s.log(`job ${id}: training from the start, ${data.iterations} iterations (${threads} thread${threads > 1 ? 's' : ''})`);
    }
    args.push('--threads', String(threads), '--json', '--quiet');
    // the worker's --device wins; else the job's own, also on resume (a checkpoint does not hold it)
    const device = this.s.device ?? (typeof data.config.device === 'string' ? data.config.device : undefined);
    if (device) args.push('--device', device);
    r.iteration = r.resumedAt = resumedAt ?? 0;
    const base = { resumedAt: r.resumedAt };
    this.report(job, r, { phase: 'starting', iteration: r.iteration, loss: null, rate: null, eta: null, ...base });

    const log = new LogFollower(join(dir, 'log.jsonl'));
    if (resumedAt !== null) await log.init();
    let leaseTrouble = false;
    const tick = async () => {
      try {
        if (!(await lease.beat())) this.stop(r, 'lease-lost');
      } catch (error) {
        if (!leaseTrouble) this.s.log(`job ${id}: cannot refresh its lease in ${this.s.runs} (${(error as Error).message})`);
        leaseTrouble = true;
      }
      if (await log.poll()) {
        r.iteration = log.iteration;
        this.report(job, r, { phase: r.stop ? 'stopping' : 'training', iteration: log.iteration, loss: log.loss, rate: log.rate(), eta: log.eta(data.iterations), ...base });
      }
    };
    const result = await this.spawnChild(r, args, async () => {
      let busy = false;
      const timer = setInterval(() => {
        if (busy) return;
        busy = true;
        void tick().finally(() => (busy = false));
      }, this.tickMs);
      return () => clearInterval(timer);
    });
    await log.poll();
    r.iteration = Math.max(r.iteration, log.iteration);
    // the last iteration counts for status, also when the job goes back to the queue
    this.report(job, r, { phase: r.stop ? 'stopping' : 'training', iteration: r.iteration, loss: log.loss, rate: null, eta: null, ...base });
    return result;
  }

  private filePath(tmp: string, data: FarmJobData, file: FarmFile): string {
    return join(tmp, String(data.files.indexOf(file)), file.name);
  }

  private async writeFiles(tmp: string, data: FarmJobData): Promise<void> {
    for (const file of data.files) {
      const path = this.filePath(tmp, data, file);
      await mkdir(join(path, '..'), { recursive: true });
      await writeFile(path, Buffer.from(file.data, 'base64'));
    }
  }

  /** Runs `nca ARGS` as a child that dies with this process; `during` starts a monitor and returns its stopper. */
  private async spawnChild(r: Running, args: string[], during?: () => Promise<() => void>): Promise<ChildResult> {
    // detached: a Ctrl-C in the terminal reaches the worker only; the worker sends the child exactly one SIGINT
    const child = spawn(process.execPath, ['--input-type=module', '--eval', CHILD_CODE, BIN, ...args], { stdio: ['ignore', 'pipe', 'pipe', 'ipc'], detached: true });
    r.child = child;
    if (r.stop) child.kill('SIGINT');
    let stdout = '';
    let stderr = '';
    child.stdout!.on('data', (chunk: Buffer) => (stdout = (stdout + chunk.toString('utf8')).slice(-KEEP_OUTPUT)));
    child.stderr!.on('data', (chunk: Buffer) => (stderr = (stderr + chunk.toString('utf8')).slice(-KEEP_OUTPUT)));
    const stopMonitor = during ? await during() : () => {};
    const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((resolve) => {
      child.on('error', (error) => {
        stderr += `\n${error.message}`;
        resolve([null, null]);
      });
      child.on('close', (c, s) => resolve([c, s]));
    });
    stopMonitor();
    r.child = null;
    return { code, signal, stdout, stderr };
  }

  /** Stores the model in Redis, evaluates it if the job has a target, and returns the result. */
  private async finish(job: Job<FarmJobData>, token: string, r: Running, res: ChildResult, tmp: string, seconds: number): Promise<FarmResult> {
    const id = job.id!;
    const data = job.data;
    const dir = join(this.s.runs, id);
    let summary: { iteration?: number; iterations?: number; loss?: number | null } = {};
    try {
      summary = JSON.parse(lastLine(res.stdout));
    } catch {
      // a finished run prints its summary; without it the model still is there
    }
    const model = await readFile(join(dir, MODEL_FILE));
    await this.store.set(modelKey(this.s.queue, id), model);
    const iteration = summary.iteration ?? data.iterations;
    let report: unknown = null;
    let evalError: string | undefined;
    // a target (or a texture: nca eval --texture) to judge the model against
    const target = data.files.find((f) => f.key === 'target') ?? data.files.find((f) => f.key === 'texture');
    if (this.s.eval && target) {
      this.report(job, r, { phase: 'eval', iteration, loss: summary.loss ?? null, rate: null, eta: null, resumedAt: r.resumedAt });
      const path = this.filePath(tmp, data, target);
      await this.writeFiles(tmp, data);
      const args = ['eval', join(dir, MODEL_FILE), `--${target.key}`, path, '--json', '--no-thresholds', '--quiet'];
      if (this.s.evalSteps) args.push('--steps', this.s.evalSteps);
      const ev = await this.spawnChild(r, args);
      if (r.stop) return this.leave(job, token, r);
      if (ev.code === 0) {
        try {
          report = JSON.parse(ev.stdout);
        } catch {
          evalError = 'nca eval printed no JSON report';
        }
      } else {
        const line = withoutTmp(lastLine(ev.stderr), tmp);
        evalError = /unknown command "eval"/.test(ev.stderr) ? 'nca eval is not in this build: the training summary stands alone' : line || `nca eval exited with code ${ev.code}`;
      }
    }
    const result: FarmResult = {
      summary: {
        iteration,
        iterations: summary.iterations ?? data.iterations,
        loss: summary.loss ?? null,
        seconds: Math.round(seconds * 1000) / 1000,
        worker: this.s.name,
        threads: r.threads,
        resumedAt: r.resumedAt,
        bytes: model.length,
        sha256: createHash('sha256').update(model).digest('hex'),
      },
      eval: report,
      ...(evalError ? { evalError } : {}),
    };
    return result;
  }

  /** The line for a job recorded as completed in Redis. */
  private completed(id: string, result: FarmResult): void {
    const { summary } = result;
    const score = (result.eval as { score?: number | null } | null)?.score;
    this.s.log(
      `job ${id}: done, ${summary.iteration} iterations, loss ${summary.loss?.toFixed(4) ?? '?'}, model ${summary.bytes} bytes` +
        (typeof score === 'number' ? `, eval score ${score.toFixed(2)} dB` : result.evalError ? ` (eval: ${result.evalError})` : ''),
    );
  }
}
