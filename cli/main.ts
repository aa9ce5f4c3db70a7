/** `nca <command> [options]`: dispatches to one module per verb in cli/commands/. */
import { CliError, EXIT } from './exit-codes.ts';
import type { Command } from './command.ts';

/**
 * Each verb's module is imported only when it runs: `train` pulls in onnxruntime and CLIP
 * (about a second), which `nca info` should not pay for. The command list loads them all.
 */
const loaders: Record<string, () => Promise<Command>> = {
  train: async () => (await import('./commands/train.ts')).train,
  export: async () => (await import('./commands/export.ts')).exportCommand,
  info: async () => (await import('./commands/info.ts')).info,
  play: async () => (await import('./commands/play.ts')).play,
  render: async () => (await import('./commands/render.ts')).render,
  eval: async () => (await import('./commands/eval.ts')).evalCommand,
  import: async () => (await import('./commands/import.ts')).importCommand,
  farm: async () => (await import('./commands/farm.ts')).farm,
};

async function usage(): Promise<string> {
  const commands = await Promise.all(Object.values(loaders).map((load) => load()));
  const width = Math.max(...commands.map((c) => c.name.length));
  return [
    'nca: train, export, render and play text-guided neural cellular automata.',
    '',
    'Usage: nca <command> [options]      nca <command> --help',
    '',
    'Commands:',
    ...commands.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`),
    '',
    'Docs: docs/cli.md (exit codes), docs/ (everything else).',
  ].join('\n');
}

export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    console.log(await usage());
    return name ? EXIT.ok : EXIT.usage;
  }
  if (name === '--version') {
    console.log(await toolVersion());
    return EXIT.ok;
  }
  if (!Object.hasOwn(loaders, name)) {
    console.error(`nca: unknown command "${name}"\n\n${await usage()}`);
    return EXIT.usage;
  }
  try {
    const command = await loaders[name]();
    if (rest.includes('--help') || rest.includes('-h')) {
      console.log(command.help);
      return EXIT.ok;
    }
    return await command.run(rest);
  } catch (error) {
    if (error instanceof CliError) {
      console.error(`nca ${name}: ${error.message}`);
      return error.exitCode;
    }
    if (process.env.NCA_DEBUG) throw error;
    console.error(`nca ${name}: ${(error as Error).message ?? error}\n(set NCA_DEBUG=1 for a stack trace)`);
    return EXIT.failure;
  }
}

/** "nca-studio 0.1.0", read from package.json. */
export async function toolVersion(): Promise<string> {
  const { readFile } = await import('node:fs/promises');
  const pkg = JSON.parse(await readFile(new URL('../package.json', import.meta.url), 'utf8'));
  return `${pkg.name} ${pkg.version}`;
}
