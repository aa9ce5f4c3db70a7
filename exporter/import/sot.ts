/**
 * Self-Organising Textures (Niklasson et al., Distill 2021) models to `.nca`: reads the
 * `models.json` of its WebGL demo, as its `export_models.py` writes it, and turns each
 * model into an NcaModel that runs its float update rule exactly (SPEC.md §6, v1.2).
 *
 * The file: `{"model_names": [n names], "layers": [layer 0, layer 1]}`. A layer holds the
 * weights of all n models: `shape` [in + 1, out] is one model's matrix (TensorFlow's
 * [in, out] with the bias as its last row); the matrices, each cut into RGBA pixels of 4
 * consecutive outputs (zero-padded to a multiple of 4), are tiled `layout` = [columns,
 * rows] in one PNG (a data URL), model i at tile (i mod columns, floor(i / columns)),
 * quantised as `u8 = round(w / scale * 255 + 127)`, so w = (u8 − 127) / 255 · scale.
 * Layer 0's input rows (perception) are filter-major (f · C + c) in the file, where the
 * model computes them channel-major (c · 4 + f), as `.nca` does.
 *
 * The float rule (its `ca.py`, q = 2): perception with identity, Sobel x / 8, Sobel y / 8
 * and Laplacian / 8 on circular padding, clamped to [−q, q]; hidden = min(relu(W1 p + b1), q);
 * update = clamp(W2 h + b2, −q, q); x += update · mask (fire rate 0.5); x clamped to [−q, q];
 * colour = x / q + 0.5; the seed is all zeros. In `.nca` units x' = x / q and h' = h / q,
 * every bound is 1: w1 = W1, b1 = b1 / q, w2 = W2, b2 = b2 / q (q = 2 divides exactly),
 * with `clamp`, `perceptionClamp`, `hiddenClamp` and `updateClamp` 1 and colour bias 0.5.
 * The demo itself stores every activation in 8 bits; this is the rule it approximates.
 */
import { defaultTopology, type NcaModel } from '../../formats/index.ts';
import { decodePng, PngError, type RgbaImage } from '../../trainer/image/png.ts';

/** Self-Organising Textures' state scale (`cfg.texture_ca.q`): colour = state / q + 0.5. */
export const SOT_Q = 2;
/** `quant_scale_zero` of the two layers in `export_models.py`: hidden units in [0, 2], updates and state in about [−2, 2]. */
export const SOT_QUANT_SCALE_ZERO: [number, number][] = [
  [2, 0],
  [4, 127 / 255],
];
/** Filters per channel in the exported models: identity, Sobel x, Sobel y, Laplacian. */
const FILTERS = 4;

export class SotImportError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SotImportError';
  }
}

interface SotLayer {
  scale: number;
  image: RgbaImage;
  /** One model's matrix: [in + 1, out]. */
  shape: [number, number];
  layout: [number, number];
}

export interface SotModel {
  /** The name in the file, e.g. "texture/models/dots". */
  name: string;
  model: NcaModel;
}

const fail = (message: string): never => {
  throw new SotImportError(message);
};

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function positiveInts(v: unknown, n: number, what: string): number[] {
  if (!Array.isArray(v) || v.length !== n || !v.every((x) => Number.isInteger(x) && x >= 1 && x <= 1 << 16)) fail(`${what} must be ${n} positive whole numbers`);
  return v as number[];
}

/** The PNG of a data URL ("data:image/png;base64,..."; the exporter writes "image/PNG"). */
function dataUrlImage(url: unknown, what: string): RgbaImage {
  const m = typeof url === 'string' ? /^data:image\/png;base64,([A-Za-z0-9+/=\s]+)$/i.exec(url) : null;
  if (!m) return fail(`${what}.data must be a data:image/png;base64 URL`);
  try {
    return decodePng(new Uint8Array(Buffer.from(m[1], 'base64')));
  } catch (error) {
    if (error instanceof PngError) return fail(`${what}.data: ${error.message}`);
    throw error;
  }
}

function parseLayer(v: unknown, i: number, count: number): SotLayer {
  const what = `layers[${i}]`;
  if (!isObject(v)) return fail(`${what} must be an object`);
  const scale = v.scale;
  if (typeof scale !== 'number' || !Number.isFinite(scale) || scale < 0) fail(`${what}.scale must be a finite number >= 0`);
  const shape = positiveInts(v.shape, 2, `${what}.shape`) as [number, number];
  const layout = positiveInts(v.layout, 2, `${what}.layout`) as [number, number];
  const qsz = v.quant_scale_zero;
  const known = SOT_QUANT_SCALE_ZERO[i];
  if (!Array.isArray(qsz) || qsz.length !== 2 || qsz.some((x, k) => typeof x !== 'number' || Math.abs(x - known[k]) > 1e-6)) {
    fail(`${what}.quant_scale_zero is ${JSON.stringify(qsz)}, not Self-Organising Textures' [${known.join(', ')}] (a different state scale is not supported)`);
  }
  if (layout[0] * layout[1] < count) fail(`${what}.layout ${layout.join('x')} has room for ${layout[0] * layout[1]} models, not ${count}`);
  const image = dataUrlImage(v.data, what);
  const tileWidth = Math.ceil(shape[1] / 4);
  const expected = [layout[0] * tileWidth, layout[1] * shape[0]];
  if (image.width !== expected[0] || image.height !== expected[1]) {
    fail(`${what}: a ${image.width}x${image.height} image, where shape ${shape.join('x')} and layout ${layout.join('x')} make ${expected.join('x')}`);
  }
  return { scale: scale as number, image, shape, layout };
}

/** Model `index`'s matrix of a layer, [in + 1][out] row-major (bias last), dequantised. */
function layerMatrix(layer: SotLayer, index: number): Float64Array {
  const [rows, outs] = layer.shape;
  const tileWidth = Math.ceil(outs / 4);
  const x0 = (index % layer.layout[0]) * tileWidth;
  const y0 = Math.floor(index / layer.layout[0]) * rows;
  const { width, data } = layer.image;
  const out = new Float64Array(rows * outs);
  for (let r = 0; r < rows; r++) {
    for (let o = 0; o < outs; o++) {
      const u8 = data[((y0 + r) * width + x0 + (o >> 2)) * 4 + (o & 3)];
      out[r * outs + o] = ((u8 - 127) / 255) * layer.scale;
    }
  }
  return out;
}

/** Checks the file's structure and shapes; returns the names and the two layers. */
function parse(json: unknown): { names: string[]; layers: [SotLayer, SotLayer]; channels: number; hidden: number } {
  if (!isObject(json)) return fail('not a Self-Organising Textures models.json (expected an object with model_names and layers)');
  const names = json.model_names;
  if (!Array.isArray(names) || names.length === 0 || !names.every((n) => typeof n === 'string')) fail('model_names must be a non-empty list of strings');
  if (!Array.isArray(json.layers) || json.layers.length !== 2) {
    fail(`layers must list 2 layers (perception -> hidden -> update), not ${Array.isArray(json.layers) ? json.layers.length : 'none'}`);
  }
  const count = (names as string[]).length;
  const layers = (json.layers as unknown[]).map((l, i) => parseLayer(l, i, count)) as [SotLayer, SotLayer];
  const [[in1, hidden], [in2, channels]] = layers.map((l) => l.shape);
  if (in1 !== channels * FILTERS + 1) fail(`layers[0].shape ${layers[0].shape.join('x')} must be [${channels} channels x ${FILTERS} filters + 1, hidden] for ${channels} channels`);
  if (in2 !== hidden + 1) fail(`layers[1].shape ${layers[1].shape.join('x')} must be [${hidden} hidden + 1, channels]`);
  if (channels < 3 || channels > 64 || hidden > 1024) fail(`${channels} channels and ${hidden} hidden units are outside what .nca holds (3-64 channels, at most 1024 hidden)`);
  return { names: names as string[], layers, channels, hidden };
}

/** The file's models as `.nca` models (SPEC.md v1.2), in file order. `source` names the file in the metadata. */
export function importSot(json: unknown, source = 'models.json'): SotModel[] {
  const { names, layers, channels: C, hidden: K } = parse(json);
  const q = SOT_Q;
  const topology = defaultTopology({
    channels: C,
    hidden: K,
    filters: ['identity', 'sobel_x', 'sobel_y', 'laplacian'],
    filterScales: [1, 1 / 8, 1 / 8, 1 / 8],
    padding: 'circular',
    fireRate: 0.5,
    color: { offset: 0, count: 3, bias: 0.5 },
    clamp: 1,
    perceptionClamp: 1,
    hiddenClamp: 1,
    updateClamp: 1,
  });
  return names.map((name, i) => {
    const m1 = layerMatrix(layers[0], i); // [4C + 1][K], rows f * C + c, bias last
    const m2 = layerMatrix(layers[1], i); // [K + 1][C], bias last
    const w1 = new Float32Array(K * C * FILTERS);
    for (let k = 0; k < K; k++) {
      for (let c = 0; c < C; c++) for (let f = 0; f < FILTERS; f++) w1[k * C * FILTERS + c * FILTERS + f] = m1[(f * C + c) * K + k];
    }
    const b1 = Float32Array.from({ length: K }, (_, k) => m1[C * FILTERS * K + k] / q);
    const w2 = new Float32Array(C * K);
    for (let c = 0; c < C; c++) for (let k = 0; k < K; k++) w2[c * K + k] = m2[k * C + c];
    const b2 = Float32Array.from({ length: C }, (_, c) => m2[K * C + c] / q);
    const title = name.split('/').pop() || `model ${i + 1}`;
    const model: NcaModel = {
      topology: structuredClone(topology),
      weights: { w1, b1, w2, b2 },
      seed: { kind: 'cell', value: new Array(C).fill(0) },
      metadata: {
        title,
        tool: 'nca-studio (nca import sot)',
        extra: { importedFrom: 'self-organising-textures', sourceFile: source, sourceName: name, sourceIndex: i, stateScale: q },
      },
    };
    return { name, model };
  });
}

/** File names for the models: the last part of each name, made safe, unique (a suffix -2, -3 ... for repeats). */
export function sotFileNames(names: string[]): string[] {
  const used = new Set<string>();
  return names.map((name, i) => {
    const base = (name.split('/').pop() ?? '').replace(/[^\w.-]+/g, '-').replace(/^[-.]+|-+$/g, '').slice(0, 80) || `model-${i + 1}`;
    let file = base;
    for (let k = 2; used.has(file.toLowerCase()); k++) file = `${base}-${k}`;
    used.add(file.toLowerCase());
    return `${file}.nca`;
  });
}
