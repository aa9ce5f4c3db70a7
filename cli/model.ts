/**
 * The MODEL argument of render, export, eval and play: a .nca file, a training
 * checkpoint, or a run folder: its model.nca when there is one (the best
 * model a scored run kept, or a finished run's last), else its checkpoint.
 */
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { loadModel, ModelInputError, type LoadedModel } from '../exporter/load-model.ts';
import { CHECKPOINT_FILE, MODEL_FILE } from '../trainer/train/checkpoint.ts';
import { readInput } from './args.ts';
import { CliError, EXIT } from './exit-codes.ts';

export async function readModel(given: string): Promise<LoadedModel> {
  const path = statSync(given, { throwIfNoEntry: false })?.isDirectory() ? runModelPath(given) : given;
  try {
    return await loadModel(await readInput(path), path);
  } catch (error) {
    if (error instanceof ModelInputError) throw new CliError(error.message, EXIT.badInput);
    throw error;
  }
}

function runModelPath(dir: string): string {
  const best = join(dir, MODEL_FILE);
  return statSync(best, { throwIfNoEntry: false })?.isFile() ? best : join(dir, CHECKPOINT_FILE);
}

/** Exactly one positional MODEL, or a usage error. */
export function modelArg(positionals: string[]): string {
  if (positionals.length !== 1) throw new CliError('expected exactly one MODEL (a .nca file, a checkpoint or a run folder; see --help)', EXIT.usage);
  return positionals[0];
}
