/** `nca farm status`: every job with its state, iteration, loss and ETA. */
import type { Queue } from 'bullmq';
import { formatDuration } from '../progress.ts';
import type { FarmJobData } from './jobs.ts';
import type { FarmProgress } from './progress.ts';
import type { FarmResult } from './worker.ts';

const STATES = ['active', 'waiting', 'prioritized', 'delayed', 'waiting-children', 'completed', 'failed'] as const;

export interface JobStatus {
  id: string;
  state: string;
  /** What the worker is doing: starting, waiting (for a run directory), training, eval, stopping. */
  phase: string | null;
  iteration: number;
  iterations: number;
  loss: number | null;
  /** Seconds left now (the worker's estimate, less the time since it reported). */
  eta: number | null;
  /** Iterations per second. */
  rate: number | null;
  worker: string | null;
  /** Seconds since the worker last reported (active jobs). */
  quietFor: number | null;
  attempts: number;
  /** Times a worker died or lost the job (BullMQ's stalled counter). */
  stalls: number;
  failedReason: string | null;
  /** Seconds from submission to completion. */
  seconds: number | null;
  /** Where the job came from: "jobs.jsonl:3". */
  source: string;
  evalScore: number | null;
}

export interface FarmStatus {
  redis: string;
  queue: string;
  counts: Record<string, number>;
  jobs: JobStatus[];
}

export async function collectStatus(queue: Queue, redis: string): Promise<FarmStatus> {
  const now = Date.now();
  const jobs: (JobStatus & { order: [number, number] })[] = [];
  const counts: Record<string, number> = {};
  for (const state of STATES) {
    const list = await queue.getJobs([state], 0, -1, true);
    counts[state] = list.length;
    for (const job of list) {
      if (!job?.id) continue;
      const data = job.data as FarmJobData;
      const p = (typeof job.progress === 'object' && job.progress !== null ? job.progress : {}) as Partial<FarmProgress>;
      const result = job.returnvalue as FarmResult | null | undefined;
      const done = state === 'completed';
      const iterations = data?.iterations ?? p.iterations ?? 0;
      const iteration = done ? (result?.summary?.iteration ?? iterations) : (p.iteration ?? 0);
      const age = p.updatedAt ? Math.max(0, (now - p.updatedAt) / 1000) : null;
      const eta = state === 'active' && p.eta != null ? Math.max(0, p.eta - (age ?? 0)) : null;
      const score = (result?.eval as { score?: unknown } | null | undefined)?.score;
      jobs.push({
        id: job.id,
        state,
        phase: state === 'active' ? (p.phase ?? null) : null,
        iteration,
        iterations,
        loss: done ? (result?.summary?.loss ?? null) : (p.loss ?? null),
        eta,
        rate: state === 'active' ? (p.rate ?? null) : null,
        worker: done ? (result?.summary?.worker ?? null) : (p.worker ?? null),
        quietFor: state === 'active' && age !== null ? Math.round(age) : null,
        attempts: job.attemptsMade,
        stalls: job.stalledCounter ?? 0,
        failedReason: state === 'failed' ? (job.failedReason ?? null) : null,
        seconds: job.finishedOn ? (job.finishedOn - job.timestamp) / 1000 : null,
        source: data ? `${data.source}:${data.line}` : '',
        evalScore: typeof score === 'number' ? score : null,
        order: [job.timestamp, data?.index ?? 0],
      });
    }
  }
  jobs.sort((a, b) => a.order[0] - b.order[0] || a.order[1] - b.order[1]);
  return { redis, queue: queue.name, counts, jobs: jobs.map(({ order: _, ...job }) => job) };
}

function bar(fraction: number, width: number): string {
  const filled = Math.max(0, Math.min(width, Math.round(fraction * width)));
  return `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}]`;
}

/** The status as a table; `bars` (a terminal) adds a progress bar to each row. */
export function formatStatus(status: FarmStatus, bars: boolean, width = 100): string {
  const c = status.counts;
  const summary = ['active', 'waiting', 'prioritized', 'delayed', 'completed', 'failed']
    .filter((k) => (c[k] ?? 0) > 0 || k === 'active' || k === 'waiting' || k === 'completed' || k === 'failed')
    .map((k) => `${c[k] ?? 0} ${k}`)
    .join(', ');
  const lines = [`queue ${status.queue} at ${status.redis}: ${summary}`];
  if (status.jobs.length === 0) {
    lines.push('no jobs (nca farm submit adds some)');
    return lines.join('\n');
  }
  const idWidth = Math.max(2, ...status.jobs.map((j) => j.id.length));
  const barWidth = bars ? Math.max(10, Math.min(30, width - idWidth - 70)) : 0;
  const header = ['id'.padEnd(idWidth), 'state    ', ...(bars ? [''.padEnd(barWidth + 2)] : []), 'iteration  ', 'loss     ', 'ETA     ', 'worker / note'];
  lines.push(header.join('  ').trimEnd());
  for (const j of status.jobs) {
    const fraction = j.iterations > 0 ? j.iteration / j.iterations : 0;
    const state = j.state === 'active' && j.phase && j.phase !== 'training' ? j.phase : j.state;
    const iteration = `${j.iteration}/${j.iterations}`;
    const loss = j.loss === null ? '-' : j.loss.toFixed(4);
    const eta = j.state === 'active' ? (j.phase === 'eval' ? '-' : j.eta === null ? '?' : formatDuration(j.eta)) : j.state === 'completed' && j.seconds !== null ? `in ${formatDuration(j.seconds)}` : '-';
    let note = j.worker ?? '';
    if (j.state === 'failed') note = j.failedReason ?? 'failed';
    else if (j.state === 'active' && j.quietFor !== null && j.quietFor > 60) note += ` (no news for ${formatDuration(j.quietFor)})`;
    else if (j.state === 'completed' && j.evalScore !== null) note += `  eval ${j.evalScore.toFixed(2)} dB`;
    if (j.stalls > 0 && j.state !== 'failed') note += `  (resumed after ${j.stalls} stall${j.stalls > 1 ? 's' : ''})`;
    const row = [j.id.padEnd(idWidth), state.padEnd(9), ...(bars ? [bar(fraction, barWidth)] : []), iteration.padEnd(11), loss.padEnd(9), eta.padEnd(8), note];
    lines.push(row.join('  ').trimEnd());
  }
  return lines.join('\n');
}
