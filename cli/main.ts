/** `nca <command> [options]`: dispatches to one module per verb in cli/commands/. */
import { CliError, EXIT } from './exit-codes.ts';
import type { Command } from './command.ts';
import { exportCommand } from './commands/export.ts';
import { info } from './commands/info.ts';
import { play } from './commands/play.ts';
import { render } from './commands/render.ts';
import { train } from './commands/train.ts';

const commands: Command[] = [train, exportCommand, info, play, render];

function usage(): string {
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
    console.log(usage());
    return name ? EXIT.ok : EXIT.usage;
  }
  if (name === '--version') {
    console.log(await toolVersion());
    return EXIT.ok;
  }
  const command = commands.find((c) => c.name === name);
  if (!command) {
    console.error(`nca: unknown command "${name}"\n\n${usage()}`);
    return EXIT.usage;
  }
  if (rest.includes('--help') || rest.includes('-h')) {
    console.log(command.help);
    return EXIT.ok;
  }
  try {
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
