/**
 * A job's progress as the worker reports it to Redis (BullMQ job progress), read from
 * the run's log.jsonl as `nca train` writes it: one line per iteration.
 */
import { open, stat } from 'node:fs/promises';

export interface FarmProgress {
  phase: 'starting' | 'waiting' | 'training' | 'eval' | 'stopping';
  /** Iterations done. */
  iteration: number;
  iterations: number;
  /** The loss of the last iteration. */
  loss: number | null;
  /** Iterations per second over the last minute. */
  rate: number | null;
  /** Seconds left, at `updatedAt`. */
  eta: number | null;
  worker: string;
  /** Milliseconds since the epoch, by the worker's clock. */
  updatedAt: number;
  /** The iteration this attempt resumed from (0: from the start). */
  resumedAt: number;
}

/** Follows a growing log.jsonl: the last iteration and loss, and a rate from the last minute. */
export class LogFollower {
  private offset = 0;
  private partial = '';
  /** Reading started in the middle of the file: the first line read is a fragment. */
  private skipFragment = false;
  iteration = 0;
  loss: number | null = null;
  private readonly seconds: number[] = [];
  private readonly samples: { t: number; iteration: number }[] = [];

  constructor(private readonly path: string) {}

  /** Starts from the end of an existing log (its last 64 kB, for the last iteration). */
  async init(): Promise<void> {
    const size = await stat(this.path).then((s) => s.size, () => 0);
    this.offset = Math.max(0, size - 65536);
    this.skipFragment = this.offset > 0;
    await this.poll();
    this.samples.length = 0;
    this.seconds.length = 0;
  }

  /** Reads what was appended; true when the iteration moved. */
  async poll(): Promise<boolean> {
    let handle;
    try {
      handle = await open(this.path, 'r');
    } catch {
      return false;
    }
    const before = this.iteration;
    try {
      const { size } = await handle.stat();
      if (size < this.offset) this.offset = 0;
      if (size === this.offset) return false;
      const buffer = Buffer.alloc(size - this.offset);
      await handle.read(buffer, 0, buffer.length, this.offset);
      this.offset = size;
      const lines = (this.partial + buffer.toString('utf8')).split('\n');
      this.partial = lines.pop() ?? '';
      if (this.skipFragment) lines.shift();
      this.skipFragment = false;
      for (const line of lines) {
        let event: { kind?: string; iteration?: number; loss?: number; seconds?: number };
        try {
          event = JSON.parse(line);
        } catch {
          continue;
        }
        if (event.kind === 'iteration' && typeof event.iteration === 'number') {
          this.iteration = event.iteration + 1;
          this.loss = typeof event.loss === 'number' ? event.loss : null;
          if (typeof event.seconds === 'number') this.seconds.push(event.seconds);
          if (this.seconds.length > 50) this.seconds.shift();
        }
      }
    } finally {
      await handle.close();
    }
    if (this.iteration !== before) {
      const t = performance.now();
      this.samples.push({ t, iteration: this.iteration });
      while (this.samples.length > 2 && t - this.samples[1].t > 60_000) this.samples.shift();
    }
    return this.iteration !== before;
  }

  /** Iterations per second: over the last minute of samples, else from the iterations' own timings. */
  rate(): number | null {
    const s = this.samples;
    if (s.length >= 2 && s[s.length - 1].t > s[0].t) {
      return ((s[s.length - 1].iteration - s[0].iteration) * 1000) / (s[s.length - 1].t - s[0].t);
    }
    if (this.seconds.length === 0) return null;
    const mean = this.seconds.reduce((a, b) => a + b, 0) / this.seconds.length;
    return mean > 0 ? 1 / mean : null;
  }

  eta(iterations: number): number | null {
    const rate = this.rate();
    return rate && rate > 0 ? Math.max(0, iterations - this.iteration) / rate : null;
  }
}

/** "NCACKPT1" | uint32 LE JSON length | JSON: the checkpoint's next iteration, without reading its tensors. */
export async function checkpointIteration(path: string): Promise<number | null> {
  let handle;
  try {
    handle = await open(path, 'r');
    const head = Buffer.alloc(12);
    await handle.read(head, 0, 12, 0);
    if (head.toString('latin1', 0, 8) !== 'NCACKPT1') return null;
    const json = Buffer.alloc(head.readUInt32LE(8));
    await handle.read(json, 0, json.length, 12);
    const iteration = (JSON.parse(json.toString('utf8')) as { iteration?: unknown }).iteration;
    return typeof iteration === 'number' ? iteration : null;
  } catch {
    return null;
  } finally {
    await handle?.close();
  }
}
