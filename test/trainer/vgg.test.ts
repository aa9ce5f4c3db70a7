/**
 * VGG16 features and the VGG texture losses against PyTorch
 * (tools/make_vgg_fixtures.py: a tiny random-weight VGG16 with torchvision's
 * layout and names): style-layer features, the Gram and SWD losses, and their
 * gradients w.r.t. the pixels through our autodiff.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Graph } from '../../trainer/graph/graph.ts';
import { gradients } from '../../trainer/autodiff/gradients.ts';
import { Session } from '../../trainer/engine/session.ts';
import { SafetensorsError, SafetensorsFile } from '../../trainer/weights/safetensors.ts';
import { openVgg16, styleFeatures, STYLE_LAYERS } from '../../trainer/vgg/vgg16.ts';
import { exemplarLayers, styleDistance, type ExemplarLayer, type VggStatistic } from '../../trainer/texture/vgg-loss.ts';
import { relativeError } from '../helpers/parity.ts';

const dir = new URL('../fixtures/vgg-tiny/', import.meta.url).pathname;
const MODEL = `${dir}model.safetensors`;
const expected = SafetensorsFile.open(`${dir}expected.safetensors`);
const TOLERANCE = 1e-4;
const close = (what: string, actual: ArrayLike<number>, want: ArrayLike<number>) => {
  const err = relativeError(actual, want);
  assert.ok(err < TOLERANCE, `${what}: relative error ${err.toExponential(2)}`);
};

test('the tiny VGG16 opens with its widths read from the checkpoint (the classifier is ignored)', () => {
  const vgg = openVgg16(MODEL);
  try {
    assert.deepEqual(vgg.blocks.map((b) => b.map((c) => c.outputs)), [[4, 4], [6, 6], [8, 8, 8], [10, 10, 10], [12, 12, 12]]);
    assert.deepEqual(vgg.blocks.flat().map((c) => c.index), [0, 2, 5, 7, 10, 12, 14, 17, 19, 21, 24, 26, 28]);
  } finally {
    vgg.weights.close();
  }
});

test('style-layer features of a batch and of an odd-sized exemplar match PyTorch', async () => {
  const vgg = openVgg16(MODEL);
  try {
    const g = new Graph('vgg');
    const pixels = g.input('pixels', [2, 3, 32, 32]);
    styleFeatures(vgg, pixels).forEach((f, l) => g.output(f, STYLE_LAYERS[l]));
    const session = await Session.create(g, { threads: 1 });
    const out = await session.run({ ...vgg.weights.feeds(g), pixels: expected.readFloat32('pixels') });
    await session.release();
    for (const name of STYLE_LAYERS) close(name, out[name] as Float32Array, expected.readFloat32(name));
    const layers = await exemplarLayers(vgg, { width: 36, height: 40, data: expected.readFloat32('exemplar') }, { threads: 1 });
    layers.forEach((layer, l) => {
      const want = expected.info(`exemplar_${STYLE_LAYERS[l]}`).shape;
      assert.deepEqual([layer.channels, layer.count], [want[1], want[2] * want[3]]);
      close(`exemplar ${STYLE_LAYERS[l]}`, layer.features, expected.readFloat32(`exemplar_${STYLE_LAYERS[l]}`));
    });
  } finally {
    vgg.weights.close();
  }
});

for (const statistic of ['gram', 'swd'] as VggStatistic[]) {
  test(`the ${statistic} loss and its gradient w.r.t. the pixels match PyTorch`, async () => {
    const vgg = openVgg16(MODEL);
    try {
      const exemplar: ExemplarLayer[] = STYLE_LAYERS.map((name) => {
        const [, c, h, w] = expected.info(`exemplar_${name}`).shape;
        return { channels: c, count: h * w, features: expected.readFloat32(`exemplar_${name}`) };
      });
      const g = new Graph('vgg_loss');
      const pixels = g.input('pixels', [2, 3, 32, 32]);
      const dirs = statistic === 'swd' ? exemplar.map((ex, l) => g.input(`dirs_${l}`, [ex.channels, ex.channels])) : [];
      const loss = styleDistance(styleFeatures(vgg, pixels), exemplar, statistic, dirs);
      g.output(loss, 'loss');
      g.output(gradients(loss, [pixels])[0], 'grad');
      const session = await Session.create(g, { threads: 1 });
      const feeds = Object.fromEntries(dirs.map((_, l) => [`dirs_${l}`, expected.readFloat32(`swd_dirs_${l + 1}`)]));
      const out = await session.run({ ...vgg.weights.feeds(g), ...feeds, pixels: expected.readFloat32('pixels') });
      await session.release();
      close('loss', out.loss as Float32Array, expected.readFloat32(`${statistic}_loss`));
      close('gradient', out.grad as Float32Array, expected.readFloat32(`${statistic}_grad`));
    } finally {
      vgg.weights.close();
    }
  });
}

test('a checkpoint that is not VGG16 is refused by name', () => {
  const tmp = mkdtempSync(join(tmpdir(), 'vgg-'));
  const write = (name: string, tensors: Record<string, number[]>) => {
    let offset = 0;
    const header: Record<string, unknown> = {};
    for (const [key, shape] of Object.entries(tensors)) {
      const bytes = 4 * shape.reduce((a, b) => a * b, 1);
      header[key] = { dtype: 'F32', shape, data_offsets: [offset, offset + bytes] };
      offset += bytes;
    }
    const json = Buffer.from(JSON.stringify(header));
    const len = Buffer.alloc(8);
    len.writeBigUInt64LE(BigInt(json.length));
    writeFileSync(join(tmp, name), Buffer.concat([len, json, Buffer.alloc(offset)]));
    return join(tmp, name);
  };
  assert.throws(() => openVgg16(write('clip.safetensors', { 'vision_model.embeddings.class_embedding': [8] })), (e: Error) => e instanceof SafetensorsError && /no features\.0\.weight/.test(e.message));
  assert.throws(
    () => openVgg16(write('wide.safetensors', { 'features.0.weight': [4, 3, 3, 3], 'features.0.bias': [4], 'features.2.weight': [4, 5, 3, 3] })),
    /features\.2\.weight has shape \[4, 5, 3, 3\], expected \[out, 4, 3, 3\]/,
  );
});
