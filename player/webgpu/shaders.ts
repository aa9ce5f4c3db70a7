/**
 * WGSL for the WebGPU backend, generated per model (see ../shader-constants.ts).
 *
 * State: a storage buffer of vec4, PACKS per cell, cell-major: state[(y * width + x) * PACKS + i]
 * holds channels 4i..4i+3 (12 channels = 3 vec4s, so the reference layout exactly). Two such
 * buffers ping-pong (three rotate with alive masking). Weights: rows of vec4, one per hidden
 * unit (layout in ../weights.ts). The step shaders follow formats/reference-core.ts `step`
 * line for line, 4 channels at a time, like the WebGL2 ones, in the same passes:
 *
 *   without alive masking: one pass,  stepShader:  x -> clamp(x + delta · mask)
 *   with alive masking:    two passes, stepShader:  x -> x' = x + delta · mask
 *                                      aliveShader: x, x' -> clamp(x' · (alive(x) and alive(x')))
 *
 * The innermost loops are unrolled (see `unroll`).
 */
import { alphaBias } from '../../formats/index.ts';
import { float, perceptionSums, unroll, usedTaps, type ShaderConstants } from '../shader-constants.ts';
import type { NcaModel } from '../../formats/index.ts';
import { bakedNetwork, weightColumns } from '../weights.ts';

/** Byte size of `Params` below. */
export const PARAMS_BYTES = 16;

function header(k: ShaderConstants): string {
  return `
const PACKS = ${k.packs}u;
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

/** The state clamp, where the topology has one (v1.1), of a vec4 expression. */
function clamped(k: ShaderConstants, value: string): string {
  return k.clamp === null ? value : `clamp(${value}, vec4<f32>(${float(-k.clamp)}), vec4<f32>(${float(k.clamp)}))`;
}

/**
 * formats/reference-core.ts aliveCells, for one cell of the buffer \`buffer\`: whether channel
 * alive.channel exceeds the threshold anywhere within \`radius\` cells (radius 1: the 3x3
 * neighbourhood). "The maximum is above t" is "some value is above t", so the loop stops at
 * the first one. WGSL cannot pass a storage buffer to a function: one function per buffer.
 */
function aliveFunction(k: ShaderConstants, name: string, buffer: string): string {
  if (!k.alive) return '';
  return `
fn ${name}(x: u32, y: u32, radius: i32) -> bool {
  let width = i32(params.width);
  let height = i32(params.height);
  for (var dy = -radius; dy <= radius; dy++) {
    for (var dx = -radius; dx <= radius; dx++) {
      var nx = i32(x) + dx;
      var ny = i32(y) + dy;
${
  k.circular
    ? `      nx = (nx + 2 * width) % width;
      ny = (ny + 2 * height) % height;`
    : `      if (nx < 0 || ny < 0 || nx >= width || ny >= height) {
        continue; // zero padding (0 <= t)
      }`
}
      if (${buffer}[(u32(ny) * params.width + u32(nx)) * PACKS + ${k.alive.channel >> 2}u][${k.alive.channel & 3}] > ${float(k.alive.threshold)}) {
        return true;
      }
    }
  }
  return false;
}
`;
}

/** Cells per side of a workgroup's tile: 8x8 invocations, one per cell. */
export const TILE = 8;

/**
 * The step. `baked`: the model whose weights become constants in the shader (see bakedNetwork);
 * null reads the weights buffer. Perception reads each neighbour once and applies only the
 * filters' non-zero taps, unrolled; the vectors are plain variables, not arrays (on SwiftShader
 * arrays live in memory: 1.3x slower).
 */
export function stepShader(k: ShaderConstants, baked: NcaModel | null): string {
  const w = weightColumns(k);
  const packs = [...Array(k.packs).keys()];
  const perception = perceptionSums(k, (tap, i) => (tap === 4 ? `x${i}` : `s${tap}_${i}`), 'vec4<f32>(0.0)');
  // Each tap's neighbour, read once for all filters (the centre is x itself).
  const neighbours = usedTaps(k)
    .filter((tap) => tap !== 4)
    .map((tap) => {
      const [dx, dy] = [(tap % 3) - 1, Math.floor(tap / 3) - 1];
      if (k.circular) {
        const n = `let n${tap} = (${dy ? `((y + height ${dy > 0 ? '+ 1u' : '- 1u'}) % height)` : 'y'} * width + ${dx ? `(x + width ${dx > 0 ? '+ 1u' : '- 1u'}) % width` : 'x'}) * PACKS;`;
        return `  ${n}\n${packs.map((i) => `  let s${tap}_${i} = state[n${tap} + ${i}u];`).join('\n')}`;
      }
      // Zero padding: a neighbour past the edge reads zeros (its index is clamped into the grid).
      const shift = (v: string, d: number) => (d ? `${v} ${d > 0 ? '+' : '-'} 1` : v);
      const [nx, ny] = [shift('i32(x)', dx), shift('i32(y)', dy)];
      return `  let inside${tap} = ${nx} >= 0 && ${ny} >= 0 && ${nx} < i32(width) && ${ny} < i32(height);
  let n${tap} = select(cell, (u32(${ny}) * width + u32(${nx})) * PACKS, inside${tap});
${packs.map((i) => `  let s${tap}_${i} = select(vec4<f32>(0.0), state[n${tap} + ${i}u], inside${tap});`).join('\n')}`;
    });
  // With alive masking, pass 2 zeroes every cell within 1 of this one unless one of them is alive
  // now, that is unless some cell within 2 of this one is above the threshold. Otherwise no cell
  // keeps anything that depends on this cell's update, so the network is skipped. (Within 1 would
  // not do: a living neighbour reads this cell's x' to decide whether it is still alive.)
  const skipDead = k.alive
    ? `
  if (!alive(x, y, 2)) { // no living cell within 1: nobody keeps this update
${packs.map((i) => `    next[cell + ${i}u] = x${i};`).join('\n')}
    return;
  }`
    : '';
  return `${header(k)}
@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> state: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read_write> next: array<vec4<f32>>;
${baked ? '' : '@group(0) @binding(3) var<storage, read> weights: array<vec4<f32>>;'}
${fireFunction(k)}${aliveFunction(k, 'alive', 'state')}
${baked ? '' : `fn weight(column: u32, h: u32) -> vec4<f32> {\n  return weights[h * ${w.width}u + column];\n}\n`}
@compute @workgroup_size(${TILE}, ${TILE})
fn main(@builtin(global_invocation_id) id: vec3<u32>) {
  let width = params.width;
  let height = params.height;
  let x = id.x;
  let y = id.y;
  if (x >= width || y >= height) {
    return;
  }
  let cell = (y * width + x) * PACKS;
${packs.map((i) => `  let x${i} = state[cell + ${i}u];`).join('\n')}
  if (!fires(params.seed, params.step, x, y)) {
${packs.map((i) => `    next[cell + ${i}u] = ${k.alive ? `x${i}` : clamped(k, `x${i}`)};`).join('\n')}
    return;
  }${skipDead}

  // Perception of the old state: p[f * PACKS + i] is filter f of channels 4i..4i+3.
${neighbours.join('\n')}
${perception.map((sum, j) => `  let p${j} = ${sum};`).join('\n')}

  // Update network: delta = w2 · relu(w1 · p + b1) + b2, one hidden unit at a time.
${packs.map((i) => `  var delta${i}: vec4<f32>;`).join('\n')}
${
  baked
    ? `  var hid: f32;\n${bakedNetwork(baked, k, 'vec4<f32>')}`
    : `${packs.map((i) => `  delta${i} = weight(${w.b2 + i}u, HIDDEN);`).join('\n')}
  for (var h = 0u; h < HIDDEN; h++) {
    var s = weight(${w.b1}u, h).x;
    // s += dot(w1[h][i], p[i]) for every i
${unroll(k.filters * k.packs, '    ', (i) => `s += dot(weight(${w.w1 + i}u, h), p${i});`)}
    let hidden = max(s, 0.0);
    // delta[i] += w2[i][h] * hidden for every i
${unroll(k.packs, '    ', (i) => `delta${i} += weight(${w.w2 + i}u, h) * hidden;`)}
  }`
}
${packs.map((i) => `  next[cell + ${i}u] = ${k.alive ? `x${i} + delta${i}` : clamped(k, `x${i} + delta${i}`)};`).join('\n')}
}`;
}

/**
 * The second pass with alive masking: a cell keeps its updated state x' only if it is alive
 * (3x3) both in x and in x'; every other cell becomes all zeros. Then the state clamp.
 */
export function aliveShader(k: ShaderConstants): string {
  return `${header(k)}
@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> state: array<vec4<f32>>; // x
@group(0) @binding(2) var<storage, read> updated: array<vec4<f32>>; // x' = x + delta · mask
@group(0) @binding(3) var<storage, read_write> next: array<vec4<f32>>;
${aliveFunction(k, 'aliveBefore', 'state')}${aliveFunction(k, 'aliveAfter', 'updated')}
@compute @workgroup_size(8, 8)
fn main(@builtin(global_invocation_id) id: vec3<u32>) {
  if (id.x >= params.width || id.y >= params.height) {
    return;
  }
  let cell = (id.y * params.width + id.x) * PACKS;
  let keep = aliveBefore(id.x, id.y, 1) && aliveAfter(id.x, id.y, 1);
  for (var i = 0u; i < PACKS; i++) {
    let x = select(vec4<f32>(0.0), updated[cell + i], keep);
    next[cell + i] = ${clamped(k, 'x')};
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
@group(0) @binding(2) var<storage, read_write> state: array<vec4<f32>>;

@compute @workgroup_size(8, 8)
fn main(@builtin(global_invocation_id) id: vec3<u32>) {
  if (id.x >= params.width || id.y >= params.height || distance(vec2<f32>(id.xy) + 0.5, brush.center) > brush.radius) {
    return;
  }
  let cell = (id.y * params.width + id.x) * PACKS;
  for (var i = 0u; i < PACKS; i++) {
    state[cell + i] = vec4<f32>(0.0);
  }
}`;
}

/**
 * SPEC.md §6 colour, written premultiplied (the canvas is): alpha = clamp(x[offset + 3] + alphaBias, 0, 1)
 * (1 for RGB); colour = clamp(x[offset + i] + bias, 0, 1) · alpha, or for a premultiplied model
 * clamp(x[offset + i] + bias, 0, alpha) as is. Framebuffer y runs down, like grid y.
 */
export function displayShader(k: ShaderConstants): string {
  const { offset, count, bias, premultiplied } = k.color;
  const channel = (i: number) => `state[cell + ${Math.floor((offset + i) / 4)}u][${(offset + i) % 4}]`;
  return `${header(k)}
@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> state: array<vec4<f32>>;

@vertex
fn vertex(@builtin(vertex_index) i: u32) -> @builtin(position) vec4<f32> {
  return vec4<f32>(vec2<f32>(f32(i & 1u), f32(i >> 1u)) * 4.0 - 1.0, 0.0, 1.0);
}

@fragment
fn fragment(@builtin(position) position: vec4<f32>) -> @location(0) vec4<f32> {
  let cell = (u32(position.y) * params.width + u32(position.x)) * PACKS;
  let rgb = vec3<f32>(${channel(0)}, ${channel(1)}, ${channel(2)}) + ${float(bias)};
  let alpha = ${count === 4 ? `clamp(${channel(3)} + ${float(alphaBias(k.color))}, 0.0, 1.0)` : '1.0'};
  return ${
    premultiplied
      ? 'vec4<f32>(clamp(rgb, vec3<f32>(0.0), vec3<f32>(alpha)), alpha)'
      : 'vec4<f32>(clamp(rgb, vec3<f32>(0.0), vec3<f32>(1.0)) * alpha, alpha)'
  };
}`;
}
