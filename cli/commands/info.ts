/** `nca info FILE`: topology, size and metadata of a .nca file. */
import { decodeNca, NcaFormatError, type DecodedNca } from '../../formats/index.ts';
import type { SeedRecipe } from '../../formats/model.ts';
import { parseFlags, readInput } from '../args.ts';
import { CliError, EXIT } from '../exit-codes.ts';
import type { Command } from '../command.ts';

const help = `Usage: nca info FILE.nca [--json]

Prints a model's topology, size and metadata. On a corrupt, truncated or foreign
file it prints one line saying what is wrong and exits with code 65.

Options:
  --json    machine-readable output

Example:
  nca info examples/models/ring.nca`;

function describe({ model, file }: DecodedNca, path: string): string {
  const t = model.topology;
  const params = model.weights.w1.length + model.weights.b1.length + model.weights.w2.length + (model.weights.b2?.length ?? 0);
  const m = model.metadata;
  const c = t.color;
  const alpha = c.count === 4 && c.alphaBias !== undefined && c.alphaBias !== c.bias ? `, alpha + ${c.alphaBias}` : '';
  const colour = `${c.count === 4 ? 'RGBA' : 'RGB'} = channels ${c.offset}..${c.offset + c.count - 1} + ${c.bias}${alpha}${c.premultiplied ? ', premultiplied' : ''}`;
  const rules = [
    t.alive ? `alive masking (channel ${t.alive.channel} > ${t.alive.threshold} in a 3x3 neighbourhood)` : '',
    t.clamp !== undefined ? `state clamped to [-${t.clamp}, ${t.clamp}]` : '',
    ...(['perceptionClamp', 'hiddenClamp', 'updateClamp'] as const).map((k) => (t[k] !== undefined ? `${k} ${t[k]}` : '')),
  ].filter(Boolean);
  const scores = typeof m.extra?.bestScore === 'number' ? (m.extra.bestScore as number) : null;
  const scoreKind = m.clipModel?.startsWith('texture-') ? 'texture score, -max(ratio / threshold)' : 'dB, lowest long-run PSNR';
  const best = scores === null ? null : `${scores.toFixed(2)} (${scoreKind}, iteration ${m.extra!.bestIteration})`;
  const scales = t.filterScales ? ` scaled by ${t.filterScales.map((v) => +v.toFixed(4)).join(', ')}` : '';
  const seed = describeSeed(model.seed, t.channels);
  const lines = [
    `${path}: .nca v${file.version}, ${file.byteLength} bytes`,
    `  channels     ${t.channels} (colour: ${colour})`,
    `  perception   ${t.filters.join(', ')}${scales} (${t.padding} padding)`,
    `  network      ${t.channels * t.filters.length} -> ${t.hidden} (${t.activation}) -> ${t.channels}, ${params} parameters`,
    `  update       stochastic, fire rate ${t.fireRate}${rules.length ? `; ${rules.join('; ')}` : ''}`,
    `  seed         ${seed}`,
    `  weights      ${file.tensors.map((x) => `${x.name} ${x.dtype}[${x.shape.join('x')}]`).join(', ')}`,
  ];
  const prompts = (list?: { text: string; weight: number }[]) => list?.map((p) => `"${p.text}":${p.weight}`).join(', ');
  if (m.title) lines.push(`  title        ${m.title}`);
  if (m.prompts?.length) lines.push(`  prompts      ${prompts(m.prompts)}`);
  if (m.negativePrompts?.length) lines.push(`  negative     ${prompts(m.negativePrompts)}`);
  if (m.clipModel) lines.push(`  guidance     ${m.clipModel}`);
  if (m.iterations !== undefined) lines.push(`  iterations   ${m.iterations}`);
  if (best) lines.push(`  best score   ${best}`);
  if (m.createdAt) lines.push(`  created      ${m.createdAt}`);
  if (m.tool) lines.push(`  tool         ${m.tool}`);
  const skipped = file.chunks.filter((c) => c.skipped).map((c) => c.type);
  if (skipped.length) lines.push(`  skipped      optional chunks ${skipped.join(', ')}`);
  return lines.join('\n');
}

export const info: Command = {
  name: 'info',
  summary: 'show the topology, size and metadata of a .nca file',
  help,
  async run(argv) {
    const { values, positionals } = parseFlags(argv, { json: { type: 'boolean' } });
    if (positionals.length !== 1) throw new CliError('expected exactly one FILE (see --help)', EXIT.usage);
    const path = positionals[0];
    let decoded: DecodedNca;
    try {
      decoded = decodeNca(await readInput(path));
    } catch (error) {
      if (error instanceof NcaFormatError) throw new CliError(`${path}: ${error.message}`, EXIT.badInput);
      throw error;
    }
    if (values.json) {
      const { model, file } = decoded;
      console.log(JSON.stringify({ path, ...file, topology: model.topology, seed: model.seed.kind, metadata: model.metadata }, null, 2));
    } else {
      console.log(describe(decoded, path));
    }
    return EXIT.ok;
  },
};

/** "noise", "cell at the grid centre", "cell at [-1, -10] from the grid centre", "image 2x20 (2 of 40 cells set)". */
function describeSeed(seed: SeedRecipe, channels: number): string {
  if (seed.kind === 'cell') return seed.offset ? `cell at [${seed.offset.join(', ')}] from the grid centre` : 'cell at the grid centre';
  if (seed.kind === 'noise') return 'noise';
  let cells = 0;
  for (let i = 0; i < seed.width * seed.height; i++) if (seed.data.subarray(i * channels, (i + 1) * channels).some((v) => v !== 0)) cells++;
  return `image ${seed.width}x${seed.height} (${cells} of ${seed.width * seed.height} cells set)`;
}
