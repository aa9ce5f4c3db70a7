/**
 * The weights as rows of vec4s, dequantised once at load: an RGBA32F texture for WebGL2, a
 * storage buffer of vec4 for WebGPU. Row h holds everything hidden unit h needs, so the step
 * shaders walk one row per unit, 4 channels at a time:
 *
 *   columns [w1, w1 + FILTERS*PACKS)  w1 row h, regrouped to match the shader's vec4 perception:
 *                                     texel f*PACKS + i = w1[h][(4i + j) * FILTERS + f], j = 0..3
 *   columns [w2, w2 + PACKS)          w2 column h: texel i = w2[4i + j][h]
 *   column  b1                        b1[h] in .x
 *   row HIDDEN, columns [b2, b2 + PACKS)  b2 (zeros when the model has none)
 *
 * Channels past `channels` in the last pack are zero, so they stay zero.
 */
import type { NcaModel } from '../formats/index.ts';
import type { ShaderConstants } from './shader-constants.ts';

export function weightColumns(k: ShaderConstants) {
  const w2 = k.filters * k.packs;
  return { w1: 0, w2, b1: w2 + k.packs, b2: 0, width: w2 + k.packs + 1 };
}

export function packWeights(model: NcaModel, k: ShaderConstants): { data: Float32Array; width: number; height: number } {
  const { w1, b1, w2, b2 } = model.weights;
  const { channels, filters, hidden, packs } = k;
  const columns = weightColumns(k);
  const width = columns.width;
  const height = hidden + 1;
  const data = new Float32Array(width * height * 4);
  const texel = (column: number, row: number) => (row * width + column) * 4;
  for (let h = 0; h < hidden; h++) {
    for (let c = 0; c < channels; c++) {
      const [i, j] = [Math.floor(c / 4), c % 4];
      for (let f = 0; f < filters; f++) data[texel(columns.w1 + f * packs + i, h) + j] = w1[h * channels * filters + c * filters + f];
      data[texel(columns.w2 + i, h) + j] = w2[c * hidden + h];
    }
    data[texel(columns.b1, h)] = b1[h];
  }
  for (let c = 0; c < channels && b2; c++) data[texel(columns.b2 + Math.floor(c / 4), hidden) + (c % 4)] = b2[c];
  return { data, width, height };
}
