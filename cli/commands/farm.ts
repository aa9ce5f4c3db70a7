/** `nca farm submit|worker|status|results`: many training runs across machines, on BullMQ and Redis. */
import { availableParallelism } from 'node:os';
import { resolve } from 'node:path';
import { Queue } from 'bullmq';
import { readInput } from '../args.ts';
import type { Command } from '../command.ts';
import { parseFlagsWithConfig } from '../config.ts';
import { CliError, EXIT } from '../exit-codes.ts';
import { intValue, stringValue } from '../values.ts';
import { readJobs, trainKeys } from '../farm/jobs.ts';
import { checkUrl, DEFAULT_QUEUE, displayUrl, withRedis } from '../farm/redis.ts';
import { collectResults } from '../farm/results.ts';
import { collectStatus, formatStatus } from '../farm/status.ts';
import { FarmWorker } from '../farm/worker.ts';

const help = `Usage: nca farm submit --redis URL JOBS.jsonl [--repeat N] [--attempts N]
       nca farm worker --redis URL --runs DIR [--concurrency N] [--device D]
       nca farm status --redis URL [--json]
       nca farm results --redis URL --out DIR [--json]

Trains many models on many machines from one queue (BullMQ on a Redis server).
Each line of JOBS.jsonl is one job: a JSON object with the keys of
\`nca train --config\` (long flag names; "args" for a prompt), e.g.
  {"target": "logo.png", "iterations": 2000}
  {"texture": "bark.jpg", "run-seed": 3}
  {"args": ["a glowing coral reef"], "size": "64x64"}
Images named by target, texture and image-prompt travel inside the job, so
workers need none of the submitter's files. Workers train job ID into DIR/ID/,
a run directory like \`nca train --out\` makes, in a DIR every worker can reach
(NFS, SMB, a mounted bucket). A job left by a dead worker is resumed from its
last checkpoint by another; the result is bit-identical to one uninterrupted run.
See docs/farm.md.

submit   prints the job ids, one a line
  --repeat N             each line N times with run seeds s, s+1, ... (s: the
                         line's run-seed, else 0): a seed sweep (default 1)
  --attempts N           tries before a job that keeps failing is marked failed
                         (default 3; a bad job, e.g. an unreadable image, fails at once)
worker   takes jobs until Ctrl-C (which checkpoints its jobs and puts them back)
  --runs DIR             the shared runs directory
  --concurrency N        jobs at a time (default 1)
  --threads N            CPU threads of each job that does not set "threads"
                         (default: the cores / concurrency); a job keeps the
                         count its first worker gave it, so resumes are exact
  --device D             cpu, cuda, dml, coreml (default: the job's, else cpu)
  --no-eval              do not run \`nca eval\` on finished models
  --eval-steps A,B,..    \`nca eval --steps\` for finished models (default eval's)
  --lock-seconds N       BullMQ lock: a dead worker's job is given to another
                         after about 2-3 times this (default 30)
  --name NAME            the worker's name in status (default HOST-PID)
status   every job: state, iteration, loss, ETA, worker (bars on a terminal)
  --json                 the same as JSON
results  writes DIR/ID.nca (from Redis) and DIR/ID.json (job, training summary
         and \`nca eval\` report) for each finished job, and lists failed ones
  --out DIR              where to write them
  --json                 the list as JSON

Common:
  --redis URL            redis://[user:password@]host:port[/db] (rediss:// for TLS)
  --queue NAME           queue name (default ${DEFAULT_QUEUE})
  --config FILE          JSON file with any of these flags

Exit codes: 69 when Redis is unreachable (the message has the URL); 65 for a bad
JOBS file; 130 for a worker stopped by Ctrl-C.

Examples:
  nca farm submit --redis redis://farm:6379 jobs.jsonl --repeat 4
  nca farm worker --redis redis://farm:6379 --runs /mnt/farm/runs --concurrency 2
  nca farm status --redis redis://farm:6379
  nca farm results --redis redis://farm:6379 --out models/`;

const common = {
  redis: { type: 'string' },
  queue: { type: 'string' },
  json: { type: 'boolean' },
} as const;

const submitOptions = { ...common, repeat: { type: 'string' }, attempts: { type: 'string' } } as const;
const workerOptions = {
  ...common,
  runs: { type: 'string' },
  concurrency: { type: 'string' },
  threads: { type: 'string' },
  device: { type: 'string' },
  'no-eval': { type: 'boolean' },
  'eval-steps': { type: 'string' },
  'lock-seconds': { type: 'string' },
  name: { type: 'string' },
} as const;
const statusOptions = { ...common } as const;
const resultsOptions = { ...common, out: { type: 'string' } } as const;

type Values = Record<string, unknown>;

function queueName(values: Values): string {
  const name = stringValue(values, 'queue') ?? DEFAULT_QUEUE;
  if (!/^[\w.-]{1,100}$/.test(name)) throw new CliError(`--queue must be letters, digits, ".", "_" or "-", not "${name}" (see --help)`, EXIT.usage);
  return name;
}

function noPositionals(positionals: string[], sub: string): void {
  if (positionals.length > 0) throw new CliError(`nca farm ${sub} takes no argument "${positionals[0]}" (see --help)`, EXIT.usage);
}

async function submit(argv: string[]): Promise<number> {
  const { values, positionals } = await parseFlagsWithConfig(argv, submitOptions);
  const url = checkUrl(stringValue(values, 'redis'));
  const queue = queueName(values);
  if (positionals.length !== 1) throw new CliError('give one JOBS.jsonl file (see --help)', EXIT.usage);
  const path = positionals[0];
  const repeat = intValue(values, 'repeat', 1, 1, 100_000);
  const attempts = intValue(values, 'attempts', 3, 1, 100);
  const text = new TextDecoder().decode(await readInput(path));
  const jobs = await readJobs(path, text, repeat, await trainKeys());
  if (jobs.length === 0) throw new CliError(`${path}: no jobs in it (one JSON object a line)`, EXIT.badInput);
  await withRedis(url, async (client) => {
    const q = new Queue(queue, { connection: client });
    try {
      await q.addBulk(
        jobs.map((job) => ({
          name: 'train',
          data: job.data,
          opts: { jobId: job.id, attempts, backoff: { type: 'fixed', delay: 5000 }, removeOnComplete: false, removeOnFail: false },
        })),
      );
    } finally {
      await q.close();
    }
  });
  if (values.json) console.log(JSON.stringify({ queue, redis: displayUrl(url), jobs: jobs.map((j) => ({ id: j.id, source: `${j.data.source}:${j.data.line}` })) }));
  else for (const job of jobs) console.log(job.id);
  console.error(`submitted ${jobs.length} job${jobs.length > 1 ? 's' : ''} to queue ${queue} at ${displayUrl(url)}`);
  return EXIT.ok;
}

async function worker(argv: string[]): Promise<number> {
  const { values, positionals } = await parseFlagsWithConfig(argv, workerOptions);
  noPositionals(positionals, 'worker');
  const url = checkUrl(stringValue(values, 'redis'));
  const runs = stringValue(values, 'runs');
  if (!runs) throw new CliError('give --runs DIR, the runs directory every worker shares (see --help)', EXIT.usage);
  const concurrency = intValue(values, 'concurrency', 1, 1, 256);
  const threads = intValue(values, 'threads', Math.max(1, Math.floor(availableParallelism() / concurrency)), 1, 256);
  const device = stringValue(values, 'device');
  if (device !== undefined) {
    const { checkDevice } = await import('../../trainer/engine/session.ts');
    try {
      checkDevice(device);
    } catch (error) {
      throw new CliError((error as Error).message, EXIT.unavailable);
    }
  }
  const lockSeconds = intValue(values, 'lock-seconds', 30, 1, 3600);
  const evalSteps = stringValue(values, 'eval-steps');
  if (evalSteps !== undefined && !/^\d+(,\d+)*$/.test(evalSteps)) throw new CliError(`--eval-steps must be step counts like 100,1000, not "${evalSteps}" (see --help)`, EXIT.usage);
  const stamp = () => new Date().toTimeString().slice(0, 8);
  return new FarmWorker({
    url,
    queue: queueName(values),
    runs: resolve(runs),
    concurrency,
    threads,
    device,
    name: stringValue(values, 'name') ?? FarmWorker.defaultName(),
    lockMs: lockSeconds * 1000,
    eval: values['no-eval'] !== true,
    evalSteps,
    log: (line) => console.error(`[${stamp()}] ${line}`),
  }).run();
}

async function status(argv: string[]): Promise<number> {
  const { values, positionals } = await parseFlagsWithConfig(argv, statusOptions);
  noPositionals(positionals, 'status');
  const url = checkUrl(stringValue(values, 'redis'));
  const queue = queueName(values);
  const st = await withRedis(url, async (client) => {
    const q = new Queue(queue, { connection: client });
    try {
      return await collectStatus(q, displayUrl(url));
    } finally {
      await q.close();
    }
  });
  if (values.json) console.log(JSON.stringify(st));
  else console.log(formatStatus(st, Boolean(process.stdout.isTTY), process.stdout.columns || 100));
  return EXIT.ok;
}

async function results(argv: string[]): Promise<number> {
  const { values, positionals } = await parseFlagsWithConfig(argv, resultsOptions);
  noPositionals(positionals, 'results');
  const url = checkUrl(stringValue(values, 'redis'));
  const out = stringValue(values, 'out');
  if (!out) throw new CliError('give --out DIR, where the models go (see --help)', EXIT.usage);
  const queue = queueName(values);
  const collected = await withRedis(url, async (client) => {
    const q = new Queue(queue, { connection: client });
    try {
      return await collectResults(q, client, out);
    } finally {
      await q.close();
    }
  });
  if (values.json) {
    console.log(JSON.stringify(collected));
  } else {
    for (const job of collected.written) {
      if (job.model) console.log(`${job.model} (${job.bytes} bytes)  ${job.report}${job.evalScore !== null ? `  eval score ${job.evalScore.toFixed(2)} dB` : ''}`);
      else console.log(`${job.id}: ${job.problem}  ${job.report}`);
    }
    for (const job of collected.failed) console.error(`job ${job.id} failed: ${job.reason}`);
  }
  const models = collected.written.filter((j) => j.model).length;
  console.error(`${models} model${models === 1 ? '' : 's'} in ${out}; ${collected.failed.length} failed; ${collected.pending} still queued or training`);
  return EXIT.ok;
}

const subcommands: Record<string, (argv: string[]) => Promise<number>> = { submit, worker, status, results };

export const farm: Command = {
  name: 'farm',
  summary: 'train many models across machines from one queue (BullMQ, Redis): submit, worker, status, results',
  help,
  async run(argv) {
    const [sub, ...rest] = argv;
    if (!sub || !Object.hasOwn(subcommands, sub)) {
      throw new CliError(`${sub ? `unknown farm command "${sub}"` : 'give a farm command'}: submit, worker, status or results (see --help)`, EXIT.usage);
    }
    return subcommands[sub](rest);
  },
};
