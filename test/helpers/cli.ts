/** Runs the real `nca` binary in a child process, as a user would. */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const repoRoot = fileURLToPath(new URL('../..', import.meta.url));
const bin = fileURLToPath(new URL('../../bin/nca.mjs', import.meta.url));

export function runNca(args: string[], options: { cwd?: string; env?: NodeJS.ProcessEnv; timeoutMs?: number } = {}) {
  const result = spawnSync(process.execPath, [bin, ...args], {
    cwd: options.cwd ?? repoRoot,
    env: { ...process.env, ...options.env },
    encoding: 'utf8',
    timeout: options.timeoutMs ?? 120_000,
  });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

/** The `"kind":"score"` lines of a training run's log.jsonl, and the best of them. */
/** A run's score events, and its best: the higher of the weights' and their average's score (what model.nca holds). */
export function trainingScores(runDir: string): { scores: ScoreEvent[]; best: { iteration: number; score: number } } {
  const scores: ScoreEvent[] = readFileSync(join(runDir, 'log.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l)).filter((e) => e.kind === 'score');
  const top = (e: ScoreEvent) => Math.max(e.score, e.averageScore ?? -Infinity);
  const best = scores.reduce((a, b) => (top(b) > top(a) ? b : a));
  return { scores, best: { iteration: best.iteration, score: top(best) } };
}

interface ScoreEvent {
  iteration: number;
  score: number;
  averageScore?: number;
  best: number;
  bestIteration: number;
}

/**
 * Starts `nca args` and sends one Ctrl-C (SIGINT) once `runDir/log.jsonl` has `lines` lines;
 * resolves with the exit code. One Ctrl-C only: a second one means "quit at once" (docs/cli.md).
 */
export async function interruptAfterLogLines(args: string[], runDir: string, lines: number): Promise<number | null> {
  const child = spawn(process.execPath, [bin, ...args], { cwd: repoRoot, stdio: 'ignore' });
  const log = join(runDir, 'log.jsonl');
  const poll = setInterval(() => {
    if (existsSync(log) && readFileSync(log, 'utf8').trim().split('\n').length >= lines) {
      clearInterval(poll);
      child.kill('SIGINT');
    }
  }, 10);
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  clearInterval(poll);
  return code;
}
