/**
 * Frames from a running automaton: opaque RGBA8 images, one every `stepsPerFrame`
 * steps after a warm-up, optionally made into a seamless loop by crossfading the ends.
 */
import { toRgba } from '../../formats/index.ts';
import type { Engine } from './engine.ts';
import { crossfadeLoop } from './loop.ts';

export interface FramePlan {
  /** Frames in the output. */
  frames: number;
  stepsPerFrame: number;
  /** Steps run before the first frame. */
  warmup: number;
  /** Frames blended across the loop point; 0 = no loop blending. */
  crossfade: number;
  /** Colour that RGBA models are composited over, 0..255 each. */
  background: [number, number, number];
  /** Each cell becomes scale x scale pixels (nearest neighbour, crisp cells). */
  scale: number;
}

/** How many frames the engine must produce for a plan (the crossfade needs extra ones). */
export function framesToRender(plan: FramePlan): number {
  return plan.frames + plan.crossfade;
}

/** The model's colours over an opaque background (SPEC.md §6 colour, then "over" compositing). */
export function frameOf(engine: Engine, background: FramePlan['background']): Uint8Array {
  const rgba = toRgba(engine.model.topology, engine.state(), engine.grid);
  const out = new Uint8Array(rgba.buffer);
  if (engine.model.topology.color.count === 4) {
    for (let i = 0; i < out.length; i += 4) {
      const a = out[i + 3] / 255;
      for (let k = 0; k < 3; k++) out[i + k] = Math.round(out[i + k] * a + background[k] * (1 - a));
      out[i + 3] = 255;
    }
  }
  return out;
}

/** Nearest-neighbour upscaling of an RGBA8 image by an integer factor. */
export function upscale(rgba: Uint8Array, width: number, height: number, scale: number): Uint8Array {
  if (scale === 1) return rgba;
  const pixels = new Uint32Array(rgba.buffer, rgba.byteOffset, width * height);
  const out = new Uint32Array(width * scale * height * scale);
  for (let y = 0; y < height * scale; y++) {
    const row = Math.floor(y / scale) * width;
    for (let x = 0; x < width * scale; x++) out[y * width * scale + x] = pixels[row + Math.floor(x / scale)];
  }
  return new Uint8Array(out.buffer);
}

async function* rawFrames(engine: Engine, plan: FramePlan, onRendered: () => void): AsyncGenerator<Uint8Array> {
  await engine.run(plan.warmup);
  const count = framesToRender(plan);
  const { width, height } = engine.grid;
  for (let i = 0; i < count; i++) {
    if (i > 0) await engine.run(plan.stepsPerFrame);
    onRendered();
    yield upscale(frameOf(engine, plan.background), width, height, plan.scale);
  }
}

/** Renders the plan's frames in display order; `onRendered` is called as each frame is computed. */
export function renderFrames(engine: Engine, plan: FramePlan, onRendered: () => void = () => {}): AsyncGenerator<Uint8Array> {
  const frames = rawFrames(engine, plan, onRendered);
  return plan.crossfade > 0 ? crossfadeLoop(frames, plan.frames, plan.crossfade) : frames;
}
