/** Runs the real `nca` binary in a child process, as a user would. */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
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
export function trainingScores(runDir: string): { scores: { iteration: number; score: number }[]; best: { iteration: number; score: number } } {
  const scores = readFileSync(join(runDir, 'log.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l)).filter((e) => e.kind === 'score');
  return { scores, best: scores.reduce((a, b) => (b.score > a.score ? b : a)) };
}
