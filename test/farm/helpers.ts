/**
 * Test helpers for `nca farm`: a real redis-server on a free port in a temporary
 * directory (Debian's redis-server, which .ci/run installs), `nca` children, waits.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { encodePng } from '../../trainer/image/png.ts';
import { repoRoot, runNca } from '../helpers/cli.ts';

const bin = fileURLToPath(new URL('../../bin/nca.mjs', import.meta.url));

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

export async function waitFor<T>(
  what: string,
  check: () => T | undefined | null | false | Promise<T | undefined | null | false>,
  timeoutMs = 60_000,
  everyMs = 200,
  context?: () => string,
): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > until) throw new Error(`timed out after ${timeoutMs / 1000} s waiting for ${what}${context ? `\n${context()}` : ''}`);
    await new Promise((resolve) => setTimeout(resolve, everyMs));
  }
}

/** redis-server with an append-only file, so a restart keeps the queue (as a farm's Redis should). */
export class RedisServer {
  private process: ChildProcess | null = null;

  private constructor(
    readonly dir: string,
    readonly port: number,
  ) {}

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  static async start(dir: string): Promise<RedisServer> {
    const which = spawnSync('redis-server', ['--version'], { encoding: 'utf8' });
    if (which.error) throw new Error('redis-server is not installed (apt-get install redis-server; .ci/run does it)');
    mkdirSync(dir, { recursive: true });
    const server = new RedisServer(dir, await freePort());
    await server.startProcess();
    return server;
  }

  private async startProcess(): Promise<void> {
    const args = ['--port', String(this.port), '--bind', '127.0.0.1', '--dir', this.dir, '--appendonly', 'yes', '--save', '', '--daemonize', 'no', '--logfile', join(this.dir, 'redis.log'), '--maxmemory-policy', 'noeviction'];
    const child = spawn('redis-server', args, { stdio: 'ignore' });
    this.process = child;
    await waitFor('redis-server to answer', () => spawnSync('redis-cli', ['-p', String(this.port), 'ping'], { encoding: 'utf8' }).stdout?.trim() === 'PONG', 15_000, 100);
  }

  async stop(): Promise<void> {
    const child = this.process;
    if (!child || child.exitCode !== null) return;
    this.process = null;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGTERM'); // redis writes its append-only file and exits
    await exited;
  }

  async restart(downMs: number): Promise<void> {
    await this.stop();
    await new Promise((resolve) => setTimeout(resolve, downMs));
    await this.startProcess();
  }
}

/** A long-running `nca` (a worker), with its stderr kept. */
export class NcaProcess {
  readonly child: ChildProcess;
  stderr = '';
  stdout = '';
  readonly exited: Promise<number | null>;

  constructor(args: string[], cwd: string) {
    this.child = spawn(process.execPath, [bin, ...args], { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    this.child.stderr!.on('data', (d: Buffer) => (this.stderr += d.toString('utf8')));
    this.child.stdout!.on('data', (d: Buffer) => (this.stdout += d.toString('utf8')));
    this.exited = new Promise((resolve) => this.child.on('exit', (code, signal) => resolve(code ?? (signal ? -1 : null))));
  }

  get alive(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  async kill(signal: NodeJS.Signals = 'SIGTERM'): Promise<number | null> {
    if (this.alive) this.child.kill(signal);
    return this.exited;
  }
}

export function nca(args: string[], cwd: string) {
  return runNca(args, { cwd, timeoutMs: 120_000 });
}

export interface StatusJob {
  id: string;
  state: string;
  iteration: number;
  iterations: number;
  attempts: number;
  stalls: number;
  failedReason: string | null;
  worker: string | null;
}

export function status(url: string, cwd: string): { counts: Record<string, number>; jobs: StatusJob[] } {
  const r = nca(['farm', 'status', '--redis', url, '--json'], cwd);
  if (r.code !== 0) throw new Error(`nca farm status exited ${r.code}: ${r.stderr}`);
  return JSON.parse(r.stdout);
}

/** Iterations logged so far in a run directory's log.jsonl. */
export function loggedIterations(text: string): number {
  let n = 0;
  for (const line of text.split('\n')) if (line.includes('"kind":"iteration"')) n = Math.max(n, (JSON.parse(line).iteration as number) + 1);
  return n;
}

/** A 12x12 RGBA disc, the small target of the tests' jobs. */
export function writeTarget(path: string): void {
  const w = 12;
  const h = 12;
  const data = new Uint8Array(w * h * 4);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const i = (y * w + x) * 4;
      if (Math.hypot(x - 5.5, y - 5.5) < 5) data.set([200, 40 + x * 10, 60, 255], i);
    }
  }
  writeFileSync(path, encodePng({ width: w, height: h, data }));
}

/** The tests' tiny job: seconds to train on one thread. */
export function tinyJob(extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { target: 'dot.png', size: '12x12', steps: '8-12', iterations: 20, pool: 16, batch: 2, 'score-every': 0, threads: 1, 'preview-every': 0, ...extra };
}

/** The same job run by plain `nca train` on this machine: the reference for bit-identity. */
export function referenceRun(cwd: string, job: Record<string, unknown>, out: string): NcaProcess {
  const config = join(cwd, `${out.replace(/\W+/g, '-')}.json`);
  writeFileSync(config, JSON.stringify(job));
  return new NcaProcess(['train', '--config', config, '--out', out, '--quiet'], cwd);
}

export { repoRoot };
