// The texture score (exporter/eval/texture-score.ts): patch SWD with fixed directions, log power spectra, references.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Rng } from '../../formats/random.ts';
import type { RgbaImage } from '../../trainer/image/png.ts';
import { discTexture, stripeTexture } from '../../trainer/texture/synthetic.ts';
import { rgbPlanes } from '../../trainer/texture/exemplar.ts';
import { textureDistance, textureScore } from '../../exporter/eval/texture-score.ts';
import { fft } from '../../trainer/texture/spectrum.ts';
import { roll } from '../helpers/images.ts';

function histogram(im: RgbaImage): Map<string, number> {
  const h = new Map<string, number>();
  for (let i = 0; i < im.width * im.height; i++) {
    const key = Array.from(im.data.subarray(4 * i, 4 * i + 4)).join(',');
    h.set(key, (h.get(key) ?? 0) + 1);
  }
  return h;
}

test('the FFT matches a direct DFT', () => {
  const rng = new Rng(3);
  const n = 16;
  const re = Float64Array.from({ length: n }, () => rng.next() - 0.5);
  const im = Float64Array.from({ length: n }, () => rng.next() - 0.5);
  const want = Array.from({ length: n }, (_, k) => {
    let r = 0;
    let i = 0;
    for (let t = 0; t < n; t++) {
      const a = (-2 * Math.PI * k * t) / n;
      r += re[t] * Math.cos(a) - im[t] * Math.sin(a);
      i += re[t] * Math.sin(a) + im[t] * Math.cos(a);
    }
    return [r, i];
  });
  fft(re, im);
  want.forEach(([r, i], k) => {
    assert.ok(Math.abs(re[k] - r) < 1e-12 && Math.abs(im[k] - i) < 1e-12, `bin ${k}: ${re[k]}, ${im[k]} vs ${r}, ${i}`);
  });
  assert.throws(() => fft(new Float64Array(12), new Float64Array(12)), /power of 2/);
});

test('stripes against the same stripes turned 90 degrees: same colours, far apart in the spectrum', () => {
  const vertical = stripeTexture(64, 64, 8, 'vertical');
  const horizontal = stripeTexture(64, 64, 8, 'horizontal');
  assert.deepEqual(histogram(vertical), histogram(horizontal), 'identical colour histograms');
  const turned = textureDistance(horizontal, vertical);
  const shifted = textureDistance(roll(vertical, 16, 5), vertical); // a shift by whole periods, and any shift down
  assert.ok(turned.spectral > 0.3, `turned spectral ${turned.spectral}`);
  assert.ok(turned.spectral > 20 * shifted.spectral + 1e-9, `turned ${turned.spectral} vs shifted ${shifted.spectral}`);
  assert.ok(turned.patch > 3 * shifted.patch, `patch: turned ${turned.patch} vs shifted ${shifted.patch}`);
  // wider stripes are a different size of feature: the spectrum sees it too
  const wider = textureDistance(stripeTexture(64, 64, 16, 'vertical'), vertical);
  assert.ok(wider.spectral > 20 * shifted.spectral + 0.1, `wider ${wider.spectral}`);
});

test('references: another crop of the exemplar scores far lower than a shuffled copy; a shifted exemplar lower still', () => {
  const exemplar = discTexture(96, 96, 1);
  const score = textureScore(roll(exemplar, 40, 23), exemplar);
  const r = score.reference;
  assert.ok(r.cropPatch < r.shuffledPatch / 3, `patch: crop ${r.cropPatch}, shuffled ${r.shuffledPatch}`);
  assert.ok(r.cropSpectral < r.shuffledSpectral / 3, `spectral: crop ${r.cropSpectral}, shuffled ${r.shuffledSpectral}`);
  assert.ok(score.patch < r.cropPatch && score.spectral < r.cropSpectral, `frame ${JSON.stringify(score)}`);
  // another sample of the same process (a different seed) lands near the crop reference, far from the shuffled one
  const other = textureDistance(discTexture(96, 96, 9), exemplar);
  assert.ok(other.patch < r.shuffledPatch / 3 && other.spectral < r.shuffledSpectral / 3, `other sample ${JSON.stringify(other)}`);
});

test('deterministic, and RGBA8 or float planes give the same numbers', () => {
  const exemplar = discTexture(64, 48, 2);
  const frame = discTexture(32, 32, 3);
  const a = textureScore(frame, exemplar);
  const b = textureScore(frame, exemplar);
  assert.deepEqual(a, b);
  const c = textureScore(rgbPlanes(frame), rgbPlanes(exemplar));
  assert.deepEqual(c, a);
  for (const v of [a.patch, a.spectral, ...Object.values(a.reference)]) assert.ok(Number.isFinite(v) && v >= 0);
});

test('images too small for the settings are refused', () => {
  const tiny = discTexture(6, 6, 1, 2, 1, 1.5);
  assert.throws(() => textureScore(tiny, discTexture(64, 64, 1)), /too small/);
  assert.throws(() => textureDistance(discTexture(32, 32, 1), discTexture(32, 32, 2), { patch: 2 }), /patch must be odd/);
});
