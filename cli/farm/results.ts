/**
 * `nca farm results`: each finished job's .nca, from Redis (no shared directory
 * needed), and a JSON file with its job, training summary and eval report.
 */
import { createHash } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import type { FarmJobData } from './jobs.ts';
import { modelKey } from './redis.ts';
import type { FarmResult } from './worker.ts';

export interface CollectedJob {
  id: string;
  model: string | null;
  report: string;
  bytes: number;
  evalScore: number | null;
  problem?: string;
}

export interface Collected {
  out: string;
  written: CollectedJob[];
  failed: { id: string; reason: string }[];
  pending: number;
}

export async function collectResults(queue: Queue, client: Redis, out: string): Promise<Collected> {
  await mkdir(out, { recursive: true });
  const written: CollectedJob[] = [];
  const completed = await queue.getJobs(['completed'], 0, -1, true);
  for (const job of completed) {
    if (!job?.id) continue;
    const data = job.data as FarmJobData;
    const result = (job.returnvalue ?? null) as FarmResult | null;
    const bytes = await client.getBuffer(modelKey(queue.name, job.id));
    let problem: string | undefined;
    let model: string | null = null;
    if (!bytes) {
      problem = 'its model is not in Redis (removed?); it is in the runs directory of the workers';
    } else {
      const sha = createHash('sha256').update(bytes).digest('hex');
      if (result?.summary?.sha256 && sha !== result.summary.sha256) problem = 'the model in Redis does not match its checksum';
      else {
        model = join(out, `${job.id}.nca`);
        await writeFile(model, bytes);
      }
    }
    const report = join(out, `${job.id}.json`);
    const record = {
      id: job.id,
      source: data ? `${data.source}:${data.line}` : null,
      config: data?.config ?? null,
      threads: data?.threads ?? null,
      submittedAt: new Date(job.timestamp).toISOString(),
      finishedAt: job.finishedOn ? new Date(job.finishedOn).toISOString() : null,
      stalls: job.stalledCounter ?? 0,
      summary: result?.summary ?? null,
      eval: result?.eval ?? null,
      ...(result?.evalError ? { evalError: result.evalError } : {}),
    };
    await writeFile(report, JSON.stringify(record, null, 2) + '\n');
    const score = (result?.eval as { score?: unknown } | null | undefined)?.score;
    written.push({ id: job.id, model, report, bytes: bytes?.length ?? 0, evalScore: typeof score === 'number' ? score : null, ...(problem ? { problem } : {}) });
  }
  const failed = (await queue.getJobs(['failed'], 0, -1, true)).filter((j) => j?.id).map((j) => ({ id: j.id!, reason: j.failedReason ?? 'failed' }));
  const counts = await queue.getJobCounts('active', 'waiting', 'prioritized', 'delayed', 'waiting-children');
  const pending = Object.values(counts).reduce((a, b) => a + b, 0);
  return { out, written, failed, pending };
}
