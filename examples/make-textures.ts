/**
 * Draws the example texture exemplars (no third-party images): seamless 64×64 RGB PNGs that
 * `nca train --texture` turns into living textures. Each tiles (its right edge continues at the
 * left, its bottom at the top), so a patch taken anywhere, across the edges too, is a real patch.
 * Three kinds of structure a person checks at a glance: round cells (do they stay round?),
 * oriented stripes (do they keep their direction?) and marble veins (soft, irregular, multi-scale).
 * Run: `npx tsx examples/make-textures.ts` (writes examples/textures/).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Rng } from '../formats/random.ts';
import { encodePng } from '../trainer/image/png.ts';

const SIZE = 64;
type Rgb = [number, number, number];
/** Colour of the texture at a point (x, y) in [0, SIZE)², continuous, periodic with period SIZE. */
type Painter = (x: number, y: number) => Rgb;

/** Samples per pixel side: anti-aliased edges. */
const SUPERSAMPLE = 3;

function paint(painter: Painter): Uint8Array {
  const data = new Uint8Array(SIZE * SIZE * 4);
  for (let y = 0; y < SIZE; y++) {
    for (let x = 0; x < SIZE; x++) {
      const sum = [0, 0, 0];
      for (let sy = 0; sy < SUPERSAMPLE; sy++) {
        for (let sx = 0; sx < SUPERSAMPLE; sx++) {
          const c = painter(x + (sx + 0.5) / SUPERSAMPLE, y + (sy + 0.5) / SUPERSAMPLE);
          for (let k = 0; k < 3; k++) sum[k] += c[k];
        }
      }
      const at = (y * SIZE + x) * 4;
      for (let k = 0; k < 3; k++) data[at + k] = Math.round(sum[k] / SUPERSAMPLE ** 2);
      data[at + 3] = 255;
    }
  }
  return data;
}

const mix = (a: Rgb, b: Rgb, t: number): Rgb => [0, 1, 2].map((k) => a[k] + (b[k] - a[k]) * t) as Rgb;
const smoothstep = (a: number, b: number, t: number) => {
  const s = Math.min(1, Math.max(0, (t - a) / (b - a)));
  return s * s * (3 - 2 * s);
};

/** Offset of `d` wrapped into [-SIZE/2, SIZE/2): distances on the torus, so the texture tiles. */
const wrap = (d: number) => d - SIZE * Math.round(d / SIZE);

/**
 * Cells: a jittered grid of nuclei (Worley/Voronoi on the torus). Each cell is a rounded blob
 * whose colour fades to a dark membrane where the nearest and second-nearest nuclei tie.
 */
function cells(seed: number): Painter {
  const rng = new Rng(seed);
  const perSide = 6;
  const pitch = SIZE / perSide;
  const nuclei: { x: number; y: number; tint: number }[] = [];
  for (let j = 0; j < perSide; j++) {
    for (let i = 0; i < perSide; i++) {
      nuclei.push({ x: (i + 0.2 + 0.6 * rng.next()) * pitch, y: (j + 0.2 + 0.6 * rng.next()) * pitch, tint: rng.next() });
    }
  }
  const membrane: Rgb = [40, 20, 50];
  return (x, y) => {
    let best = Infinity;
    let second = Infinity;
    let tint = 0;
    for (const n of nuclei) {
      const d = Math.hypot(wrap(x - n.x), wrap(y - n.y));
      if (d < best) [second, best, tint] = [best, d, n.tint];
      else if (d < second) second = d;
    }
    const inside: Rgb = mix([120, 200, 90], [230, 220, 80], tint);
    const core = mix([255, 250, 200], inside, smoothstep(0, 0.45 * pitch, best));
    return mix(membrane, core, smoothstep(0.6, 2.2, second - best));
  };
}

/** A smooth periodic displacement: a few sines whose frequencies are whole turns per tile. */
function periodicWarp(rng: Rng, terms: number, amplitude: number): (x: number, y: number) => number {
  const waves = Array.from({ length: terms }, () => ({
    fx: Math.floor(rng.next() * 3) + 1,
    fy: Math.floor(rng.next() * 3) - 1,
    phase: rng.next() * 2 * Math.PI,
  }));
  return (x, y) => {
    let s = 0;
    for (const w of waves) s += Math.sin((2 * Math.PI * (w.fx * x + w.fy * y)) / SIZE + w.phase);
    return (amplitude * s) / terms;
  };
}

/** Stripes: wavy diagonal bands, like a tiger's, with a fixed direction (6 per tile along (1, 2)). */
function stripes(seed: number): Painter {
  const warp = periodicWarp(new Rng(seed), 3, 0.9);
  const dark: Rgb = [25, 20, 15];
  const light: Rgb = [235, 150, 40];
  return (x, y) => {
    // 2π(2x + 4y)/SIZE: whole turns across the tile in x and in y, so it tiles; 6.7 px wide bands.
    const phase = (2 * Math.PI * (2 * x + 4 * y)) / SIZE + 2.2 * warp(x, y);
    return mix(light, dark, smoothstep(-0.25, 0.25, Math.sin(phase)));
  };
}

/** Periodic value noise: a lattice of `cells`² random values, wrapped, smoothly interpolated. */
function periodicNoise(rng: Rng, cells: number): (x: number, y: number) => number {
  const lattice = Float32Array.from({ length: cells * cells }, () => rng.next());
  const at = (i: number, j: number) => lattice[(((j % cells) + cells) % cells) * cells + (((i % cells) + cells) % cells)];
  return (x, y) => {
    const u = (x / SIZE) * cells;
    const v = (y / SIZE) * cells;
    const i = Math.floor(u);
    const j = Math.floor(v);
    const s = smoothstep(0, 1, u - i);
    const t = smoothstep(0, 1, v - j);
    const top = at(i, j) + (at(i + 1, j) - at(i, j)) * s;
    const bottom = at(i, j + 1) + (at(i + 1, j + 1) - at(i, j + 1)) * s;
    return top + (bottom - top) * t;
  };
}

/** Marble: turbulence (sum of |noise| over octaves) bending thin dark veins through pale stone. */
function marble(seed: number): Painter {
  const rng = new Rng(seed);
  const octaves = [2, 4, 8].map((cells) => periodicNoise(rng, cells));
  const stone: Rgb = [225, 228, 235];
  const shade: Rgb = [150, 165, 190];
  const vein: Rgb = [45, 55, 85];
  return (x, y) => {
    let turbulence = 0;
    octaves.forEach((noise, k) => (turbulence += Math.abs(noise(x, y) - 0.5) / 2 ** k));
    const band = Math.sin((2 * Math.PI * x) / SIZE + 10 * turbulence);
    const base = mix(stone, shade, smoothstep(0.2, 0.9, turbulence));
    return mix(vein, base, smoothstep(0.1, 0.45, Math.abs(band)));
  };
}

export const TEXTURES: Record<string, Painter> = { cells: cells(3), stripes: stripes(5), marble: marble(7) };

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const dir = fileURLToPath(new URL('./textures/', import.meta.url));
  mkdirSync(dir, { recursive: true });
  for (const [name, painter] of Object.entries(TEXTURES)) {
    writeFileSync(`${dir}${name}.png`, encodePng({ width: SIZE, height: SIZE, data: paint(painter) }));
    console.log(`wrote examples/textures/${name}.png (${SIZE}x${SIZE}, seamless)`);
  }
}
