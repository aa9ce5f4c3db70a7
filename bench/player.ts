/**
 * `npm run bench:player`: steps per second of <nca-player> in headless Chromium, per backend and
 * grid size, on SwiftShader (CPU) unless `--hardware`. Prints one JSON object (use `npm run -s`
 * for clean stdout). Options:
 *
 *   --sizes 256,1920x1080     grid sizes (default 256,1024)
 *   --backends webgl2,webgpu  (default both)
 *   --hidden N                hidden units of the random model (default 128; 12 channels, 4 filters)
 *   --model FILE.nca          a model file instead, e.g. a living (v1.1) one: examples/models/heart.nca
 *   --warm-steps N            steps run before timing (a living model grows from one cell; default 0)
 *   --seconds S               time per measurement (default 3)
 *   --rounds R                measurements per case, interleaved; the fastest counts (default 1)
 *   --hardware                the GPU Chromium picks instead of SwiftShader
 *   --cajs DIR                also time Self-Organising Textures' ca.js, side by side: DIR holds ca.js,
 *                             twgl-full.min.js (twgl.js 4.x) and models.json (its demo's); not shipped here
 *
 * Timing: N steps then a state read-back (which waits for the GPU), minus a read-back alone; ca.js
 * the same with its own 1-pixel flush. `seedMs`: making the seed state (restart) the same way.
 */
import { readFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { decodeNca, encodeNca, type NcaModel } from '../formats/index.ts';
import { randomModel } from '../test/helpers/models.ts';
import { addPlayer, startHarness } from '../test/player/harness.ts';

const args = process.argv.slice(2);
const option = (name: string, fallback: string) => {
  const at = args.indexOf(`--${name}`);
  return at >= 0 ? args[at + 1] : fallback;
};
const sizes = option('sizes', '256,1024')
  .split(',')
  .map((size) => {
    const [width, height = width] = size.split('x').map(Number);
    return { width, height };
  });
const seconds = Number(option('seconds', '3'));
const rounds = Number(option('rounds', '1'));
const warmSteps = Number(option('warm-steps', '0'));
const hardware = args.includes('--hardware');
const cajs = option('cajs', '');
const backends = option('backends', 'webgl2,webgpu').split(',');
const modelFile = option('model', '');
const model: NcaModel = modelFile
  ? decodeNca(readFileSync(modelFile)).model
  : randomModel({ seed: 1, topology: { hidden: Number(option('hidden', '128')) } });

/** In the page: milliseconds for `steps` steps of `window.players.p`, the GPU work included. */
const time = (page: Page, steps: number) =>
  page.evaluate(async (steps) => {
    const player = (window as any).players.p;
    const start = performance.now();
    player.step(steps);
    await player.readState();
    const stepped = performance.now();
    await player.readState();
    return 2 * stepped - start - performance.now();
  }, steps);

/** In the page: milliseconds to make the seed state again. */
const seedTime = (page: Page) =>
  page.evaluate(async () => {
    const player = (window as any).players.p;
    const start = performance.now();
    player.restart();
    await player.readState();
    const seeded = performance.now();
    await player.readState();
    return Math.max(0, 2 * seeded - start - performance.now());
  });

/** Self-Organising Textures' ca.js on a WebGL1 canvas, behind the same step/readState interface. */
async function openCaJs(page: Page, width: number, height: number): Promise<void> {
  await page.addScriptTag({ url: '/cajs/twgl-full.min.js' });
  await page.evaluate(
    async ([width, height]) => {
      const { CA } = await import('/cajs/ca.js' as string);
      const models = await (await fetch('/cajs/models.json')).json();
      const canvas = Object.assign(document.createElement('canvas'), { width, height });
      document.body.append(canvas);
      const gl = canvas.getContext('webgl')!;
      const ca = new CA(gl, models, [width, height]);
      while (!ca.layers.every((layer: { ready: boolean }) => layer.ready)) await new Promise((resolve) => setTimeout(resolve, 20));
      ca.paint(0, 0, 10000, 0); // its first model everywhere
      const pixel = new Uint8Array(4);
      // (methods, not arrow functions: tsx would name those with a helper the page does not have)
      (window as any).players = {
        p: {
          step(steps: number) {
            for (let i = 0; i < steps; i++) ca.step();
          },
          // ca.js's own flush: reading one pixel waits for the GPU.
          async readState() {
            (window as any).twgl.bindFramebufferInfo(gl, ca.buf.state.fbi);
            gl.readPixels(0, 0, 1, 1, gl.RGBA, gl.UNSIGNED_BYTE, pixel);
          },
        },
      };
    },
    [width, height],
  );
}

const harness = await startHarness({ hardware });
harness.routes.set('/bench.nca', { body: encodeNca(model), type: 'application/octet-stream' });
if (cajs) {
  for (const file of ['ca.js', 'twgl-full.min.js', 'models.json']) {
    harness.routes.set(`/cajs/${file}`, { body: readFileSync(join(cajs, file)), type: file.endsWith('.js') ? 'text/javascript' : 'application/json' });
  }
}
/** What each API reports about the GPU it runs on (SwiftShader shows here as such). */
const gpuOf = (page: Page) =>
  page.evaluate(async () => {
    const gl = document.createElement('canvas').getContext('webgl2');
    const debug = gl?.getExtension('WEBGL_debug_renderer_info');
    const adapter = await (navigator as any).gpu?.requestAdapter({ powerPreference: 'high-performance' });
    const info = adapter?.info;
    return {
      webgl2: gl ? String(gl.getParameter(debug ? debug.UNMASKED_RENDERER_WEBGL : gl.RENDERER)) : null,
      webgpu: info ? [info.vendor, info.architecture, info.device, info.description].filter(Boolean).join(' ') || 'an adapter without a description' : null,
    };
  });

interface Result {
  backend: string;
  width: number;
  height: number;
  steps: number;
  seconds: number;
  stepsPerSecond: number;
  seedMs?: number;
}
const results: Result[] = [];
let gpu: { webgl2: string | null; webgpu: string | null } = { webgl2: null, webgpu: null };
try {
  gpu = await gpuOf((await harness.open()).page);
  const cases: { backend: string; width: number; height: number; page: Page; steps: number }[] = [];
  for (const backend of [...backends, ...(cajs ? ['ca.js'] : [])]) {
    for (const { width, height } of sizes) {
      const { page } = await harness.open();
      if (backend === 'ca.js') await openCaJs(page, width, height);
      else {
        const attributes = { src: '/bench.nca', backend, width: String(width), height: String(height), paused: '' };
        const loaded = await addPlayer(page, 'p', attributes);
        if (loaded.event !== 'load') throw new Error(`${backend}: ${loaded.detail.message}`);
      }
      if (warmSteps) await time(page, warmSteps);
      await time(page, 1); // warms up: shaders compile on first use
      const probe = Math.max(await time(page, 1), 1);
      cases.push({ backend, width, height, page, steps: Math.max(2, Math.round((seconds * 1000) / probe)) });
    }
  }
  for (let round = 0; round < rounds; round++) {
    for (const { backend, width, height, page, steps } of cases) {
      const ms = await time(page, steps);
      const result: Result = { backend, width, height, steps, seconds: ms / 1000, stepsPerSecond: (steps * 1000) / ms };
      if (backend !== 'ca.js') result.seedMs = await seedTime(page);
      console.error(`${backend} ${width}x${height}: ${result.stepsPerSecond.toFixed(2)} steps/s (${steps} steps in ${(ms / 1000).toFixed(2)} s)`);
      const best = results.findIndex((r) => r.backend === backend && r.width === width && r.height === height);
      if (best < 0) results.push(result);
      else {
        const seedMs = backend === 'ca.js' ? undefined : Math.min(result.seedMs!, results[best].seedMs!);
        if (result.stepsPerSecond > results[best].stepsPerSecond) results[best] = result;
        results[best].seedMs = seedMs;
      }
    }
  }
} finally {
  await harness.close();
}

const { channels, hidden, filters, fireRate, alive } = model.topology;
console.log(
  JSON.stringify(
    {
      benchmark: 'player-steps-per-second',
      model: { file: modelFile || null, channels, filters: filters.length, hidden, fireRate, living: Boolean(alive), warmSteps },
      device: hardware ? 'the GPU Chromium picked (--hardware)' : 'SwiftShader (CPU) in headless Chromium',
      gpu,
      machine: { cpus: cpus().length, cpu: cpus()[0]?.model, node: process.version, loadavg1m: loadavg()[0] },
      date: new Date().toISOString(),
      rounds,
      results,
    },
    null,
    2,
  ),
);
