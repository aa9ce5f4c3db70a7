import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { encodeNca } from '../../formats/index.ts';
import { randomModel } from '../helpers/models.ts';
import { seedRecipe } from '../../trainer/train/seeds.ts';
import { runNca } from '../helpers/cli.ts';

const dir = mkdtempSync(join(tmpdir(), 'nca-info-'));
const good = join(dir, 'model.nca');
const bytes = encodeNca(randomModel());
writeFileSync(good, bytes);

test('nca info prints topology, size and metadata', () => {
  const { code, stdout } = runNca(['info', good]);
  assert.equal(code, 0);
  assert.match(stdout, new RegExp(`${bytes.length} bytes`));
  assert.match(stdout, /48 -> 128 \(relu\) -> 12/);
  assert.match(stdout, /w1 int8\[128x48\]/);
  assert.match(stdout, /"the pytorch logo":1/);
});

test('nca info says where the seed cells are', () => {
  const cases: [ReturnType<typeof randomModel>['seed'], RegExp][] = [
    [{ kind: 'noise' }, /seed +noise\n/],
    [seedRecipe('cell', randomModel().topology), /seed +cell at the grid centre\n/],
    [seedRecipe('cell', randomModel().topology, [[-1, -10]]), /seed +cell at \[-1, -10\] from the grid centre\n/],
    [seedRecipe('cell', randomModel().topology, [[-1, -10], [0, 9]]), /seed +image 2x20 \(2 of 40 cells set\)\n/],
  ];
  for (const [recipe, line] of cases) {
    const path = join(dir, `seed-${recipe.kind}.nca`);
    writeFileSync(path, encodeNca({ ...randomModel(), seed: recipe }));
    assert.match(runNca(['info', path]).stdout, line);
  }
});

test('nca info --json is machine-readable', () => {
  const { code, stdout } = runNca(['info', good, '--json']);
  assert.equal(code, 0);
  const parsed = JSON.parse(stdout);
  assert.equal(parsed.byteLength, bytes.length);
  assert.equal(parsed.topology.hidden, 128);
});

test('nca info: corrupt, truncated, foreign and missing files get one line and a non-zero code', () => {
  const corrupt = bytes.slice();
  corrupt[100] ^= 0xff;
  const cases: [string, Uint8Array | null, number, RegExp][] = [
    ['corrupt.nca', corrupt, 65, /checksum/],
    ['truncated.nca', bytes.slice(0, 300), 65, /truncated/],
    ['foreign.nca', new TextEncoder().encode('{"hello": 1}'), 65, /not a \.nca file/],
    ['missing.nca', null, 66, /no such file/],
  ];
  for (const [name, content, exitCode, message] of cases) {
    const path = join(dir, name);
    if (content) writeFileSync(path, content);
    const { code, stderr } = runNca(['info', path]);
    assert.equal(code, exitCode, name);
    assert.match(stderr, message);
    assert.equal(stderr.trim().split('\n').length, 1, `${name}: one line, no stack trace`);
  }
});

test('nca with no or unknown command prints usage and exits 64', () => {
  assert.equal(runNca([]).code, 64);
  const unknown = runNca(['frobnicate']);
  assert.equal(unknown.code, 64);
  assert.match(unknown.stderr, /unknown command/);
  const help = runNca(['info', '--help']);
  assert.equal(help.code, 0);
  assert.match(help.stdout, /Example/);
});
