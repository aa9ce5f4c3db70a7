/**
 * `npm run bench:render`: CPU render speed at 256x144 with the default topology
 * (12 channels, hidden 128), for both engines, and the GIF encoder's time and size
 * for the rendered frames. Prints JSON. Medians of `--repeats` runs.
 *
 *   npm run -s bench:render -- --size 256x144 --frames 60 --steps-per-frame 10
 */
import { parseArgs } from 'node:util';
import { createEngine, type EngineName } from '../exporter/render/engine.ts';
import { renderFrames } from '../exporter/render/frames.ts';
import { encodeGif } from '../exporter/gif/encoder.ts';
import { randomModel } from '../test/helpers/models.ts';

const { values } = parseArgs({
  options: {
    size: { type: 'string', default: '256x144' },
    frames: { type: 'string', default: '60' },
    'steps-per-frame': { type: 'string', default: '10' },
    'reference-steps': { type: 'string', default: '4' },
    repeats: { type: 'string', default: '3' },
  },
});
const [width, height] = values.size!.split('x').map(Number);
const frames = Number(values.frames);
const stepsPerFrame = Number(values['steps-per-frame']);
const repeats = Number(values.repeats);
const model = randomModel();
const grid = { width, height };
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function stepsPerSecond(engine: EngineName, steps: number): Promise<number> {
  const runs: number[] = [];
  for (let r = 0; r < repeats; r++) {
    const e = await createEngine(engine, model, grid, { chunk: Math.min(steps, stepsPerFrame) });
    await e.run(Math.min(steps, stepsPerFrame)); // warm up: onnxruntime plans its first run
    const t0 = performance.now();
    await e.run(steps);
    runs.push(steps / ((performance.now() - t0) / 1000));
    await e.dispose();
  }
  return median(runs);
}

const ortSteps = await stepsPerSecond('ort', frames * stepsPerFrame);
const referenceSteps = await stepsPerSecond('reference', Number(values['reference-steps']));

const engine = await createEngine('ort', model, grid, { chunk: stepsPerFrame });
const rendered: Uint8Array[] = [];
const plan = { frames, stepsPerFrame, warmup: 0, crossfade: 0, background: [255, 255, 255] as [number, number, number], scale: 1 };
for await (const frame of renderFrames(engine, plan)) rendered.push(frame);
await engine.dispose();
const t0 = performance.now();
const gif = encodeGif(rendered, { width, height, delayCs: 5 });
const gifSeconds = (performance.now() - t0) / 1000;

console.log(
  JSON.stringify(
    {
      date: new Date().toISOString().slice(0, 10),
      size: `${width}x${height}`,
      stepsPerFrame,
      ort: { stepsPerSecond: +ortSteps.toFixed(1), framesPerSecond: +(ortSteps / stepsPerFrame).toFixed(2) },
      reference: { stepsPerSecond: +referenceSteps.toFixed(2), framesPerSecond: +(referenceSteps / stepsPerFrame).toFixed(3) },
      gif: { frames, bytes: gif.length, encodeSeconds: +gifSeconds.toFixed(2), framesPerSecond: +(frames / gifSeconds).toFixed(1) },
    },
    null,
    2,
  ),
);
