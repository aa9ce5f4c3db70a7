/**
 * Training checkpoints: one file, `checkpoint.bin`, written to a temporary
 * name, synced and renamed over the old one, so a crash leaves either the old
 * or the new checkpoint and never half of one.
 *
 * Layout: "NCACKPT1" | uint32 LE JSON length | JSON | zero padding to 8 | tensors.
 * The JSON holds everything small (config, iteration, RNG state, ...) and a
 * table of the tensors: name, dtype, element offset into the tensor area and length.
 */
import { open, readFile, rename } from 'node:fs/promises';
import { join } from 'node:path';
import type { NcaModel, SeedRecipe, Weights } from '../../formats/model.ts';
import type { AdamState } from './adam.ts';
import type { TrainConfig } from './config.ts';

export const CHECKPOINT_FILE = 'checkpoint.bin';
/** A run's model: the best so far when the run is scored, else written at the end. */
export const MODEL_FILE = 'model.nca';
const MAGIC = 'NCACKPT1';

/** Everything a run needs to continue exactly. */
export interface TrainState {
  config: TrainConfig;
  seed: SeedRecipe;
  /** The next iteration to run. */
  iteration: number;
  rngState: number;
  /** Multiplies the scheduled learning rate; halved by every NaN rollback. */
  lrScale: number;
  rollbacks: number;
  weights: Weights;
  /** The moving average of the weights, when config.weightAverage > 0. */
  average?: Weights;
  adam: AdamState;
  pool: Float32Array;
  /** The loss of each pool state when it was written back (Infinity: not yet ranked, e.g. a seed). */
  poolLoss: Float32Array;
  /** The best long-run score so far and its iteration (see Trainer `score`), if the run scores checkpoints. */
  best?: { iteration: number; score: number };
  /** Provenance carried into the exported model (title, prompts, ...). */
  metadata: NcaModel['metadata'];
  /** What the loss was built from (JSON), so `--resume` can rebuild it: e.g. { kind: 'pixel', targetPng: base64 }. */
  lossSpec: { kind: string; [key: string]: unknown };
}

type Tensor = Float32Array | Float64Array;
interface TensorEntry {
  name: string;
  dtype: 'float32' | 'float64';
  offset: number;
  length: number;
}

export class CheckpointError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CheckpointError';
  }
}

export async function saveCheckpoint(dir: string, state: TrainState): Promise<void> {
  const tensors: [string, Tensor][] = [
    ...Object.entries(state.weights).filter((e): e is [string, Float32Array] => e[1] !== undefined).map(([k, v]) => [`weights.${k}`, v] as [string, Tensor]),
    ...Object.entries(state.average ?? {}).filter((e): e is [string, Float32Array] => e[1] !== undefined).map(([k, v]) => [`average.${k}`, v] as [string, Tensor]),
    ...Object.entries(state.adam.m).map(([k, v]) => [`adam.m.${k}`, v] as [string, Tensor]),
    ...Object.entries(state.adam.v).map(([k, v]) => [`adam.v.${k}`, v] as [string, Tensor]),
    ['pool', state.pool],
    ['poolLoss', state.poolLoss],
    // an image seed's state is a tensor too; the header keeps its size
    ...(state.seed.kind === 'image' ? [['seed', state.seed.data] as [string, Tensor]] : []),
  ];
  let offset = 0;
  const table: TensorEntry[] = tensors.map(([name, t]) => {
    const entry: TensorEntry = { name, dtype: t instanceof Float64Array ? 'float64' : 'float32', offset, length: t.length };
    offset += t.byteLength;
    return entry;
  });
  const { weights: _w, average: _a, adam, pool: _p, poolLoss: _l, seed, ...small } = state;
  const seedHead = seed.kind === 'image' ? { kind: seed.kind, width: seed.width, height: seed.height } : seed;
  const json = new TextEncoder().encode(JSON.stringify({ ...small, seed: seedHead, adamStep: adam.step, tensors: table }));
  const head = Buffer.alloc(align8(12 + json.length));
  head.write(MAGIC, 0, 'latin1');
  head.writeUInt32LE(json.length, 8);
  head.set(json, 12);

  const path = join(dir, CHECKPOINT_FILE);
  const tmp = `${path}.tmp-${process.pid}`;
  const file = await open(tmp, 'w');
  try {
    await file.write(head);
    for (const [, t] of tensors) await file.write(new Uint8Array(t.buffer, t.byteOffset, t.byteLength));
    await file.sync();
  } finally {
    await file.close();
  }
  await rename(tmp, path);
}

export async function loadCheckpoint(dir: string): Promise<TrainState> {
  const path = join(dir, CHECKPOINT_FILE);
  let bytes: Buffer;
  try {
    bytes = await readFile(path);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new CheckpointError(code === 'ENOENT' ? `no checkpoint in ${dir} (expected ${CHECKPOINT_FILE})` : `cannot read ${path}: ${(error as Error).message}`);
  }
  return decodeCheckpoint(bytes, path);
}

/** True when `bytes` start like a trainer checkpoint (for tools that accept several file kinds). */
export function isCheckpoint(bytes: Uint8Array): boolean {
  return bytes.length >= 8 && Buffer.from(bytes.subarray(0, 8)).toString('latin1') === MAGIC;
}

/** Parses checkpoint bytes; `path` only names the file in errors. */
export function decodeCheckpoint(input: Uint8Array, path = CHECKPOINT_FILE): TrainState {
  const bytes = Buffer.from(input.buffer, input.byteOffset, input.byteLength);
  if (!isCheckpoint(bytes) || bytes.length < 12) throw new CheckpointError(`${path} is not a trainer checkpoint`);
  const jsonLength = bytes.readUInt32LE(8);
  if (12 + jsonLength > bytes.length) throw new CheckpointError(`${path} is truncated`);
  let meta: Omit<TrainState, 'weights' | 'average' | 'adam' | 'pool' | 'poolLoss'> & { adamStep: number; tensors: TensorEntry[] };
  try {
    meta = JSON.parse(bytes.toString('utf8', 12, 12 + jsonLength));
  } catch {
    throw new CheckpointError(`${path} has a corrupt header`);
  }
  const base = align8(12 + jsonLength);
  const read = new Map<string, Tensor>();
  for (const t of meta.tensors) {
    const start = base + t.offset;
    const end = start + t.length * (t.dtype === 'float64' ? 8 : 4);
    if (end > bytes.length) throw new CheckpointError(`${path} is truncated (tensor ${t.name})`);
    // copy out, so the tensors are aligned and independent of the file buffer
    const copy = bytes.buffer.slice(bytes.byteOffset + start, bytes.byteOffset + end) as ArrayBuffer;
    read.set(t.name, t.dtype === 'float64' ? new Float64Array(copy) : new Float32Array(copy));
  }
  const group = (prefix: string) =>
    Object.fromEntries([...read].filter(([k]) => k.startsWith(prefix)).map(([k, v]) => [k.slice(prefix.length), v]));
  const { adamStep, tensors: _t, ...small } = meta;
  const pool = read.get('pool');
  if (!pool) throw new CheckpointError(`${path} has no pool`);
  if (small.seed.kind === 'image') {
    const data = read.get('seed');
    if (!(data instanceof Float32Array) || data.length !== small.seed.width * small.seed.height * meta.config.topology.channels) throw new CheckpointError(`${path} has no image seed of ${small.seed.width}x${small.seed.height} cells`);
    small.seed = { ...small.seed, data };
  }
  const average = group('average.');
  return {
    ...small,
    weights: group('weights.') as unknown as Weights,
    ...(Object.keys(average).length > 0 ? { average: average as unknown as Weights } : {}),
    adam: { step: adamStep, m: group('adam.m.') as Record<string, Float64Array>, v: group('adam.v.') as Record<string, Float64Array> },
    pool: pool as Float32Array,
    // checkpoints written before pools were ranked: every state unranked
    poolLoss: (read.get('poolLoss') as Float32Array | undefined) ?? new Float32Array(meta.config.poolSize).fill(Infinity),
  };
}

/** The model in a run directory's checkpoint, with float32 weights (what the exporter quantises). */
export async function loadCheckpointModel(dir: string): Promise<NcaModel> {
  return modelOf(await loadCheckpoint(dir));
}

/** The run's model: its current weights, or (`average`) their moving average. */
export function modelOf(s: TrainState, average = false): NcaModel {
  const weights = average && s.average ? s.average : s.weights;
  return {
    topology: s.config.topology,
    weights: copyWeights(weights),
    seed: s.seed,
    metadata: { ...s.metadata, iterations: s.iteration },
  };
}

/** A deep copy of a set of weights. */
export function copyWeights(w: Weights): Weights {
  return Object.fromEntries(Object.entries(w).map(([k, v]) => [k, v && Float32Array.from(v)])) as unknown as Weights;
}

function align8(n: number): number {
  return (n + 7) & ~7;
}
