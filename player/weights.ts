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

/**
 * Models up to this many weight vec4s are baked into the step shader as constants (below);
 * larger ones read the texture or buffer. The default topology (12 channels, 4 filters,
 * 128 hidden) has 2 048. The limit (hidden 256 there) bounds the compile time, which grows
 * with the code: SwiftShader took about 40 ms per hidden unit on a loaded 2-core machine.
 */
export const BAKE_LIMIT = 4096;

export function bakeable(k: ShaderConstants): boolean {
  return k.hidden * weightColumns(k).width <= BAKE_LIMIT;
}

/** The shortest decimal that reads back as the float32 `n`: a float literal in GLSL and WGSL alike. */
export function f32Literal(n: number): string {
  for (let digits = 1; ; digits++) {
    const s = n.toPrecision(digits);
    if (Math.fround(Number(s)) === n || digits === 9) return /[.e]/.test(s) ? s : `${s}.0`;
  }
}

/**
 * The update network with the weights written into the code as constants, fully unrolled:
 * no weight reads at all, and the compiler folds every constant into its multiply-add (4.5x
 * faster on SwiftShader's WebGL2 than reading a texture, measured side by side). The same
 * sums in the same order as the texture path. `vec4` is the language's vector constructor;
 * the caller declares `delta0`, `delta1`, … (vec4s), `hid` (a float) and the perception `p0`, `p1`, ….
 */
export function bakedNetwork(model: NcaModel, k: ShaderConstants, vec4: string): string {
  const { data, width } = packWeights(model, k);
  const columns = weightColumns(k);
  const vec = (column: number, row: number) => {
    const at = (row * width + column) * 4;
    return `${vec4}(${Array.from(data.subarray(at, at + 4), f32Literal).join(', ')})`;
  };
  const lines = Array.from({ length: k.packs }, (_, i) => `delta${i} = ${vec(columns.b2 + i, k.hidden)};`);
  for (let h = 0; h < k.hidden; h++) {
    const dots = Array.from({ length: k.filters * k.packs }, (_, i) => ` + dot(${vec(columns.w1 + i, h)}, p${i})`);
    lines.push(`hid = max(${f32Literal(data[(h * width + columns.b1) * 4])}${dots.join('')}, 0.0);`);
    for (let i = 0; i < k.packs; i++) lines.push(`delta${i} += ${vec(columns.w2 + i, h)} * hid;`);
  }
  return lines.map((line) => `  ${line}`).join('\n');
}
