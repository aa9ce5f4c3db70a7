/**
 * `nca import sot`: Self-Organising Textures' models.json to .nca (exporter/import/sot.ts), checked
 * against a NumPy transcription of that project's float update rule (tools/make_sot_fixture.py
 * writes the random models and the expected states in test/fixtures/sot/), plus the .nca v1.2
 * fields the rule needs (perception, hidden and update clamps) in the codec, the reference core,
 * and the ORT engine (the player's shaders: test/player/correctness.test.ts).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { decodeNca, encodeNca, NcaFormatError, ReferenceNca, step, toColours, type Grid, type NcaModel } from '../../formats/index.ts';
import { importSot, sotFileNames } from '../../exporter/import/sot.ts';
import { createEngine } from '../../exporter/render/engine.ts';
import { maxAbsDiff } from '../helpers/models.ts';
import { runNca } from '../helpers/cli.ts';

const fixtures = fileURLToPath(new URL('../fixtures/sot/', import.meta.url));
const expected = JSON.parse(readFileSync(join(fixtures, 'expected.json'), 'utf8'));
const grid: Grid = expected.grid;
const q: number = expected.q;
const FILES = ['models.json', 'wide.json'] as const;

const floats = (b64: string) => {
  const bytes = Buffer.from(b64, 'base64');
  return new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
};
/** A state in Self-Organising Textures units (x) as .nca units (x / q), and back. */
const toNca = (x: Float32Array) => x.map((v) => v / q);
const toSot = (x: Float32Array) => x.map((v) => v * q);
const masks = (rows: string[]) => rows.map((r) => Uint8Array.from(r, (ch) => (ch === '1' ? 1 : 0)));

function imported(file: (typeof FILES)[number]): NcaModel[] {
  return importSot(JSON.parse(readFileSync(join(fixtures, file), 'utf8')), file).map((m) => m.model);
}

/** The largest difference from the NumPy states over both trajectories of one model. */
function deviation(model: NcaModel, spec: { zeroSeed: { steps: number[]; states: string[] }; random: { start: string; masks: string[]; steps: number[]; states: string[] } }): number {
  let worst = 0;
  const nca = new ReferenceNca(model, grid, 0);
  spec.zeroSeed.steps.forEach((at, i) => {
    nca.run(at - nca.steps);
    worst = Math.max(worst, maxAbsDiff(toSot(nca.state), floats(spec.zeroSeed.states[i])));
  });
  let state: Float32Array = toNca(floats(spec.random.start));
  const m = masks(spec.random.masks);
  for (let s = 0, k = 0; s < m.length; s++) {
    state = step(model, state, grid, m[s]);
    if (spec.random.steps[k] === s + 1) worst = Math.max(worst, maxAbsDiff(toSot(state), floats(spec.random.states[k++])));
  }
  return worst;
}

// Float32 everywhere, sums in another order (the reference core sums in float64): far below the clamps' effect.
const TOLERANCE = 1e-4;

test('imported models follow the NumPy float rule of Self-Organising Textures, from the zero seed (standard masks) and from a random state', () => {
  for (const file of FILES) {
    const spec = expected.files[file];
    const models = imported(file);
    assert.equal(models.length, spec.models.length, file);
    models.forEach((model, i) => {
      const m = spec.models[i];
      assert.equal(model.metadata.extra?.sourceName, m.name);
      assert.deepEqual([model.topology.channels, model.topology.hidden], [spec.channels, spec.hidden]);
      const d = deviation(model, m);
      assert.ok(d < TOLERANCE, `${file} ${m.name}: off by ${d}`);
      // colour = x / q + 0.5, shown clamped to [0, 1]
      const nca = new ReferenceNca(model, grid, 0).run(m.zeroSeed.steps.at(-1));
      const colours = toColours(model.topology, nca.state, grid);
      const rgb = floats(m.zeroSeed.rgb);
      let worst = 0;
      for (let c = 0; c < grid.width * grid.height; c++) {
        for (let k = 0; k < 3; k++) worst = Math.max(worst, Math.abs(colours[c * 4 + k] - Math.min(1, Math.max(0, rgb[c * 3 + k]))));
      }
      assert.ok(worst < TOLERANCE, `${file} ${m.name}: colours off by ${worst}`);
    });
  }
});

test('the fixture exercises every clamp of the rule, and each one matters: without it the states differ', () => {
  const spec = expected.files['models.json'];
  const model = imported('models.json')[0];
  const active = spec.models[0].clampActive;
  for (const k of ['perception', 'hidden', 'update', 'state']) assert.ok(active[k] > 50, `${k}: ${active[k]}`);
  for (const field of ['perceptionClamp', 'hiddenClamp', 'updateClamp', 'clamp'] as const) {
    const without = structuredClone(model);
    delete without.topology[field];
    const d = deviation(without, spec.models[0]);
    assert.ok(d > 0.01, `without ${field} the states should differ: ${d}`);
  }
});

test('import layout: weights un-permuted (filter-major rows to channel-major), biases over q, the fold of the colour scale', () => {
  const [model] = imported('wide.json');
  const t = model.topology;
  assert.deepEqual(t.filters, ['identity', 'sobel_x', 'sobel_y', 'laplacian']);
  assert.deepEqual(t.filterScales, [1, 1 / 8, 1 / 8, 1 / 8]);
  assert.deepEqual([t.padding, t.fireRate, t.clamp, t.perceptionClamp, t.hiddenClamp, t.updateClamp], ['circular', 0.5, 1, 1, 1, 1]);
  assert.deepEqual(t.color, { offset: 0, count: 3, bias: 0.5 });
  assert.deepEqual(model.seed, { kind: 'cell', value: new Array(6).fill(0) }, 'the zero state');
  assert.deepEqual(sotFileNames(['texture/models/dots', 'a/dots', 'x y?', '', 'DOTS']), ['dots.nca', 'dots-2.nca', 'x-y.nca', 'model-4.nca', 'DOTS-3.nca']);
});

test('.nca v1.2: the clamps round-trip and make the file 1.2; bad values and newer minors are refused', () => {
  const [model] = imported('wide.json');
  const decoded = decodeNca(encodeNca(model, { weightDtype: 'float32' }));
  assert.equal(decoded.file.version, '1.2');
  assert.deepEqual(decoded.model.topology, model.topology);
  assert.deepEqual(decoded.model.weights.w1, model.weights.w1);
  const v11 = structuredClone(model);
  for (const k of ['perceptionClamp', 'hiddenClamp', 'updateClamp'] as const) delete v11.topology[k];
  assert.equal(decodeNca(encodeNca(v11)).file.version, '1.1');
  for (const [field, value] of [['perceptionClamp', 0], ['hiddenClamp', -1], ['updateClamp', 'big']] as const) {
    const bad = structuredClone(model);
    (bad.topology as unknown as Record<string, unknown>)[field] = value;
    assert.throws(() => encodeNca(bad), (e: unknown) => e instanceof NcaFormatError && e.code === 'bad-topology' && e.message.includes(field), field);
  }
  const future = encodeNca(model).slice();
  future[10] = 3; // minor version 3 (the CRC is checked after the version)
  assert.throws(() => decodeNca(future), (e: unknown) => e instanceof NcaFormatError && e.code === 'unsupported-version');
});

test('the ORT engine runs the v1.2 clamps like the reference core (nca render, nca eval)', async () => {
  const spec = expected.files['models.json'].models[1];
  const model = imported('models.json')[1];
  const engine = await createEngine('ort', model, grid, { seed: 0, chunk: 4 });
  const reference = new ReferenceNca(model, grid, 0);
  try {
    await engine.run(8);
    reference.run(8);
    assert.ok(maxAbsDiff(engine.state(), reference.state) < TOLERANCE, 'from the zero seed');
    assert.ok(maxAbsDiff(toSot(engine.state()), floats(spec.zeroSeed.states[1])) < TOLERANCE, 'and the NumPy states');
    // From a random state, where the perception clamp bites at once.
    const start = toNca(floats(spec.random.start));
    engine.setState(start, 0);
    reference.state = start;
    reference.steps = 0;
    await engine.run(8);
    reference.run(8);
    assert.ok(maxAbsDiff(engine.state(), reference.state) < TOLERANCE, 'from a random state');
  } finally {
    await engine.dispose();
  }
});

test('nca import sot writes one .nca per model, named after it, equal to the library\'s; --only, --json', () => {
  const out = join(mkdtempSync(join(tmpdir(), 'nca-import-')), 'models');
  const { code, stdout, stderr } = runNca(['import', 'sot', join(fixtures, 'wide.json'), '--out', out]);
  assert.equal(code, 0, stderr);
  assert.deepEqual(readdirSync(out).sort(), ['random-wide-0.nca', 'random-wide-1.nca', 'random-wide-2.nca']);
  assert.match(stdout, /^wrote .*random-wide-0\.nca \(\d+ bytes\)$/m);
  assert.match(stdout, /imported 3 of 3 Self-Organising Textures models \(6 channels, hidden 102, float32 weights\)/);
  const models = imported('wide.json');
  models.forEach((m, i) => {
    const { model, file } = decodeNca(readFileSync(join(out, `random-wide-${i}.nca`)));
    assert.equal(file.version, '1.2');
    assert.deepEqual(model.weights, m.weights, 'float32: the 8-bit values exactly');
    assert.deepEqual(model.topology, m.topology);
    assert.equal(model.metadata.title, `random-wide-${i}`);
  });
  const only = runNca(['import', 'sot', join(fixtures, 'models.json'), '--out', out, '--only', 'random-models-1', '--dtype', 'int8', '--json']);
  assert.equal(only.code, 0, only.stderr);
  const summary = JSON.parse(only.stdout);
  assert.deepEqual(
    { ...summary, models: summary.models.map((m: { name: string; file: string }) => [m.name, m.file]) },
    { source: join(fixtures, 'models.json'), format: 'sot', dtype: 'int8', channels: 12, hidden: 96, models: [['texture/models/random-models-1', join(out, 'random-models-1.nca')]] },
  );
  assert.equal(decodeNca(readFileSync(join(out, 'random-models-1.nca'))).file.tensors.find((t) => t.name === 'w1')?.dtype, 'int8');
});

test('nca import: bad input gets one line and the documented exit code', () => {
  const dir = mkdtempSync(join(tmpdir(), 'nca-import-bad-'));
  const write = (name: string, text: string) => {
    writeFileSync(join(dir, name), text);
    return join(dir, name);
  };
  const good = JSON.parse(readFileSync(join(fixtures, 'wide.json'), 'utf8'));
  const cases: [string[], number, RegExp][] = [
    [['import'], 64, /give a format and a file/],
    [['import', 'onnx', 'x.json', '--out', dir], 64, /unknown format "onnx" \(known: sot/],
    [['import', 'sot', join(fixtures, 'wide.json')], 64, /--out DIR is required/],
    [['import', 'sot', join(fixtures, 'wide.json'), '--out', dir, '--only', 'nope'], 64, /has no model named "nope"/],
    [['import', 'sot', join(dir, 'missing.json'), '--out', dir], 66, /cannot read .*missing\.json: no such file/],
    [['import', 'sot', write('text.json', 'hello'), '--out', dir], 65, /text\.json: not a JSON file/],
    [['import', 'sot', write('other.json', '{"layers": []}'), '--out', dir], 65, /model_names must be a non-empty list/],
    [['import', 'sot', write('q.json', JSON.stringify({ ...good, layers: [good.layers[0], { ...good.layers[1], quant_scale_zero: [8, 0.5] }] })), '--out', dir], 65, /quant_scale_zero is \[8,0\.5\], not Self-Organising Textures'/],
    [['import', 'sot', write('size.json', JSON.stringify({ ...good, layers: [{ ...good.layers[0], layout: [3, 2] }, good.layers[1]] })), '--out', dir], 65, /layers\[0\]: a 52x50 image, where shape 25x102 and layout 3x2 make 78x50/],
    [['import', 'sot', write('png.json', JSON.stringify({ ...good, layers: [{ ...good.layers[0], data: 'data:image/png;base64,AAAA' }, good.layers[1]] })), '--out', dir], 65, /layers\[0\]\.data: not a PNG file/],
  ];
  for (const [args, code, message] of cases) {
    const r = runNca(args);
    assert.equal(r.code, code, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, message, args.join(' '));
    assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
  }
  const help = runNca(['import', '--help']);
  assert.match(help.stdout, /Example:\n {2}nca import sot /);
});
