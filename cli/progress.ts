/**
 * A progress bar for long jobs, on stderr so that stdout stays clean for --json.
 * On a terminal it redraws one line, sized to the terminal, with rate and ETA;
 * in a log (not a TTY) it prints an occasional plain line instead of control codes.
 */

export interface ProgressOptions {
  /** What is being done, e.g. "rendering". */
  label: string;
  total: number;
  /** Unit of the counted items, e.g. "frames". */
  unit?: string;
  stream?: NodeJS.WriteStream;
  /** Off = silent (for --quiet or tests). Default: on. */
  enabled?: boolean;
  /** Items done before the bar started (a resumed run): shown in the count, left out of the rate and ETA. */
  start?: number;
}

const REDRAW_MS = 100;
const LOG_EVERY_MS = 5000;

/** 75 -> "1:15", 3725 -> "1:02:05". */
export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds)) return '--:--';
  const s = Math.round(seconds);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const ss = String(s % 60).padStart(2, '0');
  return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${ss}` : `${m}:${ss}`;
}

/** 1500 -> "1.5 kB" (SI units, as download tools show sizes). */
export function formatBytes(n: number): string {
  const units = ['B', 'kB', 'MB', 'GB'];
  let i = 0;
  while (n >= 1000 && i < units.length - 1) {
    n /= 1000;
    i++;
  }
  return `${i === 0 ? Math.round(n) : n.toFixed(1)} ${units[i]}`;
}

export class Progress {
  private done: number;
  /** Items done before the bar started. */
  private readonly start: number;
  private readonly started = performance.now();
  private lastDraw = this.started;
  /** The count shown by the last line drawn, so a log does not get the final line twice. */
  private drawnDone = -1;
  private readonly stream: NodeJS.WriteStream;
  private readonly tty: boolean;
  private readonly enabled: boolean;

  constructor(private readonly options: ProgressOptions) {
    this.stream = options.stream ?? process.stderr;
    this.tty = Boolean(this.stream.isTTY);
    this.enabled = options.enabled ?? true;
    this.done = this.start = Math.min(options.total, options.start ?? 0);
  }

  /** Marks `n` more items done. */
  tick(n = 1): void {
    this.done = Math.min(this.options.total, this.done + n);
    const now = performance.now();
    if (now - this.lastDraw < (this.tty ? REDRAW_MS : LOG_EVERY_MS)) return;
    this.lastDraw = now;
    this.draw(false);
  }

  /** Ends the bar with a final line, e.g. the time taken. */
  finish(): void {
    if (this.tty || this.drawnDone !== this.done) this.draw(true);
  }

  /** Seconds since the bar started. */
  elapsed(): number {
    return (performance.now() - this.started) / 1000;
  }

  /** "rendering [#####.....] 60/120 frames  8.1 frames/s  ETA 0:07". */
  line(width = 80): string {
    const { label, total, unit = '' } = this.options;
    const elapsed = this.elapsed();
    const rate = elapsed > 0 ? (this.done - this.start) / elapsed : 0;
    const eta = this.done >= total ? `in ${formatDuration(elapsed)}` : `ETA ${formatDuration(rate > 0 ? (total - this.done) / rate : Infinity)}`;
    const counts = `${this.done}/${total}${unit ? ` ${unit}` : ''}  ${rate.toFixed(rate < 10 ? 1 : 0)}${unit ? ` ${unit}` : ''}/s  ${eta}`;
    const barWidth = Math.max(10, Math.min(40, width - label.length - counts.length - 5));
    const filled = total > 0 ? Math.round((barWidth * this.done) / total) : barWidth;
    return `${label} [${'#'.repeat(filled)}${'.'.repeat(barWidth - filled)}] ${counts}`;
  }

  private draw(final: boolean): void {
    if (!this.enabled) return;
    this.drawnDone = this.done;
    if (this.tty) {
      const width = this.stream.columns || 80;
      this.stream.write(`\r${this.line(width).slice(0, width - 1)}\x1b[K${final ? '\n' : ''}`);
    } else {
      this.stream.write(`${this.line()}\n`);
    }
  }
}
