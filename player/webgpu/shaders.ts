/**
 * WGSL for the WebGPU backend: the shared shader code (../shaders.ts, translated by `wgsl`) in
 * compute shaders, one invocation per cell in 8x8 workgroups.
 *
 * State: a storage buffer of vec4, PACKS per cell, cell-major: state[(y * width + x) * PACKS + i]
 * holds channels 4i..4i+3 (12 channels = 3 vec4s, so the reference layout exactly). Two such
 * buffers ping-pong (three rotate with alive masking). Weights: constants in the step shader (../weights.ts).
 *
 *   without alive masking: one pass,  stepShader:  x -> clamp(x + delta · mask)
 *   with alive masking:    two passes, stepShader:  x -> x' = x + delta · mask
 *                                      aliveShader: x, x' -> clamp(x' · (alive(x) and alive(x')))
 */
import type { NcaModel } from '../../formats/index.ts';
import type { ShaderConstants } from '../shader-constants.ts';
import { aliveStep, colour, noise, step, wgsl } from '../shaders.ts';

/** Cells per side of a workgroup's tile: 8x8 invocations, one per cell. */
export const TILE = 8;

/** Byte size of `Params` below. */
export const PARAMS_BYTES = 16;

/**
 * The parameters (binding 0), then `buffers` (bindings 1, 2, …), each with its accessor: LOAD
 * reads the state, UPDATED the updated state x' (alive pass), `put` writes the next state.
 */
function declarations(k: ShaderConstants, buffers: string[]): string {
  const index = `(cell.y * size().x + cell.x) * ${k.packs} + i`;
  const accessors: Record<string, string> = {
    state: `fn LOAD(cell: vec2i, i: i32) -> vec4f {\n  return state[${index}];\n}`,
    updated: `fn UPDATED(cell: vec2i, i: i32) -> vec4f {\n  return updated[${index}];\n}`,
    next: `fn put(cell: vec2i, i: i32, value: vec4f) {\n  next[${index}] = value;\n}`,
  };
  return `struct Params {
  width: u32,
  height: u32,
  seed: u32,
  step: u32,
}
@group(0) @binding(0) var<uniform> params: Params;
fn size() -> vec2i {
  return vec2i(i32(params.width), i32(params.height));
}
${buffers.map((buffer, i) => `@group(0) @binding(${i + 1}) var<storage, ${buffer === 'next' ? 'read_write' : 'read'}> ${buffer}: array<vec4f>;\n${accessors[buffer]}`).join('\n')}
`;
}

/** A compute shader over the grid: the shared code's functions, and main() with `cell`, `seed` and `step`. */
function shader(k: ShaderConstants, buffers: string[], { functions, body }: { functions: string; body: string }): string {
  return `${declarations(k, buffers)}${wgsl(functions)}
@compute @workgroup_size(${TILE}, ${TILE})
fn main(@builtin(global_invocation_id) id: vec3u) {
  if (id.x >= params.width || id.y >= params.height) {
    return;
  }
  let cell = vec2i(id.xy);
  let seed = params.seed;
  let step = params.step;
${wgsl(body)}
}`;
}

function store(k: ShaderConstants) {
  return (value: string) => Array.from({ length: k.packs }, (_, i) => `put(cell, ${i}, ${value.replaceAll('#', String(i))});`).join(' ');
}

/** The step, with the model's weights as constants. */
export function stepShader(k: ShaderConstants, model: NcaModel): string {
  return shader(k, ['state', 'next'], step(k, model, store(k)));
}

export function aliveShader(k: ShaderConstants): string {
  return shader(k, ['state', 'updated', 'next'], aliveStep(k, store(k)));
}

export function noiseShader(k: ShaderConstants): string {
  return shader(k, ['next'], noise(k, store(k)));
}

/** The colours, premultiplied (../shaders.ts colour), on a full-screen triangle. Framebuffer y runs down, like grid y. */
export function displayShader(k: ShaderConstants): string {
  return `${declarations(k, ['state'])}${wgsl(colour(k))}
@vertex
fn vertex(@builtin(vertex_index) i: u32) -> @builtin(position) vec4f {
  return vec4f(vec2f(f32(i & 1u), f32(i >> 1u)) * 4.0 - 1.0, 0.0, 1.0);
}

@fragment
fn fragment(@builtin(position) position: vec4f) -> @location(0) vec4f {
  return colour(vec2i(position.xy));
}`;
}
