/**
 * MP4 (H.264) and WebM (VP9) through an installed `ffmpeg`, fed raw RGBA frames on stdin.
 * ffmpeg is optional: without it these outputs fail with a message saying how to get it.
 */
import { spawn, spawnSync, type ChildProcessByStdio } from 'node:child_process';
import type { Readable, Writable } from 'node:stream';
import { stat } from 'node:fs/promises';
import type { FrameSink, VideoSpec } from './sink.ts';

export type VideoFormat = 'mp4' | 'webm';

const CODEC_ARGS: Record<VideoFormat, string[]> = {
  mp4: ['-c:v', 'libx264', '-pix_fmt', 'yuv420p', '-crf', '18', '-movflags', '+faststart'],
  webm: ['-c:v', 'libvpx-vp9', '-pix_fmt', 'yuv420p', '-crf', '30', '-b:v', '0'],
};

/** The ffmpeg to run: $NCA_FFMPEG, else `ffmpeg` on the PATH. */
export function ffmpegPath(): string {
  return process.env.NCA_FFMPEG || 'ffmpeg';
}

/** Null when ffmpeg runs, else why not, as one line with a way out. */
export function ffmpegProblem(): string | null {
  const result = spawnSync(ffmpegPath(), ['-version'], { stdio: 'ignore' });
  if (!result.error && result.status === 0) return null;
  return (
    `MP4/WebM output needs ffmpeg, and "${ffmpegPath()}" could not be run ` +
    `(install it, e.g. "apt-get install ffmpeg" or "brew install ffmpeg", or set NCA_FFMPEG); GIF and PNG output work without it`
  );
}

export class VideoSink implements FrameSink {
  private readonly child: ChildProcessByStdio<Writable, null, Readable>;
  private stderr = '';
  private closed = false;
  private readonly exited: Promise<number>;

  constructor(
    readonly target: string,
    format: VideoFormat,
    spec: VideoSpec,
  ) {
    const args = [
      ...['-hide_banner', '-loglevel', 'error', '-y'],
      ...['-f', 'rawvideo', '-pix_fmt', 'rgba', '-s', `${spec.width}x${spec.height}`, '-framerate', String(spec.fps), '-i', 'pipe:0'],
      // yuv420p needs even sides: pad odd ones by a pixel.
      ...['-vf', 'pad=ceil(iw/2)*2:ceil(ih/2)*2'],
      ...CODEC_ARGS[format],
      target,
    ];
    this.child = spawn(ffmpegPath(), args, { stdio: ['pipe', 'ignore', 'pipe'] });
    this.child.stderr.on('data', (d: Buffer) => (this.stderr += d.toString()));
    this.exited = new Promise((resolve) => {
      const end = (code: number) => {
        this.closed = true;
        resolve(code);
      };
      this.child.on('error', (error) => {
        this.stderr += `${error.message}\n`;
        end(-1);
      });
      this.child.on('close', (code) => end(code ?? 1));
    });
    // A dead ffmpeg shows up in finish(); don't let EPIPE crash the process first.
    this.child.stdin.on('error', () => {});
  }

  async add(frame: Uint8Array): Promise<void> {
    // A dead ffmpeg takes no more frames; finish() reports why it died.
    if (this.closed || this.child.stdin.write(frame)) return;
    // Back-pressure: wait until ffmpeg has taken the data, or has died.
    await new Promise<void>((resolve) => {
      const done = () => {
        this.child.stdin.off('drain', done);
        this.child.off('close', done);
        resolve();
      };
      this.child.stdin.once('drain', done);
      this.child.once('close', done);
    });
  }

  async finish(): Promise<number> {
    this.child.stdin.end();
    const code = await this.exited;
    if (code !== 0) throw new Error(`ffmpeg failed: ${this.stderr.trim().split('\n').pop() || `exit code ${code}`}`);
    return (await stat(this.target)).size;
  }
}
