/** Exit codes of the `nca` command (documented in docs/cli.md). */
export const EXIT = {
  ok: 0,
  /** Something failed while running (an I/O error, a training failure). */
  failure: 1,
  /** A model or weights are needed from the network and the network is not there. */
  offline: 2,
  /** `nca eval`: the model ran, and its quality is below the thresholds (a verdict, not an error). */
  belowThresholds: 3,
  /** Wrong flags or arguments. */
  usage: 64,
  /** An input file exists but is not what it should be (corrupt .nca, bad PNG, bad config). */
  badInput: 65,
  /** An input file does not exist or cannot be read. */
  noInput: 66,
  /** A program the command needs is not installed (ffmpeg for MP4/WebM). */
  unavailable: 69,
  /** Stopped by Ctrl-C (after saving what can be saved). */
  interrupted: 130,
} as const;

/** An error the CLI reports as one line, with its exit code, and no stack trace. */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode: number = EXIT.failure,
  ) {
    super(message);
    this.name = 'CliError';
  }
}
