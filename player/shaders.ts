/**
 * The shader code both backends run, written once in a small subset of GLSL ES 3.00 and turned
 * into WGSL by `wgsl()`. Each backend wraps it (webgl2/shaders.ts, webgpu/shaders.ts) with its
 * own inputs and outputs: `LOAD(cell, i)` (and `UPDATED(cell, i)` in the alive pass) reads vec4
 * number i of a cell of the state, `SIZE` is the grid size (ivec2), and `store` writes the result.
 * The shared code follows formats/reference-core.ts line for line, 4 channels at a time.
 *
 * Rules for shared code, so that the translation stays a handful of regular expressions: every
 * declaration has a type (`float x = …;`, `vec4 v;`, `float a[4];`), functions have typed
 * parameters, every block has braces, and `select(f, t, c)` (WGSL's; a macro in GLSL) replaces ?:.
 */
import { alphaBias, STREAM_NOISE, type NcaModel } from '../formats/index.ts';
import { float, NOISE, perceptionSums, usedTaps, type ShaderConstants } from './shader-constants.ts';
import { network } from './weights.ts';

const TYPES: Record<string, string> = { float: 'f32', int: 'i32', uint: 'u32', bool: 'bool', vec3: 'vec3f', vec4: 'vec4f', ivec2: 'vec2i' };
const TYPE = `\\b(${Object.keys(TYPES).join('|')})`;
const re = (source: string) => new RegExp(source, 'g');

/** The shared GLSL subset as WGSL: typed declarations become `var`s, functions `fn`s, casts and bit casts their WGSL names. */
export function wgsl(code: string): string {
  return code
    .replace(re(`${TYPE} (\\w+)\\(([^)]*)\\) \\{`), (_, type, name, params: string) =>
      `fn ${name}(${params.replace(re(`${TYPE} (\\w+)`), (_, t, p) => `${p}: ${TYPES[t]}`)}) -> ${TYPES[type]} {`,
    )
    .replace(re(`${TYPE} (\\w+)\\[(\\d+)\\]`), (_, type, name, n) => `var ${name}: array<${TYPES[type]}, ${n}>`)
    .replace(re(`${TYPE} (\\w+)(?= =|;)`), (_, type, name) => `var ${name}: ${TYPES[type]}`)
    .replace(re(`${TYPE}\\(`), (_, type) => `${TYPES[type]}(`)
    .replace(/floatBitsToUint/g, 'bitcast<u32>')
    .replace(/uintBitsToFloat/g, 'bitcast<f32>')
    .replace(/SIZE/g, 'size()');
}

/** Writes `value` (with # standing for the vec4's number) to each of the cell's vec4s. */
export type Store = (value: string) => string;

/** formats/random.ts: lowbias32, and the per-cell mask draw, in uint arithmetic. */
function fires(k: ShaderConstants): string {
  return `
uint hash32(uint v) {
  uint x = v;
  x ^= x >> 16u;
  x *= 0x7feb352du;
  x ^= x >> 15u;
  x *= 0x846ca68bu;
  return x ^ (x >> 16u);
}

uint cellBits(ivec2 cell) {
  return (uint(cell.x) & 0xffffu) | ((uint(cell.y) & 0xffffu) << 16u);
}

bool fires(uint seed, uint step, ivec2 cell) {
  return (hash32(hash32(hash32(seed ^ ${k.streamMask}u) ^ step) ^ cellBits(cell)) >> 8u) < ${k.fireThreshold}u;
}
`;
}

/** The state clamp, where the topology has one (v1.1), of a vec4 expression. */
function clamped(k: ShaderConstants, value: string): string {
  return k.clamp === null ? value : `clamp(${value}, vec4(${float(-k.clamp)}), vec4(${float(k.clamp)}))`;
}

/** Whether `n` lies off the grid (zero padding). */
const outside = 'n.x < 0 || n.y < 0 || n.x >= SIZE.x || n.y >= SIZE.y';

/**
 * formats/reference-core.ts aliveCells, for one cell: whether channel alive.channel exceeds the
 * threshold anywhere within `radius` cells (radius 1: the 3x3 neighbourhood) of the state that
 * `load` reads. "The maximum is above t" is "some value is above t": the loop stops at the first.
 */
function alive(k: ShaderConstants, name: string, load: string): string {
  const { channel, threshold } = k.alive!;
  return `
bool ${name}(ivec2 cell, int radius) {
  for (int dy = -radius; dy <= radius; dy++) {
    for (int dx = -radius; dx <= radius; dx++) {
      ivec2 n = cell + ivec2(dx, dy);
      ${k.circular ? 'n = (n + 2 * SIZE) % SIZE;' : `if (${outside}) {\n        continue;\n      }`}
      if (${load}(n, ${channel >> 2})[${channel & 3}] > ${float(threshold)}) {
        return true;
      }
    }
  }
  return false;
}
`;
}

/**
 * The step, as functions and the body of main(), with `cell` (ivec2), `seed` and `step` (uint)
 * defined: one pass without alive masking, x -> clamp(x + delta · mask); with it the first of
 * two, x -> x' = x + delta · mask (the second, `aliveStep`, needs the neighbours' x').
 * The model's weights are constants in the code (network in weights.ts). Perception reads each
 * neighbour once and applies only the filters' non-zero taps, unrolled; every vector is a plain
 * variable, not an array element (on SwiftShader arrays live in memory: 1.3x slower).
 */
export function step(k: ShaderConstants, model: NcaModel, store: Store): { functions: string; body: string } {
  const packs = [...Array(k.packs).keys()];
  const lines = (f: (i: number) => string) => packs.map(f).join('\n');
  const neighbours = usedTaps(k)
    .filter((tap) => tap !== 4) // the centre is x itself
    .map((tap) => lines((i) => `  vec4 s${tap}_${i} = at(cell + ivec2(${(tap % 3) - 1}, ${Math.floor(tap / 3) - 1}), ${i});`));
  const perception = perceptionSums(k, (tap, i) => (tap === 4 ? `x${i}` : `s${tap}_${i}`), 'vec4(0.0)');
  // With alive masking, pass 2 zeroes every cell within 1 of this one unless one of them is alive
  // now, that is unless some cell within 2 of this one is above the threshold. Otherwise no cell
  // keeps anything that depends on this cell's update, so the network is skipped. (Within 1 would
  // not do: a living neighbour reads this cell's x' to decide whether it is still alive.)
  const skipDead = k.alive ? `\n  if (!alive(cell, 2)) {\n    ${store('x#')}\n    return;\n  }` : '';
  const functions = `${fires(k)}${k.alive ? alive(k, 'alive', 'LOAD') : ''}
vec4 at(ivec2 n, int i) {
  ${k.circular ? 'return LOAD((n + SIZE) % SIZE, i);' : `if (${outside}) {\n    return vec4(0.0);\n  }\n  return LOAD(n, i);`}
}
`;
  const body = `${lines((i) => `  vec4 x${i} = LOAD(cell, ${i});`)}
  if (!fires(seed, step, cell)) {
    ${store(k.alive ? 'x#' : clamped(k, 'x#'))}
    return;
  }${skipDead}
${neighbours.join('\n')}
${perception.map((sum, j) => `  vec4 p${j} = ${sum};`).join('\n')}
${lines((i) => `  vec4 delta${i};`)}
  float hid;
${network(model, k)}
  ${store(k.alive ? 'x# + delta#' : clamped(k, 'x# + delta#'))}`;
  return { functions, body };
}

/**
 * The second pass with alive masking: a cell keeps its updated state x' (`UPDATED`) only if it is
 * alive (3x3) both in x (`LOAD`) and in x'; every other cell becomes all zeros. Then the clamp.
 */
export function aliveStep(k: ShaderConstants, store: Store): { functions: string; body: string } {
  return {
    functions: alive(k, 'aliveBefore', 'LOAD') + alive(k, 'aliveAfter', 'UPDATED'),
    body: `  bool keep = aliveBefore(cell, 1) && aliveAfter(cell, 1);\n  ${store(clamped(k, 'select(vec4(0.0), UPDATED(cell, #), keep)'))}`,
  };
}

/**
 * The noise seed (formats/reference-core.ts createState) in float32: per cell and channel
 * z = sqrt(−2 ln u1) · cos(2π u2) from the same hash, then (z − min z) / (max z − min z).
 * lnUniform(u) = ln(max(u, 1) / 2^24) and cosTurn(u) = cos(2π u / 2^24) have their own range
 * reduction (exact: the u are integers) and series (NOISE in shader-constants.ts): within 2.5e-7
 * of the float64 reference (test/player/seed.test.ts). Body of main() with `cell` and `seed`.
 */
export function noise(k: ShaderConstants, store: Store): { functions: string; body: string } {
  const channels = [...Array(k.channels).keys()];
  const packs = [...Array(k.packs).keys()];
  return {
    functions: `${fires(k)}
float lnUniform(uint u) {
  uint b = floatBitsToUint(float(max(u, 1u)));
  float e = float(int(b >> 23u) - 151);
  float m = uintBitsToFloat((b & 0x7fffffu) | 0x3f800000u);
  if (m > 1.4142135) {
    m *= 0.5;
    e += 1.0;
  }
  float s = (m - 1.0) / (m + 1.0);
  float z = s * s;
  return ${NOISE.ln};
}

float cosTurn(uint u) {
  uint q = u >> 22u;
  uint r = u & 0x3fffffu;
  bool flip = r > 0x200000u;
  float a = float(min(r, 0x400000u - r)) * ${NOISE.step};
  float z = a * a;
  float c = ${NOISE.cos};
  float s = ${NOISE.sin};
  float cosine = select(c, s, flip);
  float sine = select(s, c, flip);
  return select(select(select(sine, -cosine, q == 2u), -sine, q == 1u), cosine, q == 0u);
}

float normal(uint key, uint c, ivec2 cell) {
  return sqrt(-2.0 * lnUniform(hash32(hash32(key ^ (2u * c)) ^ cellBits(cell)) >> 8u)) * cosTurn(hash32(hash32(key ^ (2u * c + 1u)) ^ cellBits(cell)) >> 8u);
}
`,
    body: `  uint key = hash32(seed ^ ${STREAM_NOISE}u);
${channels.map((c) => `  float z${c} = normal(key, ${c}u, cell);`).join('\n')}
  float lo = z0;
  float hi = z0;
${channels.map((c) => `  lo = min(lo, z${c});\n  hi = max(hi, z${c});`).join('\n')}
  float range = select(1.0, hi - lo, hi > lo);
${packs.map((i) => `  vec4 n${i} = vec4(${[0, 1, 2, 3].map((j) => (4 * i + j < k.channels ? `(z${4 * i + j} - lo) / range` : '0.0')).join(', ')});`).join('\n')}
  ${store('n#')}`,
  };
}

/**
 * SPEC.md §6 colour of a cell, premultiplied (the canvas is): alpha = clamp(x[offset + 3] +
 * alphaBias, 0, 1) (1 for RGB); colour = clamp(x[offset + i] + bias, 0, 1) · alpha, or for a
 * premultiplied model clamp(x[offset + i] + bias, 0, alpha) as is.
 */
export function colour(k: ShaderConstants): string {
  const { offset, count, bias, premultiplied } = k.color;
  const channel = (i: number) => `LOAD(cell, ${(offset + i) >> 2})[${(offset + i) & 3}]`;
  return `
vec4 colour(ivec2 cell) {
  vec3 rgb = vec3(${channel(0)}, ${channel(1)}, ${channel(2)}) + ${float(bias)};
  float alpha = ${count === 4 ? `clamp(${channel(3)} + ${float(alphaBias(k.color))}, 0.0, 1.0)` : '1.0'};
  return ${premultiplied ? 'vec4(clamp(rgb, vec3(0.0), vec3(alpha)), alpha)' : 'vec4(clamp(rgb, vec3(0.0), vec3(1.0)) * alpha, alpha)'};
}
`;
}

