/**
 * Schema checks for the JSON chunks of a `.nca` file. Untrusted JSON goes in,
 * a typed value comes out, or an NcaFormatError names the first bad field.
 */
import { fail, type NcaErrorCode } from './errors.ts';
import { DTYPES, encodedLength, type TensorEntry } from './tensor-codec.ts';
import { FILTER_NAMES, weightShapes, type FilterName, type Metadata, type Prompt, type Topology } from './model.ts';

/** Limits that keep a hostile file cheap; generous for any real model. */
export const LIMITS = { channels: 64, hidden: 1024, seedSide: 1024, tensors: 16, textLength: 4096, prompts: 64 };

export type HeadSeed =
  | { kind: 'noise' }
  | { kind: 'cell'; value: number[]; offset?: [number, number] }
  | { kind: 'image'; width: number; height: number; tensor: 'seed' };

export interface HeadJson {
  topology: Topology;
  seed: HeadSeed;
  tensors: TensorEntry[];
}

type Obj = Record<string, unknown>;

function object(v: unknown, what: string, code: NcaErrorCode): Obj {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) fail(code, `${what} must be an object`);
  return v as Obj;
}

function int(v: unknown, what: string, code: NcaErrorCode, min: number, max: number): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
    fail(code, `${what} must be an integer in [${min}, ${max}]`);
  }
  return v;
}

function finite(v: unknown, what: string, code: NcaErrorCode): number {
  if (typeof v !== 'number' || !Number.isFinite(v)) fail(code, `${what} must be a finite number`);
  return v;
}

function oneOf<T extends string>(v: unknown, options: readonly T[], what: string, code: NcaErrorCode): T {
  if (typeof v !== 'string' || !options.includes(v as T)) fail(code, `${what} must be one of ${options.join(', ')}`);
  return v as T;
}

function text(v: unknown, what: string): string {
  if (typeof v !== 'string' || v.length > LIMITS.textLength) fail('bad-metadata', `${what} must be a string of at most ${LIMITS.textLength} characters`);
  return v;
}

export function validateTopology(v: unknown): Topology {
  const o = object(v, 'topology', 'bad-topology');
  const channels = int(o.channels, 'topology.channels', 'bad-topology', 1, LIMITS.channels);
  const hidden = int(o.hidden, 'topology.hidden', 'bad-topology', 1, LIMITS.hidden);
  if (!Array.isArray(o.filters) || o.filters.length < 1 || o.filters.length > FILTER_NAMES.length) {
    fail('bad-topology', `topology.filters must list 1 to ${FILTER_NAMES.length} filters`);
  }
  const filters = o.filters.map((f) => oneOf(f, FILTER_NAMES, 'each filter', 'bad-topology')) as FilterName[];
  if (new Set(filters).size !== filters.length) fail('bad-topology', 'topology.filters has a duplicate');
  const padding = oneOf(o.padding, ['circular', 'zeros'] as const, 'topology.padding', 'bad-topology');
  const activation = oneOf(o.activation, ['relu'] as const, 'topology.activation', 'bad-topology');
  const fireRate = finite(o.fireRate, 'topology.fireRate', 'bad-topology');
  if (fireRate <= 0 || fireRate > 1) fail('bad-topology', 'topology.fireRate must be in (0, 1]');
  const c = object(o.color, 'topology.color', 'bad-topology');
  const count = int(c.count, 'topology.color.count', 'bad-topology', 3, 4) as 3 | 4;
  const offset = int(c.offset, 'topology.color.offset', 'bad-topology', 0, channels - count);
  const bias = finite(c.bias, 'topology.color.bias', 'bad-topology');
  const color: Topology['color'] = { offset, count, bias };
  if (c.alphaBias !== undefined) color.alphaBias = finite(c.alphaBias, 'topology.color.alphaBias', 'bad-topology');
  if (c.premultiplied !== undefined) {
    if (typeof c.premultiplied !== 'boolean') fail('bad-topology', 'topology.color.premultiplied must be true or false');
    color.premultiplied = c.premultiplied;
  }
  if (count !== 4 && (color.alphaBias !== undefined || color.premultiplied)) fail('bad-topology', 'topology.color.alphaBias and premultiplied need color.count 4');
  const topology: Topology = { channels, hidden, filters, padding, activation, fireRate, color };
  if (o.filterScales !== undefined) {
    if (!Array.isArray(o.filterScales) || o.filterScales.length !== filters.length) fail('bad-topology', `topology.filterScales must list ${filters.length} numbers, one per filter`);
    topology.filterScales = o.filterScales.map((v) => finite(v, 'topology.filterScales[i]', 'bad-topology'));
  }
  if (o.alive !== undefined) {
    const a = object(o.alive, 'topology.alive', 'bad-topology');
    const channel = int(a.channel, 'topology.alive.channel', 'bad-topology', 0, channels - 1);
    const threshold = finite(a.threshold, 'topology.alive.threshold', 'bad-topology');
    if (threshold < 0) fail('bad-topology', 'topology.alive.threshold must be >= 0');
    topology.alive = { channel, threshold };
  }
  if (o.clamp !== undefined) {
    const clamp = finite(o.clamp, 'topology.clamp', 'bad-topology');
    if (clamp <= 0) fail('bad-topology', 'topology.clamp must be > 0');
    topology.clamp = clamp;
  }
  for (const name of ['perceptionClamp', 'hiddenClamp', 'updateClamp'] as const) {
    if (o[name] === undefined) continue;
    const bound = finite(o[name], `topology.${name}`, 'bad-topology');
    if (bound <= 0) fail('bad-topology', `topology.${name} must be > 0`);
    topology[name] = bound;
  }
  return topology;
}

function validateTensors(v: unknown, topology: Topology, seed: HeadSeed): TensorEntry[] {
  if (!Array.isArray(v) || v.length > LIMITS.tensors) fail('bad-tensor', `tensors must be a list of at most ${LIMITS.tensors}`);
  const expected = new Map<string, number[]>(Object.entries(weightShapes(topology)).map(([k, s]) => [k, [...s]]));
  if (seed.kind === 'image') expected.set('seed', [seed.height, seed.width, topology.channels]);
  const seen = new Set<string>();
  const entries = v.map((raw): TensorEntry => {
    const t = object(raw, 'tensor entry', 'bad-tensor');
    const name = typeof t.name === 'string' ? t.name : fail('bad-tensor', 'tensor name must be a string');
    const shape = expected.get(name) ?? fail('bad-tensor', `unknown tensor "${name}"`);
    if (seen.has(name)) fail('bad-tensor', `tensor "${name}" appears twice`);
    seen.add(name);
    const dtype = oneOf(t.dtype, DTYPES, `tensor "${name}" dtype`, 'bad-tensor');
    if (!Array.isArray(t.shape) || t.shape.length !== shape.length || t.shape.some((d, i) => d !== shape[i])) {
      fail('bad-tensor', `tensor "${name}" must have shape [${shape.join(', ')}]`);
    }
    const offset = int(t.offset, `tensor "${name}" offset`, 'bad-tensor', 0, 2 ** 31);
    if (offset % 4 !== 0) fail('bad-tensor', `tensor "${name}" offset must be a multiple of 4`);
    const length = int(t.length, `tensor "${name}" length`, 'bad-tensor', 0, 2 ** 31);
    if (length !== encodedLength(dtype, shape)) {
      fail('bad-tensor', `tensor "${name}" length ${length} does not match ${dtype}[${shape.join(', ')}]`);
    }
    return { name, dtype, shape, offset, length };
  });
  for (const name of ['w1', 'b1', 'w2', ...(seed.kind === 'image' ? ['seed'] : [])]) {
    if (!seen.has(name)) fail('bad-tensor', `tensor "${name}" is missing`);
  }
  return entries;
}

function validateSeed(v: unknown, topology: Topology): HeadSeed {
  const o = object(v, 'seed', 'bad-seed');
  const kind = oneOf(o.kind, ['noise', 'cell', 'image'] as const, 'seed.kind', 'bad-seed');
  if (kind === 'noise') return { kind };
  if (kind === 'cell') {
    if (!Array.isArray(o.value) || o.value.length !== topology.channels) {
      fail('bad-seed', `seed.value must list ${topology.channels} numbers`);
    }
    const value = o.value.map((x) => finite(x, 'seed.value[i]', 'bad-seed'));
    if (o.offset === undefined) return { kind, value };
    if (!Array.isArray(o.offset) || o.offset.length !== 2) fail('bad-seed', 'seed.offset must be [dx, dy]');
    const offset = o.offset.map((d) => int(d, 'seed.offset[i]', 'bad-seed', -LIMITS.seedSide, LIMITS.seedSide)) as [number, number];
    return { kind, value, offset };
  }
  const width = int(o.width, 'seed.width', 'bad-seed', 1, LIMITS.seedSide);
  const height = int(o.height, 'seed.height', 'bad-seed', 1, LIMITS.seedSide);
  if (o.tensor !== 'seed') fail('bad-seed', 'an image seed must name tensor "seed"');
  return { kind, width, height, tensor: 'seed' };
}

export function validateHead(v: unknown): HeadJson {
  const o = object(v, 'HEAD', 'bad-json');
  const topology = validateTopology(o.topology);
  const seed = validateSeed(o.seed, topology);
  const tensors = validateTensors(o.tensors, topology, seed);
  return { topology, seed, tensors };
}

function prompts(v: unknown, what: string): Prompt[] {
  if (!Array.isArray(v) || v.length > LIMITS.prompts) fail('bad-metadata', `${what} must be a list of at most ${LIMITS.prompts}`);
  return v.map((p) => {
    const o = object(p, `${what} entry`, 'bad-metadata');
    return { text: text(o.text, `${what} text`), weight: finite(o.weight, `${what} weight`, 'bad-metadata') };
  });
}

/** Metadata is advisory: known fields are type-checked, unknown ones are dropped. */
export function validateMetadata(v: unknown): Metadata {
  const o = object(v, 'meta', 'bad-metadata');
  const m: Metadata = {};
  if (o.title !== undefined) m.title = text(o.title, 'title');
  if (o.prompts !== undefined) m.prompts = prompts(o.prompts, 'prompts');
  if (o.negativePrompts !== undefined) m.negativePrompts = prompts(o.negativePrompts, 'negativePrompts');
  if (o.clipModel !== undefined) m.clipModel = text(o.clipModel, 'clipModel');
  if (o.iterations !== undefined) m.iterations = int(o.iterations, 'iterations', 'bad-metadata', 0, 2 ** 31);
  if (o.createdAt !== undefined) m.createdAt = text(o.createdAt, 'createdAt');
  if (o.tool !== undefined) m.tool = text(o.tool, 'tool');
  if (o.extra !== undefined) m.extra = object(o.extra, 'extra', 'bad-metadata');
  return m;
}
