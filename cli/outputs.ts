/**
 * Output paths, checked before any long work starts, so that a typo in a folder name
 * fails in a second with one line instead of after a long render or fidelity run.
 */
import { accessSync, constants, mkdirSync, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { CliError, EXIT } from './exit-codes.ts';

function writableFolder(folder: string, forPath: string): void {
  const stat = statSync(folder, { throwIfNoEntry: false });
  if (!stat?.isDirectory()) throw new CliError(`cannot write ${forPath}: there is no folder ${folder}`, EXIT.failure);
  try {
    accessSync(folder, constants.W_OK);
  } catch {
    throw new CliError(`cannot write ${forPath}: folder ${folder} is not writable`, EXIT.failure);
  }
}

/** A file the command will write: its folder must exist and be writable, and it must not be a folder. */
export function checkOutputFile(path: string): void {
  writableFolder(dirname(resolve(path)), path);
  if (statSync(path, { throwIfNoEntry: false })?.isDirectory()) throw new CliError(`cannot write ${path}: it is a folder`, EXIT.failure);
}

/** A folder the command will fill: created if missing (its parent must exist). */
export function prepareOutputFolder(path: string): void {
  const stat = statSync(path, { throwIfNoEntry: false });
  if (stat && !stat.isDirectory()) throw new CliError(`cannot write into ${path}: it is a file`, EXIT.failure);
  if (!stat) {
    writableFolder(dirname(resolve(path)), path);
    try {
      mkdirSync(path);
    } catch (error) {
      throw new CliError(`cannot create folder ${path}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`, EXIT.failure);
    }
  }
  writableFolder(path, path);
}

/** Runs a final write, turning an I/O error into one line. */
export async function writing<T>(path: string, write: () => Promise<T>): Promise<T> {
  try {
    return await write();
  } catch (error) {
    if (error instanceof CliError) throw error;
    throw new CliError(`cannot write ${path}: ${(error as Error).message}`, EXIT.failure);
  }
}
