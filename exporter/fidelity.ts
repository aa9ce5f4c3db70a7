/**
 * Quantisation fidelity: how far a quantised model's colours drift from the float
 * model's, as PSNR after 64, 256 and 1024 steps from the same seed with the same
 * update masks. NCAs feed their output back in, so small weight errors can grow with steps.
 */
import { toColours, type Grid, type NcaModel, type Topology } from '../formats/index.ts';
import { psnrOfValues } from './eval/metrics.ts';
import { createEngine, type EngineName } from './render/engine.ts';

export const FIDELITY_STEPS = [64, 256, 1024] as const;

export interface FidelityRow {
  steps: number;
  /** dB over the displayed colour channels in [0, 1]; Infinity when identical. */
  psnr: number;
}

export interface FidelityOptions {
  grid: Grid;
  seed?: number;
  engine?: EngineName;
  steps?: readonly number[];
  /** Called with the steps done so far. */
  onProgress?: (steps: number) => void;
}

/** Displayed colour channels (RGB or RGBA, straight; SPEC §6 incl. v1.1 alpha and premultiplied colour), unrounded. */
export function displayColours(topology: Topology, state: Float32Array): Float32Array {
  const cells = state.length / topology.channels;
  const rgba = toColours(topology, state, { width: cells, height: 1 });
  const count = topology.color.count;
  if (count === 4) return rgba;
  const out = new Float32Array(cells * count);
  for (let i = 0; i < cells; i++) for (let k = 0; k < count; k++) out[i * count + k] = rgba[i * 4 + k];
  return out;
}

/** PSNR of `candidate` against `reference` at each step count, run in lock step. */
export async function measureFidelity(reference: NcaModel, candidate: NcaModel, options: FidelityOptions): Promise<FidelityRow[]> {
  const steps = [...(options.steps ?? FIDELITY_STEPS)].sort((x, y) => x - y);
  const engineOptions = { seed: options.seed ?? 0, chunk: gcdAll(steps) };
  const name = options.engine ?? 'ort';
  const a = await createEngine(name, reference, options.grid, engineOptions);
  const b = await createEngine(name, candidate, options.grid, engineOptions);
  const rows: FidelityRow[] = [];
  try {
    for (const target of steps) {
      // Step both in slices of one chunk, so progress moves smoothly.
      while (a.steps < target) {
        const n = Math.min(engineOptions.chunk, target - a.steps);
        await a.run(n);
        await b.run(n);
        options.onProgress?.(a.steps);
      }
      rows.push({ steps: target, psnr: psnrOfValues(displayColours(reference.topology, a.state()), displayColours(candidate.topology, b.state())) });
    }
  } finally {
    await a.dispose();
    await b.dispose();
  }
  return rows;
}

/** The largest chunk that divides every step count (capped, to keep the unrolled graph small). */
function gcdAll(values: number[]): number {
  const gcd = (x: number, y: number): number => (y === 0 ? x : gcd(y, x % y));
  return Math.min(64, values.reduce(gcd));
}
