import type { NcaErrorCode } from '../formats/index.ts';

/** Why the player could not show a model. Format failures keep the codec's own codes. */
export type PlayerErrorCode =
  | NcaErrorCode
  | 'network' // fetch failed (offline, CORS, DNS)
  | 'http' // the server answered with an error status
  | 'content-type' // the server sent something that is not a model, e.g. an HTML page
  | 'no-backend' // neither WebGPU nor WebGL2 (with float render targets) is available
  | 'unsupported-model' // valid file, but beyond what this GPU can run
  | 'gpu'; // a shader or pipeline failed to build

export class PlayerError extends Error {
  readonly code: PlayerErrorCode;
  constructor(code: PlayerErrorCode, message: string) {
    super(message);
    this.name = 'PlayerError';
    this.code = code;
  }
}
