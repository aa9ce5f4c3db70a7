import { formatBytes, formatDuration } from '../../cli/progress.ts';

/**
 * A byte-count progress bar on stderr: size, speed and ETA. On a terminal it
 * redraws one line at most 10 times a second; elsewhere (logs, CI) it prints a
 * line at the start and at the end only, so logs stay readable.
 */

export interface ByteProgress {
  /** Bytes done so far (absolute, including any resumed part). */
  update(done: number): void;
  finish(): void;
}

export interface ProgressOptions {
  stream?: NodeJS.WritableStream & { isTTY?: boolean };
  /** Bytes already present when the bar starts (a resumed download): excluded from the speed. */
  start?: number;
  now?: () => number;
}

export function byteProgress(label: string, total: number | null, options: ProgressOptions = {}): ByteProgress {
  const stream = options.stream ?? process.stderr;
  const now = options.now ?? Date.now;
  const start = options.start ?? 0;
  const t0 = now();
  let last = 0;
  let done = start;
  const line = () => formatProgress(label, done, total, (done - start) / Math.max((now() - t0) / 1000, 1e-3));
  if (!stream.isTTY) stream.write(`${label}: ${total === null ? 'size unknown' : formatBytes(total)}${start ? `, resuming at ${formatBytes(start)}` : ''}\n`);
  return {
    update(value: number) {
      done = value;
      if (!stream.isTTY || now() - last < 100) return;
      last = now();
      stream.write(`\r${line()}\x1b[K`);
    },
    finish() {
      stream.write(stream.isTTY ? `\r${line()}\x1b[K\n` : `${line()}\n`);
    },
  };
}

/** "model.safetensors  45% [#########-----------] 272.3 MB / 605.2 MB  12.1 MB/s  ETA 0:27" */
export function formatProgress(label: string, done: number, total: number | null, bytesPerSecond: number): string {
  const speed = `${formatBytes(bytesPerSecond)}/s`;
  if (total === null || total <= 0) return `${label}  ${formatBytes(done)}  ${speed}`;
  const fraction = Math.min(done / total, 1);
  const width = 20;
  const filled = Math.round(fraction * width);
  const eta = bytesPerSecond > 0 ? formatDuration((total - done) / bytesPerSecond) : '?';
  return (
    `${label}  ${String(Math.floor(fraction * 100)).padStart(3)}% [${'#'.repeat(filled)}${'-'.repeat(width - filled)}] ` +
    `${formatBytes(done)} / ${formatBytes(total)}  ${speed}  ETA ${eta}`
  );
}
