import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SafetensorsFile } from '../../trainer/weights/safetensors.ts';

const fixtures = new URL('../fixtures/safetensors/', import.meta.url);
const dtypesPath = new URL('dtypes.safetensors', fixtures).pathname;
const expected = JSON.parse(readFileSync(new URL('dtypes.json', fixtures), 'utf8'));

test('reads F32, F16 and BF16 tensors written by the Python safetensors library', () => {
  const file = SafetensorsFile.open(dtypesPath);
  try {
    assert.deepEqual(file.metadata, expected.metadata);
    assert.deepEqual(file.names().sort(), Object.keys(expected.tensors).sort());
    for (const name of ['f32', 'f16', 'bf16', 'scalar', 'empty']) {
      const want = expected.tensors[name];
      assert.deepEqual(file.info(name).shape, want.shape, name);
      const got = file.readFloat32(name, want.shape);
      assert.equal(got.length, want.values.length, name);
      // Each expected value is the stored (rounded) number, so decoding must be exact.
      want.values.forEach((v: number, i: number) => assert.equal(got[i], Math.fround(v), `${name}[${i}]`));
    }
    assert.ok(Object.is(file.readFloat32('f16')[1], -0), 'negative zero survives float16');
  } finally {
    file.close();
  }
});

test('reports integer tensors, unknown names and shape mismatches clearly', () => {
  const file = SafetensorsFile.open(dtypesPath);
  try {
    assert.deepEqual(file.info('i64').shape, [2, 3]);
    assert.throws(() => file.readFloat32('i64'), /"i64" is I64; only F32, F16, BF16 and F64/);
    assert.throws(() => file.readFloat32('f33'), /no tensor named "f33"/);
    assert.throws(() => file.readFloat32('f32', [9]), /shape \[3, 3\], expected \[9\]/);
  } finally {
    file.close();
  }
  assert.throws(() => file.readFloat32('f32'), /closed/);
});

/** Builds a file from a header object and a data section, like the format's writers do. */
function fileWith(header: unknown, data: Uint8Array = new Uint8Array(0), headerLen?: number): string {
  const json = Buffer.from(typeof header === 'string' ? header : JSON.stringify(header));
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(headerLen ?? json.length));
  const path = join(mkdtempSync(join(tmpdir(), 'st-')), 'bad.safetensors');
  writeFileSync(path, Buffer.concat([len, json, Buffer.from(data)]));
  return path;
}

test('rejects corrupt headers before reading any tensor', () => {
  const f32 = (begin: number, end: number, shape = [2]) => ({ dtype: 'F32', shape, data_offsets: [begin, end] });
  const cases: [string, unknown, Uint8Array, RegExp, number?][] = [
    ['length past end', {}, new Uint8Array(0), /runs past the end/, 1000],
    ['huge length', {}, new Uint8Array(0), /exceeds/, 2 ** 40],
    ['not JSON', '{"a": ', new Uint8Array(0), /not JSON/],
    ['not an object', '[1, 2]', new Uint8Array(0), /not a JSON object/],
    ['unknown dtype', { a: { dtype: 'F17', shape: [1], data_offsets: [0, 4] } }, new Uint8Array(4), /unknown dtype/],
    ['negative dim', { a: f32(0, 8, [-2]) }, new Uint8Array(8), /bad shape/],
    ['size mismatch', { a: f32(0, 12) }, new Uint8Array(12), /needs 8 bytes but data_offsets span 12/],
    ['overlap', { a: f32(0, 8), b: f32(4, 12) }, new Uint8Array(12), /starts at byte 4, expected 8/],
    ['hole', { a: f32(0, 8), b: f32(12, 20) }, new Uint8Array(20), /hole/],
    ['past data end', { a: f32(0, 8) }, new Uint8Array(4), /cover 8 bytes but the data section has 4/],
    ['bad metadata', { __metadata__: { a: 1 } }, new Uint8Array(0), /__metadata__.a is not a string/],
  ];
  for (const [what, header, data, message, headerLen] of cases) {
    assert.throws(() => SafetensorsFile.open(fileWith(header, data, headerLen)), message, what);
  }
  assert.throws(() => SafetensorsFile.open(fileWith({}).replace('bad', 'missing')), /ENOENT/);
});
