/** Reads a model to render or export: a `.nca` file (any weight dtype) or a trainer checkpoint. */
import { decodeNca, NcaFormatError, type NcaModel, type WeightDtype } from '../formats/index.ts';
import { SIGNATURE } from '../formats/nca-file.ts';
import { CheckpointError, decodeCheckpoint, isCheckpoint, modelOf } from '../trainer/train/checkpoint.ts';

export class ModelInputError extends Error {}

export interface LoadedModel {
  kind: 'nca' | 'checkpoint';
  model: NcaModel;
  /** How w1 and w2 were stored: a checkpoint is float32, a .nca says in its tensor directory. */
  weightDtype: WeightDtype;
}

function isNca(bytes: Uint8Array): boolean {
  return SIGNATURE.every((b, i) => bytes[i] === b);
}

/** Decodes `bytes` read from `path`; throws ModelInputError with a one-line reason. */
export async function loadModel(bytes: Uint8Array, path: string): Promise<LoadedModel> {
  if (isNca(bytes)) {
    try {
      const { model, file } = decodeNca(bytes);
      return { kind: 'nca', model, weightDtype: file.tensors.find((t) => t.name === 'w1')!.dtype as WeightDtype };
    } catch (error) {
      if (error instanceof NcaFormatError) throw new ModelInputError(`${path}: ${error.message}`);
      throw error;
    }
  }
  if (isCheckpoint(bytes)) {
    try {
      return { kind: 'checkpoint', model: modelOf(decodeCheckpoint(bytes, path)), weightDtype: 'float32' };
    } catch (error) {
      if (error instanceof CheckpointError) throw new ModelInputError(error.message);
      throw error;
    }
  }
  throw new ModelInputError(`${path}: not a .nca file or a training checkpoint`);
}
