/** `nca play MODEL`: serves the web player with a model on localhost and prints the URL. */
import { existsSync, readdirSync, statSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { AddressInfo } from 'node:net';
import { encodeNca } from '../../formats/index.ts';
import { createPlayServer } from '../play-server.ts';
import { parseFlagsWithConfig } from '../config.ts';
import { modelArg, readModel } from '../model.ts';
import { readInput } from '../args.ts';
import { intValue, stringValue } from '../values.ts';
import { CliError, EXIT } from '../exit-codes.ts';
import type { Command } from '../command.ts';

const help = `Usage: nca play MODEL [options]

Serves a page with the <nca-player> web component running MODEL (a .nca file or
a training checkpoint) on this machine, prints its URL, and runs until Ctrl-C.
A .nca is re-read on every page load, so re-export and reload to see changes.
The prebuilt player ships in the package; in a checkout of the sources it is
(re)built into dist/player first when it is missing or out of date.

Options:
  --port N            port to listen on (default 8080; 0 = any free port)
  --host ADDRESS      address to listen on (default 127.0.0.1, this machine only)
  --cell-size N       CSS pixels per cell side (default 4): the grid fills the window
  --player-dir DIR    a player build to serve (default dist/player)
  --config FILE       JSON file with any of these flags
  --json              print {"url": ...} as JSON

Example:
  nca play examples/models/ring.nca --port 8080`;

const options = {
  port: { type: 'string' },
  host: { type: 'string' },
  'cell-size': { type: 'string' },
  'player-dir': { type: 'string' },
  json: { type: 'boolean' },
} as const;

/**
 * The package root: the nearest folder above this file with bin/nca.mjs. This file runs from
 * the sources in a checkout (cli/commands/) and compiled in an installed package
 * (dist/lib/cli/commands/), so the depth differs.
 */
function packageRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'bin', 'nca.mjs'))) {
    const parent = dirname(dir);
    if (parent === dir) throw new Error(`no package root above ${fileURLToPath(import.meta.url)}`);
    dir = parent;
  }
  return dir;
}

const ROOT = packageRoot();
const DEFAULT_PLAYER_DIR = join(ROOT, 'dist', 'player');
/** Only a checkout has the player's sources and its build script (Vite is a devDependency). */
const PLAYER_BUILD = join(ROOT, 'player', 'build.ts');
const PLAYER_SCRIPT = 'nca-player.iife.js';

/** Newest modification time of any file under a folder. */
function newestChange(dir: string): number {
  return Math.max(
    0,
    ...readdirSync(dir, { withFileTypes: true }).map((e) =>
      e.isDirectory() ? newestChange(join(dir, e.name)) : statSync(join(dir, e.name)).mtimeMs,
    ),
  );
}

/**
 * The player build to serve. An installed package serves the prebuilt dist/player as it is;
 * a checkout (re)builds it when it is missing or older than player/.
 */
async function playerDir(given: string | undefined): Promise<string> {
  if (given) {
    if (!existsSync(join(given, PLAYER_SCRIPT))) throw new CliError(`${given}: no ${PLAYER_SCRIPT} there (run "npm run build:player")`, EXIT.noInput);
    return given;
  }
  const script = join(DEFAULT_PLAYER_DIR, PLAYER_SCRIPT);
  if (!existsSync(PLAYER_BUILD)) {
    if (!existsSync(script)) throw new CliError(`the prebuilt player is missing from this install (${script}): reinstall nca-studio`, EXIT.failure);
    return DEFAULT_PLAYER_DIR;
  }
  if (!existsSync(script) || statSync(script).mtimeMs < newestChange(dirname(PLAYER_BUILD))) {
    console.error('building the web player into dist/player...');
    // A path, not a literal: the compiled CLI must not pull the build script (and Vite) in.
    const { buildPlayer } = (await import(pathToFileURL(PLAYER_BUILD).href)) as { buildPlayer(outDir: string): Promise<unknown> };
    await buildPlayer(DEFAULT_PLAYER_DIR);
  }
  return DEFAULT_PLAYER_DIR;
}

export const play: Command = {
  name: 'play',
  summary: 'serve the web player with a model on localhost and print the URL',
  help,
  async run(argv) {
    const { values, positionals } = await parseFlagsWithConfig(argv, options);
    const path = modelArg(positionals);
    const port = intValue(values, 'port', 8080, 0, 65535);
    const host = stringValue(values, 'host') ?? '127.0.0.1';
    const cellSize = intValue(values, 'cell-size', 4, 1, 64);
    const { model, kind } = await readModel(path);
    // A .nca is served as it is on disk; a checkpoint is encoded once, at full precision.
    const checkpointBytes = kind === 'nca' ? null : encodeNca(model, { weightDtype: 'float32' });
    const server = createPlayServer({
      playerDir: await playerDir(stringValue(values, 'player-dir')),
      model: async () => checkpointBytes ?? readInput(path),
      title: model.metadata.title ?? basename(path),
      cellSize,
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', (error: NodeJS.ErrnoException) =>
        reject(
          error.code === 'EADDRINUSE'
            ? new CliError(`port ${port} is in use: pick another with --port, or --port 0 for any free one`, EXIT.failure)
            : error,
        ),
      );
      server.listen(port, host, resolve);
    });
    const address = server.address() as AddressInfo;
    const url = `http://${address.family === 'IPv6' ? `[${address.address}]` : address.address}:${address.port}/`;
    if (values.json) console.log(JSON.stringify({ url, model: path }));
    else console.log(`playing ${path} at ${url}  (Ctrl-C to stop)`);
    await new Promise<void>((resolve) => {
      const stop = () => {
        process.off('SIGINT', stop);
        process.off('SIGTERM', stop);
        resolve();
      };
      process.on('SIGINT', stop);
      process.on('SIGTERM', stop);
    });
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
    return EXIT.ok;
  },
};
