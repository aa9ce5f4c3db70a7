/** Typed reading of flag values (from the command line or a config file), with one-line usage errors. */
import { CliError, EXIT } from './exit-codes.ts';

type Values = Record<string, unknown>;

const usage = (message: string) => new CliError(`${message} (see --help)`, EXIT.usage);

export function intValue(values: Values, name: string, fallback: number, min = 0, max = Number.MAX_SAFE_INTEGER): number {
  const raw = values[name];
  if (raw === undefined) return fallback;
  const n = Number(raw);
  if (typeof raw !== 'string' || !/^-?\d+$/.test(raw.trim()) || n < min || n > max) {
    throw usage(`--${name} must be a whole number from ${min} to ${max}, not "${raw}"`);
  }
  return n;
}

export function numberValue(values: Values, name: string, fallback: number, min: number, max: number): number {
  const raw = values[name];
  if (raw === undefined) return fallback;
  const n = Number(raw);
  if (typeof raw !== 'string' || raw.trim() === '' || !Number.isFinite(n) || n < min || n > max) {
    throw usage(`--${name} must be a number from ${min} to ${max}, not "${raw}"`);
  }
  return n;
}

export function stringValue(values: Values, name: string): string | undefined {
  const raw = values[name];
  return typeof raw === 'string' ? raw : undefined;
}

export function choiceValue<T extends string>(values: Values, name: string, choices: readonly T[], fallback: T): T {
  const raw = values[name] ?? fallback;
  if (!choices.includes(raw as T)) throw usage(`--${name} must be one of ${choices.join(', ')}, not "${raw}"`);
  return raw as T;
}

/** "256x144" -> {width: 256, height: 144}. */
export function sizeValue(values: Values, name: string, fallback: string, max = 4096): { width: number; height: number } {
  const raw = String(values[name] ?? fallback);
  const m = /^(\d+)x(\d+)$/.exec(raw.trim());
  const width = m ? Number(m[1]) : 0;
  const height = m ? Number(m[2]) : 0;
  if (!m || width < 1 || height < 1 || width > max || height > max) {
    throw usage(`--${name} must be WIDTHxHEIGHT with sides from 1 to ${max}, e.g. 256x144, not "${raw}"`);
  }
  return { width, height };
}

/** "#ffffff" or "ffffff" -> [255, 255, 255]. */
export function colorValue(values: Values, name: string, fallback: string): [number, number, number] {
  const raw = String(values[name] ?? fallback);
  const m = /^#?([0-9a-f]{6})$/i.exec(raw.trim());
  if (!m) throw usage(`--${name} must be a hex colour like #ffffff, not "${raw}"`);
  const n = parseInt(m[1], 16);
  return [(n >> 16) & 0xff, (n >> 8) & 0xff, n & 0xff];
}
