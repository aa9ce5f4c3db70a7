/**
 * GLSL ES 3.00 for the WebGL2 backend: the shared shader code (../shaders.ts) in fragment
 * shaders, one fragment per cell.
 *
 * State: a 2D array texture, one RGBA layer per 4 channels (12 channels = 3 layers), texel
 * (x, y) = cell (x, y), written through one `out` per layer (multiple render targets). Two such
 * textures ping-pong (three with alive masking). Weights: constants in the step shader (../weights.ts).
 *
 *   without alive masking: one pass,  stepFragment:  x -> clamp(x + delta · mask)
 *   with alive masking:    two passes, stepFragment:  x -> x' = x + delta · mask
 *                                      aliveFragment: x, x' -> clamp(x' · (alive(x) and alive(x')))
 */
import type { NcaModel } from '../../formats/index.ts';
import type { ShaderConstants } from '../shader-constants.ts';
import { aliveStep, colour, noise, step, type Store } from '../shaders.ts';

/** A triangle that covers the viewport; no vertex buffers needed. */
export const fullscreenVertex = `#version 300 es
void main() {
  vec2 p = vec2(gl_VertexID & 1, gl_VertexID >> 1) * 4.0 - 1.0;
  gl_Position = vec4(p, 0.0, 1.0);
}`;

/**
 * A fragment shader over the grid: the shared code's functions, and main() with `cell`. It writes
 * one `out` per state layer (GLSL ES 3.00 only indexes output arrays with constants), or `outputs`.
 */
function fragment(k: ShaderConstants, { functions, body }: { functions: string; body: string }, uniforms = '', outputs = ''): string {
  return `#version 300 es
precision highp float;
precision highp int;
precision highp sampler2DArray;
#define SIZE textureSize(state, 0).xy
#define LOAD(cell, i) texelFetch(state, ivec3(cell, i), 0)
#define select(f, t, c) ((c) ? (t) : (f))
uniform sampler2DArray state;
${uniforms}
${outputs || Array.from({ length: k.packs }, (_, i) => `layout(location = ${i}) out vec4 next${i};`).join('\n')}
${functions}
void main() {
  ivec2 cell = ivec2(gl_FragCoord.xy);
${body}
}`;
}

function store(k: ShaderConstants): Store {
  return (value) => Array.from({ length: k.packs }, (_, i) => `next${i} = ${value.replaceAll('#', String(i))};`).join(' ');
}

/** The step, with the model's weights as constants. */
export function stepFragment(k: ShaderConstants, model: NcaModel): string {
  return fragment(k, step(k, model, store(k)), 'uniform uint seed;\nuniform uint step;');
}

export function aliveFragment(k: ShaderConstants): string {
  return fragment(k, aliveStep(k, store(k)), 'uniform sampler2DArray updated;\n#define UPDATED(cell, i) texelFetch(updated, ivec3(cell, i), 0)');
}

export function noiseFragment(k: ShaderConstants): string {
  return fragment(k, noise(k, store(k)), 'uniform uint seed;');
}

/** The colours, premultiplied (../shaders.ts colour). Grid row 0 is the top of the canvas. */
export function displayFragment(k: ShaderConstants): string {
  return fragment(k, { functions: colour(k), body: '  color = colour(ivec2(cell.x, SIZE.y - 1 - cell.y));' }, '', 'out vec4 color;');
}
