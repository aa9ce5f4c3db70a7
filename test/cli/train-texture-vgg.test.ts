// `nca train --texture IMAGE --texture-loss vgg | vgg-swd`, with the tiny random VGG16 of
// test/fixtures/vgg-tiny given as --vgg-path (never a download), and the offline path.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decodeNca } from '../../formats/index.ts';
import { encodePng } from '../../trainer/image/png.ts';
import { stripeTexture } from '../../trainer/texture/synthetic.ts';
import { DEFAULT_VGG_REPO } from '../../trainer/vgg/files.ts';
import { interruptAfterLogLines, repoRoot, runNca } from '../helpers/cli.ts';
import { sha256, startLocalHub } from '../helpers/hub-server.ts';

const dir = mkdtempSync(join(tmpdir(), 'nca-train-vgg-'));
const exemplarPath = join(dir, 'stripes.png');
writeFileSync(exemplarPath, encodePng(stripeTexture(64, 64, 8, 'vertical')));
const tinyVgg = join(repoRoot, 'test/fixtures/vgg-tiny/model.safetensors');
const small = ['--size', '32x32', '--steps', '8', '--batch', '2', '--hidden', '16', '--score-every', '0', '--preview-every', '0', '--quiet'];

/** Runs `nca` without blocking this process, so the local Hub in it can answer. */
function runNcaAsync(args: string[], env: Record<string, string>): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [join(repoRoot, 'bin/nca.mjs'), ...args], { cwd: repoRoot, env: { ...process.env, ...env } });
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += d));
    child.on('close', (code) => resolve({ code, stderr }));
  });
}

const logLines = (run: string) => readFileSync(join(run, 'log.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));

test('nca train --texture-loss vgg --vgg-path trains and names its loss in the model; --spectrum-weight weighs the spectrum term, 0 drops it', () => {
  const out = join(dir, 'vgg');
  const r = runNca(['train', '--texture', exemplarPath, '--texture-loss', 'vgg', '--vgg-path', tinyVgg, '--spectrum-weight', '0.5', '--out', out, '--iterations', '2', ...small]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(decodeNca(readFileSync(join(out, 'model.nca'))).model.metadata.clipModel, 'texture-vgg');
  const iterations = logLines(out).filter((e) => e.kind === 'iteration');
  assert.equal(iterations.length, 2);
  for (const e of iterations) {
    assert.ok(Number.isFinite(e.logs.texture) && e.logs.texture > 0 && e.logs.spectrum > 0, JSON.stringify(e.logs));
    assert.ok(Math.abs(e.loss - (e.logs.texture + 0.5 * e.logs.spectrum + e.logs.overflow)) < 1e-4 * e.loss, JSON.stringify(e));
  }
  const none = join(dir, 'vgg-no-spectrum');
  assert.equal(runNca(['train', '--texture', exemplarPath, '--texture-loss', 'vgg', '--vgg-path', tinyVgg, '--spectrum-weight', '0', '--out', none, '--iterations', '1', ...small]).code, 0);
  assert.equal(logLines(none).find((e) => e.kind === 'iteration').logs.spectrum, undefined);
});

test('nca train --texture-loss vgg-swd: a run stopped by Ctrl-C resumes without the flags and ends as an uninterrupted run does', async () => {
  const args = (out: string) => ['train', '--texture', exemplarPath, '--texture-loss', 'vgg-swd', '--vgg-path', tinyVgg, '--out', out, '--iterations', '6', '--save-every', '2', ...small];
  const reference = join(dir, 'swd-reference');
  assert.equal(runNca(args(reference)).code, 0);
  const out = join(dir, 'swd-interrupted');
  assert.equal(await interruptAfterLogLines(args(out), out, 3), 130);
  // The checkpoint holds the loss kind and where VGG16 came from.
  const resumed = runNca(['train', '--resume', out, '--quiet']);
  assert.equal(resumed.code, 0, resumed.stderr);
  assert.ok(readFileSync(join(out, 'model.nca')).equals(readFileSync(join(reference, 'model.nca'))));
  assert.equal(decodeNca(readFileSync(join(out, 'model.nca'))).model.metadata.clipModel, 'texture-vgg-swd');
});

test('nca train --texture-loss vgg downloads VGG16 from the Hub into the cache once (a local Hub serving the tiny VGG16)', async () => {
  const hub = await startLocalHub(DEFAULT_VGG_REPO, { 'model.safetensors': readFileSync(tinyVgg) });
  const cache = mkdtempSync(join(tmpdir(), 'vgg-hub-cache-'));
  try {
    const env = { HF_ENDPOINT: hub.endpoint, HF_HUB_CACHE: cache };
    const first = await runNcaAsync(['train', '--texture', exemplarPath, '--texture-loss', 'vgg', '--out', join(dir, 'hub-1'), '--iterations', '1', ...small], env);
    assert.equal(first.code, 0, first.stderr);
    const blob = join(cache, 'models--timm--vgg16.tv_in1k', 'blobs', sha256(readFileSync(tinyVgg)));
    assert.ok(existsSync(blob), 'the checkpoint is cached under its sha256');
    assert.equal(hub.requests.filter((r) => r.method === 'GET' && r.url.startsWith('/cdn/')).length, 1, 'one download');
    const fetched = hub.requests.length;
    // The second run finds it in the cache: no new request at all.
    const second = await runNcaAsync(['train', '--texture', exemplarPath, '--texture-loss', 'vgg', '--out', join(dir, 'hub-2'), '--iterations', '1', ...small], env);
    assert.equal(second.code, 0, second.stderr);
    assert.equal(hub.requests.length, fetched);
  } finally {
    await hub.close();
  }
});

test('nca train --texture-loss vgg: offline with an empty cache exits 2 and says how to provide the weights', () => {
  const r = runNca(['train', '--texture', exemplarPath, '--texture-loss', 'vgg', '--out', join(dir, 'offline'), '--iterations', '1', ...small], {
    env: { HF_HUB_OFFLINE: '1', HF_HUB_CACHE: mkdtempSync(join(tmpdir(), 'empty-hub-')) },
  });
  assert.equal(r.code, 2, r.stderr);
  assert.match(r.stderr, /cannot download VGG16 weights timm\/vgg16\.tv_in1k@main/);
  assert.match(r.stderr, /huggingface-cli download timm\/vgg16\.tv_in1k model\.safetensors/);
  assert.match(r.stderr, /--vgg-path FILE/);
});

test('nca train --texture-loss vgg: a missing --vgg-path (66), a checkpoint that is not VGG16 (65), an unknown loss or texture flags without --texture (64)', () => {
  const run = (extra: string[]) => runNca(['train', '--texture', exemplarPath, '--out', join(dir, 'bad'), '--iterations', '1', ...small, ...extra]);
  const missing = run(['--texture-loss', 'vgg', '--vgg-path', join(dir, 'nowhere.safetensors')]);
  assert.equal(missing.code, 66, missing.stderr);
  assert.match(missing.stderr, /nowhere\.safetensors does not exist/);
  const clip = run(['--texture-loss', 'vgg-swd', '--vgg-path', join(repoRoot, 'test/fixtures/clip-tiny/model.safetensors')]);
  assert.equal(clip.code, 65, clip.stderr);
  assert.match(clip.stderr, /not a VGG16 checkpoint .*no features\.0\.weight/);
  const unknown = run(['--texture-loss', 'lpips']);
  assert.equal(unknown.code, 64, unknown.stderr);
  assert.match(unknown.stderr, /texture-loss/);
  // Texture flags without --texture are refused, not ignored (a pixel-target run here).
  const stray = runNca(['train', '--target', exemplarPath, '--out', join(dir, 'stray'), '--iterations', '1', '--texture-loss', 'vgg', '--vgg-path', tinyVgg, '--quiet']);
  assert.equal(stray.code, 64, stray.stderr);
  assert.match(stray.stderr, /--texture-loss, --vgg-path need --texture IMAGE/);
});
