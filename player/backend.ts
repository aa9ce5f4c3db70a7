/** The one interface both GPU backends implement, and the choice between them. */
import type { Grid, NcaModel } from '../formats/index.ts';
import { PlayerError } from './errors.ts';
import { createWebGl2Backend } from './webgl2/backend.ts';
import { createWebGpuBackend } from './webgpu/backend.ts';

export type BackendKind = 'webgl2' | 'webgpu';
export type BackendPreference = BackendKind | 'auto';

export interface Backend {
  readonly kind: BackendKind;
  /** The backend draws into its own canvas: a canvas can hold only one kind of context. */
  readonly canvas: HTMLCanvasElement;
  /** Called at most once when the GPU context or device is lost; the backend is dead after that. */
  onlost: (() => void) | null;
  /** Makes the model's seed state for this grid and seed on the GPU (createState's), resizing the grid if needed. */
  seed(grid: Grid, seed: number): void;
  /** One step of the automaton with the standard mask for (seed, step). */
  step(seed: number, step: number): void;
  /** Writes a rectangle of the state from `data` ([height][width][channels]), or zeros where data is null. */
  put(x: number, y: number, width: number, height: number, data: Float32Array | null): void;
  /** Shows the state's colour channels on the canvas, one canvas pixel per cell. */
  draw(): void;
  /** How `time` measures: 'timer-query' (GPU timestamps), or 'frame' (until the GPU has finished). */
  readonly timing: string;
  /** Runs `work` (GPU commands) and resolves with the GPU milliseconds it took (0: no answer). */
  time(work: () => void): Promise<number>;
  /** Reads the state back, [height][width][channels]. Slow: for tests and debugging. */
  read(): Promise<Float32Array>;
  destroy(): void;
}

/** `auto` prefers WebGPU and falls back to WebGL2; a named backend is used or fails. */
export async function createBackend(preference: BackendPreference, model: NcaModel): Promise<Backend> {
  const order: BackendKind[] = preference === 'auto' ? ['webgpu', 'webgl2'] : [preference];
  const failures: PlayerError[] = [];
  for (const kind of order) {
    try {
      return kind === 'webgpu' ? await createWebGpuBackend(model) : createWebGl2Backend(model);
    } catch (error) {
      failures.push(error instanceof PlayerError ? error : new PlayerError('gpu', `${kind}: ${(error as Error).message}`));
    }
  }
  // A model the GPU can't run says more than "WebGPU is missing".
  const telling = failures.find((f) => f.code !== 'no-backend');
  if (telling) throw telling;
  throw new PlayerError('no-backend', failures.map((f) => f.message).join('; '));
}
