/**
 * Parity with Hugging Face CLIPModel (tools/make_clip_fixtures.py): text and
 * image embeddings, and d(similarity)/d(pixels) through our autodiff, to 1e-4
 * relative to the largest expected value.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Graph } from '../../trainer/graph/graph.ts';
import * as op from '../../trainer/graph/ops.ts';
import { gradients } from '../../trainer/autodiff/gradients.ts';
import { Session } from '../../trainer/engine/session.ts';
import { SafetensorsFile } from '../../trainer/weights/safetensors.ts';
import { embedTexts, loadClip } from '../../trainer/clip/model.ts';
import { visionTower } from '../../trainer/clip/vision.ts';
import { normalizePixels } from '../../trainer/clip/pipeline.ts';
import { unitRows } from '../../trainer/clip/similarity.ts';
import { relativeError } from '../helpers/parity.ts';

const TOLERANCE = 1e-4;

for (const name of ['clip-tiny', 'clip-tiny-gelu']) {
  const dir = new URL(`../fixtures/${name}/`, import.meta.url).pathname;
  const expected = SafetensorsFile.open(`${dir}expected.safetensors`);
  const prompts: string[] = (await import(`${dir}expected.json`, { with: { type: 'json' } })).default.prompts;

  test(`${name}: text embeddings match transformers`, async () => {
    const model = loadClip(dir);
    const got = await embedTexts(model, prompts, { threads: 1 });
    const err = relativeError(got.flatMap((e) => [...e]), expected.readFloat32('text_embeds'));
    console.log(`${name} text embeds: relative error ${err.toExponential(2)}`);
    assert.ok(err < TOLERANCE, `relative error ${err}`);
  });

  test(`${name}: image embeddings and d(similarity)/d(pixels) match transformers`, async () => {
    const model = loadClip(dir);
    const s = model.config.vision.imageSize;
    const n = prompts.length;
    const g = new Graph('parity');
    const rgb = g.input('rgb', [n, 3, s, s]);
    const image = visionTower(model.weights, model.config, normalizePixels(rgb));
    const text = g.constant(expected.readFloat32('text_embeds'), [n, model.config.projectionDim]);
    // sum_i cos(image_i, text_i), the reference's similarity
    const similarity = op.sumAll(op.mul(unitRows(image), unitRows(text)));
    const [grad] = gradients(similarity, [rgb]);
    g.output(image, 'image');
    g.output(similarity, 'similarity');
    g.output(grad, 'grad');
    const session = await Session.create(g, { threads: 1 });
    const out = await session.run({ ...model.weights.feeds(g), rgb: expected.readFloat32('rgb') });
    await session.release();
    const errors = {
      image: relativeError(out.image as Float32Array, expected.readFloat32('image_embeds')),
      similarity: relativeError(out.similarity as Float32Array, expected.readFloat32('similarity')),
      grad: relativeError(out.grad as Float32Array, expected.readFloat32('grad_rgb')),
    };
    console.log(`${name} relative errors: ${Object.entries(errors).map(([k, v]) => `${k} ${v.toExponential(2)}`).join(', ')}`);
    for (const [what, err] of Object.entries(errors)) assert.ok(err < TOLERANCE, `${what}: relative error ${err}`);
  });
}
