/** Random but valid models for tests, from a seeded generator so failures repeat. */
import { defaultTopology, perceptionSize, Rng, type NcaModel, type SeedRecipe, type Topology } from '../../formats/index.ts';

export function randomWeights(n: number, rng: Rng, scale: number): Float32Array {
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = rng.normal() * scale;
  return out;
}

export function randomModel(options: { seed?: number; topology?: Partial<Topology>; recipe?: SeedRecipe['kind'] } = {}): NcaModel {
  const rng = new Rng(options.seed ?? 1);
  const topology = defaultTopology(options.topology);
  const { channels, hidden } = topology;
  let recipe: SeedRecipe = { kind: 'noise' };
  if (options.recipe === 'cell') recipe = { kind: 'cell', value: Array.from({ length: channels }, (_, i) => (i >= 3 ? 1 : 0)) };
  if (options.recipe === 'image') recipe = { kind: 'image', width: 5, height: 3, data: randomWeights(5 * 3 * channels, rng, 0.5) };
  return {
    topology,
    weights: {
      w1: randomWeights(hidden * perceptionSize(topology), rng, 0.1),
      b1: randomWeights(hidden, rng, 0.1),
      w2: randomWeights(channels * hidden, rng, 0.02),
    },
    seed: recipe,
    metadata: {
      title: 'test model',
      prompts: [{ text: 'the pytorch logo', weight: 1 }],
      clipModel: 'openai/clip-vit-base-patch32',
      iterations: 1000,
      createdAt: '2026-11-27T00:00:00.000Z',
      tool: 'nca-studio test',
    },
  };
}

/** A Growing-NCA style topology that uses every v1.1 field (alive masking, clamp, transparent premultiplied RGBA). */
export function livingTopology(overrides: Partial<Topology> = {}): Partial<Topology> {
  return {
    padding: 'zeros',
    filterScales: [1, 1 / 8, 1 / 8, 1 / 8],
    color: { offset: 0, count: 4, bias: 0, alphaBias: 0, premultiplied: true },
    alive: { channel: 3, threshold: 0.1 },
    clamp: 2,
    ...overrides,
  };
}

/** Largest absolute difference between two arrays of equal length. */
export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`length ${a.length} != ${b.length}`);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

/**
 * A living model (livingTopology, 12 channels, hidden 32, one seed cell with alpha 1) whose
 * random weights make it grow: on a 48x32 grid after 24 steps (seed 7, int8 weights) about 100
 * cells live, others have died, and many values sit at the clamp.
 */
export function livingModel(): NcaModel {
  const model = randomModel({ seed: 2, topology: livingTopology({ hidden: 32 }), recipe: 'cell' });
  model.weights.w2 = model.weights.w2.map((w) => w * 5);
  return model;
}
