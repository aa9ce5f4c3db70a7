/**
 * One running automaton on the GPU: a model, a backend, a grid, a seed and a step counter,
 * plus the clock that turns `speed` (steps per second) into steps per animation frame.
 * No DOM beyond the backend's canvas, so the element and the three.js adapter share it.
 */
import { createState, type Grid, type NcaModel } from '../formats/index.ts';
import { createBackend, type Backend, type BackendKind, type BackendPreference } from './backend.ts';

export interface EngineHooks {
  /** The backend's canvas changed (first load, or a rebuild after context loss): show this one. */
  oncanvas?(canvas: HTMLCanvasElement): void;
  /** Steps ran and the canvas was redrawn by the animation loop. */
  onframe?(step: number): void;
  /** Recovery after a lost context failed. */
  onerror?(error: unknown): void;
}

/** Time to wait before rebuilding on a lost GPU, so a restarting GPU process is not hammered. */
const RECOVERY_DELAY_MS = 250;

export class NcaEngine {
  /** Steps per second while running. */
  speed = 60;
  preference: BackendPreference = 'auto';
  seed = 0;
  /** Steps since the seed state: the mask of step n is drawn from (seed, n). */
  stepCount = 0;
  grid: Grid = { width: 0, height: 0 };
  private model: NcaModel | null = null;
  private backend: Backend | null = null;
  /** Steps owed by the clock; fractional, so slow speeds still advance. */
  private due = 0;
  private frame = 0;
  private lastTime = 0;
  /** Bumped by every load, so a slow backend creation cannot overwrite a newer one. */
  private generation = 0;

  constructor(private readonly hooks: EngineHooks = {}) {}

  get kind(): BackendKind | null {
    return this.backend?.kind ?? null;
  }

  get canvas(): HTMLCanvasElement | null {
    return this.backend?.canvas ?? null;
  }

  /** Builds a backend for the model and starts from its seed state. False if a newer load superseded this one. */
  async load(model: NcaModel, grid: Grid, seed: number): Promise<boolean> {
    const generation = ++this.generation;
    const backend = await createBackend(this.preference, model);
    if (generation !== this.generation) {
      backend.destroy();
      return false;
    }
    this.model = model;
    this.install(backend);
    this.restart(grid, seed);
    return true;
  }

  private install(backend: Backend): void {
    this.backend?.destroy();
    this.backend = backend;
    backend.onlost = () => void this.recover();
    this.hooks.oncanvas?.(backend.canvas);
  }

  /** A lost context or device cannot be revived in place: build a new backend and reseed. */
  private async recover(): Promise<void> {
    const model = this.model;
    const generation = ++this.generation;
    this.backend = null;
    await new Promise((resolve) => setTimeout(resolve, RECOVERY_DELAY_MS));
    try {
      const backend = await createBackend(this.preference, model!);
      if (generation !== this.generation) return backend.destroy();
      this.install(backend);
      this.restart();
    } catch (error) {
      this.hooks.onerror?.(error);
    }
  }

  /** Back to the seed state, optionally on another grid or seed. */
  restart(grid = this.grid, seed = this.seed): void {
    this.grid = { ...grid };
    this.seed = seed;
    this.stepCount = 0;
    this.due = 0;
    if (!this.backend || !this.model) return;
    this.backend.setState(createState(this.model, this.grid, seed), this.grid);
    this.backend.draw();
  }

  /** Runs `count` steps now (and does not draw). */
  run(count: number): void {
    if (!this.backend) return;
    for (let i = 0; i < count; i++) this.backend.step(this.seed, this.stepCount++);
  }

  erase(x: number, y: number, radius: number): void {
    this.backend?.erase(x, y, radius);
  }

  draw(): void {
    this.backend?.draw();
  }

  read(): Promise<Float32Array> {
    if (!this.backend) return Promise.reject(new Error('no model is running'));
    return this.backend.read();
  }

  /** Runs the animation loop: `speed` steps per second, drawn once per frame. */
  set running(on: boolean) {
    if (on === this.running) return;
    if (on) {
      this.lastTime = performance.now();
      this.frame = requestAnimationFrame(this.tick);
    } else {
      cancelAnimationFrame(this.frame);
      this.frame = 0;
    }
  }

  get running(): boolean {
    return this.frame !== 0;
  }

  private tick = (now: number): void => {
    this.frame = requestAnimationFrame(this.tick);
    // The cap keeps a slow GPU from spiralling: it falls behind `speed` instead of freezing.
    const cap = Math.max(4, Math.ceil(this.speed / 30));
    this.due = Math.min(this.due + ((now - this.lastTime) / 1000) * this.speed, cap);
    this.lastTime = now;
    const steps = Math.floor(this.due);
    if (steps === 0 || !this.backend) return;
    this.due -= steps;
    this.run(steps);
    this.backend.draw();
    this.hooks.onframe?.(this.stepCount);
  };

  destroy(): void {
    this.running = false;
    this.generation++;
    this.backend?.destroy();
    this.backend = null;
  }
}
