/**
 * Farm jobs: one line of a JSONL file is one `nca train --config` object (long flag
 * names as keys, "args" for a prompt). `nca farm submit` checks the keys, embeds the
 * images the job names (target, texture, image prompts) so that no worker needs the
 * submitter's files, and gives each job an id that is also its run directory's name.
 */
import { randomBytes } from 'node:crypto';
import { basename, extname } from 'node:path';
import { parseImagePrompt } from '../../trainer/clip/prompts.ts';
import { LIVING_ITERATIONS, SOURCE_METHOD } from '../../trainer/train/config.ts';
import { readInput } from '../args.ts';
import { CliError, EXIT } from '../exit-codes.ts';

export type JobValue = string | number | boolean | string[];

/** An image the job needs, carried in the job itself. */
export interface FarmFile {
  /** The config key it belongs to: target, texture or image-prompt. */
  key: string;
  /** Its file name (the run's title and the model's metadata come from it). */
  name: string;
  /** The bytes, base64. */
  data: string;
  /** An image prompt's ":W" suffix, if it had one. */
  weight?: string;
}

/** What BullMQ stores for a job (job.data). */
export interface FarmJobData {
  version: 1;
  /** The `nca train --config` object; keys of embedded files hold their file names. */
  config: Record<string, JobValue>;
  files: FarmFile[];
  /** Iterations of the run (for progress and ETA). */
  iterations: number;
  /** Where the job came from: file and line (1-based). */
  source: string;
  line: number;
  /** Order of submission, for listings. */
  index: number;
  /** CPU threads of the run, fixed by the first worker that starts it so every resume uses the same (bit-identical runs). */
  threads?: number;
}

/** Keys a job may not set: the worker decides where and how the run goes. */
const WORKER_KEYS = new Set(['out', 'resume', 'config', 'json', 'quiet', 'help']);
/** Keys whose values are image files, embedded in the job. */
const FILE_KEYS = new Set(['target', 'texture', 'image-prompt']);

/**
 * The long flag names of `nca train`, read from its --help text (the options object is
 * private to that command); `alive` is the config-file spelling of --no-alive's opposite.
 */
export async function trainKeys(): Promise<Set<string>> {
  const { train } = await import('../commands/train.ts');
  const keys = new Set([...train.help.matchAll(/--([a-z][a-z0-9-]*)/g)].map((m) => m[1]));
  keys.add('alive');
  keys.add('args');
  for (const k of WORKER_KEYS) keys.delete(k);
  return keys;
}

function bad(where: string, message: string): CliError {
  return new CliError(`${where}: ${message}`, EXIT.badInput);
}

function checkValue(where: string, key: string, value: unknown): JobValue {
  if (key === 'args') {
    if (!Array.isArray(value) || !value.every((v) => typeof v === 'string')) throw bad(where, '"args" must be a list of strings (the prompt)');
    return value;
  }
  if (typeof value === 'string' || typeof value === 'boolean') return value;
  if (typeof value === 'number' && Number.isFinite(value)) return value;
  if (Array.isArray(value) && value.every((v) => typeof v === 'string')) return value;
  throw bad(where, `"${key}" must be a string, a number or true/false`);
}

/** A short name for ids: the target's or texture's file name, or the prompt's first words. */
function slugOf(config: Record<string, JobValue>): string {
  const file = typeof config.target === 'string' ? config.target : typeof config.texture === 'string' ? config.texture : undefined;
  const raw = file ? basename(file, extname(file)) : Array.isArray(config.args) ? config.args.join(' ') : 'job';
  const slug = raw.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-+|-+$/g, '').slice(0, 24).replace(/-+$/, '');
  return slug || 'job';
}

/** "ring-s3-1f0c9a2e": name, run seed, 32 random bits. Never a bare integer (BullMQ reserves those). */
export function jobId(config: Record<string, JobValue>): string {
  const seed = config['run-seed'] ?? 0;
  return `${slugOf(config)}-s${seed}-${randomBytes(4).toString('hex')}`;
}

async function embed(where: string, key: string, spec: string): Promise<FarmFile> {
  let path = spec;
  let weight: string | undefined;
  if (key === 'image-prompt') {
    try {
      path = parseImagePrompt(spec).path;
    } catch (error) {
      throw bad(where, (error as Error).message);
    }
    if (path !== spec) weight = spec.slice(path.length + 1);
  }
  const bytes = await readInput(path); // exit 66 when it is not there
  return { key, name: basename(path), data: Buffer.from(bytes).toString('base64'), ...(weight !== undefined ? { weight } : {}) };
}

export interface ParsedJob {
  id: string;
  data: FarmJobData;
}

/**
 * Reads a JSONL file of jobs. Each line is checked (an object, known keys, a target,
 * texture or prompt) and expanded `repeat` times with run seeds base, base+1, ...
 * (base: the line's run-seed, else 0).
 */
export async function readJobs(path: string, text: string, repeat: number, keys: Set<string>): Promise<ParsedJob[]> {
  // every line is checked before any image is read: a typo on line 90 is found at once
  const parsed: { n: number; where: string; config: Record<string, JobValue> }[] = [];
  const lines = text.split(/\r?\n/);
  for (let n = 0; n < lines.length; n++) {
    const line = lines[n].trim();
    if (line === '' || line.startsWith('//')) continue;
    const where = `${path}:${n + 1}`;
    let json: unknown;
    try {
      json = JSON.parse(line);
    } catch (error) {
      throw bad(where, `not valid JSON (${(error as Error).message})`);
    }
    if (typeof json !== 'object' || json === null || Array.isArray(json)) throw bad(where, 'expected a JSON object of `nca train` flag names and values');
    const config: Record<string, JobValue> = {};
    for (const [key, value] of Object.entries(json)) {
      if (WORKER_KEYS.has(key)) throw bad(where, `"${key}" is set by the worker (runs go to --runs DIR/<job id>), not by a job`);
      if (!keys.has(key)) throw bad(where, `unknown key "${key}" (the keys are \`nca train\`'s long flag names, see nca train --help)`);
      config[key] = checkValue(where, key, value);
    }
    if (config.target === undefined && config.texture === undefined && config.args === undefined) {
      throw bad(where, 'a job needs "target", "texture" or "args" (a prompt)');
    }
    parsed.push({ n, where, config });
  }
  const jobs: ParsedJob[] = [];
  for (const { n, where, config } of parsed) {
    const files: FarmFile[] = [];
    for (const key of FILE_KEYS) {
      const value = config[key];
      if (value === undefined || typeof value === 'boolean') continue;
      const specs = Array.isArray(value) ? value : [String(value)];
      for (const spec of specs) files.push(await embed(where, key, spec));
      // the config keeps file names; the worker points them at its copies
      config[key] = Array.isArray(value) ? files.filter((f) => f.key === key).map((f) => f.name) : files[files.length - 1].name;
    }
    const iterations = Number(config.iterations ?? (isLivingJob(config) ? LIVING_ITERATIONS : SOURCE_METHOD.iterations));
    const base = Number(config['run-seed'] ?? 0);
    if (repeat > 1 && !Number.isInteger(base)) throw bad(where, '"run-seed" must be a whole number for --repeat');
    for (let k = 0; k < repeat; k++) {
      const c = repeat > 1 ? { ...config, 'run-seed': base + k } : { ...config };
      jobs.push({
        id: jobId(c),
        data: { version: 1, config: c, files, iterations: Number.isFinite(iterations) ? iterations : SOURCE_METHOD.iterations, source: basename(path), line: n + 1, index: jobs.length },
      });
    }
  }
  return jobs;
}

/**
 * The job's config for `nca train --config`, with each embedded file's key pointing at
 * `pathOf(file)` (the worker's copy).
 */
export function configWithFiles(data: FarmJobData, pathOf: (file: FarmFile) => string): Record<string, JobValue> {
  const config: Record<string, JobValue> = { ...data.config };
  for (const key of FILE_KEYS) {
    const files = data.files.filter((f) => f.key === key);
    if (files.length === 0) continue;
    const specs = files.map((f) => (f.weight !== undefined ? `${pathOf(f)}:${f.weight}` : pathOf(f)));
    config[key] = Array.isArray(data.config[key]) ? specs : specs[0];
  }
  return config;
}

/** A job that `nca train` runs as a living model: a target image, no prompt, no texture, alive masking. */
function isLivingJob(config: Record<string, unknown>): boolean {
  const prompts = (Array.isArray(config.args) && config.args.length > 0) || config['image-prompt'] !== undefined;
  return config.target !== undefined && config.texture === undefined && !prompts && config['no-alive'] !== true;
}
