/**
 * A run directory's lease: a small file in the shared runs directory
 * (`RUNS/.farm/<job id>.lease`) that the worker training the job rewrites every
 * beat. BullMQ's lock says which worker holds the job in Redis; the lease says which
 * one trains in the directory. They differ only when a worker lost its Redis lock
 * while still training (Redis was away longer than the lock): the job went back to
 * the queue, and whoever takes it must not train in the same directory at the same
 * time. It waits until the lease is released, or has not changed for `staleMs` by its
 * own clock (no clock comparison between machines; the file is rewritten in place so
 * NFS close-to-open consistency shows each change).
 */
import { mkdir, readFile, unlink, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';

export interface LeaseOptions {
  /** Who we are (worker name), written in the file. */
  owner: string;
  /** A lease unchanged for this long is taken over. */
  staleMs: number;
  /** How often a waiter looks at the file. */
  pollMs?: number;
}

interface LeaseContent {
  owner: string;
  beat: number;
  at: string;
}

async function readRaw(path: string): Promise<string | null> {
  try {
    return await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw error;
  }
}

function ownerOf(raw: string | null): string | null {
  if (raw === null) return null;
  try {
    return (JSON.parse(raw) as LeaseContent).owner ?? '';
  } catch {
    return ''; // half-written: someone is writing it
  }
}

export class Lease {
  private beatCount = 0;
  private held = false;

  constructor(
    readonly path: string,
    private readonly options: LeaseOptions,
  ) {}

  private async write(): Promise<void> {
    const content: LeaseContent = { owner: this.options.owner, beat: this.beatCount++, at: new Date().toISOString() };
    await writeFile(this.path, JSON.stringify(content) + '\n');
  }

  /**
   * Takes the lease, waiting while another owner keeps it fresh. `onWait(owner)` is called
   * once when waiting starts; `cancelled()` is polled, and stops the wait (returns false).
   */
  async acquire(onWait?: (owner: string) => void, cancelled?: () => boolean): Promise<boolean> {
    await mkdir(dirname(this.path), { recursive: true });
    const pollMs = this.options.pollMs ?? Math.min(1000, Math.max(100, this.options.staleMs / 10));
    let last = await readRaw(this.path);
    let since = performance.now();
    let told = false;
    for (;;) {
      const owner = ownerOf(last);
      if (last === null || owner === this.options.owner || performance.now() - since >= this.options.staleMs) break;
      if (!told) onWait?.(owner || 'another worker');
      told = true;
      if (cancelled?.()) return false;
      await new Promise((resolve) => setTimeout(resolve, pollMs));
      const now = await readRaw(this.path);
      if (now !== last) {
        last = now;
        since = performance.now();
      }
    }
    await this.write();
    this.held = true;
    return true;
  }

  /** Refreshes the lease; false when someone else has taken it over (we were thought dead). */
  async beat(): Promise<boolean> {
    const owner = ownerOf(await readRaw(this.path));
    if (owner !== null && owner !== '' && owner !== this.options.owner) {
      this.held = false;
      return false;
    }
    await this.write();
    return true;
  }

  /** Removes the lease if it is still ours. */
  async release(): Promise<void> {
    if (!this.held) return;
    this.held = false;
    const owner = ownerOf(await readRaw(this.path).catch(() => null));
    if (owner === this.options.owner) await unlink(this.path).catch(() => {});
  }
}
