import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { decodeNca, encodeNca } from '../../formats/index.ts';
import { randomModel } from '../helpers/models.ts';
import { repoRoot, runNca } from '../helpers/cli.ts';

const dir = mkdtempSync(join(tmpdir(), 'nca-play-'));
const modelPath = join(dir, 'model.nca');
writeFileSync(modelPath, encodeNca(randomModel()));
const bin = fileURLToPath(new URL('../../bin/nca.mjs', import.meta.url));

test('nca play serves the page, the player build and the model, prints the URL, and stops cleanly on Ctrl-C', async () => {
  const child = spawn(process.execPath, [bin, 'play', modelPath, '--port', '0', '--json'], { cwd: repoRoot });
  let stdout = '';
  let stderr = '';
  child.stderr.on('data', (d) => (stderr += d));
  const exited = new Promise<number | null>((resolve) => child.on('close', resolve));
  const url: string = await new Promise((resolve, reject) => {
    child.stdout.on('data', (d) => {
      stdout += d;
      if (stdout.includes('\n')) resolve(JSON.parse(stdout).url);
    });
    child.on('close', () => reject(new Error(`nca play exited early: ${stderr}`)));
  });
  try {
    assert.match(url, /^http:\/\/127\.0\.0\.1:\d+\/$/);
    const page = await (await fetch(url)).text();
    assert.match(page, /<nca-player src="\/model\.nca" scale="0\.25"/);
    const script = page.match(/<script src="([^"]+)"/)![1];
    const player = await fetch(new URL(script, url));
    assert.equal(player.status, 200);
    assert.match(player.headers.get('content-type')!, /javascript/);
    assert.match(await player.text(), /nca-player/);
    const model = await fetch(new URL('/model.nca', url));
    assert.equal(model.headers.get('content-type'), 'application/x-nca');
    const bytes = new Uint8Array(await model.arrayBuffer());
    assert.deepEqual(bytes, new Uint8Array(readFileSync(modelPath)));
    assert.equal(decodeNca(bytes).model.topology.hidden, 128);
    for (const path of ['/player/%2e%2e/%2e%2e/package.json', '/player/..%2f..%2fpackage.json', '/nothing']) {
      assert.equal((await fetch(new URL(path, url))).status, 404, path);
    }
  } finally {
    child.kill('SIGINT');
  }
  assert.equal(await exited, 0, stderr);
});

test('nca play: a bad model or player folder is refused before serving', () => {
  const bad = runNca(['play', join(dir, 'missing.nca'), '--port', '0']);
  assert.equal(bad.code, 66);
  assert.match(bad.stderr, /no such file/);
  const noPlayer = runNca(['play', modelPath, '--port', '0', '--player-dir', dir]);
  assert.equal(noPlayer.code, 66);
  assert.match(noPlayer.stderr, /no nca-player\.iife\.js there/);
});
