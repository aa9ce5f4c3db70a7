#!/usr/bin/env node
// The `nca` command. Installed from npm, it runs the compiled JavaScript in dist/lib. In a
// checkout of the sources (cli/main.ts is there), it runs the TypeScript through tsx, a
// devDependency, so edits need no build step. See docs/decisions.md ("The npm package").
import { existsSync } from 'node:fs';

const sources = new URL('../cli/main.ts', import.meta.url);
let main;
if (existsSync(sources)) {
  let tsx;
  try {
    tsx = await import('tsx/esm/api');
  } catch {
    console.error('nca: this checkout runs its TypeScript sources through tsx, a devDependency: run "npm ci" first');
    process.exit(1);
  }
  tsx.register();
  ({ main } = await import(sources.href));
} else {
  ({ main } = await import('../dist/lib/cli/main.js'));
}
process.exitCode = await main(process.argv.slice(2));
