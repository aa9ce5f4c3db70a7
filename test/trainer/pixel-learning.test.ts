// A short pixel-target run really learns: it beats both an untrained model and the best single colour.
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { defaultTopology } from '../../formats/model.ts';
import { decodePng, encodePng } from '../../trainer/image/png.ts';
import { pixelLoss, targetPlanes } from '../../trainer/pixel/pixel-loss.ts';
import { SOURCE_METHOD, type TrainConfig } from '../../trainer/train/config.ts';
import { seedRecipe, seedState } from '../../trainer/train/seeds.ts';
import { Trainer, type TrainEvent } from '../../trainer/train/trainer.ts';

const SIZE = 24;
/** An orange disc on a blue background, drawn here. */
const target = (() => {
  const data = new Uint8Array(SIZE * SIZE * 4);
  for (let y = 0; y < SIZE; y++) {
    for (let x = 0; x < SIZE; x++) {
      const inside = Math.hypot(x - 11.5, y - 11.5) < 7;
      data.set(inside ? [230, 80, 40, 255] : [30, 40, 120, 255], (y * SIZE + x) * 4);
    }
  }
  return { width: SIZE, height: SIZE, data };
})();

const config: TrainConfig = {
  ...SOURCE_METHOD,
  topology: defaultTopology({ hidden: 32 }),
  width: SIZE,
  height: SIZE,
  poolSize: 32,
  iterations: 200,
  minSteps: 20,
  maxSteps: 28,
  lr: 6e-3,
  seed: 'cell',
  saveEvery: 100,
  previewEvery: 200,
};

test('200 iterations on a 24x24 disc reach a loss no untrained or single-colour model can', { timeout: 300_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'nca-pixel-'));
  const spec = { kind: 'pixel' as const, targetPng: Buffer.from(encodePng(target)).toString('base64') };
  const shape = { batch: config.batch, channels: 12, height: SIZE, width: SIZE };

  // An untrained model (w2 = 0) never leaves its seed: its loss is the seed's.
  const loss = await pixelLoss(spec, config);
  const seed = seedState(config.topology, seedRecipe('cell', config.topology), config, 0);
  const seeds = new Float32Array(seed.length * config.batch);
  for (let b = 0; b < config.batch; b++) seeds.set(seed, b * seed.length);
  const untrained = (await loss.evaluate(seeds, shape, 0)).logs.pixel;
  // The best any single flat colour can do: the target's per-channel variance.
  const planes = targetPlanes(target, 3, SIZE, SIZE);
  const plane = SIZE * SIZE;
  let variance = 0;
  for (let c = 0; c < 3; c++) {
    const channel = planes.subarray(c * plane, (c + 1) * plane);
    const mean = channel.reduce((a, b) => a + b, 0) / plane;
    variance += channel.reduce((a, v) => a + (v - mean) ** 2, 0) / plane / 3;
  }

  const pixel: number[] = [];
  const trainer = await Trainer.start(config, loss, {
    dir,
    onEvent: (e: TrainEvent) => e.kind === 'iteration' && pixel.push(e.logs.pixel),
  });
  await trainer.run();
  await trainer.release();
  const final = pixel.slice(-25).reduce((a, b) => a + b, 0) / 25;
  assert.ok(final < 0.5 * untrained, `final ${final.toFixed(4)} vs untrained ${untrained.toFixed(4)}`);
  assert.ok(final < 0.7 * variance, `final ${final.toFixed(4)} vs best flat colour ${variance.toFixed(4)}`);

  const preview = join(dir, 'previews', 'iter-000200.png');
  assert.ok(existsSync(preview));
  const png = decodePng(readFileSync(preview));
  assert.equal(png.height, SIZE);
  assert.equal(png.width, 8 * SIZE);
  assert.ok(existsSync(join(dir, 'model.nca')));
});
