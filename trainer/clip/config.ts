/**
 * The parts of a Hugging Face CLIP `config.json` that the towers need. Keys
 * missing from the file take the defaults of transformers' `CLIPTextConfig` /
 * `CLIPVisionConfig` (LAION repositories list only what differs), and legacy
 * `text_config_dict` / `vision_config_dict` entries win over `text_config`, as
 * transformers does for old openai configs.
 */

export type Activation = 'quick_gelu' | 'gelu';
const ACTIVATIONS: readonly string[] = ['quick_gelu', 'gelu'];

export interface EncoderConfig {
  hiddenSize: number;
  intermediateSize: number;
  layers: number;
  heads: number;
  activation: Activation;
  layerNormEps: number;
}

export interface VisionConfig extends EncoderConfig {
  imageSize: number;
  patchSize: number;
  channels: number;
}

export interface TextConfig extends EncoderConfig {
  vocabSize: number;
  /** Tokens per prompt (max_position_embeddings): 77 for every released CLIP. */
  contextLength: number;
}

export interface ClipConfig {
  vision: VisionConfig;
  text: TextConfig;
  projectionDim: number;
}

const ENCODER_DEFAULTS = { hidden_act: 'quick_gelu', layer_norm_eps: 1e-5 };
const TEXT_DEFAULTS = {
  ...ENCODER_DEFAULTS,
  vocab_size: 49408, hidden_size: 512, intermediate_size: 2048,
  num_hidden_layers: 12, num_attention_heads: 8, max_position_embeddings: 77,
};
const VISION_DEFAULTS = {
  ...ENCODER_DEFAULTS,
  hidden_size: 768, intermediate_size: 3072, num_hidden_layers: 12,
  num_attention_heads: 12, num_channels: 3, image_size: 224, patch_size: 32,
};

export class ClipConfigError extends Error {}

export function parseClipConfig(json: unknown, source: string): ClipConfig {
  const fail = (why: string): never => {
    throw new ClipConfigError(`${source}: ${why}`);
  };
  if (!isRecord(json)) fail('not a JSON object');
  const root = json as Record<string, unknown>;
  if (root.model_type !== undefined && root.model_type !== 'clip') {
    fail(`model_type is "${root.model_type}"; only CLIP models ("clip") are supported`);
  }
  const section = (key: string, defaults: Record<string, unknown>) => ({
    ...defaults,
    ...(isRecord(root[key]) ? (root[key] as object) : {}),
    ...(isRecord(root[`${key}_dict`]) ? (root[`${key}_dict`] as object) : {}),
  });
  const text = section('text_config', TEXT_DEFAULTS);
  const vision = section('vision_config', VISION_DEFAULTS);
  const reader = (where: string, values: Record<string, unknown>) => ({
    count: (key: string): number => {
      const v = values[key];
      if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 1) fail(`${where}.${key} must be a positive integer, got ${JSON.stringify(v)}`);
      return v as number;
    },
    encoder: (): EncoderConfig => {
      const r = reader(where, values);
      const act = values.hidden_act;
      if (typeof act !== 'string' || !ACTIVATIONS.includes(act)) {
        fail(`${where}.hidden_act ${JSON.stringify(act)} is not supported (use one of ${ACTIVATIONS.join(', ')})`);
      }
      const eps = values.layer_norm_eps;
      if (typeof eps !== 'number' || !(eps > 0)) fail(`${where}.layer_norm_eps must be a positive number`);
      const cfg = {
        hiddenSize: r.count('hidden_size'),
        intermediateSize: r.count('intermediate_size'),
        layers: r.count('num_hidden_layers'),
        heads: r.count('num_attention_heads'),
        activation: act as Activation,
        layerNormEps: eps as number,
      };
      if (cfg.hiddenSize % cfg.heads !== 0) fail(`${where}.hidden_size ${cfg.hiddenSize} is not divisible by ${cfg.heads} heads`);
      return cfg;
    },
  });
  const t = reader('text_config', text);
  const v = reader('vision_config', vision);
  const visionConfig: VisionConfig = {
    ...v.encoder(),
    imageSize: v.count('image_size'),
    patchSize: v.count('patch_size'),
    channels: v.count('num_channels'),
  };
  if (visionConfig.imageSize % visionConfig.patchSize !== 0) {
    fail(`vision_config.image_size ${visionConfig.imageSize} is not a multiple of patch_size ${visionConfig.patchSize}`);
  }
  if (visionConfig.channels !== 3) fail(`vision_config.num_channels is ${visionConfig.channels}; CLIP guidance needs RGB (3)`);
  const projection = root.projection_dim ?? 512;
  if (typeof projection !== 'number' || !Number.isSafeInteger(projection) || projection < 1) {
    fail(`projection_dim must be a positive integer, got ${JSON.stringify(projection)}`);
  }
  return {
    vision: visionConfig,
    text: { ...t.encoder(), vocabSize: t.count('vocab_size'), contextLength: t.count('max_position_embeddings') },
    projectionDim: projection as number,
  };
}

function isRecord(v: unknown): boolean {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
