/** Fetching a `.nca` file and turning every way that can fail into one clear PlayerError. */
import { decodeNca, NCA_MIME, NcaFormatError, type NcaModel } from '../formats/index.ts';
import { PlayerError } from './errors.ts';

/** What a static server may call a `.nca` file. Anything else (text/html above all) is a wrong URL. */
const MODEL_TYPES = ['', 'application/octet-stream', 'binary/octet-stream', NCA_MIME];

export async function fetchModel(url: string, signal?: AbortSignal): Promise<NcaModel> {
  let response: Response;
  try {
    response = await fetch(url, { signal });
  } catch (error) {
    if (signal?.aborted) throw error;
    throw new PlayerError('network', `could not fetch ${url} (${(error as Error).message})`);
  }
  if (!response.ok) {
    throw new PlayerError('http', `could not load ${url}: HTTP ${response.status} ${response.statusText}`.trim());
  }
  const type = (response.headers.get('content-type') ?? '').split(';')[0].trim().toLowerCase();
  if (!MODEL_TYPES.includes(type)) {
    throw new PlayerError(
      'content-type',
      `${url} is served as ${type}, not as a .nca model (expected application/octet-stream or ${NCA_MIME})`,
    );
  }
  return decodeModel(new Uint8Array(await response.arrayBuffer()), url);
}

export function decodeModel(bytes: Uint8Array, name: string): NcaModel {
  try {
    return decodeNca(bytes).model;
  } catch (error) {
    if (!(error instanceof NcaFormatError)) throw error;
    throw new PlayerError(error.code, `${name} is not a usable .nca model: ${error.message}`);
  }
}
