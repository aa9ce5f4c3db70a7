/**
 * The spectrum term of the texture loss (`--spectrum-weight`, docs/textures.md):
 * the squared difference between the log power spectrum of the batch's frames
 * and the exemplar's. Patch statistics alone see colours and small shapes but
 * not how large features are or how they are spaced; the spectrum does
 * (Liu et al. 2016, "Texture synthesis through convolutional neural networks
 * and spectrum constraints", added a spectrum term to Gatys' loss for this).
 *
 * Both spectra are Welch estimates with the same L x L Hann tiles (spectrum.ts):
 * the frames' tiles are taken inside the grid, their 2-D DFT is four matrix
 * products with constant cosine and sine matrices, and their power is averaged
 * over the batch, the RGB channels and the tiles. One frame's periodogram is
 * too noisy to match bin by bin (a faithful texture would be pushed towards a
 * regular one), so both spectra are also smoothed over 3 x 3 neighbouring
 * frequencies before the log.
 */
import type { Topology } from '../../formats/model.ts';
import type { Value } from '../graph/graph.ts';
import * as op from '../graph/ops.ts';
import type { LossTerm } from '../train/loss.ts';
import type { RgbPlanes } from './exemplar.ts';
import { hannWindow, POWER_FLOOR, tileStarts, welchPower, windowPower } from './spectrum.ts';
import { displayedRgb } from './swd-loss.ts';

/** Largest tile side: 64 covers a default 64 x 64 grid in one tile. */
const MAX_TILE = 64;

/** The tile side for a grid and an exemplar: the largest power of 2 up to 64 that fits both. */
export function spectrumTileSide(grid: { width: number; height: number }, exemplar: { width: number; height: number }): number {
  const side = Math.min(MAX_TILE, grid.width, grid.height, exemplar.width, exemplar.height);
  if (side < 8) throw new Error(`spectrum loss: ${side} px is too small for a spectrum (at least 8 px per side of the grid and the exemplar)`);
  return 1 << Math.floor(Math.log2(side));
}

/** A 3 x 3 box blur of an L x L array of frequencies, wrapping around (frequencies are periodic). */
export function blurFrequencies(p: ArrayLike<number>, L: number): Float64Array {
  const out = new Float64Array(L * L);
  for (let u = 0; u < L; u++) {
    for (let v = 0; v < L; v++) {
      let sum = 0;
      for (let du = -1; du <= 1; du++) for (let dv = -1; dv <= 1; dv++) sum += p[((u + du + L) % L) * L + ((v + dv + L) % L)];
      out[u * L + v] = sum / 9;
    }
  }
  return out;
}

/** The term's target: the exemplar's smoothed log power spectrum, [L, L]. */
export function exemplarLogSpectrum(exemplar: RgbPlanes, L: number): Float32Array {
  return Float32Array.from(blurFrequencies(welchPower(exemplar, L), L), (p) => Math.log(p + POWER_FLOOR));
}

/** cos and sin of 2 pi u y / L, [L, L]: DFT = (C - iS) X (C - iS). */
function dftMatrices(L: number): [Float32Array, Float32Array] {
  const cos = new Float32Array(L * L);
  const sin = new Float32Array(L * L);
  for (let u = 0; u < L; u++) {
    for (let y = 0; y < L; y++) {
      const angle = (2 * Math.PI * ((u * y) % L)) / L;
      cos[u * L + y] = Math.cos(angle);
      sin[u * L + y] = Math.sin(angle);
    }
  }
  return [cos, sin];
}

/** The smoothed log power spectrum of a batch of states' displayed colour, [1, 1, L, L] (a graph value). */
export function frameLogSpectrum(state: Value, topology: Topology, L: number): Value {
  const g = state.graph;
  const rgb = displayedRgb(state, topology);
  const [, , h, w] = rgb.shape;
  const hann = hannWindow(L);
  const scale = 1 / Math.sqrt(windowPower(hann)); // so that |DFT|^2 is already divided by the window's power
  const window = g.constant(Float32Array.from({ length: L * L }, (_, i) => hann[Math.floor(i / L)] * hann[i % L] * scale), [L, L]);
  const [cosData, sinData] = dftMatrices(L);
  const C = g.constant(cosData, [L, L]);
  const S = g.constant(sinData, [L, L]);
  const tiles: Value[] = [];
  for (const y0 of tileStarts(h, L)) {
    for (const x0 of tileStarts(w, L)) {
      const tile = L === h && L === w ? rgb : op.slice(rgb, [y0, x0], [y0 + L, x0 + L], [2, 3]);
      const x = op.mul(op.sub(tile, op.reduceMean(tile, [2, 3])), window);
      const cx = op.matmul(C, x);
      const sx = op.matmul(S, x);
      const re = op.sub(op.matmul(cx, C), op.matmul(sx, S));
      const im = op.add(op.matmul(cx, S), op.matmul(sx, C));
      tiles.push(op.reduceMean(op.add(op.mul(re, re), op.mul(im, im)), [0, 1])); // [1, 1, L, L]
    }
  }
  const power = tiles.length === 1 ? tiles[0] : op.mul(tiles.reduce((a, b) => op.add(a, b)), 1 / tiles.length);
  const box = g.constant(new Float32Array(9).fill(1 / 9), [1, 1, 3, 3]);
  const blurred = op.conv(op.pad(power, [0, 0, 1, 1, 0, 0, 1, 1], 'wrap'), box, null);
  return op.log(op.add(blurred, POWER_FLOOR));
}

/** The spectrum term: mean squared difference of the smoothed log power spectra (frames against exemplar). */
export function spectrumTerm(exemplar: RgbPlanes, topology: Topology, weight: number): LossTerm {
  return {
    name: 'spectrum',
    weight,
    build(state) {
      const [, , h, w] = state.shape;
      const L = spectrumTileSide({ width: w, height: h }, exemplar);
      const target = state.graph.constant(exemplarLogSpectrum(exemplar, L), [1, 1, L, L]);
      const diff = op.sub(frameLogSpectrum(state, topology, L), target);
      return op.reduceMean(op.mul(diff, diff), [0, 1, 2, 3], false);
    },
  };
}
