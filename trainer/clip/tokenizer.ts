/**
 * CLIP's byte-level BPE, run by `@huggingface/transformers` from a local
 * `tokenizer.json`. The tokenizer is built from the parsed JSON directly, and
 * remote loading is switched off, so it can never reach the network.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { CLIPTokenizer, env } from '@huggingface/transformers';

env.allowRemoteModels = false;

export interface Tokens {
  /** Token ids padded to the context length. */
  ids: number[];
  /** Position of the end-of-text token, where the text tower pools. */
  eot: number;
  /** True when the prompt was longer than the context and was cut. */
  truncated: boolean;
}

export class ClipTokenizer {
  private constructor(
    private readonly tokenizer: CLIPTokenizer,
    readonly contextLength: number,
  ) {}

  /** Loads `tokenizer.json` (and `tokenizer_config.json` when present) from a model directory. */
  static load(dir: string, contextLength: number): ClipTokenizer {
    const path = join(dir, 'tokenizer.json');
    if (!existsSync(path)) throw new Error(`${dir}: tokenizer.json is missing`);
    const configPath = join(dir, 'tokenizer_config.json');
    const config = existsSync(configPath) ? readJson(configPath) : {};
    return new ClipTokenizer(new CLIPTokenizer(readJson(path), config), contextLength);
  }

  /** Start token, BPE tokens, end token; cut to the context length keeping the end token, as CLIP was trained. */
  encode(text: string): Tokens {
    let ids = this.tokenizer.encode(text);
    const truncated = ids.length > this.contextLength;
    if (truncated) ids = [...ids.slice(0, this.contextLength - 1), ids[ids.length - 1]];
    const eot = ids.length - 1;
    // Padding content is irrelevant: the causal mask hides it from the end token, where pooling happens.
    return { ids: [...ids, ...new Array(this.contextLength - ids.length).fill(0)], eot, truncated };
  }
}

function readJson(path: string): unknown {
  try {
    return JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new Error(`${path}: not valid JSON (${(err as Error).message})`);
  }
}
