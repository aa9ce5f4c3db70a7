// Property test: random corruption of valid files either decodes to a valid model or
// throws NcaFormatError — never another exception, never a hang, never a big allocation.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeNca, encodeNca, NcaFormatError, Rng } from '../../formats/index.ts';
import { crc32 } from '../../formats/crc32.ts';
import { randomModel } from '../helpers/models.ts';

/** Fixes the length field and CRC so mutations reach the parser instead of the checksum. */
function reseal(bytes: Uint8Array): Uint8Array {
  if (bytes.length < 20) return bytes;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  view.setUint32(12, bytes.length, true);
  view.setUint32(bytes.length - 4, crc32(bytes.subarray(0, bytes.length - 4)), true);
  return bytes;
}

function decodedBytes(model: ReturnType<typeof decodeNca>['model']): number {
  const w = model.weights;
  let n = w.w1.byteLength + w.b1.byteLength + w.w2.byteLength + (w.b2?.byteLength ?? 0);
  if (model.seed.kind === 'image') n += model.seed.data.byteLength;
  return n;
}

function check(bytes: Uint8Array, stats: { ok: number; rejected: number }) {
  const started = performance.now();
  try {
    const { model } = decodeNca(bytes);
    // int8 weights expand 4x when decoded: that is the most a byte of input can justify.
    assert.ok(decodedBytes(model) <= 4 * bytes.length, 'allocation bounded by input size');
    stats.ok++;
  } catch (e) {
    if (!(e instanceof NcaFormatError)) throw e;
    stats.rejected++;
  }
  assert.ok(performance.now() - started < 500, 'decoding is quick');
}

function mutate(base: Uint8Array, rng: Rng): Uint8Array {
  const bytes = base.slice();
  const kind = rng.int(0, 3);
  if (kind === 0) return bytes.slice(0, rng.int(0, bytes.length - 1)); // truncation
  const edits = rng.int(1, 8);
  for (let i = 0; i < edits; i++) {
    const at = rng.int(0, bytes.length - 1);
    if (kind === 1) bytes[at] = rng.int(0, 255);
    else if (kind === 2) bytes[at] ^= 1 << rng.int(0, 7);
    else bytes[at] = [0, 0xff, 0x7f, 0x80, 0x22, 0x30, 0x2d][rng.int(0, 6)]; // boundary values, quotes, digits
  }
  return bytes;
}

test('5000 random mutations and truncations: valid model or NcaFormatError', () => {
  const rng = new Rng(42);
  const bases = (['noise', 'cell', 'image'] as const).flatMap((recipe) =>
    (['int8', 'float16', 'float32'] as const).map((weightDtype) =>
      encodeNca(randomModel({ recipe, topology: { hidden: 16 } }), { weightDtype }),
    ),
  );
  const stats = { ok: 0, rejected: 0 };
  for (let i = 0; i < 5000; i++) {
    const mutated = mutate(bases[i % bases.length], rng);
    check(mutated, stats); // as-is: mostly caught by the checksum
    check(reseal(mutated), stats); // resealed: reaches the chunk, JSON and tensor checks
  }
  assert.ok(stats.rejected > 5000, `rejected ${stats.rejected}`);
  assert.ok(stats.ok > 0, `some harmless mutations decode (${stats.ok})`);
});
