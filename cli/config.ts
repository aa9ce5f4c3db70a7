/**
 * Flags, or a JSON config file equivalent to them: `--config run.json` where run.json
 * maps long flag names to values ({"size": "256x144", "frames": 120, "loop": true}) and
 * may list positional arguments under "args". Flags given on the command line win.
 */
import type { ParseArgsConfig } from 'node:util';
import { parseFlags, readInput } from './args.ts';
import { CliError, EXIT } from './exit-codes.ts';

type Options = NonNullable<ParseArgsConfig['options']>;
type Values = Record<string, string | boolean | (string | boolean)[] | undefined>;

const configOption = { config: { type: 'string' } } as const;

function configValue(path: string, key: string, value: unknown, option: Options[string]): string | boolean | (string | boolean)[] {
  const bad = (want: string) => new CliError(`${path}: "${key}" must be ${want}`, EXIT.badInput);
  const one = (v: unknown): string | boolean => {
    if (option.type === 'boolean') {
      if (typeof v !== 'boolean') throw bad('true or false');
      return v;
    }
    if (typeof v === 'string') return v;
    if (typeof v === 'number' && Number.isFinite(v)) return String(v);
    throw bad('a string or a number');
  };
  if (option.multiple) return (Array.isArray(value) ? value : [value]).map(one);
  return one(value);
}

/** Reads and checks a config file against the command's options. */
export async function readConfig(path: string, options: Options): Promise<{ values: Values; args: string[] }> {
  let json: unknown;
  try {
    json = JSON.parse(new TextDecoder().decode(await readInput(path)));
  } catch (error) {
    if (error instanceof CliError) throw error;
    throw new CliError(`${path}: not valid JSON (${(error as Error).message})`, EXIT.badInput);
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) {
    throw new CliError(`${path}: expected a JSON object of flag names and values`, EXIT.badInput);
  }
  const values: Values = {};
  let args: string[] = [];
  for (const [key, value] of Object.entries(json)) {
    if (key === 'args') {
      if (!Array.isArray(value) || !value.every((v) => typeof v === 'string')) {
        throw new CliError(`${path}: "args" must be a list of strings`, EXIT.badInput);
      }
      args = value;
    } else if (key in options && key !== 'config') {
      values[key] = configValue(path, key, value, options[key]);
    } else {
      throw new CliError(`${path}: unknown option "${key}" (see --help for the flags)`, EXIT.badInput);
    }
  }
  return { values, args };
}

/** parseFlags plus `--config FILE`: the file's values are defaults that the command line overrides. */
export async function parseFlagsWithConfig<T extends Options>(argv: string[], options: T) {
  const parsed = parseFlags(argv, { ...options, ...configOption });
  const { config, ...cli } = parsed.values as Values;
  if (typeof config !== 'string') return { values: cli, positionals: parsed.positionals };
  const file = await readConfig(config, options);
  const defined = Object.fromEntries(Object.entries(cli).filter(([, v]) => v !== undefined));
  return {
    values: { ...file.values, ...defined } as Values,
    positionals: parsed.positionals.length > 0 ? parsed.positionals : file.args,
  };
}
