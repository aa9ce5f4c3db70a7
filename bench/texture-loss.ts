/**
 * `npm run bench:texture-loss`: one evaluation (loss + gradient w.r.t. the batch)
 * of each texture loss, patch SWD, VGG16 Gram and VGG16 SWD, side by side at
 * equal work (same grid, batch and exemplar), fastest of several. Without
 * --vgg FILE it writes random weights with VGG16's real widths to a temporary
 * file: the time of a convolution does not depend on the values. Prints JSON.
 *
 *   npm run bench:texture-loss -- --sizes 64,128 --batch 4 --repeat 3 --threads 2 [--vgg FILE]
 */
import os from 'node:os';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { defaultTopology } from '../formats/model.ts';
import { Rng } from '../formats/random.ts';
import { encodePng } from '../trainer/image/png.ts';
import { discTexture } from '../trainer/texture/synthetic.ts';
import { textureLoss, TEXTURE_LOSSES, type TextureLossSpec } from '../trainer/texture/texture-loss.ts';
import { openVgg16 } from '../trainer/vgg/vgg16.ts';

const { values } = parseArgs({
  options: {
    sizes: { type: 'string', default: '64,128' },
    batch: { type: 'string', default: '4' },
    repeat: { type: 'string', default: '3' },
    threads: { type: 'string', default: String(os.cpus().length) },
    vgg: { type: 'string' },
  },
});
const batch = Number(values.batch);
const repeat = Number(values.repeat);
const threads = Number(values.threads);

/** VGG16's 13 convolutions (torchvision indices) with random weights, in safetensors. */
function randomVgg16(path: string): void {
  const widths = [64, 64, 128, 128, 256, 256, 256, 512, 512, 512, 512, 512, 512];
  const indices = [0, 2, 5, 7, 10, 12, 14, 17, 19, 21, 24, 26, 28];
  const rng = new Rng(1);
  const header: Record<string, unknown> = {};
  const chunks: Buffer[] = [];
  let offset = 0;
  let inputs = 3;
  const add = (name: string, shape: number[], std: number) => {
    const data = Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => rng.normal() * std);
    header[name] = { dtype: 'F32', shape, data_offsets: [offset, offset + data.byteLength] };
    offset += data.byteLength;
    chunks.push(Buffer.from(data.buffer));
  };
  widths.forEach((out, i) => {
    add(`features.${indices[i]}.weight`, [out, inputs, 3, 3], Math.sqrt(2 / (9 * inputs)));
    add(`features.${indices[i]}.bias`, [out], 0.01);
    inputs = out;
  });
  const json = Buffer.from(JSON.stringify(header));
  const length = Buffer.alloc(8);
  length.writeBigUInt64LE(BigInt(json.length));
  writeFileSync(path, Buffer.concat([length, json, ...chunks]));
}

const tmp = mkdtempSync(join(os.tmpdir(), 'bench-vgg-'));
const vggPath = values.vgg ?? join(tmp, 'vgg16-random.safetensors');
if (!values.vgg) randomVgg16(vggPath);
const vgg = openVgg16(vggPath);
const topology = defaultTopology({ hidden: 128 });
const results = [];
for (const size of values.sizes!.split(',').map(Number)) {
  const exemplar = Buffer.from(encodePng(discTexture(size, size, 3))).toString('base64');
  const rng = new Rng(size);
  const state = Float32Array.from({ length: batch * topology.channels * size * size }, () => rng.next() - 0.5);
  const shape = { batch, channels: topology.channels, height: size, width: size };
  for (const kind of TEXTURE_LOSSES) {
    const spec: TextureLossSpec = { kind: 'texture', imagePng: exemplar, loss: kind };
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    const loss = await textureLoss(spec, { topology, width: size, height: size, batch, overflowWeight: 1, runSeed: 0 }, { threads }, vgg);
    const setup = (performance.now() - t0) / 1000;
    const wall: number[] = [];
    const cpu: number[] = [];
    for (let i = 0; i < repeat; i++) {
      const c = process.cpuUsage();
      const t = performance.now();
      await loss.evaluate(state, shape, i);
      wall.push((performance.now() - t) / 1000);
      const used = process.cpuUsage(c);
      cpu.push((used.user + used.system) / 1e6);
    }
    await loss.release?.();
    const used = process.cpuUsage(c0);
    results.push({ loss: kind, size, batch, setup_s: round(setup), fastest_s: round(Math.min(...wall)), fastest_cpu_s: round(Math.min(...cpu)), total_cpu_s: round((used.user + used.system) / 1e6) });
  }
}
vgg.weights.close();
rmSync(tmp, { recursive: true, force: true });
console.log(
  JSON.stringify(
    {
      bench: 'texture loss + gradient, one evaluation',
      settings: { batch, repeat, threads, vgg: values.vgg ?? 'random weights, VGG16 widths' },
      results,
      peak_rss_mb: Math.round(process.resourceUsage().maxRSS / 1024),
      machine: { cpus: os.cpus().length, model: os.cpus()[0]?.model, node: process.version, loadavg_1m: os.loadavg()[0] },
    },
    null,
    2,
  ),
);

function round(x: number): number {
  return Number(x.toFixed(3));
}
