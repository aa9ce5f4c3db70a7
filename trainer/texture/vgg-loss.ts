/**
 * The VGG texture losses (`--texture-loss vgg` and `vgg-swd`, docs/textures.md):
 * statistics of VGG16's style-layer features (relu1_1 ... relu5_1) of each
 * state's displayed colour, against the same statistics of the exemplar.
 *
 *   gram  Gram matrices G = F Fᵀ / N per layer (Gatys et al.; the loss of
 *         Self-Organising Textures).
 *   swd   the sliced Wasserstein distance between the feature distributions:
 *         the features projected on C random unit directions per layer (redrawn
 *         every iteration), sorted, compared rank by rank at equal quantiles.
 *
 * Each layer's distance is divided by the exemplar's own scale of that
 * statistic (mean G² for Gram, mean F² for SWD), so the layers weigh alike
 * whatever their feature magnitudes; the loss is the mean over layers.
 * The exemplar's features are computed once, before training.
 */
import type { Topology } from '../../formats/model.ts';
import { Graph, type TensorData, type Value } from '../graph/graph.ts';
import * as op from '../graph/ops.ts';
import { Session, type SessionOptions } from '../engine/session.ts';
import type { LossTerm } from '../train/loss.ts';
import { styleFeatures, type Vgg16 } from '../vgg/vgg16.ts';
import { iterationRng, quantileIndices, unitDirections, type RgbPlanes } from './exemplar.ts';
import { displayedRgb } from './swd-loss.ts';

export const VGG_STATISTICS = ['gram', 'swd'] as const;
export type VggStatistic = (typeof VGG_STATISTICS)[number];

/** One style layer of the exemplar: features [channels, count] (count = H * W). */
export interface ExemplarLayer {
  channels: number;
  count: number;
  features: Float32Array;
}

const EPSILON = 1e-8;
const dirsInput = (layer: number) => `vgg_dirs_${layer}`;

/** The exemplar's style-layer features, in one onnxruntime run. */
export async function exemplarLayers(vgg: Vgg16, exemplar: RgbPlanes, options: SessionOptions = {}): Promise<ExemplarLayer[]> {
  const g = new Graph('vgg_exemplar');
  const layers = styleFeatures(vgg, g.input('pixels', [1, 3, exemplar.height, exemplar.width]));
  layers.forEach((f, l) => g.output(f, `layer_${l}`));
  const session = await Session.create(g, options);
  try {
    const out = await session.run({ ...vgg.weights.feeds(g), pixels: exemplar.data });
    return layers.map((f, l) => ({ channels: f.shape[1], count: f.shape[2] * f.shape[3], features: out[`layer_${l}`] as Float32Array }));
  } finally {
    await session.release();
  }
}

/** The Gram matrix F Fᵀ / count of a layer, [C, C]. */
export function gramOf(layer: ExemplarLayer): Float32Array {
  const { channels: c, count: n, features: f } = layer;
  const out = new Float32Array(c * c);
  for (let i = 0; i < c; i++) {
    for (let j = i; j < c; j++) {
      let sum = 0;
      for (let m = 0; m < n; m++) sum += f[i * n + m] * f[j * n + m];
      out[i * c + j] = out[j * c + i] = sum / n;
    }
  }
  return out;
}

const meanSquare = (v: Float32Array) => v.reduce((s, x) => s + x * x, 0) / v.length;

/**
 * The distance of features [B, C, H, W] (one Value per style layer) to the exemplar's.
 * `dirs[l]` ([C, C] unit rows) are the SWD directions of layer l (unused for Gram).
 */
export function styleDistance(features: Value[], exemplar: ExemplarLayer[], statistic: VggStatistic, dirs: Value[]): Value {
  let total: Value | null = null;
  features.forEach((f, l) => {
    const g = f.graph;
    const [b, c, h, w] = f.shape;
    const n = h * w;
    const ex = exemplar[l];
    if (ex.channels !== c) throw new Error(`VGG layer ${l + 1}: the exemplar has ${ex.channels} channels, the frame ${c}`);
    const flat = op.reshape(f, [b, c, n]);
    let term: Value;
    if (statistic === 'gram') {
      const gram = op.mul(op.matmul(flat, op.transpose(flat, [0, 2, 1])), 1 / n);
      const target = gramOf(ex);
      const diff = op.sub(gram, g.constant(target, [1, c, c]));
      term = op.mul(op.reduceMean(op.mul(diff, diff), [0, 1, 2], false), 1 / (meanSquare(target) + EPSILON));
    } else {
      const sorted = op.sort(op.matmul(dirs[l], flat), -1).values;
      const exSorted = op.sort(op.matmul(dirs[l], g.constant(ex.features, [c, ex.count])), -1).values;
      const target = op.gather(exSorted, g.constant(quantileIndices(n, ex.count), [n], 'int64'), 1);
      const diff = op.sub(sorted, target);
      term = op.mul(op.reduceMean(op.mul(diff, diff), [0, 1, 2], false), 1 / (meanSquare(ex.features) + EPSILON));
    }
    total = total ? op.add(total, term) : term;
  });
  return op.mul(total!, 1 / features.length);
}

/** The VGG term of a texture loss; SWD directions are drawn per iteration from `seed`. */
export function vggTerm(vgg: Vgg16, exemplar: ExemplarLayer[], topology: Topology, statistic: VggStatistic, seed: number, weight = 1): LossTerm {
  let graph: Graph | null = null; // the loss graph, whose weight inputs `feeds` fills
  return {
    name: 'texture',
    weight,
    build(state) {
      const g = (graph = state.graph);
      const features = styleFeatures(vgg, displayedRgb(state, topology), exemplar.length);
      const dirs = statistic === 'swd' ? exemplar.map((ex, l) => g.input(dirsInput(l), [ex.channels, ex.channels])) : [];
      return styleDistance(features, exemplar, statistic, dirs);
    },
    feeds(iteration) {
      const feeds: Record<string, TensorData> = { ...vgg.weights.feeds(graph!) };
      if (statistic === 'swd') {
        const rng = iterationRng(seed, iteration);
        exemplar.forEach((ex, l) => (feeds[dirsInput(l)] = unitDirections(rng, ex.channels, ex.channels)));
      }
      return feeds;
    },
  };
}
