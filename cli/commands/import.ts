/** `nca import sot FILE.json --out DIR`: other projects' models as .nca files (docs/textures.md). */
import { writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { encodeNca, type WeightDtype } from '../../formats/index.ts';
import { importSot, SotImportError, sotFileNames } from '../../exporter/import/sot.ts';
import { WEIGHT_DTYPES } from '../../exporter/quantize.ts';
import { readInput } from '../args.ts';
import { parseFlagsWithConfig } from '../config.ts';
import { prepareOutputFolder, writing } from '../outputs.ts';
import { choiceValue, stringValue } from '../values.ts';
import { CliError, EXIT } from '../exit-codes.ts';
import type { Command } from '../command.ts';

const FORMATS = ['sot'] as const;

const help = `Usage: nca import sot FILE.json --out DIR [options]

Converts the models of Self-Organising Textures' WebGL demo (its models.json, as
its export_models.py writes it: 8-bit weights in PNG data URLs) into one .nca per
model, named after the model (texture/models/dots -> DIR/dots.nca). Each runs the
project's float update rule exactly (its perception, hidden and update clamps are
.nca v1.2 fields; docs/textures.md). nca render, nca eval and nca export run them;
the web player refuses v1.2 models for now.

Options:
  --out DIR              folder for the .nca files (created if missing; files of the
                         same name are replaced)
  --only NAME,...        only these models (their names, or the last part of them)
  --dtype DTYPE          float32 (default: the file's 8-bit values exactly), float16
                         or int8 (re-quantised per output channel)
  --config FILE          JSON file with any of these flags
  --json                 print a JSON summary
  --quiet                no list of files

Example:
  nca import sot models.json --out sot-models --only dots,mixed4b_pool_reduce_40`;

const options = {
  out: { type: 'string' },
  only: { type: 'string' },
  dtype: { type: 'string' },
  json: { type: 'boolean' },
  quiet: { type: 'boolean' },
} as const;

export const importCommand: Command = {
  name: 'import',
  summary: "convert other projects' models to .nca (sot: Self-Organising Textures' models.json)",
  help,
  async run(argv) {
    const { values, positionals } = await parseFlagsWithConfig(argv, options);
    const [format, path, ...rest] = positionals;
    if (!format) throw new CliError(`give a format and a file: nca import sot FILE.json --out DIR (see --help)`, EXIT.usage);
    if (!(FORMATS as readonly string[]).includes(format)) throw new CliError(`unknown format "${format}" (known: ${FORMATS.join(', ')}; see --help)`, EXIT.usage);
    if (!path || rest.length > 0) throw new CliError('expected exactly one FILE.json after the format (see --help)', EXIT.usage);
    const out = stringValue(values, 'out');
    if (!out) throw new CliError('--out DIR is required (see --help)', EXIT.usage);
    const dtype = choiceValue<WeightDtype>(values, 'dtype', WEIGHT_DTYPES, 'float32');
    const only = stringValue(values, 'only')?.split(',').map((s) => s.trim()).filter(Boolean);

    const bytes = await readInput(path);
    let json: unknown;
    try {
      json = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes));
    } catch {
      throw new CliError(`${path}: not a JSON file`, EXIT.badInput);
    }
    let models;
    try {
      models = importSot(json, basename(path));
    } catch (error) {
      if (error instanceof SotImportError) throw new CliError(`${path}: ${error.message}`, EXIT.badInput);
      throw error;
    }
    const files = sotFileNames(models.map((m) => m.name));
    let picked = models.map((m, i) => ({ ...m, file: files[i] }));
    if (only) {
      const wanted = (name: string) => only.includes(name) || only.includes(name.split('/').pop()!);
      const missing = only.filter((o) => !models.some((m) => m.name === o || m.name.split('/').pop() === o));
      if (missing.length) throw new CliError(`${path} has no model named ${missing.map((m) => `"${m}"`).join(', ')} (it has ${models.length}, e.g. ${models.slice(0, 3).map((m) => m.name).join(', ')})`, EXIT.usage);
      picked = picked.filter((m) => wanted(m.name));
    }

    prepareOutputFolder(out);
    const written: { name: string; file: string; bytes: number }[] = [];
    for (const m of picked) {
      const file = join(out, m.file);
      const data = encodeNca(m.model, { weightDtype: dtype });
      await writing(file, () => writeFile(file, data));
      written.push({ name: m.name, file, bytes: data.length });
      if (!values.json && !values.quiet) console.log(`wrote ${file} (${data.length} bytes)`);
    }
    const { channels, hidden } = models[0].model.topology;
    if (values.json) {
      console.log(JSON.stringify({ source: path, format, dtype, channels, hidden, models: written }, null, 2));
    } else {
      console.log(`imported ${written.length} of ${models.length} Self-Organising Textures models (${channels} channels, hidden ${hidden}, ${dtype} weights) from ${path} into ${out}`);
    }
    return EXIT.ok;
  },
};
