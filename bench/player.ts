/**
 * `npm run bench:player`: steps per second of <nca-player> in headless Chromium on SwiftShader
 * (CPU), per backend, at 256x256 and 1024x1024, for the source method's topology (12 channels,
 * 4 filters, 128 hidden). Prints one JSON object (use `npm run -s` for clean stdout). Options:
 * `--sizes 256,1920x1080`, `--seconds 3` (time per measurement), `--backends webgl2,webgpu`,
 * `--hardware` (a real GPU instead of SwiftShader).
 *
 * Timing: N steps then a state read-back (which waits for the GPU), minus a read-back alone.
 */
import { cpus } from 'node:os';
import { encodeNca } from '../formats/index.ts';
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
const backends = option('backends', 'webgl2,webgpu').split(',');
const hardware = args.includes('--hardware');

const harness = await startHarness({ hardware });
harness.routes.set('/bench.nca', { body: encodeNca(randomModel({ seed: 1 })), type: 'application/octet-stream' });
const results: { backend: string; width: number; height: number; steps: number; seconds: number; stepsPerSecond: number }[] = [];
try {
  for (const backend of backends) {
    for (const { width, height } of sizes) {
      const { page } = await harness.open();
      const loaded = await addPlayer(page, 'p', { src: '/bench.nca', backend, width: String(width), height: String(height), paused: '' });
      if (loaded.event !== 'load') throw new Error(`${backend}: ${loaded.detail.message}`);
      /** Milliseconds for `steps` steps, the GPU work included. */
      const time = (steps: number) =>
        page.evaluate(async (steps) => {
          const player = (window as any).players.p;
          const start = performance.now();
          player.step(steps);
          await player.readState();
          const stepped = performance.now();
          await player.readState();
          return 2 * stepped - start - performance.now();
        }, steps);
      const probe = Math.max(await time(1), 1); // also warms up the shaders
      const steps = Math.max(2, Math.round((seconds * 1000) / probe));
      const ms = await time(steps);
      results.push({ backend, width, height, steps, seconds: ms / 1000, stepsPerSecond: (steps * 1000) / ms });
      console.error(`${backend} ${width}x${height}: ${((steps * 1000) / ms).toFixed(2)} steps/s (${steps} steps in ${(ms / 1000).toFixed(2)} s)`);
      await page.close();
    }
  }
} finally {
  await harness.close();
}

console.log(
  JSON.stringify(
    {
      benchmark: 'player-steps-per-second',
      model: { channels: 12, filters: 4, hidden: 128, fireRate: 0.5 },
      device: hardware ? 'the GPU Chromium picked (--hardware)' : 'SwiftShader (CPU) in headless Chromium',
      machine: { cpus: cpus().length, cpu: cpus()[0]?.model, node: process.version },
      date: new Date().toISOString(),
      results,
    },
    null,
    2,
  ),
);
