import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CliError } from '../../cli/exit-codes.ts';
import { configWithFiles, readJobs, trainKeys } from '../../cli/farm/jobs.ts';
import { LIVING_ITERATIONS, SOURCE_METHOD } from '../../trainer/train/config.ts';
import { Lease } from '../../cli/farm/lease.ts';
import { displayUrl } from '../../cli/farm/redis.ts';
import { repoRoot } from '../helpers/cli.ts';

const dir = mkdtempSync(join(tmpdir(), 'nca-farm-jobs-'));
writeFileSync(join(dir, 'logo.png'), Buffer.from('not really a png, and that is fine here'));
writeFileSync(join(dir, 'face.png'), Buffer.from('face'));
const keys = await trainKeys();

async function rejects(text: string, code: number, message: RegExp): Promise<void> {
  await assert.rejects(readJobs(join(dir, 'jobs.jsonl'), text, 1, keys), (error: unknown) => {
    assert.ok(error instanceof CliError);
    assert.equal(error.exitCode, code);
    assert.match(error.message, message);
    return true;
  });
}

test('every option of nca train is a job key, and the worker\'s own flags are not', () => {
  const sources = ['cli/commands/train.ts', 'cli/commands/train-clip.ts', 'cli/commands/train-texture.ts'].map((f) => readFileSync(join(repoRoot, f), 'utf8'));
  const declared = new Set<string>();
  for (const source of sources) {
    for (const block of source.matchAll(/(?:const options|export const \w+Options) = \{([\s\S]*?)\} as const;/g)) {
      for (const m of block[1].matchAll(/^\s+'?([a-z][a-z0-9-]*)'?: \{ type:/gm)) declared.add(m[1]);
    }
  }
  assert.ok(declared.size > 30, `found ${declared.size} options`);
  for (const key of declared) {
    if (['out', 'resume', 'json', 'quiet'].includes(key)) assert.ok(!keys.has(key), key);
    else assert.ok(keys.has(key), `nca train --${key} is missing from the farm's job keys`);
  }
  assert.ok(keys.has('args'));
});

test('readJobs: one job a line, --repeat sweeps run seeds, images travel in the job', async () => {
  const text = [
    JSON.stringify({ target: join(dir, 'logo.png'), iterations: 50 }),
    '',
    JSON.stringify({ args: ['a red coral, deep sea'], 'run-seed': 5, 'image-prompt': [`${join(dir, 'face.png')}:0.5`] }),
  ].join('\n');
  const jobs = await readJobs(join(dir, 'jobs.jsonl'), text, 3, keys);
  assert.equal(jobs.length, 6);
  assert.deepEqual(jobs.map((j) => j.data.config['run-seed']), [0, 1, 2, 5, 6, 7]);
  assert.deepEqual(jobs.map((j) => j.data.line), [1, 1, 1, 3, 3, 3]);
  assert.equal(new Set(jobs.map((j) => j.id)).size, 6);
  assert.match(jobs[1].id, /^logo-s1-[0-9a-f]{8}$/);
  assert.match(jobs[3].id, /^a-red-coral-deep-sea-s5-[0-9a-f]{8}$/);
  assert.equal(jobs[0].data.config.target, 'logo.png');
  assert.equal(jobs[0].data.iterations, 50);
  assert.equal(jobs[3].data.iterations, 1000, "nca train's default");
  assert.equal(Buffer.from(jobs[0].data.files[0].data, 'base64').toString(), 'not really a png, and that is fine here');
  // the worker points the keys at its own copies
  const config = configWithFiles(jobs[3].data, (f) => `/w/${f.name}`);
  assert.deepEqual(config['image-prompt'], ['/w/face.png:0.5']);
  assert.deepEqual(configWithFiles(jobs[0].data, (f) => `/w/${f.name}`).target, '/w/logo.png');
});

test('readJobs: a job without "iterations" counts nca train\'s default for its kind', async () => {
  const logo = join(dir, 'logo.png');
  const text = [{ target: logo }, { target: logo, 'no-alive': true }, { args: ['a red coral'] }, { target: logo, args: ['a red coral'] }].map((j) => JSON.stringify(j)).join('\n');
  const jobs = await readJobs(join(dir, 'jobs.jsonl'), text, 1, keys);
  assert.deepEqual(jobs.map((j) => j.data.iterations), [LIVING_ITERATIONS, SOURCE_METHOD.iterations, SOURCE_METHOD.iterations, SOURCE_METHOD.iterations]);
});

test('readJobs: a bad line is exit 65 with its line number; a missing image is exit 66', async () => {
  await rejects('{"target": "x.png"}\n{"target": "x.png", "iteratons": 5}', 65, /jobs\.jsonl:2: unknown key "iteratons"/);
  await rejects(`{"target": "${join(dir, 'logo.png')}", "out": "runs/x"}`, 65, /jobs\.jsonl:1: "out" is set by the worker/);
  await rejects('{"iterations": 5}', 65, /needs "target", "texture" or "args"/);
  await rejects('{"target": ', 65, /jobs\.jsonl:1: not valid JSON/);
  await rejects('["target"]', 65, /expected a JSON object/);
  await rejects('{"target": {"path": "a.png"}}', 65, /"target" must be a string/);
  await rejects(`{"target": "${join(dir, 'missing.png')}"}`, 66, /missing\.png: no such file/);
});

test('Lease: a second owner waits while the first beats, and takes over a stale lease', async () => {
  const path = join(dir, 'leases', 'job.lease');
  const a = new Lease(path, { owner: 'a', staleMs: 400, pollMs: 50 });
  const b = new Lease(path, { owner: 'b', staleMs: 400, pollMs: 50 });
  assert.equal(await a.acquire(), true);
  let waited = '';
  const beating = setInterval(() => void a.beat(), 100);
  const started = performance.now();
  const taking = b.acquire((owner) => (waited = owner));
  await new Promise((resolve) => setTimeout(resolve, 900));
  assert.equal(waited, 'a');
  clearInterval(beating); // a "dies"
  assert.equal(await taking, true);
  assert.ok(performance.now() - started >= 900 + 300, 'b waited for the lease to go stale');
  assert.equal(await a.beat(), false, 'a learns it was taken over');
  await b.release();
  assert.equal(await a.acquire(), true, 'a released lease is free at once');
  assert.equal(await b.acquire(undefined, () => true), false, 'a cancelled wait gives up');
});

test('displayUrl hides a password', () => {
  assert.equal(displayUrl('redis://:s3cret@farm:6379/2'), 'redis://:***@farm:6379/2');
  assert.equal(displayUrl('redis://user:s3cret@farm:6379'), 'redis://user:***@farm:6379');
  assert.equal(displayUrl('redis://127.0.0.1:6379'), 'redis://127.0.0.1:6379');
});
