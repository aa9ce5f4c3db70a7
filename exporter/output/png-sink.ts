/** Writes every frame as DIR/frame_0000.png, ... (RGBA8 PNGs, via the trainer's PNG codec). */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { encodePng } from '../../trainer/image/png.ts';
import type { FrameSink, VideoSpec } from './sink.ts';

export class PngFramesSink implements FrameSink {
  private count = 0;
  private bytes = 0;
  constructor(
    readonly target: string,
    private readonly spec: VideoSpec,
  ) {}
  async add(frame: Uint8Array): Promise<void> {
    const png = encodePng({ width: this.spec.width, height: this.spec.height, data: frame });
    await writeFile(join(this.target, `frame_${String(this.count++).padStart(4, '0')}.png`), png);
    this.bytes += png.length;
  }
  async finish(): Promise<number> {
    return this.bytes;
  }
}
