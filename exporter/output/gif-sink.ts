/** Collects frames (the palette is built from all of them), then writes one looping GIF. */
import { writeFile } from 'node:fs/promises';
import { encodeGif } from '../gif/encoder.ts';
import type { FrameSink, VideoSpec } from './sink.ts';

/** GIF delays are whole hundredths of a second; browsers treat delays under 2 as 10. */
export function gifDelay(fps: number): number {
  return Math.max(2, Math.round(100 / fps));
}

export class GifSink implements FrameSink {
  private readonly frames: Uint8Array[] = [];
  constructor(
    readonly target: string,
    private readonly spec: VideoSpec,
  ) {}
  async add(frame: Uint8Array): Promise<void> {
    this.frames.push(frame);
  }
  async finish(): Promise<number> {
    const bytes = encodeGif(this.frames, { width: this.spec.width, height: this.spec.height, delayCs: gifDelay(this.spec.fps) });
    await writeFile(this.target, bytes);
    return bytes.length;
  }
}
