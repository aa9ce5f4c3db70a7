/**
 * three.js adapter: an NCA as a texture that animates by itself.
 *
 *   import { NCATexture } from './dist/player/three.js'; // with an import map entry for 'three'
 *   const map = new NCATexture('logo.nca', { width: 256, height: 256 });
 *   const material = new THREE.MeshBasicMaterial({ map });
 *
 * It runs its own engine on its own canvas and marks the texture for upload after each
 * drawn frame. `three` is a peer dependency: this entry is the only one that imports it.
 */
import { CanvasTexture, LinearFilter, Source, SRGBColorSpace } from 'three';
import type { NcaModel } from '../formats/index.ts';
import type { BackendPreference } from './backend.ts';
import { NcaEngine } from './engine.ts';
import { fetchModel } from './load.ts';

export interface NCATextureOptions {
  /** Grid size in cells (default 256 x 256). */
  width?: number;
  height?: number;
  seed?: number;
  /** Steps per second (default 60). */
  speed?: number;
  backend?: BackendPreference;
}

export class NCATexture extends CanvasTexture {
  /** The automaton behind the texture: step, erase, restart or read it directly. */
  readonly engine: NcaEngine;
  /** Settles once the model runs; rejects with a PlayerError if it cannot. */
  readonly ready: Promise<void>;

  constructor(source: string | NcaModel, options: NCATextureOptions = {}) {
    super(document.createElement('canvas'));
    this.colorSpace = SRGBColorSpace;
    this.minFilter = LinearFilter;
    this.generateMipmaps = false; // re-uploaded every frame: mipmaps would cost more than they give
    this.engine = new NcaEngine({
      oncanvas: (canvas) => {
        this.source = new Source(canvas); // a new source gets a new GPU texture, whatever its size
        this.needsUpdate = true;
      },
      onframe: () => (this.needsUpdate = true),
    });
    this.engine.speed = options.speed ?? 60;
    this.engine.preference = options.backend ?? 'auto';
    this.ready = this.start(source, { width: options.width ?? 256, height: options.height ?? 256 }, options.seed ?? 0);
    this.ready.catch(() => {}); // callers who never await `ready` should not see an unhandled rejection
  }

  private async start(source: string | NcaModel, grid: { width: number; height: number }, seed: number): Promise<void> {
    const model = typeof source === 'string' ? await fetchModel(source) : source;
    await this.engine.load(model, grid, seed);
    this.needsUpdate = true;
    this.engine.running = true;
  }

  get paused(): boolean {
    return !this.engine.running;
  }

  set paused(paused: boolean) {
    this.engine.running = !paused;
  }

  /** Also stops the automaton for good and frees its GPU resources. */
  override dispose(): void {
    this.engine.destroy();
    super.dispose();
  }
}
