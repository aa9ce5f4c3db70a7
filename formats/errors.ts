/** Why a `.nca` file was rejected. Every decoding failure is one of these, never a bare Error. */
export type NcaErrorCode =
  | 'truncated'
  | 'bad-signature'
  | 'unsupported-version'
  | 'bad-length'
  | 'bad-checksum'
  | 'bad-chunk'
  | 'unknown-required-chunk'
  | 'missing-chunk'
  | 'bad-json'
  | 'bad-topology'
  | 'bad-tensor'
  | 'bad-seed'
  | 'bad-metadata';

export class NcaFormatError extends Error {
  readonly code: NcaErrorCode;
  constructor(code: NcaErrorCode, message: string) {
    super(message);
    this.name = 'NcaFormatError';
    this.code = code;
  }
}

export function fail(code: NcaErrorCode, message: string): never {
  throw new NcaFormatError(code, message);
}
