/**
 * Hand-built models whose long-run behaviour is known without training, for the
 * `nca eval` tests: a pattern that holds exactly, one that regrows, and ones that do not.
 */
import { defaultTopology, Rng, type NcaModel } from '../../formats/index.ts';
import type { RgbaImage } from '../../trainer/image/png.ts';
import { livingTopology, randomModel, randomWeights } from '../helpers/models.ts';

/** A small opaque-on-transparent target: a coloured blob with a gradient, 8x6. */
export function blobTarget(): RgbaImage {
  const width = 8;
  const height = 6;
  const data = new Uint8Array(width * height * 4);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      if ((x - 3.5) ** 2 / 16 + (y - 2.5) ** 2 / 9 > 1) continue; // outside the ellipse: transparent
      data.set([200 - 20 * x, 40 + 30 * y, 120, 255], (y * width + x) * 4);
    }
  }
  return { width, height, data };
}

/**
 * A living model (alive masking, clamp, premultiplied RGBA) whose seed is the target
 * and whose update is zero (w2 = 0): the seed is a fixed point, so it holds the target
 * for ever, but it cannot regrow what is erased. Its metadata names its grid.
 */
export function fixedPointModel(target: RgbaImage, grid = { width: 16, height: 12 }): NcaModel {
  const model = randomModel({ seed: 2, topology: livingTopology() });
  const c = model.topology.channels;
  const data = new Float32Array(target.width * target.height * c);
  for (let i = 0; i < target.width * target.height; i++) {
    const a = target.data[i * 4 + 3] / 255;
    for (let k = 0; k < 3; k++) data[i * c + k] = (target.data[i * 4 + k] / 255) * a; // premultiplied colour
    data[i * c + 3] = a;
  }
  model.seed = { kind: 'image', width: target.width, height: target.height, data };
  model.weights.w2 = new Float32Array(model.weights.w2.length);
  model.metadata = { ...model.metadata, extra: { grid } };
  return model;
}

/** The fixed-point model with a small random update: the pattern drifts away from the target. */
export function driftingModel(target: RgbaImage, scale = 0.05): NcaModel {
  const model = fixedPointModel(target);
  model.weights.w2 = randomWeights(model.weights.w2.length, new Rng(5), scale);
  return model;
}

/** A source-method (v1.0) model with large random weights: its state explodes. */
export function explodingModel(): NcaModel {
  const model = randomModel({ seed: 3 });
  model.weights.w2 = model.weights.w2.map((v) => v * 200);
  return model;
}

/**
 * A living model that grows a solid colour over the whole grid from one cell and
 * regrows it when erased: its update ignores perception (w1 = 0, b1 = 1) and adds
 * `rate` to red and alpha on every firing step, clamped at 1; alive masking lets it
 * spread one ring of cells at a time. Its fixed point is opaque red everywhere.
 */
export function growingModel(rate = 0.25): NcaModel {
  const topology = defaultTopology({
    channels: 4,
    hidden: 1,
    filters: ['identity'],
    padding: 'zeros',
    color: { offset: 0, count: 4, bias: 0, alphaBias: 0, premultiplied: true },
    alive: { channel: 3, threshold: 0.1 },
    clamp: 1,
  });
  return {
    topology,
    weights: { w1: new Float32Array(4), b1: Float32Array.of(1), w2: Float32Array.of(rate, 0, 0, rate) },
    seed: { kind: 'cell', value: [1, 0, 0, 1] },
    metadata: { title: 'solid red grower' },
  };
}

/** An opaque red image of the given size: what `growingModel` converges to. */
export function solidRed(width: number, height: number): RgbaImage {
  const data = new Uint8Array(width * height * 4);
  for (let i = 0; i < width * height; i++) data.set([255, 0, 0, 255], i * 4);
  return { width, height, data };
}
