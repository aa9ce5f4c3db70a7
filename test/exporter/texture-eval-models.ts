/**
 * Hand-built texture models whose long-run behaviour is known without training, for the
 * `nca eval --texture` tests: a texture that holds exactly, one that fades, a flat one.
 */
import { defaultTopology, type NcaModel } from '../../formats/index.ts';
import type { RgbaImage } from '../../trainer/image/png.ts';

/**
 * A 3-channel RGB model (colour = state + 0.5, circular padding) whose seed is `texture`
 * (one cell per pixel) and whose update is `-rate * x` (hidden relu(x), relu(-x)): with rate 0
 * the texture is a fixed point and holds for ever; with rate > 0 it fades to flat grey, which
 * the drift and death checks must see. Its metadata names its grid and a texture scale of 1.
 */
export function holdingModel(texture: RgbaImage, rate = 0): NcaModel {
  const { width, height } = texture;
  const data = new Float32Array(width * height * 3);
  for (let i = 0; i < width * height; i++) for (let c = 0; c < 3; c++) data[i * 3 + c] = texture.data[i * 4 + c] / 255 - 0.5;
  const eye = [1, 0, 0, 0, 1, 0, 0, 0, 1];
  return {
    topology: defaultTopology({ channels: 3, hidden: 6, filters: ['identity'], color: { offset: 0, count: 3, bias: 0.5 } }),
    weights: {
      w1: Float32Array.from([...eye, ...eye.map((v) => -v)]),
      b1: new Float32Array(6),
      // delta[c] = -rate * relu(x[c]) + rate * relu(-x[c]) = -rate * x[c]
      w2: Float32Array.from([0, 1, 2].flatMap((c) => [0, 1, 2, 3, 4, 5].map((h) => (h % 3 === c ? (h < 3 ? -rate : rate) : 0)))),
    },
    seed: { kind: 'image', width, height, data },
    metadata: { title: 'holding texture', extra: { grid: { width, height }, texture: { scale: 1 } } },
  };
}

/** A uniform grey image (a dead texture's frame). */
export function flatImage(width: number, height: number, grey = 128): RgbaImage {
  const data = new Uint8Array(width * height * 4);
  for (let i = 0; i < width * height; i++) data.set([grey, grey, grey, 255], i * 4);
  return { width, height, data };
}

/** `image` enlarged `k` times by pixel repetition (resizing it back by 1/k gives the image again). */
export function enlarged(image: RgbaImage, k: number): RgbaImage {
  const width = image.width * k;
  const height = image.height * k;
  const data = new Uint8Array(width * height * 4);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const src = (Math.floor(y / k) * image.width + Math.floor(x / k)) * 4;
      data.set(image.data.subarray(src, src + 4), (y * width + x) * 4);
    }
  }
  return { width, height, data };
}
