/**
 * `<nca-player src="model.nca">`: fetches a model, runs it live on the GPU and behaves like
 * a good media element (reflected attributes, load/error/frame events, a poster, pausing
 * when nobody can see it). See docs/player.md.
 */
import type { Grid, NcaModel } from '../formats/index.ts';
import { ATTRIBUTES, reflectAttributes, type AttributeName, type AttributeValues } from './attributes.ts';
import type { BackendKind } from './backend.ts';
import { NcaEngine } from './engine.ts';
import { PlayerError } from './errors.ts';
import { fetchModel } from './load.ts';
import { cellAt, gridFor } from './sizing.ts';

const STYLE = `
:host { display: inline-block; position: relative; width: 300px; height: 150px; overflow: hidden; }
:host([hidden]) { display: none; }
canvas, img { position: absolute; inset: 0; width: 100%; height: 100%; }
canvas { image-rendering: pixelated; }
:host([interactive]) canvas { touch-action: none; cursor: crosshair; }
`;

/** A resize restarts the automaton on the new grid: wait for the size to settle first. */
const RESIZE_SETTLE_MS = 150;

export interface NcaPlayer extends AttributeValues {}

export class NcaPlayer extends HTMLElement {
  static readonly observedAttributes = Object.keys(ATTRIBUTES);

  /** The decoded model, once loaded. */
  model: NcaModel | null = null;
  /** Why the last load failed, or null. */
  error: PlayerError | null = null;

  private readonly engine: NcaEngine;
  private readonly posterImage: HTMLImageElement;
  private canvas: HTMLCanvasElement | null = null;
  private box = { width: 0, height: 0 };
  private onscreen = false;
  private started = false;
  private loads = 0;
  private abort: AbortController | null = null;
  private resizeTimer = 0;
  private lastPointer: { x: number; y: number } | null = null;
  private reducedMotionChecked = false;
  /** Auto quality: the cell size as a fraction of what `scale` asks for (1, 1/2 or 1/4). */
  private cellFactor = 1;
  private reported = { scale: 0, stepsPerFrame: 0 };
  private readonly resizeObserver = new ResizeObserver(([entry]) => this.resized(entry.contentRect));
  private readonly intersectionObserver = new IntersectionObserver(([entry]) => {
    this.onscreen = entry.isIntersecting;
    this.updateRunning();
  });

  constructor() {
    super();
    const root = this.attachShadow({ mode: 'open' });
    const style = document.createElement('style');
    style.textContent = STYLE;
    this.posterImage = document.createElement('img');
    this.posterImage.part.add('poster');
    this.posterImage.alt = '';
    root.append(style, this.posterImage);
    this.engine = new NcaEngine({
      oncanvas: (canvas) => this.mount(canvas),
      onframe: (step) => this.dispatchEvent(new CustomEvent('frame', { detail: { step } })),
      onerror: (error) => this.fail(error),
      onmeasure: () => this.adapt(),
    });
    this.addEventListener('pointerdown', this.pointer);
    this.addEventListener('pointermove', this.pointer);
    this.addEventListener('pointerup', () => (this.lastPointer = null));
  }

  /** Which backend runs the model: 'webgl2', 'webgpu', or null before load. */
  get activeBackend(): BackendKind | null {
    return this.engine.kind;
  }

  /** The grid in cells. */
  get grid(): Grid {
    return { ...this.engine.grid };
  }

  /** Steps since the seed state. */
  get stepCount(): number {
    return this.engine.stepCount;
  }

  /**
   * What the quality settings give now: cells per CSS pixel, steps per animation frame (below 1:
   * a step every few frames), the measured GPU milliseconds per step (0 before a measurement or
   * with fixed quality), and how they are measured.
   */
  get chosenQuality(): { scale: number; stepsPerFrame: number; msPerStep: number; timing: string | null } {
    const { engine } = this;
    return {
      scale: this.scale * this.cellFactor,
      stepsPerFrame: Math.min(engine.maxStepsPerFrame, (this.speed * engine.frameMs) / 1000),
      msPerStep: engine.msPerStep,
      timing: engine.timing,
    };
  }

  play(): void {
    this.paused = false;
  }

  pause(): void {
    this.paused = true;
  }

  /** Back to the seed state. */
  restart(): void {
    this.engine.restart();
  }

  /** Runs `count` steps right away and redraws, whether paused or not. */
  step(count = 1): void {
    this.engine.run(count);
    this.engine.draw();
  }

  /**
   * The state read back from the GPU: Float32Array [height][width][channels], the layout of
   * formats/reference-core.ts. For tests and debugging; it stalls the GPU pipeline.
   */
  readState(): Promise<Float32Array> {
    return this.engine.read();
  }

  connectedCallback(): void {
    if (!this.reducedMotionChecked) {
      this.reducedMotionChecked = true;
      if (matchMedia('(prefers-reduced-motion: reduce)').matches) this.paused = true;
    }
    this.resizeObserver.observe(this);
    this.intersectionObserver.observe(this);
    document.addEventListener('visibilitychange', this.updateRunning);
    if (this.model) void this.start();
    else void this.load();
  }

  disconnectedCallback(): void {
    this.resizeObserver.disconnect();
    this.intersectionObserver.disconnect();
    document.removeEventListener('visibilitychange', this.updateRunning);
    // Free the GPU now; reconnecting rebuilds from the decoded model without refetching.
    this.started = false;
    this.engine.destroy();
  }

  attributeChangedCallback(name: AttributeName, previous: string | null, value: string | null): void {
    if (previous === value || !this.isConnected) return;
    if (name === 'src' || name === 'backend') void this.load();
    else if (name === 'poster') this.showPoster(!this.started);
    else if (name === 'fit') this.applyFit();
    else if (name === 'width' || name === 'height' || name === 'scale' || name === 'quality' || name === 'budget') this.resizeGrid(true);
    else if (name === 'seed' && this.started) this.engine.restart(this.engine.grid, this.seed);
    else if (name === 'speed') this.engine.speed = this.speed;
    if (name === 'speed' || name === 'paused') this.updateRunning();
  }

  /** Fetches and decodes `src`, then starts. Every failure ends in an `error` event. */
  private async load(): Promise<void> {
    const load = ++this.loads;
    this.abort?.abort();
    this.abort = new AbortController();
    this.engine.destroy();
    this.started = false;
    this.model = null;
    this.error = null;
    this.cellFactor = 1;
    this.showPoster(true);
    if (!this.src) return;
    try {
      const model = await fetchModel(this.src, this.abort.signal);
      if (load !== this.loads) return;
      this.model = model;
      await this.start();
    } catch (error) {
      if (load === this.loads) this.fail(error);
    }
  }

  /** Builds the backend once the model is decoded and the grid has a size. */
  private async start(): Promise<void> {
    const grid = this.targetGrid();
    // After an error only a new `src` or `backend` retries, not every resize.
    if (!this.model || !grid || this.started || this.error || !this.isConnected) return;
    this.started = true;
    const load = this.loads;
    this.engine.preference = this.backend;
    this.engine.speed = this.speed;
    this.engine.budget = this.quality === 'auto' ? this.budget : 0;
    try {
      if (!(await this.engine.load(this.model, grid, this.seed)) || load !== this.loads) return;
    } catch (error) {
      this.started = false;
      if (load === this.loads) this.fail(error);
      return;
    }
    this.showPoster(false);
    this.dispatchEvent(
      new CustomEvent('load', { detail: { backend: this.engine.kind, grid: this.grid, metadata: this.model.metadata } }),
    );
    this.updateRunning();
  }

  private fail(error: unknown): void {
    this.error = error instanceof PlayerError ? error : new PlayerError('gpu', String((error as Error)?.message ?? error));
    this.engine.destroy();
    this.started = false;
    this.showPoster(true);
    console.warn(`<nca-player>: ${this.error.message}`);
    this.dispatchEvent(new CustomEvent('error', { detail: { code: this.error.code, message: this.error.message } }));
  }

  private targetGrid(): Grid | null {
    return gridFor(this.box, this.width, this.height, this.scale * this.cellFactor);
  }

  /**
   * Auto quality, after each measurement of the GPU time per step. When the grid follows the
   * box, cells grow first (up to 4x the size `scale` asks for) until `speed` fits the budget; the
   * engine then runs only the steps per frame that fit. Cells only grow: each change restarts the
   * automaton. A `quality` event reports a new cell size or a change of steps per frame over 20%.
   */
  private adapt(): void {
    const { engine } = this;
    if (this.width === null && this.height === null) {
      const full = gridFor(this.box, null, null, this.scale)!;
      const fit = Math.sqrt(this.budget / (((this.speed * engine.frameMs) / 1000) * engine.msPerCell * full.width * full.height));
      let factor = this.cellFactor;
      while (factor > 1 / 4 && factor > fit) factor /= 2;
      if (factor !== this.cellFactor) {
        this.cellFactor = factor;
        this.resizeGrid();
      }
    }
    const chosen = this.chosenQuality;
    const { scale, stepsPerFrame } = this.reported;
    if (chosen.scale !== scale || Math.abs(Math.log(chosen.stepsPerFrame / stepsPerFrame)) > 0.2) {
      this.reported = chosen;
      this.dispatchEvent(new CustomEvent('quality', { detail: chosen }));
    }
  }

  private resized(box: DOMRectReadOnly): void {
    this.box = { width: box.width, height: box.height };
    this.cellFactor = 1;
    if (this.started) this.resizeGrid();
    else void this.start();
  }

  /**
   * A new grid size restarts the automaton from its seed, once the size stops changing. `settings`:
   * the size or quality settings changed, so auto quality starts again from full cells.
   */
  private resizeGrid(settings = false): void {
    if (settings) {
      this.cellFactor = 1;
      this.engine.budget = this.quality === 'auto' ? this.budget : 0;
    }
    clearTimeout(this.resizeTimer);
    this.resizeTimer = window.setTimeout(() => {
      const grid = this.targetGrid();
      if (!this.started) void this.start();
      else if (grid && (grid.width !== this.engine.grid.width || grid.height !== this.engine.grid.height)) {
        this.engine.restart(grid);
      }
    }, RESIZE_SETTLE_MS);
  }

  private mount(canvas: HTMLCanvasElement): void {
    canvas.part.add('canvas');
    if (this.canvas) this.canvas.replaceWith(canvas);
    else this.shadowRoot!.append(canvas);
    this.canvas = canvas;
    this.applyFit();
  }

  private applyFit(): void {
    this.posterImage.style.objectFit = this.fit;
    if (this.canvas) this.canvas.style.objectFit = this.fit;
  }

  /** The poster stands in while loading and after an error; the canvas otherwise. */
  private showPoster(show: boolean): void {
    const url = this.getAttribute('poster');
    if (url && this.posterImage.getAttribute('src') !== url) this.posterImage.src = url;
    this.posterImage.hidden = !show || !url;
    if (this.canvas) this.canvas.hidden = show;
  }

  /** Runs while a model is loaded, not paused, on screen and in a visible tab. */
  private updateRunning = (): void => {
    this.engine.running = this.started && !this.paused && this.onscreen && !document.hidden && this.speed > 0;
  };

  /** With `interactive`, pressing and dragging erases cells along the pointer's path. */
  private pointer = (event: PointerEvent): void => {
    if (!this.interactive || !this.started || !this.canvas || (event.type === 'pointermove' && !event.buttons)) return;
    if (event.type === 'pointerdown') this.setPointerCapture(event.pointerId);
    const at = cellAt(this.engine.grid, this.canvas.getBoundingClientRect(), this.fit, event.clientX, event.clientY);
    const from = this.lastPointer ?? at;
    // Stamp along the segment so a fast stroke leaves no gaps.
    const stamps = Math.max(1, Math.ceil(Math.hypot(at.x - from.x, at.y - from.y) / (this.brush / 2)));
    for (let i = 1; i <= stamps; i++) {
      const t = i / stamps;
      this.engine.erase(from.x + (at.x - from.x) * t, from.y + (at.y - from.y) * t, this.brush);
    }
    this.lastPointer = at;
    this.engine.draw();
  };
}

reflectAttributes(NcaPlayer.prototype);
