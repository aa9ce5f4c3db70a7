/** The MODEL argument of render, export and play: a .nca file or a training checkpoint. */
import { loadModel, ModelInputError, type LoadedModel } from '../exporter/load-model.ts';
import { readInput } from './args.ts';
import { CliError, EXIT } from './exit-codes.ts';

export async function readModel(path: string): Promise<LoadedModel> {
  try {
    return await loadModel(await readInput(path), path);
  } catch (error) {
    if (error instanceof ModelInputError) throw new CliError(error.message, EXIT.badInput);
    throw error;
  }
}

/** Exactly one positional MODEL, or a usage error. */
export function modelArg(positionals: string[]): string {
  if (positionals.length !== 1) throw new CliError('expected exactly one MODEL (a .nca file or a checkpoint; see --help)', EXIT.usage);
  return positionals[0];
}
