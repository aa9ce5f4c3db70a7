/** Where rendered frames go. One render feeds every requested output in a single pass. */
export interface FrameSink {
  /** e.g. "out.gif", for messages. */
  readonly target: string;
  add(frame: Uint8Array): Promise<void>;
  /** Writes what is left; returns the bytes written. */
  finish(): Promise<number>;
}

export interface VideoSpec {
  width: number;
  height: number;
  fps: number;
}
