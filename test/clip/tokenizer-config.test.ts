import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { ClipTokenizer } from '../../trainer/clip/tokenizer.ts';
import { parseClipConfig } from '../../trainer/clip/config.ts';

const fixture = (name: string) => new URL(`../fixtures/${name}/`, import.meta.url).pathname;
const readJson = (path: string) => JSON.parse(readFileSync(path, 'utf8'));

test('tokenizer matches the Python CLIPTokenizer, including truncation to the context', () => {
  const dir = fixture('clip-tiny');
  const expected = readJson(`${dir}expected.json`);
  const tokenizer = ClipTokenizer.load(dir, expected.context_length);
  for (const [text, ids] of Object.entries(expected.token_ids) as [string, number[]][]) {
    const tokens = tokenizer.encode(text);
    assert.deepEqual(tokens.ids.slice(0, ids.length), ids, text);
    assert.equal(tokens.ids.length, expected.context_length);
    assert.equal(tokens.eot, ids.length - 1, text);
    assert.equal(tokens.truncated, expected.untruncated_lengths[text] > expected.context_length, text);
  }
  assert.throws(() => ClipTokenizer.load(fixture('safetensors'), 16), /tokenizer.json is missing/);
});

test('config: full transformers config and a minimal one with defaults', () => {
  const full = parseClipConfig(readJson(`${fixture('clip-tiny')}config.json`), 'clip-tiny');
  assert.deepEqual(full.vision, {
    hiddenSize: 64, intermediateSize: 128, layers: 2, heads: 4, activation: 'quick_gelu',
    layerNormEps: 1e-5, imageSize: 32, patchSize: 8, channels: 3,
  });
  assert.equal(full.text.contextLength, 16);
  assert.equal(full.projectionDim, 16);
  const minimal = parseClipConfig(readJson(`${fixture('clip-tiny-gelu')}config.json`), 'gelu');
  assert.equal(minimal.vision.activation, 'gelu');
  assert.equal(minimal.vision.layerNormEps, 1e-6);
  assert.equal(minimal.text.layerNormEps, 1e-5, 'default filled in');
  assert.equal(minimal.vision.channels, 3, 'default filled in');
  // An empty config is openai/clip-vit-base-patch32's architecture.
  const base = parseClipConfig({}, 'defaults');
  assert.equal(base.vision.hiddenSize, 768);
  assert.equal(base.vision.patchSize, 32);
  assert.equal(base.text.vocabSize, 49408);
  // Legacy openai configs: text_config_dict wins over text_config.
  const legacy = parseClipConfig({ text_config: { hidden_size: 64 }, text_config_dict: { hidden_size: 128 } }, 'legacy');
  assert.equal(legacy.text.hiddenSize, 128);
});

test('config: unsupported or inconsistent configs fail with the key named', () => {
  const cases: [unknown, RegExp][] = [
    [[], /not a JSON object/],
    [{ model_type: 'siglip' }, /only CLIP models/],
    [{ vision_config: { hidden_act: 'relu' } }, /vision_config.hidden_act "relu" is not supported/],
    [{ text_config: { hidden_size: 100, num_attention_heads: 8 } }, /not divisible by 8 heads/],
    [{ vision_config: { patch_size: 0 } }, /vision_config.patch_size must be a positive integer/],
    [{ vision_config: { image_size: 225 } }, /not a multiple of patch_size/],
    [{ projection_dim: 'big' }, /projection_dim must be a positive integer/],
  ];
  for (const [json, message] of cases) assert.throws(() => parseClipConfig(json, 'x'), message);
});
