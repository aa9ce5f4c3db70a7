/**
 * Demo models built in code, so the demo has something to play before trained models exist
 * in examples/models/. Each is a real `.nca` model: the player cannot tell them apart.
 */
import { defaultTopology, encodeNca, perceptionSize, Rng, type NcaModel, type Topology } from '../../formats/index.ts';

/**
 * Hand-built update networks. A hidden unit pair can express what the source method's MLP
 * learns implicitly: relu(z) - relu(-z) = z (a linear term) and relu(z) - relu(z - 1) =
 * clamp(z, 0, 1) (a bounded one). Each `Term` is one such pair.
 */
interface Term {
  /** State channel that receives the term. */
  target: number;
  /** Weights over the perception vector (index = channel * filters + filter). */
  weights: number[];
  bias?: number;
  kind: 'linear' | 'clamp';
  gain: number;
}

function buildModel(topology: Topology, terms: Term[], seed: NcaModel['seed'], title: string): NcaModel {
  const inputs = perceptionSize(topology);
  const hidden = 2 * terms.length;
  const w1 = new Float32Array(hidden * inputs);
  const b1 = new Float32Array(hidden);
  const w2 = new Float32Array(topology.channels * hidden);
  terms.forEach(({ target, weights, bias = 0, kind, gain }, t) => {
    const [a, b] = [2 * t, 2 * t + 1];
    weights.forEach((w, i) => {
      w1[a * inputs + i] = w;
      w1[b * inputs + i] = kind === 'linear' ? -w : w;
    });
    b1[a] = bias;
    b1[b] = kind === 'linear' ? -bias : bias - 1;
    w2[target * hidden + a] = gain;
    w2[target * hidden + b] = -gain;
  });
  return { topology: { ...topology, hidden }, weights: { w1, b1, w2 }, seed, metadata: { title, tool: 'nca-studio demo (hand-built)' } };
}

/** A perception weight vector with the given (channel, filter) entries. */
function perception(topology: Topology, entries: [channel: number, filter: number, weight: number][]): number[] {
  const weights = Array(perceptionSize(topology)).fill(0);
  for (const [channel, filter, weight] of entries) weights[channel * topology.filters.length + filter] = weight;
  return weights;
}

const IDENTITY = 0;
const LAPLACIAN = 3;

/**
 * Waves from a drop in the middle: v += c * laplacian(u) - damping * v, then u += dt * v
 * with the new v (symplectic Euler, stable for c < 0.5). Each colour has its own wave speed.
 */
export function ripples(): NcaModel {
  const topology = defaultTopology({ channels: 6, fireRate: 1, color: { offset: 0, count: 3, bias: 0.5 } });
  const [dt, damping] = [0.5, 0.001];
  const terms: Term[] = [];
  for (let colour = 0; colour < 3; colour++) {
    const [u, v] = [colour, 3 + colour];
    const c = 0.05 + 0.02 * colour;
    terms.push(
      { target: v, kind: 'linear', gain: 1, weights: perception(topology, [[u, LAPLACIAN, c], [v, IDENTITY, -damping]]) },
      { target: u, kind: 'linear', gain: 1, weights: perception(topology, [[u, LAPLACIAN, dt * c], [v, IDENTITY, dt * (1 - damping)]]) },
    );
  }
  return buildModel(topology, terms, { kind: 'cell', value: [12, 12, 12, 0, 0, 0] }, 'Ripples');
}

/**
 * A reaction-diffusion system with random chemistry: every channel diffuses at its own rate
 * and decays, and random bounded reactions couple them:
 *   x += D * laplacian(x) - decay * x + W · clamp(R · x + bias, 0, 1).
 * Bounded by construction; unequal diffusion rates make Turing patterns, whose look depends on the seed.
 */
export function reactionDiffusion(seed: number, title: string, gain = 0.08, reactions = 24, decay = 0.05): NcaModel {
  const topology = defaultTopology({ color: { offset: 0, count: 3, bias: 0 } });
  const rng = new Rng(seed);
  const channels = topology.channels;
  const terms: Term[] = [];
  for (let r = 0; r < reactions; r++) {
    terms.push({
      target: rng.int(0, channels - 1),
      kind: 'clamp',
      gain: (rng.next() < 0.5 ? -1 : 1) * gain,
      bias: rng.normal() * 0.5,
      weights: perception(topology, Array.from({ length: channels }, (_, c) => [c, IDENTITY, rng.normal()] as [number, number, number])),
    });
  }
  for (let c = 0; c < channels; c++) {
    const diffusion = 0.005 + 0.06 * rng.next() ** 2;
    terms.push({ target: c, kind: 'linear', gain: 1, weights: perception(topology, [[c, LAPLACIAN, diffusion], [c, IDENTITY, -decay]]) });
  }
  return buildModel(topology, terms, { kind: 'noise' }, title);
}

export function demoModels(): { name: string; bytes: Uint8Array }[] {
  const models = {
    ripples: ripples(),
    marble: reactionDiffusion(8, 'Marble', 0.25),
    lichen: reactionDiffusion(6, 'Lichen', 0.5),
  };
  return Object.entries(models).map(([name, model]) => ({ name: `${name}.nca`, bytes: encodeNca(model, { weightDtype: 'float16' }) }));
}
