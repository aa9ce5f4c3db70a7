/**
 * The in-memory model that a `.nca` file holds. Everything here is plain data:
 * the trainer builds it, the codec writes and reads it, the reference core and
 * the players run it. See formats/SPEC.md for the meaning of every field.
 */

/** The fixed 3x3 perception filters, by name. Row-major, row = y offset -1..1, column = x offset -1..1. */
export const FILTER_KERNELS = {
  identity: [0, 0, 0, 0, 1, 0, 0, 0, 0],
  sobel_x: [-1, 0, 1, -2, 0, 2, -1, 0, 1],
  sobel_y: [-1, -2, -1, 0, 0, 0, 1, 2, 1],
  laplacian: [1, 2, 1, 2, -12, 2, 1, 2, 1],
} as const;

export type FilterName = keyof typeof FILTER_KERNELS;
export const FILTER_NAMES = Object.keys(FILTER_KERNELS) as FilterName[];

/** The 3x3 kernel (row-major) of the topology's filter number `f`, with its v1.1 scale. */
export function filterKernel(t: Topology, f: number): number[] {
  const scale = t.filterScales?.[f] ?? 1;
  return FILTER_KERNELS[t.filters[f]].map((k) => k * scale);
}

export type Padding = 'circular' | 'zeros';
export type Activation = 'relu';
export type WeightDtype = 'int8' | 'float16' | 'float32';

export interface ColorMapping {
  /** First state channel shown as colour. */
  offset: number;
  /** 3 (RGB) or 4 (RGBA). */
  count: 3 | 4;
  /** Added before display: colour = clamp(x[offset + i] + bias, 0, 1). The source method uses 0.5. */
  bias: number;
  /** v1.1, RGBA only: added to the alpha channel instead of `bias`. Living models use 0, so an empty (zero) cell is transparent. */
  alphaBias?: number;
  /** v1.1, RGBA only: the colour channels hold colour x alpha (Growing NCA), shown as premultiplied colour. */
  premultiplied?: boolean;
}

/** v1.1 alive masking (Growing NCA): a cell lives while the largest `channel` value in its 3x3 neighbourhood exceeds `threshold`. */
export interface AliveMasking {
  channel: number;
  threshold: number;
}

export interface Topology {
  channels: number;
  hidden: number;
  /** Perception filters, applied to every channel. Perception index = channel * filters.length + filter. */
  filters: FilterName[];
  /** v1.1: a factor per filter (e.g. Sobel / 8 as in Growing NCA); absent = all 1. */
  filterScales?: number[];
  padding: Padding;
  activation: Activation;
  /** Probability that a cell applies its update on a given step. */
  fireRate: number;
  color: ColorMapping;
  /** v1.1: after each step, cells not alive both before and after the update are zeroed (SPEC.md §6). */
  alive?: AliveMasking;
  /** v1.1: after each step, every state value is clamped to [-clamp, clamp] (Self-Organising Textures). */
  clamp?: number;
  /** v1.2: the perception features are clamped to [-perceptionClamp, perceptionClamp] before w1 (Self-Organising Textures' float rule). */
  perceptionClamp?: number;
  /** v1.2: the hidden activations are clamped to [0, hiddenClamp] after the relu. */
  hiddenClamp?: number;
  /** v1.2: the update (w2 · h + b2) is clamped to [-updateClamp, updateClamp] before it is masked and added. */
  updateClamp?: number;
}

/** How the initial state is made. */
export type SeedRecipe =
  /** Per-cell standard normal noise over all channels, min-max normalised per cell to [0, 1] (the source method). */
  | { kind: 'noise' }
  /**
   * All zeros but one cell at the grid centre, which takes `value` (length = channels).
   * v1.1: `offset` [dx, dy] moves that cell from the centre (e.g. onto an opaque part of a ring).
   */
  | { kind: 'cell'; value: number[]; offset?: [number, number] }
  /** A small explicit state [height, width, channels] placed at the grid centre on a zero background. */
  | { kind: 'image'; width: number; height: number; data: Float32Array };

export interface Prompt {
  text: string;
  weight: number;
}

/** Free-form provenance. Every field is optional. */
export interface Metadata {
  title?: string;
  prompts?: Prompt[];
  negativePrompts?: Prompt[];
  /** e.g. "openai/clip-vit-base-patch32", or "pixel-target" for image-target runs. */
  clipModel?: string;
  iterations?: number;
  /** ISO 8601. */
  createdAt?: string;
  /** e.g. "nca-studio 0.1.0". */
  tool?: string;
  /** Anything else the trainer wants to record (settings, losses). Must be JSON. */
  extra?: Record<string, unknown>;
}

/**
 * Weights, always as float32 in memory, [out][in] row-major.
 * `w1`: [hidden, channels * filters.length], `b1`: [hidden], `w2`: [channels, hidden], `b2` (optional): [channels].
 */
export interface Weights {
  w1: Float32Array;
  b1: Float32Array;
  w2: Float32Array;
  b2?: Float32Array;
}

export interface NcaModel {
  topology: Topology;
  weights: Weights;
  seed: SeedRecipe;
  metadata: Metadata;
}

export function defaultTopology(overrides: Partial<Topology> = {}): Topology {
  return {
    channels: 12,
    hidden: 128,
    filters: ['identity', 'sobel_x', 'sobel_y', 'laplacian'],
    padding: 'circular',
    activation: 'relu',
    fireRate: 0.5,
    color: { offset: 0, count: 3, bias: 0.5 },
    ...overrides,
  };
}

/** The alpha channel's display bias: `alphaBias` where set, else `bias` (the v1.0 meaning). */
export function alphaBias(c: ColorMapping): number {
  return c.alphaBias ?? c.bias;
}

/** True when the topology uses a field that a v1.0 reader would ignore: such a file is written as v1.1. */
export function needsMinor1(t: Topology, seed?: SeedRecipe): boolean {
  const moved = seed?.kind === 'cell' && seed.offset !== undefined;
  return moved || t.filterScales !== undefined || t.alive !== undefined || t.clamp !== undefined || t.color.alphaBias !== undefined || t.color.premultiplied !== undefined;
}

/** The v1.2 fields (activation clamps) that a topology uses, by name; players that do not implement them refuse such a model. */
export function minor2Fields(t: Topology): string[] {
  return (['perceptionClamp', 'hiddenClamp', 'updateClamp'] as const).filter((k) => t[k] !== undefined);
}

/** The lowest minor version whose fields the model uses: 2 with a v1.2 field, 1 with a v1.1 field, else 0. */
export function formatMinor(t: Topology, seed?: SeedRecipe): number {
  if (minor2Fields(t).length > 0) return 2;
  return needsMinor1(t, seed) ? 1 : 0;
}

/** Number of perception features per cell: channels x filters. */
export function perceptionSize(t: Topology): number {
  return t.channels * t.filters.length;
}

/** Expected tensor shapes for a topology. */
export function weightShapes(t: Topology): Record<keyof Weights, [number, number] | [number]> {
  return {
    w1: [t.hidden, perceptionSize(t)],
    b1: [t.hidden],
    w2: [t.channels, t.hidden],
    b2: [t.channels],
  };
}
