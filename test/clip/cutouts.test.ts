import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Rng } from '../../formats/random.ts';
import { SafetensorsFile } from '../../trainer/weights/safetensors.ts';
import { coverCount, cutoutMatrices, planCutouts, resampleMatrix, DEFAULT_CUTOUTS } from '../../trainer/clip/cutouts.ts';

test('resampling matches torch bilinear interpolation (antialiased when shrinking)', () => {
  const file = SafetensorsFile.open(new URL('../fixtures/safetensors/resample.safetensors', import.meta.url).pathname);
  const [h, w] = file.info('image').shape.slice(2);
  const image = file.readFloat32('image');
  for (const name of file.names().filter((n) => n.startsWith('resized_'))) {
    const [oh, ow] = file.info(name).shape.slice(2);
    const want = file.readFloat32(name);
    const rows = resampleMatrix(h, 0, h, oh);
    const cols = resampleMatrix(w, 0, w, ow);
    let err = 0;
    for (let c = 0; c < 3; c++) {
      for (let r = 0; r < oh; r++) {
        for (let o = 0; o < ow; o++) {
          let v = 0;
          for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) v += rows[r * h + y] * image[(c * h + y) * w + x] * cols[o * w + x];
          err = Math.max(err, Math.abs(v - want[(c * oh + r) * ow + o]));
        }
      }
    }
    assert.ok(err < 1e-5, `${name}: max error ${err}`);
  }
});

test('a flipped cutout reverses the columns; every row sums to 1', () => {
  const plain = resampleMatrix(40, 3.5, 20, 16);
  const flipped = resampleMatrix(40, 3.5, 20, 16, true);
  for (let o = 0; o < 16; o++) {
    assert.deepEqual(flipped.subarray(o * 40, (o + 1) * 40), plain.subarray((15 - o) * 40, (16 - o) * 40));
    const sum = plain.subarray(o * 40, (o + 1) * 40).reduce((a, b) => a + b, 0);
    assert.ok(Math.abs(sum - 1) < 1e-6);
  }
  // A cutout far outside the frame repeats the edge pixel rather than failing.
  assert.equal(resampleMatrix(10, -50, 4, 4)[0], 1);
});

test('cutouts cover every pixel of square, wide and tall frames without squashing', () => {
  const frames = [[128, 128], [256, 144], [144, 256], [300, 100], [130, 128], [224, 126]];
  for (const [w, h] of frames) {
    const o = { ...DEFAULT_CUTOUTS, jitter: 0 };
    const cutouts = planCutouts(w, h, o, new Rng(1));
    assert.equal(cutouts.length, o.count);
    const covered = new Uint8Array(w * h);
    for (const c of cutouts) {
      assert.ok(c.x >= -1e-9 && c.y >= -1e-9 && c.x + c.size <= w + 1e-9 && c.y + c.size <= h + 1e-9, `${w}x${h}: inside the frame`);
      assert.ok(c.size >= o.minScale * Math.min(w, h) - 1e-9);
    }
    for (const c of cutouts.slice(0, coverCount(w, h))) {
      assert.equal(c.size, Math.min(w, h), 'covering squares use the full short side');
      for (let y = Math.round(c.y); y < Math.round(c.y + c.size); y++) for (let x = Math.round(c.x); x < Math.round(c.x + c.size); x++) covered[y * w + x] = 1;
    }
    assert.ok(covered.every((v) => v === 1), `${w}x${h}: the covering cutouts reach every pixel`);
  }
  assert.equal(coverCount(256, 144), 2);
  assert.equal(coverCount(300, 100), 3);
  assert.throws(() => planCutouts(300, 100, { ...DEFAULT_CUTOUTS, count: 2 }, new Rng(1)), /needs at least 3 cutouts/);
});

test('cutouts are random but repeat for the same seed; jitter and flips vary them', () => {
  const a = planCutouts(128, 128, DEFAULT_CUTOUTS, new Rng(5));
  assert.deepEqual(planCutouts(128, 128, DEFAULT_CUTOUTS, new Rng(5)), a);
  assert.notDeepEqual(planCutouts(128, 128, DEFAULT_CUTOUTS, new Rng(6)), a);
  const many = Array.from({ length: 20 }, (_, i) => planCutouts(128, 128, DEFAULT_CUTOUTS, new Rng(i))).flat();
  assert.ok(many.some((c) => c.flip) && many.some((c) => !c.flip));
  assert.ok(many.every((c) => Math.abs(c.x) <= 128 && Math.abs(c.y) <= 128));
  const { rows, colsT } = cutoutMatrices(a[0], 128, 128, 32);
  assert.equal(rows.length, 32 * 128);
  assert.equal(colsT.length, 128 * 32);
});
