/**
 * The update network in the step shader, with the model's weights written into the code as
 * constants: delta = w2 · relu(w1 · p + b1) + b2 (with the v1.2 clamps of p, the hidden units and
 * delta where the topology has them), one hidden unit at a time, fully unrolled, in
 * the same sums and order as the reference core, 4 channels at a time. There are no weight
 * reads at all, and the compiler folds every constant into its multiply-add: 4.5x faster on
 * SwiftShader's WebGL2 than reading the weights from a texture, measured side by side.
 *
 * The price is compile time, which grows with the code (hidden × (channels × filters +
 * channels) weights): on SwiftShader about 40 ms per hidden unit of the default topology.
 *
 * The shared shader code (shaders.ts) declares `delta0`, `delta1`, … (vec4s), `hid` (a float) and
 * the perception `p0`, `p1`, … (p[f * packs + i] is filter f of channels 4i..4i+3). Channels past
 * `channels` in the last vec4 have zero weights, so they stay zero.
 */
import type { NcaModel } from '../formats/index.ts';
import { f32Literal, type ShaderConstants } from './shader-constants.ts';

export function network(model: NcaModel, k: ShaderConstants): string {
  const { w1, b1, w2, b2 } = model.weights;
  const { perceptionClamp, hiddenClamp, updateClamp } = model.topology;
  const { channels: C, filters: F, hidden: H, packs } = k;
  /** A vec4 constant of channels 4i..4i+3, `value(c)` for each. */
  const vec = (i: number, value: (c: number) => number | undefined) =>
    `vec4(${[0, 1, 2, 3].map((j) => f32Literal(4 * i + j < C ? (value(4 * i + j) ?? 0) : 0)).join(', ')})`;
  /** The v1.2 clamp of `name` to [-q, q], where the topology has q (imported Self-Organising Textures models). */
  const symmetric = (name: string, q: number | undefined) => (q === undefined ? [] : [`${name} = clamp(${name}, vec4(${f32Literal(-q)}), vec4(${f32Literal(q)}));`]);
  const lines = Array.from({ length: F * packs }, (_, j) => symmetric(`p${j}`, perceptionClamp)).flat();
  for (let i = 0; i < packs; i++) lines.push(`delta${i} = ${vec(i, (c) => b2?.[c])};`);
  for (let h = 0; h < H; h++) {
    const dots = Array.from({ length: F * packs }, (_, j) => {
      const [f, i] = [Math.floor(j / packs), j % packs];
      return ` + dot(${vec(i, (c) => w1[(h * C + c) * F + f])}, p${j})`;
    });
    const sum = `${f32Literal(b1[h])}${dots.join('')}`;
    lines.push(hiddenClamp === undefined ? `hid = max(${sum}, 0.0);` : `hid = clamp(${sum}, 0.0, ${f32Literal(hiddenClamp)});`);
    for (let i = 0; i < packs; i++) lines.push(`delta${i} += ${vec(i, (c) => w2[c * H + h])} * hid;`);
  }
  for (let i = 0; i < packs; i++) lines.push(...symmetric(`delta${i}`, updateClamp));
  return lines.map((line) => `  ${line}`).join('\n');
}
