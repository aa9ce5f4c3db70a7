import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, lstatSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { COMMIT, gitSha1, sha256, startLocalHub, type HubBehaviour } from '../helpers/hub-server.ts';
import { ensureClipFiles } from '../../trainer/clip/files.ts';
import { HubError, HubOfflineError } from '../../trainer/weights/hub.ts';
import { byteProgress, formatProgress } from '../../trainer/weights/progress.ts';

const REPO = 'test-org/clip-tiny';
const fixture = new URL('../fixtures/clip-tiny/', import.meta.url);
const FILES: Record<string, Buffer> = Object.fromEntries(
  ['config.json', 'tokenizer.json', 'model.safetensors'].map((f) => [f, readFileSync(new URL(f, fixture))]),
);
const startHub = (behaviour: HubBehaviour = {}) => startLocalHub(REPO, FILES, behaviour);

const quiet = { log: () => {}, progress: { write: () => true, isTTY: false } as unknown as NodeJS.WritableStream };
const freshCache = () => mkdtempSync(join(tmpdir(), 'hub-cache-'));

test('downloads into a Hub-like cache via HF_ENDPOINT, then serves from the cache with no network', async () => {
  const hub = await startHub();
  const cacheDir = freshCache();
  const saved = process.env.HF_ENDPOINT;
  process.env.HF_ENDPOINT = hub.endpoint;
  try {
    const dir = await ensureClipFiles({ repo: REPO, revision: 'main', cacheDir, ...quiet });
    const folder = join(cacheDir, 'models--test-org--clip-tiny');
    assert.equal(dir, join(folder, 'snapshots', COMMIT));
    for (const [name, body] of Object.entries(FILES)) {
      assert.ok(readFileSync(join(dir, name)).equals(body), name);
      assert.ok(lstatSync(join(dir, name)).isSymbolicLink(), `${name} is a link into blobs/`);
      assert.match(readlinkSync(join(dir, name)), /^\.\.\/\.\.\/blobs\/[0-9a-f]{40,64}$/);
    }
    assert.ok(existsSync(join(folder, 'blobs', sha256(FILES['model.safetensors']))), 'LFS blob named by sha256');
    assert.equal(readFileSync(join(folder, 'refs', 'main'), 'utf8'), COMMIT);
    assert.ok(hub.requests.some((r) => r.url.startsWith(`/${REPO}/resolve/main/`)), 'went through HF_ENDPOINT');
  } finally {
    if (saved === undefined) delete process.env.HF_ENDPOINT;
    else process.env.HF_ENDPOINT = saved;
    await hub.close();
  }
  // The server is gone: the cache alone must do.
  const again = await ensureClipFiles({ repo: REPO, revision: 'main', cacheDir, endpoint: hub.endpoint, ...quiet });
  assert.ok(existsSync(join(again, 'model.safetensors')));
});

test('an interrupted transfer resumes with a Range request, within a run and in the next run', async () => {
  const size = FILES['model.safetensors'].length;
  const cutAt = Math.floor(size * 0.4);
  // One attempt only: the run fails, keeping the partial file...
  const hub = await startHub({ cutAfter: cutAt });
  const cacheDir = freshCache();
  await assert.rejects(
    ensureClipFiles({ repo: REPO, cacheDir, endpoint: hub.endpoint, attempts: 1, ...quiet }),
    (err: Error) => err instanceof HubError && /connection lost at \d+ of \d+ bytes.*run the command again to resume/.test(err.message),
  );
  const blobs = join(cacheDir, 'models--test-org--clip-tiny', 'blobs');
  const partial = readdirSync(blobs).find((f) => f.endsWith('.incomplete'));
  assert.ok(partial, 'partial download kept');
  const kept = statSync(join(blobs, partial)).size;
  assert.ok(kept > 0 && kept <= cutAt, `kept ${kept} bytes`);
  // ...and the next run asks only for the rest.
  const dir = await ensureClipFiles({ repo: REPO, cacheDir, endpoint: hub.endpoint, ...quiet });
  assert.ok(readFileSync(join(dir, 'model.safetensors')).equals(FILES['model.safetensors']));
  const ranges = hub.requests.filter((r) => r.url.startsWith('/cdn/') && r.range).map((r) => r.range);
  assert.deepEqual(ranges, [`bytes=${kept}-`]);
  assert.ok(!readdirSync(blobs).some((f) => f.endsWith('.incomplete')));
  await hub.close();

  // With retries, one run recovers from the dropped connection by itself.
  const flaky = await startHub({ cutAfter: cutAt });
  const logs: string[] = [];
  const dir2 = await ensureClipFiles({ repo: REPO, cacheDir: freshCache(), endpoint: flaky.endpoint, ...quiet, log: (l) => logs.push(l) });
  assert.ok(readFileSync(join(dir2, 'model.safetensors')).equals(FILES['model.safetensors']));
  assert.match(logs.join('\n'), /connection lost at \d+ of \d+ bytes.*resuming \(attempt 2 of 3\)/);
  assert.ok(flaky.requests.some((r) => r.url.startsWith('/cdn/') && /^bytes=[1-9]\d*-$/.test(r.range ?? '')));
  await flaky.close();
});

test('a wrong checksum is rejected and nothing is cached', async () => {
  const hub = await startHub({ lieSha256: sha256(Buffer.from('something else')) });
  const cacheDir = freshCache();
  await assert.rejects(
    ensureClipFiles({ repo: REPO, cacheDir, endpoint: hub.endpoint, ...quiet }),
    (err: Error) => err instanceof HubError && /model.safetensors: checksum mismatch/.test(err.message),
  );
  const blobs = readdirSync(join(cacheDir, 'models--test-org--clip-tiny', 'blobs'));
  assert.ok(blobs.every((b) => b === gitSha1(FILES['config.json']) || b === gitSha1(FILES['tokenizer.json'])), blobs.join());
  assert.ok(!existsSync(join(cacheDir, 'models--test-org--clip-tiny', 'snapshots', COMMIT, 'model.safetensors')));
  await hub.close();
});

test('no server, or HF_HUB_OFFLINE, with an empty cache: exit code 2 and how to provide weights', async () => {
  const hub = await startHub();
  const deadEndpoint = hub.endpoint;
  await hub.close();
  for (const options of [{ endpoint: deadEndpoint }, { endpoint: deadEndpoint, offline: true }]) {
    await assert.rejects(ensureClipFiles({ cacheDir: freshCache(), ...options, ...quiet }), (err: Error) => {
      assert.ok(err instanceof HubOfflineError);
      assert.equal(err.exitCode, 2);
      assert.match(err.message, /openai\/clip-vit-base-patch32@3d74acf9/);
      assert.match(err.message, /huggingface-cli download openai\/clip-vit-base-patch32 config.json tokenizer.json model.safetensors/);
      assert.match(err.message, /--clip-path DIR/);
      return true;
    });
  }
});

test('unknown repositories and bad names fail clearly', async () => {
  const hub = await startHub();
  await assert.rejects(ensureClipFiles({ repo: 'nobody/nothing', cacheDir: freshCache(), endpoint: hub.endpoint, ...quiet }), /not found; check the repository name/);
  await assert.rejects(ensureClipFiles({ repo: '../etc', cacheDir: freshCache(), ...quiet }), /not a Hub repository name/);
  await hub.close();
});

test('the progress line shows percentage, sizes, speed and ETA', () => {
  assert.equal(
    formatProgress('model.safetensors', 302.6e6, 605.2e6, 12.1e6),
    'model.safetensors   50% [##########----------] 302.6 MB / 605.2 MB  12.1 MB/s  ETA 0:25',
  );
  assert.match(formatProgress('f', 0, 4e9, 0), /ETA \?/);
  assert.equal(formatProgress('f', 1500, null, 100), 'f  1.5 kB  100 B/s');
  // On a terminal the bar redraws in place.
  const writes: string[] = [];
  let clock = 0;
  const bar = byteProgress('f', 1000, { stream: { write: (s: string) => writes.push(s), isTTY: true } as never, now: () => clock });
  clock = 1000;
  bar.update(500);
  bar.finish();
  assert.match(writes[0], /^\rf\s+50% .* 500 B \/ 1.0 kB  500 B\/s  ETA 0:01/);
  assert.ok(writes[1].endsWith('\n'));
});
