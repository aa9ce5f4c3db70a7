// End to end: `nca train "PROMPT"` with the tiny fixture CLIP, as a user runs it.
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { decodeNca } from '../../formats/nca-file.ts';
import { decodePng, encodePng } from '../../trainer/image/png.ts';
import { loadCheckpoint } from '../../trainer/train/checkpoint.ts';
import { stripeTexture } from '../../trainer/texture/synthetic.ts';
import { interruptAfterLogLines, repoRoot, runNca } from '../helpers/cli.ts';
import { TEXTURE_SPECTRUM_WEIGHT } from '../../cli/commands/train-texture.ts';

const work = mkdtempSync(join(tmpdir(), 'nca-clip-'));
const clipPath = join(repoRoot, 'test/fixtures/clip-tiny');
const flags = ['--clip-path', clipPath, '--size', '40x24', '--steps', '8-10', '--pool', '8', '--batch', '2', '--cutouts', '3', '--threads', '1'];
const prompt = 'red coral:1, deep sea:0.5';
/** An image prompt, drawn by code: diagonal colour bands, 30x20. */
const imagePrompt = join(work, 'bands.png');
writeFileSync(imagePrompt, encodePng({ width: 30, height: 20, data: Uint8Array.from({ length: 30 * 20 * 4 }, (_, i) => (i % 4 === 3 ? 255 : ((i >> 2) * (5 + (i % 4) * 7)) % 256)) }));

test('nca train "PROMPT" logs the similarity per iteration, writes previews and ends with a .nca', () => {
  const dir = join(work, 'run');
  const r = runNca(['train', prompt, '--negative', 'blurry', '--iterations', '10', '--preview-every', '5', '--out', dir, ...flags]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /iteration 10: CLIP similarity -?\d\.\d{4}/);
  const log = readFileSync(join(dir, 'log.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l)).filter((e) => e.kind === 'iteration');
  assert.equal(log.length, 10);
  for (const e of log) {
    assert.ok(Math.abs(e.logs.similarity) <= 1 && Math.abs(e.logs.negative_similarity) <= 1, JSON.stringify(e.logs));
    assert.ok(Number.isFinite(e.logs.clip) && Number.isFinite(e.logs.overflow));
  }
  assert.deepEqual(readdirSync(join(dir, 'previews')).sort(), ['iter-000005.png', 'iter-000010.png']);
  const preview = decodePng(readFileSync(join(dir, 'previews', 'iter-000010.png')));
  assert.equal(preview.height, 24);
  const { model } = decodeNca(readFileSync(join(dir, 'model.nca')));
  assert.deepEqual(model.metadata.prompts, [{ text: 'red coral', weight: 1 }, { text: 'deep sea', weight: 0.5 }]);
  assert.deepEqual(model.metadata.negativePrompts, [{ text: 'blurry', weight: 1 }]);
  assert.equal(model.metadata.clipModel, 'clip-tiny');
  assert.equal(model.seed.kind, 'noise');
  assert.ok(model.weights.w2.some((v) => v !== 0), 'training changed the zero-initialised output layer');
});

test('nca train "PROMPT" --texture IMAGE adds the texture term to the CLIP loss (text + texture)', () => {
  const dir = join(work, 'with-texture');
  const texture = join(work, 'stripes.png');
  writeFileSync(texture, encodePng(stripeTexture(64, 64, 8, 'vertical')));
  const r = runNca(['train', prompt, '--texture', texture, '--texture-weight', '2', '--texture-scale', '1', '--iterations', '2', '--preview-every', '0', '--out', dir, ...flags, '--size', '32x32']);
  assert.equal(r.code, 0, r.stderr);
  const log = readFileSync(join(dir, 'log.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l)).filter((e) => e.kind === 'iteration');
  for (const e of log) {
    assert.ok(Number.isFinite(e.logs.clip) && Number.isFinite(e.logs.similarity) && Number.isFinite(e.logs.overflow), JSON.stringify(e.logs));
    assert.ok(e.logs.texture > 0, JSON.stringify(e.logs));
    assert.ok(e.logs.spectrum > 0, JSON.stringify(e.logs)); // the texture's spectrum term, at its default weight
    const total = e.logs.clip + 2 * e.logs.texture + TEXTURE_SPECTRUM_WEIGHT * e.logs.spectrum + e.logs.overflow;
    assert.ok(Math.abs(e.loss - total) < 1e-4 * Math.abs(e.loss), JSON.stringify(e));
  }
  const { model } = decodeNca(readFileSync(join(dir, 'model.nca')));
  assert.deepEqual(model.metadata.extra?.texture, { scale: 1, exemplar: 'stripes.png', loss: 'patch' });
});

test('an interrupted CLIP run resumes from its checkpoint alone and ends bit-identical', async () => {
  const args = (dir: string) => ['train', prompt, '--image-prompt', `${imagePrompt}:0.5`, '--iterations', '6', '--save-every', '2', '--preview-every', '0', '--quiet', '--out', dir, ...flags];
  const reference = join(work, 'reference');
  assert.equal(runNca(args(reference)).code, 0);
  const dir = join(work, 'interrupted');
  assert.equal(await interruptAfterLogLines(args(dir), dir, 3), 130);
  const stopped = await loadCheckpoint(dir);
  assert.ok(stopped.iteration > 0 && stopped.iteration < 6, `stopped at ${stopped.iteration}`);
  // The prompts are not given again: the checkpoint holds their embeddings.
  const resumed = runNca(['train', '--resume', dir, '--quiet', '--threads', '1']);
  assert.equal(resumed.code, 0, resumed.stderr);
  assert.ok(readFileSync(join(dir, 'model.nca')).equals(readFileSync(join(reference, 'model.nca'))));
});

test('offline with an empty cache: exit code 2 and how to provide the weights', async () => {
  // A port that was just free: nothing listens there.
  const port = await new Promise<number>((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const p = (s.address() as { port: number }).port;
      s.close(() => resolve(p));
    });
  });
  const r = runNca(['train', prompt, '--iterations', '1', '--out', join(work, 'offline')], {
    env: { HF_ENDPOINT: `http://127.0.0.1:${port}`, HF_HUB_CACHE: join(work, 'empty-cache') },
  });
  assert.equal(r.code, 2, r.stderr);
  assert.match(r.stderr, /cannot download CLIP weights openai\/clip-vit-base-patch32/);
  assert.match(r.stderr, /huggingface-cli download/);
  assert.match(r.stderr, /--clip-path DIR/);
});

test('bad CLIP inputs fail with the documented exit codes', () => {
  const out = ['--out', join(work, 'bad')];
  assert.equal(runNca(['train', prompt, '--clip-path', work, ...out]).code, 66, 'directory without the model files');
  assert.equal(runNca(['train', 'coral:0', '--clip-path', clipPath, ...out]).code, 64, 'zero weight');
  assert.equal(runNca(['train', 'a', 'b', '--clip-path', clipPath, ...out]).code, 64, 'unquoted prompt');
  assert.equal(runNca(['train', prompt, '--clip-path', clipPath, '--size', '300x100', '--cutouts', '2', ...out]).code, 64, 'too few cutouts to cover');
  assert.equal(runNca(['train', prompt, '--clip-path', clipPath, '--image-prompt', join(clipPath, 'config.json'), ...out]).code, 65, 'not a PNG');
  const wrong = runNca(['train', prompt, '--clip-path', join(repoRoot, 'test/fixtures/clip-tiny-gelu'), '--clip-loss', 'manhattan', ...out]);
  assert.equal(wrong.code, 64);
  assert.match(wrong.stderr, /--clip-loss must be one of spherical, cosine, dot/);
});
