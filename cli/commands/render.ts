/** `nca render MODEL --gif out.gif ...`: frames of a model on the CPU, as GIF, PNG frames, MP4 or WebM. */
import { join } from 'node:path';
import { createEngine, ENGINES } from '../../exporter/render/engine.ts';
import { framesToRender, renderFrames, type FramePlan } from '../../exporter/render/frames.ts';
import { GifSink } from '../../exporter/output/gif-sink.ts';
import { PngFramesSink } from '../../exporter/output/png-sink.ts';
import { ffmpegProblem, VideoSink } from '../../exporter/output/video-sink.ts';
import type { FrameSink, VideoSpec } from '../../exporter/output/sink.ts';
import { parseFlagsWithConfig } from '../config.ts';
import { modelArg, readModel } from '../model.ts';
import { checkOutputFile, prepareOutputFolder, writing } from '../outputs.ts';
import { formatBytes, Progress } from '../progress.ts';
import { DEVICES } from '../../trainer/engine/session.ts';
import { choiceValue, colorValue, intValue, sizeValue, stringValue } from '../values.ts';
import { CliError, EXIT } from '../exit-codes.ts';
import type { Command } from '../command.ts';

const help = `Usage: nca render MODEL [outputs] [options]

Runs a model (.nca, training checkpoint or run folder) on the CPU from its seed and writes
the frames. At least one output is needed; several can be written in one pass.

Outputs:
  --gif FILE              looping animated GIF (256-colour palette over all frames)
  --png-dir DIR           one PNG per frame: DIR/frame_0000.png, ...
  --mp4 FILE              H.264 video (needs ffmpeg)
  --webm FILE             VP9 video (needs ffmpeg)

Options:
  --size WxH              grid size in cells, any aspect (default: the grid the model
                          was trained on, from its metadata, else 128x128)
  --scale N               pixels per cell side, for crisp enlarged small grids (default 1)
  --frames N              frames in the output (default 120)
  --steps-per-frame N     NCA steps between frames (default 10)
  --fps N                 frames per second (default 20)
  --warmup N              steps before the first frame (default 0; 256 with --loop)
  --loop                  seamless loop: crossfade the ends
  --crossfade N           frames blended across the loop point (default frames/4)
  --seed N                noise and update-mask seed (default 0)
  --device DEVICE         ${DEVICES.join(', ')} for the ort engine (default cpu; without
                          the provider or an adapter it says so and runs on the CPU)
  --background #RRGGBB    what RGBA models are drawn over (default #ffffff)
  --engine ort|reference  ort is fast; reference is the plain-TS core (default ort)
  --config FILE           JSON file with any of these flags, e.g. {"size": "256x144"}
  --json                  print a machine-readable summary
  --quiet                 no progress bar

Example:
  nca render examples/models/ring.nca --gif ring.gif --size 256x144 --frames 120 --steps-per-frame 10 --loop`;

const options = {
  gif: { type: 'string' },
  'png-dir': { type: 'string' },
  mp4: { type: 'string' },
  webm: { type: 'string' },
  size: { type: 'string' },
  scale: { type: 'string' },
  frames: { type: 'string' },
  'steps-per-frame': { type: 'string' },
  fps: { type: 'string' },
  warmup: { type: 'string' },
  loop: { type: 'boolean' },
  crossfade: { type: 'string' },
  seed: { type: 'string' },
  background: { type: 'string' },
  device: { type: 'string' },
  engine: { type: 'string' },
  json: { type: 'boolean' },
  quiet: { type: 'boolean' },
} as const;

const LOOP_WARMUP = 256;
/** Steps per onnxruntime call: the largest divisor of stepsPerFrame up to this, so no step is wasted. */
const MAX_CHUNK = 32;

function chunkFor(stepsPerFrame: number): number {
  for (let k = Math.min(stepsPerFrame, MAX_CHUNK); k > 1; k--) if (stepsPerFrame % k === 0) return k;
  return 1;
}

async function openSinks(values: Record<string, unknown>, spec: VideoSpec): Promise<FrameSink[]> {
  const sinks: FrameSink[] = [];
  const gif = stringValue(values, 'gif');
  const pngDir = stringValue(values, 'png-dir');
  const videos = (['mp4', 'webm'] as const).filter((f) => stringValue(values, f));
  if (videos.length > 0) {
    const problem = ffmpegProblem();
    if (problem) throw new CliError(problem, EXIT.unavailable);
  }
  for (const path of [gif, ...videos.map((f) => stringValue(values, f))]) if (path) checkOutputFile(path);
  if (pngDir) prepareOutputFolder(pngDir);
  if (gif) sinks.push(new GifSink(gif, spec));
  if (pngDir) sinks.push(new PngFramesSink(pngDir, spec));
  for (const format of videos) sinks.push(new VideoSink(stringValue(values, format)!, format, spec));
  return sinks;
}

export const render: Command = {
  name: 'render',
  summary: 'render a model to a looping GIF, PNG frames, MP4 or WebM on the CPU',
  help,
  async run(argv) {
    const { values, positionals } = await parseFlagsWithConfig(argv, options);
    const path = modelArg(positionals);
    if (!['gif', 'png-dir', 'mp4', 'webm'].some((k) => values[k])) {
      throw new CliError('no output given: add --gif FILE, --png-dir DIR, --mp4 FILE or --webm FILE (see --help)', EXIT.usage);
    }
    const { model } = await readModel(path);
    const trained = model.metadata.extra?.grid as { width?: number; height?: number } | undefined;
    const { width, height } = sizeValue(values, 'size', trained?.width && trained.height ? `${trained.width}x${trained.height}` : '128x128');
    const frames = intValue(values, 'frames', 120, 1, 100_000);
    const loop = values.loop === true;
    const plan: FramePlan = {
      frames,
      stepsPerFrame: intValue(values, 'steps-per-frame', 10, 1, 10_000),
      warmup: intValue(values, 'warmup', loop ? LOOP_WARMUP : 0, 0, 10_000_000),
      crossfade: loop ? intValue(values, 'crossfade', Math.max(1, Math.round(frames / 4)), 1, Math.max(1, frames - 1)) : 0,
      background: colorValue(values, 'background', '#ffffff'),
      scale: intValue(values, 'scale', 1, 1, 16),
    };
    if (loop && frames < 2) throw new CliError('--loop needs at least 2 frames (see --help)', EXIT.usage);
    const spec: VideoSpec = { width: width * plan.scale, height: height * plan.scale, fps: intValue(values, 'fps', 20, 1, 100) };
    const engineName = choiceValue(values, 'engine', ENGINES, 'ort');
    const seed = intValue(values, 'seed', 0, 0, 0xffffffff);
    const sinks = await openSinks(values, spec);

    const device = choiceValue(values, 'device', DEVICES, 'cpu');
    const engine = await createEngine(engineName, model, { width, height }, { seed, chunk: chunkFor(plan.stepsPerFrame), device });
    const progress = new Progress({ label: 'rendering', total: framesToRender(plan), unit: 'frames', enabled: !values.quiet });
    let written = 0;
    const started = performance.now();
    try {
      // Progress counts frames as the engine makes them: the crossfade holds its first ones back.
      for await (const frame of renderFrames(engine, plan, () => progress.tick())) {
        for (const sink of sinks) await writing(sink.target, () => sink.add(frame));
        written++;
      }
    } finally {
      await engine.dispose();
    }
    progress.finish();
    const renderSeconds = (performance.now() - started) / 1000;
    const outputs = [];
    for (const sink of sinks) outputs.push({ path: sink.target, bytes: await writing(sink.target, () => sink.finish()) });
    const summary = {
      model: path,
      width: spec.width,
      height: spec.height,
      frames: written,
      stepsPerFrame: plan.stepsPerFrame,
      warmup: plan.warmup,
      crossfade: plan.crossfade,
      fps: spec.fps,
      seed,
      engine: engineName,
      renderSeconds: Number(renderSeconds.toFixed(3)),
      framesPerSecond: Number((framesToRender(plan) / renderSeconds).toFixed(2)),
      outputs,
    };
    if (values.json) {
      console.log(JSON.stringify(summary, null, 2));
    } else {
      const what = `${written} frames ${spec.width}x${spec.height} at ${spec.fps} fps${loop ? ', seamless loop' : ''}`;
      for (const o of outputs) console.log(`wrote ${o.path} (${formatBytes(o.bytes)}): ${what}`);
      console.log(`rendered in ${renderSeconds.toFixed(1)} s (${summary.framesPerSecond} frames/s, ${engineName} engine)`);
    }
    return EXIT.ok;
  },
};
