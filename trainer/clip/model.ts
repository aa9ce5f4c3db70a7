/**
 * A CLIP model directory (config.json, tokenizer.json, model.safetensors) and
 * the one-off embeddings a run needs: prompts through the text tower and image
 * prompts through the image tower, each in a session that is released at once.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Graph } from '../graph/graph.ts';
import { Session, type SessionOptions } from '../engine/session.ts';
import { parseClipConfig, type ClipConfig } from './config.ts';
import { ClipTokenizer } from './tokenizer.ts';
import { FedWeights } from '../weights/fed-weights.ts';
import { textTower } from './text.ts';
import { visionTower } from './vision.ts';
import { normalizePixels } from './pipeline.ts';

export interface ClipModel {
  dir: string;
  config: ClipConfig;
  tokenizer: ClipTokenizer;
  weights: FedWeights;
}

export function loadClip(dir: string): ClipModel {
  const configPath = join(dir, 'config.json');
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(configPath, 'utf8'));
  } catch (err) {
    throw new Error(`${configPath}: ${(err as Error).message}`);
  }
  const config = parseClipConfig(json, configPath);
  return {
    dir,
    config,
    tokenizer: ClipTokenizer.load(dir, config.text.contextLength),
    weights: FedWeights.open(join(dir, 'model.safetensors')),
  };
}

/** Text embeddings [texts.length][projection], not normalised. */
export async function embedTexts(model: ClipModel, texts: string[], options: SessionOptions = {}): Promise<Float32Array[]> {
  const { config, tokenizer } = model;
  const length = config.text.contextLength;
  const tokens = texts.map((t) => tokenizer.encode(t));
  const g = new Graph('clip_text');
  const ids = g.input('ids', [texts.length, length], 'int64');
  const eot = g.input('eot', [texts.length], 'int64');
  g.output(textTower(model.weights, config, ids, eot), 'embeds');
  const out = await runOnce(g, options, {
    ...model.weights.feeds(g),
    ids: BigInt64Array.from(tokens.flatMap((t) => t.ids.map(BigInt))),
    eot: BigInt64Array.from(tokens.map((t, i) => BigInt(i * length + t.eot))),
  });
  return split(out.embeds as Float32Array, texts.length);
}

/** Image embeddings of RGB images [3, S, S] with values in [0, 1] (S = the tower's input size). */
export async function embedImages(model: ClipModel, images: Float32Array[], options: SessionOptions = {}): Promise<Float32Array[]> {
  const s = model.config.vision.imageSize;
  const g = new Graph('clip_image');
  const rgb = g.input('rgb', [images.length, 3, s, s]);
  g.output(visionTower(model.weights, model.config, normalizePixels(rgb)), 'embeds');
  const batch = new Float32Array(images.length * 3 * s * s);
  images.forEach((im, i) => batch.set(im, i * im.length));
  const out = await runOnce(g, options, { ...model.weights.feeds(g), rgb: batch });
  return split(out.embeds as Float32Array, images.length);
}

async function runOnce(g: Graph, options: SessionOptions, feeds: Parameters<Session['run']>[0]) {
  const session = await Session.create(g, options);
  try {
    return await session.run(feeds);
  } finally {
    await session.release();
  }
}

function split(flat: Float32Array, n: number): Float32Array[] {
  const d = flat.length / n;
  return Array.from({ length: n }, (_, i) => flat.slice(i * d, (i + 1) * d));
}
