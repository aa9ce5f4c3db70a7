/**
 * A running automaton that the renderer and the fidelity report drive. Two engines
 * compute the same thing (SPEC.md §5–7, same seed and masks): `ort` runs many steps
 * per call on onnxruntime (fast), `reference` is the plain-TS reference core (slow, exact).
 */
import type { Grid, NcaModel } from '../../formats/index.ts';
import type { Device } from '../../trainer/engine/session.ts';

export const ENGINES = ['ort', 'reference'] as const;
export type EngineName = (typeof ENGINES)[number];

export interface Engine {
  readonly model: NcaModel;
  readonly grid: Grid;
  /** Steps run since the seed; the next step's mask is drawn for this number. */
  readonly steps: number;
  run(count: number): Promise<void>;
  /** The state as [height][width][channels], the reference core's layout. */
  state(): Float32Array;
  /** Replaces the state ([height][width][channels]) and the step counter, e.g. to erase part of a pattern or to go back to a snapshot. */
  setState(state: Float32Array, steps: number): void;
  dispose(): Promise<void>;
}

export interface EngineOptions {
  /** The user seed (noise and masks), SPEC.md §7. */
  seed?: number;
  /** Steps the ort engine runs per call to onnxruntime; `run` counts need not be multiples of it. */
  chunk?: number;
  /** The ort engine's execution provider (trainer/engine/session.ts: falls back to the CPU with one line). */
  device?: Device;
  /** The ort engine's intra-op threads (default: all cores). */
  threads?: number;
}

export async function createEngine(name: EngineName, model: NcaModel, grid: Grid, options: EngineOptions = {}): Promise<Engine> {
  if (name === 'reference') {
    const { ReferenceEngine } = await import('./reference-engine.ts');
    return new ReferenceEngine(model, grid, options.seed ?? 0);
  }
  // Loaded on demand: onnxruntime's native module costs ~0.3 s to load.
  const { OrtEngine } = await import('./ort-engine.ts');
  return OrtEngine.create(model, grid, options);
}
