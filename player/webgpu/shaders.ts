/**
 * WGSL for the WebGPU backend, generated per model (see ../shader-constants.ts).
 *
 * The state is a storage buffer in the reference layout, state[(y * width + x) * CHANNELS + c],
 * and the weights are the model's own arrays, so the step shader is formats/reference-core.ts
 * `perceiveCell` + `updateCell` + `step`, nearly word for word. Two state buffers ping-pong.
 */
import { float, type ShaderConstants } from '../shader-constants.ts';

/** Byte size of `Params` below. */
export const PARAMS_BYTES = 16;

function header(k: ShaderConstants): string {
  return `
const CHANNELS = ${k.channels}u;
const FILTERS = ${k.filters}u;
const HIDDEN = ${k.hidden}u;

struct Params {
  width: u32,
  height: u32,
  seed: u32,
  step: u32,
}
`;
}

/** formats/random.ts: lowbias32 and the per-cell mask draw, in u32 arithmetic. */
function fireFunction(k: ShaderConstants): string {
  return `
fn hash32(value: u32) -> u32 {
  var x = value;
  x ^= x >> 16u;
  x *= 0x7feb352du;
  x ^= x >> 15u;
  x *= 0x846ca68bu;
  return x ^ (x >> 16u);
}

fn fires(seed: u32, step: u32, x: u32, y: u32) -> bool {
  let key = hash32(hash32(seed ^ ${k.streamMask}u) ^ step);
  let h = hash32(key ^ ((x & 0xffffu) | ((y & 0xffffu) << 16u)));
  return (h >> 8u) < ${k.fireThreshold}u;
}
`;
}

export function stepShader(k: ShaderConstants): string {
  return `${header(k)}
@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> state: array<f32>;
@group(0) @binding(2) var<storage, read_write> next: array<f32>;
@group(0) @binding(3) var<storage, read> w1: array<f32>;
@group(0) @binding(4) var<storage, read> b1: array<f32>;
@group(0) @binding(5) var<storage, read> w2: array<f32>;
@group(0) @binding(6) var<storage, read> b2: array<f32>;

var<private> KERNELS: array<f32, ${k.filters * 9}> = array<f32, ${k.filters * 9}>(${k.kernels.map(float).join(', ')});
${fireFunction(k)}
@compute @workgroup_size(8, 8)
fn main(@builtin(global_invocation_id) id: vec3<u32>) {
  let width = params.width;
  let height = params.height;
  if (id.x >= width || id.y >= height) {
    return;
  }
  let base = (id.y * width + id.x) * CHANNELS;
  if (!fires(params.seed, params.step, id.x, id.y)) {
    for (var c = 0u; c < CHANNELS; c++) {
      next[base + c] = state[base + c];
    }
    return;
  }

  // perceiveCell: perception[c * FILTERS + f], from the old state.
  var perception: array<f32, ${k.channels * k.filters}>;
  for (var dy = -1; dy <= 1; dy++) {
    for (var dx = -1; dx <= 1; dx++) {
      var nx = i32(id.x) + dx;
      var ny = i32(id.y) + dy;
${
  k.circular
    ? `      nx = (nx + i32(width)) % i32(width);
      ny = (ny + i32(height)) % i32(height);`
    : `      if (nx < 0 || ny < 0 || nx >= i32(width) || ny >= i32(height)) {
        continue; // zero padding
      }`
}
      let neighbour = (u32(ny) * width + u32(nx)) * CHANNELS;
      let tap = u32((dy + 1) * 3 + (dx + 1));
      for (var f = 0u; f < FILTERS; f++) {
        let k = KERNELS[f * 9u + tap];
        if (k == 0.0) {
          continue;
        }
        for (var c = 0u; c < CHANNELS; c++) {
          perception[c * FILTERS + f] += k * state[neighbour + c];
        }
      }
    }
  }

  // updateCell: delta = w2 · relu(w1 · perception + b1) + b2.
  var delta: array<f32, ${k.channels}>;
  for (var c = 0u; c < CHANNELS; c++) {
    delta[c] = b2[c];
  }
  for (var h = 0u; h < HIDDEN; h++) {
    var s = b1[h];
    for (var i = 0u; i < CHANNELS * FILTERS; i++) {
      s += w1[h * CHANNELS * FILTERS + i] * perception[i];
    }
    let hidden = max(s, 0.0);
    for (var c = 0u; c < CHANNELS; c++) {
      delta[c] += w2[c * HIDDEN + h] * hidden;
    }
  }
  for (var c = 0u; c < CHANNELS; c++) {
    next[base + c] = state[base + c] + delta[c];
  }
}`;
}

/** Byte size of `Brush` below. */
export const BRUSH_BYTES = 16;

/** Zeroes every cell whose centre lies within the brush. */
export function eraseShader(k: ShaderConstants): string {
  return `${header(k)}
struct Brush {
  center: vec2<f32>,
  radius: f32,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<uniform> brush: Brush;
@group(0) @binding(2) var<storage, read_write> state: array<f32>;

@compute @workgroup_size(8, 8)
fn main(@builtin(global_invocation_id) id: vec3<u32>) {
  if (id.x >= params.width || id.y >= params.height || distance(vec2<f32>(id.xy) + 0.5, brush.center) > brush.radius) {
    return;
  }
  let base = (id.y * params.width + id.x) * CHANNELS;
  for (var c = 0u; c < CHANNELS; c++) {
    state[base + c] = 0.0;
  }
}`;
}

/** colour = clamp(x[offset + i] + bias, 0, 1), premultiplied. Framebuffer y runs down, like grid y. */
export function displayShader(k: ShaderConstants): string {
  const { offset, count, bias } = k.color;
  const channel = (i: number) => `state[base + ${offset + i}u]`;
  return `${header(k)}
@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> state: array<f32>;

@vertex
fn vertex(@builtin(vertex_index) i: u32) -> @builtin(position) vec4<f32> {
  return vec4<f32>(vec2<f32>(f32(i & 1u), f32(i >> 1u)) * 4.0 - 1.0, 0.0, 1.0);
}

@fragment
fn fragment(@builtin(position) position: vec4<f32>) -> @location(0) vec4<f32> {
  let cell = vec2<u32>(position.xy);
  let base = (cell.y * params.width + cell.x) * CHANNELS;
  let rgb = clamp(vec3<f32>(${channel(0)}, ${channel(1)}, ${channel(2)}) + ${float(bias)}, vec3<f32>(0.0), vec3<f32>(1.0));
  let alpha = ${count === 4 ? `clamp(${channel(3)} + ${float(bias)}, 0.0, 1.0)` : '1.0'};
  return vec4<f32>(rgb * alpha, alpha);
}`;
}
