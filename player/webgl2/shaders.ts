/**
 * GLSL ES 3.00 for the WebGL2 backend, generated per model (see ../shader-constants.ts).
 *
 * State: a 2D array texture, one RGBA layer per 4 channels (12 channels = 3 layers),
 * texel (x, y) = cell (x, y). Two such textures ping-pong (three with alive masking).
 * Weights: one RGBA32F texture, one row per hidden unit (layout in ../weights.ts). The step
 * shaders follow formats/reference-core.ts `step` line for line, 4 channels at a time:
 *
 *   without alive masking: one pass,  stepFragment:  x -> clamp(x + delta · mask)
 *   with alive masking:    two passes, stepFragment:  x -> x' = x + delta · mask
 *                                      aliveFragment: x, x' -> clamp(x' · (alive(x) and alive(x')))
 *
 * (the second pass needs the neighbours' x', so it cannot run in the first).
 *
 * The innermost loops are unrolled (see `unroll`).
 */
import { alphaBias } from '../../formats/index.ts';
import { float, perceptionSums, unroll, usedTaps, type ShaderConstants } from '../shader-constants.ts';
import type { NcaModel } from '../../formats/index.ts';
import { bakedNetwork, weightColumns } from '../weights.ts';

/** A triangle that covers the viewport; no vertex buffers needed. */
export const fullscreenVertex = `#version 300 es
void main() {
  vec2 p = vec2(gl_VertexID & 1, gl_VertexID >> 1) * 4.0 - 1.0;
  gl_Position = vec4(p, 0.0, 1.0);
}`;

function header(k: ShaderConstants): string {
  return `#version 300 es
precision highp float;
precision highp int;
precision highp sampler2DArray;
#define CHANNELS ${k.channels}
#define PACKS ${k.packs}
#define FILTERS ${k.filters}
#define HIDDEN ${k.hidden}
uniform sampler2DArray state;
`;
}

/** One `out` per state layer: GLSL ES 3.00 only indexes output arrays with constants, so they are spelled out. */
function outputs(k: ShaderConstants): { declare: string; write: (from: string, indent?: string) => string } {
  const layers = [...Array(k.packs).keys()];
  return {
    declare: layers.map((i) => `layout(location = ${i}) out vec4 next${i};`).join('\n'),
    write: (from, indent = '  ') => layers.map((i) => `next${i} = ${from.replaceAll('#', String(i))};`).join(`\n${indent}`),
  };
}

/** formats/random.ts: lowbias32 and the per-cell mask draw, in uint arithmetic. */
function fireFunction(k: ShaderConstants): string {
  return `
uint hash32(uint x) {
  x ^= x >> 16u;
  x *= 0x7feb352du;
  x ^= x >> 15u;
  x *= 0x846ca68bu;
  return x ^ (x >> 16u);
}

bool fires(uint seed, uint step, ivec2 cell) {
  uint key = hash32(hash32(seed ^ ${k.streamMask}u) ^ step);
  uint h = hash32(key ^ ((uint(cell.x) & 0xffffu) | ((uint(cell.y) & 0xffffu) << 16u)));
  return (h >> 8u) < ${k.fireThreshold}u;
}
`;
}

/** The state clamp, where the topology has one (v1.1), of a vec4 expression. */
function clamped(k: ShaderConstants, value: string): string {
  return k.clamp === null ? value : `clamp(${value}, ${float(-k.clamp)}, ${float(k.clamp)})`;
}

/**
 * formats/reference-core.ts aliveCells, for one cell: whether channel alive.channel exceeds the
 * threshold anywhere within \`radius\` cells (radius 1: the 3x3 neighbourhood). "The maximum is
 * above t" is "some value is above t", so the loop stops at the first one.
 */
function aliveFunction(k: ShaderConstants): string {
  if (!k.alive) return '';
  return `
bool alive(sampler2DArray s, ivec2 cell, int radius) {
  ivec2 size = textureSize(s, 0).xy;
  for (int dy = -radius; dy <= radius; dy++) {
    for (int dx = -radius; dx <= radius; dx++) {
      ivec2 n = cell + ivec2(dx, dy);
${
  k.circular
    ? '      n = (n + 2 * size) % size;'
    : '      if (any(lessThan(n, ivec2(0))) || any(greaterThanEqual(n, size))) continue; // zero padding (0 <= t)'
}
      if (texelFetch(s, ivec3(n, ${k.alive.channel >> 2}), 0)[${k.alive.channel & 3}] > ${float(k.alive.threshold)}) return true;
    }
  }
  return false;
}
`;
}

/**
 * The step. `baked`: the model whose weights become constants in the shader (see bakedNetwork);
 * null reads the weights texture. Perception reads each neighbour once and applies only the
 * filters' non-zero taps, unrolled.
 */
export function stepFragment(k: ShaderConstants, baked: NcaModel | null): string {
  const out = outputs(k);
  const w = weightColumns(k);
  const packs = [...Array(k.packs).keys()];
  const perception = perceptionSums(k, (tap, i) => (tap === 4 ? `x${i}` : `s${tap}_${i}`), 'vec4(0.0)');
  // Each tap's neighbour, read once for all filters (the centre is x itself).
  const neighbours = usedTaps(k)
    .filter((tap) => tap !== 4)
    .map((tap) => {
      const n = `n = cell + ivec2(${(tap % 3) - 1}, ${Math.floor(tap / 3) - 1});`;
      const read = (i: number) => `texelFetch(state, ivec3(n, ${i}), 0)`;
      return k.circular
        ? `  ${n} n = (n + size) % size;\n${packs.map((i) => `  vec4 s${tap}_${i} = ${read(i)};`).join('\n')}`
        : `  ${n} inside = all(greaterThanEqual(n, ivec2(0))) && all(lessThan(n, size)); // zero padding\n${packs
            .map((i) => `  vec4 s${tap}_${i} = inside ? ${read(i)} : vec4(0.0);`)
            .join('\n')}`;
    });
  // With alive masking, pass 2 zeroes every cell within 1 of this one unless one of them is alive
  // now, that is unless some cell within 2 of this one is above the threshold. Otherwise no cell
  // keeps anything that depends on this cell's update, so the network is skipped. (Within 1 would
  // not do: a living neighbour reads this cell's x' to decide whether it is still alive.)
  const skipDead = k.alive
    ? `
  if (!alive(state, cell, 2)) { // no living cell within 1: nobody keeps this update
    ${out.write('x#', '    ')}
    return;
  }`
    : '';
  return `${header(k)}
${baked ? '' : 'uniform sampler2D weights;'}
uniform uint seed;
uniform uint step;
${out.declare}
${fireFunction(k)}${aliveFunction(k)}
void main() {
  ivec2 cell = ivec2(gl_FragCoord.xy);
  ivec2 size = textureSize(state, 0).xy;
${packs.map((i) => `  vec4 x${i} = texelFetch(state, ivec3(cell, ${i}), 0);`).join('\n')}
  if (!fires(seed, step, cell)) {
    ${out.write(k.alive ? 'x#' : clamped(k, 'x#'), '    ')}
    return;
  }${skipDead}

  // Perception of the old state: p[f * PACKS + i] is filter f of channels 4i..4i+3.
  ivec2 n;
  bool inside;
${neighbours.join('\n')}
${perception.map((sum, j) => `  vec4 p${j} = ${sum};`).join('\n')}

  // Update network: delta = w2 · relu(w1 · p + b1) + b2, one hidden unit at a time.
${packs.map((i) => `  vec4 delta${i};`).join('\n')}
${
  baked
    ? `  float hid;\n${bakedNetwork(baked, k, 'vec4')}`
    : `${packs.map((i) => `  delta${i} = texelFetch(weights, ivec2(${w.b2 + i}, HIDDEN), 0);`).join('\n')}
  for (int h = 0; h < HIDDEN; h++) {
    float s = texelFetch(weights, ivec2(${w.b1}, h), 0).x;
    // s += dot(w1[h][i], p[i]) for every i
${unroll(k.filters * k.packs, '    ', (i) => `s += dot(texelFetch(weights, ivec2(${w.w1 + i}, h), 0), p${i});`)}
    float hidden = max(s, 0.0);
    // delta[i] += w2[i][h] * hidden for every i
${unroll(k.packs, '    ', (i) => `delta${i} += texelFetch(weights, ivec2(${w.w2 + i}, h), 0) * hidden;`)}
  }`
}
  ${out.write(k.alive ? 'x# + delta#' : clamped(k, 'x# + delta#'))}
}`;
}

/**
 * The second pass with alive masking: a cell keeps its updated state x' only if it is alive
 * (3x3) both in x and in x'; every other cell becomes all zeros. Then the state clamp.
 */
export function aliveFragment(k: ShaderConstants): string {
  const out = outputs(k);
  return `${header(k)}
uniform sampler2DArray updated; // x' = x + delta · mask (state is x)
${out.declare}
${aliveFunction(k)}
void main() {
  ivec2 cell = ivec2(gl_FragCoord.xy);
  bool keep = alive(state, cell, 1) && alive(updated, cell, 1);
  vec4 x[PACKS];
  for (int i = 0; i < PACKS; i++) x[i] = keep ? texelFetch(updated, ivec3(cell, i), 0) : vec4(0.0);
  ${out.write(clamped(k, 'x[#]'))}
}`;
}

/** Zeroes the cells under the brush; every other cell is left alone (discard). */
export function eraseFragment(k: ShaderConstants): string {
  const out = outputs(k);
  return `${header(k)}
uniform vec2 center;
uniform float radius;
${out.declare}

void main() {
  if (distance(gl_FragCoord.xy, center) > radius) discard;
  ${out.write('vec4(0.0)')}
}`;
}

/**
 * SPEC.md §6 colour, written premultiplied (the canvas is): alpha = clamp(x[offset + 3] + alphaBias, 0, 1)
 * (1 for RGB); colour = clamp(x[offset + i] + bias, 0, 1) · alpha, or for a premultiplied model
 * clamp(x[offset + i] + bias, 0, alpha) as is. Grid row 0 is the top of the canvas.
 */
export function displayFragment(k: ShaderConstants): string {
  const { offset, count, bias, premultiplied } = k.color;
  const channel = (i: number) => `channel(cell, ${offset + i})`;
  return `${header(k)}
out vec4 color;

float channel(ivec2 cell, int c) {
  return texelFetch(state, ivec3(cell, c / 4), 0)[c % 4];
}

void main() {
  ivec2 size = textureSize(state, 0).xy;
  ivec2 cell = ivec2(gl_FragCoord.x, float(size.y) - gl_FragCoord.y);
  vec3 rgb = vec3(${channel(0)}, ${channel(1)}, ${channel(2)}) + ${float(bias)};
  float alpha = ${count === 4 ? `clamp(${channel(3)} + ${float(alphaBias(k.color))}, 0.0, 1.0)` : '1.0'};
  color = ${premultiplied ? 'vec4(clamp(rgb, 0.0, alpha), alpha)' : 'vec4(clamp(rgb, 0.0, 1.0) * alpha, alpha)'};
}`;
}
