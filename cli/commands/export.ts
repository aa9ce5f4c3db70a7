/** `nca export MODEL --out model.nca`: quantise weights and report how faithful the result is. */
import { writeFile } from 'node:fs/promises';
import { encodeNca, type WeightDtype } from '../../formats/index.ts';
import { FIDELITY_STEPS, measureFidelity, type FidelityRow } from '../../exporter/fidelity.ts';
import { quantize, WEIGHT_DTYPES } from '../../exporter/quantize.ts';
import { ENGINES } from '../../exporter/render/engine.ts';
import { parseFlagsWithConfig } from '../config.ts';
import { modelArg, readModel } from '../model.ts';
import { checkOutputFile, writing } from '../outputs.ts';
import { Progress } from '../progress.ts';
import { choiceValue, intValue, sizeValue, stringValue } from '../values.ts';
import { CliError, EXIT } from '../exit-codes.ts';
import type { Command } from '../command.ts';

const help = `Usage: nca export MODEL --out FILE.nca [options]

Writes a .nca file from a training checkpoint or another .nca (e.g. re-quantises
a float32 .nca to int8), then reports quantisation fidelity: the PSNR of the
exported model's colours against the input model's after ${FIDELITY_STEPS.join(', ')} steps,
from the same seed with the same update masks.

Options:
  --out FILE              the .nca to write (required)
  --dtype DTYPE           int8 (per output channel), float16 or float32 (default int8)
  --title TEXT            set the title in the file's metadata
  --no-fidelity           skip the fidelity report
  --fidelity-size WxH     grid for the fidelity report (default 128x128)
  --seed N                seed for the fidelity report (default 0)
  --engine ort|reference  engine for the fidelity report (default ort)
  --config FILE           JSON file with any of these flags
  --json                  print a machine-readable summary
  --quiet                 no progress bar

Example:
  nca export runs/ring/checkpoint.json --out ring.nca --dtype int8`;

const options = {
  out: { type: 'string' },
  dtype: { type: 'string' },
  title: { type: 'string' },
  'no-fidelity': { type: 'boolean' },
  'fidelity-size': { type: 'string' },
  seed: { type: 'string' },
  engine: { type: 'string' },
  json: { type: 'boolean' },
  quiet: { type: 'boolean' },
} as const;

/** "48.3 dB", or "identical". */
export function formatPsnr(db: number): string {
  return Number.isFinite(db) ? `${db.toFixed(1)} dB` : 'identical';
}

export const exportCommand: Command = {
  name: 'export',
  summary: 'write a .nca (int8, float16 or float32) and report its quantisation fidelity',
  help,
  async run(argv) {
    const { values, positionals } = await parseFlagsWithConfig(argv, options);
    const path = modelArg(positionals);
    const out = stringValue(values, 'out');
    if (!out) throw new CliError('--out FILE.nca is required (see --help)', EXIT.usage);
    checkOutputFile(out);
    const dtype = choiceValue<WeightDtype>(values, 'dtype', WEIGHT_DTYPES, 'int8');
    const grid = sizeValue(values, 'fidelity-size', '128x128', 1024);
    const seed = intValue(values, 'seed', 0, 0, 0xffffffff);
    const engine = choiceValue(values, 'engine', ENGINES, 'ort');
    const { model: source, weightDtype: inputDtype } = await readModel(path);
    const title = stringValue(values, 'title');
    if (title !== undefined) source.metadata = { ...source.metadata, title };

    const bytes = encodeNca(source, { weightDtype: dtype });
    await writing(out, () => writeFile(out, bytes));

    let fidelity: FidelityRow[] | null = null;
    if (!values['no-fidelity']) {
      const total = Math.max(...FIDELITY_STEPS);
      const progress = new Progress({ label: 'fidelity', total, unit: 'steps', enabled: !values.quiet });
      let last = 0;
      fidelity = await measureFidelity(source, quantize(source, dtype), {
        grid,
        seed,
        engine,
        onProgress: (steps) => {
          progress.tick(steps - last);
          last = steps;
        },
      });
      progress.finish();
    }

    if (values.json) {
      const rows = fidelity?.map((r) => ({ steps: r.steps, psnr: Number.isFinite(r.psnr) ? Number(r.psnr.toFixed(2)) : null }));
      const summary = { input: path, inputDtype, out, bytes: bytes.length, dtype, fidelity: rows ? { grid, seed, rows } : null };
      console.log(JSON.stringify(summary, null, 2));
    } else {
      console.log(`wrote ${out} (${bytes.length} bytes, ${dtype} weights)`);
      if (fidelity) {
        const rows = fidelity.map((r) => `${r.steps} steps ${formatPsnr(r.psnr)}`).join(', ');
        console.log(`fidelity vs ${path} (PSNR, ${grid.width}x${grid.height}, seed ${seed}): ${rows}`);
        if (inputDtype !== 'float32') console.log(`note: ${path} holds ${inputDtype} weights, so this compares against those, not a float model`);
      }
    }
    return EXIT.ok;
  },
};
