/**
 * Builds the player into dist/player/ (`npm run build:player`):
 *   nca-player.js       ESM, defines <nca-player>   (+ three.js: the adapter, `three` left external)
 *   nca-player.iife.js  one classic <script> file, global `NcaPlayer`
 * and prints the min+gzip size of the core player, which has a 15 KB budget.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { build, type InlineConfig } from 'vite';

const root = fileURLToPath(new URL('..', import.meta.url));
export const CORE_BUDGET_BYTES = 15 * 1024;

function config(outDir: string, lib: NonNullable<InlineConfig['build']>['lib'], emptyOutDir: boolean): InlineConfig {
  return {
    root,
    configFile: false,
    logLevel: 'warn',
    build: { outDir, emptyOutDir, minify: true, target: 'es2022', lib, rolldownOptions: { external: ['three'], output: { chunkFileNames: '[name].js' } } },
  };
}

export async function buildPlayer(outDir = join(root, 'dist/player')): Promise<{ coreBytes: number; coreGzipBytes: number }> {
  await build(
    config(
      outDir,
      { entry: { 'nca-player': join(root, 'player/index.ts'), three: join(root, 'player/three.ts') }, formats: ['es'] },
      true,
    ),
  );
  await build(
    config(outDir, { entry: join(root, 'player/index.ts'), formats: ['iife'], name: 'NcaPlayer', fileName: () => 'nca-player.iife.js' }, false),
  );
  const core = readFileSync(join(outDir, 'nca-player.iife.js'));
  return { coreBytes: core.length, coreGzipBytes: gzipSync(core, { level: 9 }).length };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const { coreBytes, coreGzipBytes } = await buildPlayer();
  const kb = (n: number) => `${(n / 1024).toFixed(1)} KB`;
  console.log(`core player (nca-player.iife.js): ${kb(coreBytes)} min, ${kb(coreGzipBytes)} min+gzip (budget ${kb(CORE_BUDGET_BYTES)})`);
  if (coreGzipBytes > CORE_BUDGET_BYTES) process.exitCode = 1;
}
