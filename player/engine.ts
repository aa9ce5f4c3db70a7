/**
 * One running automaton on the GPU: a model, a backend, a grid, a seed and a step counter,
 * plus the clock that turns `speed` (steps per second) into steps per animation frame.
 * No DOM beyond the backend's canvas, so the element and the three.js adapter share it.
 */
import type { Grid, NcaModel } from '../formats/index.ts';
import { createBackend, type Backend, type BackendKind, type BackendPreference } from './backend.ts';

export interface EngineHooks {
  /** The backend's canvas changed (first load, or a rebuild after context loss): show this one. */
  oncanvas?(canvas: HTMLCanvasElement): void;
  /** Steps ran and the canvas was redrawn by the animation loop. */
  onframe?(step: number): void;
  /** Recovery after a lost context failed. */
  onerror?(error: unknown): void;
  /** A new measurement of the GPU time per step (auto quality): `msPerCell` changed. */
  onmeasure?(): void;
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
  /**
   * Auto quality: the GPU milliseconds a frame's steps may take; the loop runs fewer steps per
   * frame (less than one: a step every few frames) when `speed` would exceed it. 0: fixed quality,
   * `speed` steps per second whatever they cost.
   */
  budget = 0;
  /** Measured GPU milliseconds per step and cell (0 until measured; auto quality only). */
  msPerCell = 0;
  /** Milliseconds between animation frames (a moving average). */
  frameMs = 1000 / 60;
  grid: Grid = { width: 0, height: 0 };
  private model: NcaModel | null = null;
  private backend: Backend | null = null;
  /** Steps owed by the clock; fractional, so slow speeds still advance. */
  private due = 0;
  private frame = 0;
  private lastTime = 0;
  /** Bumped by every load, so a slow backend creation cannot overwrite a newer one. */
  private generation = 0;
  /** Steps the budget allows now; fractional, so a step can span frames. */
  private credit = 0;
  /** When the last measurement started; the first stepping frame only warms up. */
  private measured = -1;
  private measuring = false;

  constructor(private readonly hooks: EngineHooks = {}) {}

  get kind(): BackendKind | null {
    return this.backend?.kind ?? null;
  }

  get canvas(): HTMLCanvasElement | null {
    return this.backend?.canvas ?? null;
  }

  /** How the GPU time is measured: 'timer-query', or 'frame' (the time until the GPU has finished the frame's steps). */
  get timing(): string | null {
    return this.backend?.timing ?? null;
  }

  /** Measured GPU milliseconds per step on this grid (0 until measured). */
  get msPerStep(): number {
    return this.msPerCell * this.grid.width * this.grid.height;
  }

  /** The steps per frame that fit the budget (Infinity with fixed quality or before a measurement). */
  get maxStepsPerFrame(): number {
    return this.budget && this.msPerCell ? this.budget / this.msPerStep : Infinity;
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
    this.msPerCell = 0;
    this.measured = -1;
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
    this.backend.seed(this.grid, seed);
    this.backend.draw();
  }

  /** Runs `count` steps now (and does not draw). */
  run(count: number): void {
    if (!this.backend) return;
    for (let i = 0; i < count; i++) this.backend.step(this.seed, this.stepCount++);
  }

  /** Zeroes every cell whose centre lies within `radius` cells of (x, y) (cell units, y down), one row at a time. */
  erase(x: number, y: number, radius: number): void {
    for (let row = Math.max(0, Math.floor(y - radius)); row < Math.min(this.grid.height, y + radius); row++) {
      const half = Math.sqrt(radius * radius - (row + 0.5 - y) ** 2); // NaN for a row the disc misses
      const from = Math.max(0, Math.ceil(x - half - 0.5));
      const to = Math.min(this.grid.width - 1, Math.floor(x + half - 0.5));
      if (to >= from) this.backend?.put(from, row, to - from + 1, 1, null);
    }
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
    const elapsed = now - this.lastTime;
    this.lastTime = now;
    this.frameMs += (Math.min(elapsed, 100) - this.frameMs) / 8;
    // The cap keeps a slow GPU from spiralling: it falls behind `speed` instead of freezing.
    const cap = Math.max(4, Math.ceil(this.speed / 30));
    this.due = Math.min(this.due + (elapsed / 1000) * this.speed, cap);
    const limit = this.maxStepsPerFrame;
    this.credit = Math.min(this.credit + limit, Math.max(1, limit));
    const steps = Math.floor(Math.min(this.due, this.credit));
    const backend = this.backend;
    if (steps === 0 || !backend) return;
    this.due -= steps;
    this.credit -= steps;
    // Auto quality measures a frame's steps twice a second (after one frame of warm-up: shaders compile lazily).
    if (this.budget && !this.measuring && now - this.measured > 500) {
      const cells = this.grid.width * this.grid.height;
      const warm = this.measured >= 0;
      this.measuring = true;
      this.measured = now;
      void backend.time(() => this.run(steps)).then((ms) => {
        this.measuring = false;
        if (!warm || !(ms > 0) || backend !== this.backend) return;
        this.msPerCell = ms / steps / cells;
        this.hooks.onmeasure?.();
      });
    } else {
      this.run(steps);
    }
    backend.draw();
    this.hooks.onframe?.(this.stepCount);
  };

  destroy(): void {
    this.running = false;
    this.generation++;
    this.backend?.destroy();
    this.backend = null;
  }
}
