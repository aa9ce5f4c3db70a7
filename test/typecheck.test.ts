// The whole project must typecheck under `strict`: tsx runs the sources without checking types.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { repoRoot } from './helpers/cli.ts';

test('tsc --noEmit passes on every source and test file', () => {
  const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
  const result = spawnSync(process.execPath, [tsc, '-p', 'tsconfig.json'], { cwd: repoRoot, encoding: 'utf8', timeout: 180_000 });
  assert.equal(result.status, 0, result.stdout + result.stderr);
});
