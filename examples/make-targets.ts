/**
 * Draws the example training targets (no third-party images): small RGBA PNGs with
 * transparent backgrounds, so each trains a Growing-NCA style model that grows the
 * shape from one cell. Run: `npx tsx examples/make-targets.ts` (writes examples/targets/).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { encodePng } from '../trainer/image/png.ts';

type Rgba = [number, number, number, number];
/** Colour of a point (u, v) in [-1, 1]², or null for transparent. */
type Shader = (u: number, v: number) => Rgba | null;

const SIZE = 32;
/** Samples per pixel side: anti-aliased edges train more smoothly than jagged ones. */
const SUPERSAMPLE = 4;

function draw(shader: Shader): Uint8Array {
  const data = new Uint8Array(SIZE * SIZE * 4);
  for (let y = 0; y < SIZE; y++) {
    for (let x = 0; x < SIZE; x++) {
      const sum = [0, 0, 0, 0];
      for (let sy = 0; sy < SUPERSAMPLE; sy++) {
        for (let sx = 0; sx < SUPERSAMPLE; sx++) {
          const u = ((x + (sx + 0.5) / SUPERSAMPLE) / SIZE) * 2 - 1;
          const v = ((y + (sy + 0.5) / SUPERSAMPLE) / SIZE) * 2 - 1;
          const c = shader(u, v);
          if (!c) continue;
          // Premultiplied sums, so transparent samples do not darken the edge colour.
          for (let k = 0; k < 3; k++) sum[k] += c[k] * c[3];
          sum[3] += c[3];
        }
      }
      const n = SUPERSAMPLE * SUPERSAMPLE;
      const alpha = sum[3] / n;
      const at = (y * SIZE + x) * 4;
      for (let k = 0; k < 3; k++) data[at + k] = alpha > 0 ? Math.round(sum[k] / sum[3]) : 0;
      data[at + 3] = Math.round(alpha);
    }
  }
  return data;
}

/** A warm ring, lighter towards its inner edge. */
const ring: Shader = (u, v) => {
  const r = Math.hypot(u, v);
  if (r < 0.45 || r > 0.8) return null;
  const t = (r - 0.45) / 0.35;
  return [250, Math.round(190 - 120 * t), 40, 255];
};

/** A heart: the implicit curve (x² + y² − 1)³ − x² y³ ≤ 0, red with a pink highlight. */
const heart: Shader = (u, v) => {
  const x = u * 1.25;
  const y = -v * 1.25 + 0.15;
  if ((x * x + y * y - 1) ** 3 - x * x * y ** 3 > 0) return null;
  return Math.hypot(x + 0.45, y - 0.5) < 0.28 ? [255, 150, 170, 255] : [215, 30, 60, 255];
};

/** A flower: five blue-violet petals around a yellow centre. */
const flower: Shader = (u, v) => {
  const r = Math.hypot(u, v);
  const a = Math.atan2(v, u);
  if (r < 0.28) return [255, 205, 40, 255];
  const petal = 0.55 + 0.35 * Math.cos(5 * a);
  if (r > petal) return null;
  return r < 0.4 ? [120, 60, 200, 255] : [90, 120, 235, 255];
};

export const TARGETS: Record<string, Shader> = { ring, heart, flower };

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const dir = fileURLToPath(new URL('./targets/', import.meta.url));
  mkdirSync(dir, { recursive: true });
  for (const [name, shader] of Object.entries(TARGETS)) {
    writeFileSync(`${dir}${name}.png`, encodePng({ width: SIZE, height: SIZE, data: draw(shader) }));
    console.log(`wrote examples/targets/${name}.png (${SIZE}x${SIZE})`);
  }
}
