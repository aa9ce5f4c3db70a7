import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createState, decodeNca, encodeNca, NcaFormatError, type WeightDtype } from '../../formats/index.ts';
import { assemble } from '../../formats/nca-file.ts';
import { crc32 } from '../../formats/crc32.ts';
import { fromFloat16Bits, toFloat16Bits } from '../../formats/float16.ts';
import { livingTopology, maxAbsDiff, randomModel } from '../helpers/models.ts';

// Worst-case error per encoding, relative to the largest |weight| of a row.
const tolerance: Record<WeightDtype, number> = { float32: 0, float16: 1 / 1024, int8: 0.5 / 127 };

for (const dtype of ['int8', 'float16', 'float32'] as const) {
  for (const recipe of ['noise', 'cell', 'image'] as const) {
    test(`round trip: ${dtype} weights, ${recipe} seed`, () => {
      const model = randomModel({ recipe, topology: { hidden: 32 } });
      model.weights.b2 = new Float32Array(12).map((_, i) => i / 10 - 0.5);
      const bytes = encodeNca(model, { weightDtype: dtype });
      const { model: back, file } = decodeNca(bytes);
      assert.deepEqual(back.topology, model.topology);
      assert.deepEqual(back.metadata, model.metadata);
      assert.equal(file.byteLength, bytes.length);
      for (const name of ['w1', 'w2'] as const) {
        const w = model.weights[name];
        const maxAbs = w.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
        assert.ok(maxAbsDiff(w, back.weights[name]) <= tolerance[dtype] * maxAbs * 1.0001, `${name} within ${dtype} tolerance`);
      }
      assert.ok(maxAbsDiff(model.weights.b2!, back.weights.b2!) <= (dtype === 'float16' ? 1e-3 : 0));
      assert.equal(back.seed.kind, recipe);
      if (model.seed.kind === 'image' && back.seed.kind === 'image') {
        assert.equal(back.seed.width, 5);
        assert.ok(maxAbsDiff(model.seed.data, back.seed.data) < 2e-3);
      } else {
        assert.deepEqual(back.seed, model.seed);
      }
    });
  }
}

test('the default model (12 channels, hidden 128, int8) fits in 10 KB', () => {
  const bytes = encodeNca(randomModel());
  assert.ok(bytes.length <= 10 * 1024, `${bytes.length} bytes`);
});

test('float16 conversion is exact on representable values and rounds to nearest even', () => {
  for (const v of [0, -0, 1, -2.5, 65504, 2 ** -24, 2 ** -14, 0.333251953125]) {
    assert.equal(fromFloat16Bits(toFloat16Bits(v)), v);
  }
  assert.equal(fromFloat16Bits(toFloat16Bits(1 + 2 ** -11)), 1); // tie → even
  assert.equal(fromFloat16Bits(toFloat16Bits(1 + 3 * 2 ** -11)), 1 + 2 ** -9);
  assert.equal(fromFloat16Bits(toFloat16Bits(1e6)), Infinity);
  assert.equal(fromFloat16Bits(toFloat16Bits(2 ** -26)), 0);
});

function expectCode(bytes: Uint8Array, code: string) {
  assert.throws(() => decodeNca(bytes), (e: unknown) => e instanceof NcaFormatError && e.code === code);
}

/** Re-seals a file after editing so that only the intended defect remains. */
function withChunks(edit: (chunks: [string, Uint8Array][]) => [string, Uint8Array][]): Uint8Array {
  const original = encodeNca(randomModel({ topology: { hidden: 8 } }));
  const { file } = decodeNca(original);
  const chunks: [string, Uint8Array][] = [];
  let p = 16;
  for (const c of file.chunks) {
    chunks.push([c.type, original.slice(p + 8, p + 8 + c.length)]);
    p += 8 + ((c.length + 3) & ~3);
  }
  return assemble(edit(chunks));
}

test('rejections name the defect', () => {
  const good = encodeNca(randomModel({ topology: { hidden: 8 } }));
  expectCode(new TextEncoder().encode('<html>not found</html>'), 'bad-signature');
  expectCode(good.slice(0, 12), 'truncated');
  expectCode(good.slice(0, good.length - 10), 'truncated');
  const flipped = good.slice();
  flipped[40] ^= 0x01;
  expectCode(flipped, 'bad-checksum');
  const v2 = good.slice();
  v2[8] = 2;
  expectCode(v2, 'unsupported-version');
  expectCode(withChunks((c) => [...c, ['XTRA', new Uint8Array(4)]]), 'unknown-required-chunk');
  expectCode(withChunks((c) => c.filter(([t]) => t !== 'DATA')), 'missing-chunk');
  expectCode(withChunks((c) => [...c, c[0]]), 'bad-chunk');
  expectCode(withChunks((c) => [['HEAD', new TextEncoder().encode('{"topology": 1')], ...c.slice(1)]), 'bad-json');
});

test('unknown optional chunks are skipped', () => {
  const bytes = withChunks((c) => [...c, ['prvw', new Uint8Array([1, 2, 3])]]);
  const { file } = decodeNca(bytes);
  assert.deepEqual(
    file.chunks.map((c) => [c.type, c.skipped]),
    [['HEAD', false], ['DATA', false], ['meta', false], ['prvw', true]],
  );
});

function withMinor(minor: number): Uint8Array {
  const bytes = withChunks((c) => c);
  bytes[10] = minor;
  const view = new DataView(bytes.buffer);
  view.setUint32(bytes.length - 4, crc32(bytes.subarray(0, bytes.length - 4)), true);
  return bytes;
}

test('minor versions up to 1.1 are read; a newer minor is refused (it may change how the model runs)', () => {
  assert.equal(decodeNca(withMinor(1)).file.version, '1.1');
  assert.throws(() => decodeNca(withMinor(7)), (e: unknown) => e instanceof NcaFormatError && e.code === 'unsupported-version' && /1\.7/.test(e.message));
});

test('CRC-32 check value from SPEC.md §1', () => {
  assert.equal(crc32(new TextEncoder().encode('123456789')), 0xcbf43926);
});

test('v1.1 fields round-trip and make the file 1.1; a model without them stays 1.0', () => {
  const living = randomModel({ topology: livingTopology(), recipe: 'cell' });
  const decoded = decodeNca(encodeNca(living));
  assert.equal(decoded.file.version, '1.1');
  assert.deepEqual(decoded.model.topology, living.topology);
  assert.equal(decodeNca(encodeNca(randomModel())).file.version, '1.0');
});

test('bad v1.1 fields are refused with bad-topology', () => {
  const bad: [string, Record<string, unknown>][] = [
    ['alive.channel', { alive: { channel: 12, threshold: 0.1 } }],
    ['alive.threshold', { alive: { channel: 3, threshold: -1 } }],
    ['clamp', { clamp: 0 }],
    ['premultiplied', { color: { offset: 0, count: 4, bias: 0, premultiplied: 'yes' } }],
    ['need color.count 4', { color: { offset: 0, count: 3, bias: 0, alphaBias: 0 } }],
  ];
  for (const [what, fields] of bad) {
    const model = randomModel({ topology: fields as never });
    assert.throws(() => encodeNca(model), (e: unknown) => e instanceof NcaFormatError && e.code === 'bad-topology' && e.message.includes(what.split(' ').at(-1)!.split('.')[0]), what);
  }
});

test('a cell seed offset (v1.1) round-trips, makes the file 1.1 and moves the cell, wrapping off the grid', () => {
  const model = randomModel({ recipe: 'cell' });
  if (model.seed.kind !== 'cell') throw new Error('unreachable');
  model.seed.offset = [3, -2];
  const decoded = decodeNca(encodeNca(model));
  assert.equal(decoded.file.version, '1.1');
  assert.deepEqual(decoded.model.seed, model.seed);
  const grid = { width: 6, height: 4 };
  const at = (x: number, y: number) => createState(decoded.model, grid).subarray((y * 6 + x) * 12, (y * 6 + x) * 12 + 12);
  assert.deepEqual([...at((3 + 3) % 6, 2 - 2)], model.seed.value); // (floor(6/2) + 3) mod 6 = 0, floor(4/2) - 2 = 0
  assert.equal(createState(decoded.model, grid).reduce((s, v) => s + v, 0), model.seed.value.reduce((s, v) => s + v, 0));
  const bad = structuredClone(model);
  if (bad.seed.kind === 'cell') bad.seed.offset = [1.5, 0];
  assert.throws(() => encodeNca(bad), (e: unknown) => e instanceof NcaFormatError && e.code === 'bad-seed');
});
