/**
 * Builds everything the npm package ships (`npm run build`; `npm pack` runs it as `prepack`):
 *   dist/player/   the web player: nca-player.js (ESM), three.js, nca-player.iife.js (player/build.ts)
 *   dist/lib/      the CLI and the .nca codec compiled to JavaScript (tsconfig.cli.json)
 *   dist/types/    declarations of the library entries (tsconfig.types.json), plus
 *                  player/entry.d.ts (the player's exports and its framework types) and
 *                  player/iife.d.ts (the classic script's global)
 * package.json's `exports` and `files` point at these; docs/decisions.md says why.
 */
import { spawn } from 'node:child_process';
import { readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildPlayer, CORE_BUDGET_BYTES } from '../player/build.ts';

const root = fileURLToPath(new URL('..', import.meta.url));
const dist = join(root, 'dist');

function tsc(project: string): Promise<void> {
  const bin = join(root, 'node_modules/typescript/bin/tsc');
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [bin, '-p', join(root, project)], { cwd: root, stdio: 'inherit' });
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`tsc -p ${project} exited with ${code}`))));
  });
}

function filesUnder(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? filesUnder(join(dir, e.name)) : [join(dir, e.name)]));
}

/**
 * The sources import each other as './x.ts'; tsc keeps that in declarations. Consumers'
 * resolvers expect './x.js' (which TypeScript maps to './x.d.ts'), so rewrite relative specifiers.
 */
export function rewriteDeclarationSpecifiers(text: string): string {
  return text.replace(/(\bfrom\s+|\bimport\s*\(\s*|\bimport\s+|\bdeclare\s+module\s+)(['"])(\.{1,2}\/[^'"]*?)\.ts\2/g, '$1$2$3.js$2');
}

export async function buildPackage(): Promise<void> {
  for (const dir of ['player', 'lib', 'types']) rmSync(join(dist, dir), { recursive: true, force: true });
  const [player] = await Promise.all([buildPlayer(join(dist, 'player')), tsc('tsconfig.cli.json'), tsc('tsconfig.types.json')]);

  // dist/lib/cli/main.js reads ../package.json for `nca --version`; the field "type" also marks dist/lib as ES modules.
  const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
  writeFileSync(
    join(dist, 'lib/package.json'),
    `${JSON.stringify({ name: pkg.name, version: pkg.version, type: 'module', sideEffects: false }, null, 2)}\n`,
  );

  const types = join(dist, 'types');
  for (const file of filesUnder(types)) writeFileSync(file, rewriteDeclarationSpecifiers(readFileSync(file, 'utf8')));
  writeFileSync(
    join(types, 'player/entry.d.ts'),
    [
      '/** nca-studio/player: defines <nca-player>. Its exports, and the types frameworks need (jsx.d.ts). */',
      "export * from './index.js';",
      "export type { NcaPlayerAttributes, NcaPlayerEventMap } from './jsx.js';",
      '',
    ].join('\n'),
  );
  writeFileSync(
    join(types, 'player/iife.d.ts'),
    [
      '/** nca-studio/player/iife: a classic script that defines <nca-player> and the global `NcaPlayer`. */',
      "import type * as Player from './entry.js';",
      'declare global {',
      '  var NcaPlayer: typeof Player;',
      '}',
      'export {};',
      '',
    ].join('\n'),
  );

  const kb = (n: number) => `${(n / 1024).toFixed(1)} KB`;
  const bytes = (dir: string) => filesUnder(dir).reduce((sum, f) => sum + statSync(f).size, 0);
  // stderr: `npm pack --json` runs this as prepack, and its stdout must stay JSON
  console.error(
    `built dist/: player ${kb(bytes(join(dist, 'player')))} (core ${kb(player.coreGzipBytes)} min+gzip, budget ${kb(CORE_BUDGET_BYTES)}), ` +
      `lib ${kb(bytes(join(dist, 'lib')))}, types ${kb(bytes(types))}`,
  );
}

if (process.argv[1] === fileURLToPath(import.meta.url)) await buildPackage();
