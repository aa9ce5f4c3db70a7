/**
 * Auto quality: the player measures its GPU time per step and keeps a frame's steps within
 * `budget` milliseconds, first with coarser cells (when the grid follows the box), then with
 * fewer steps per frame; `quality="fixed"` keeps `scale` and `speed`. Throttled with budgets far
 * below and far above what SwiftShader needs, on both backends.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Page } from 'playwright-core';
import { encodeNca } from '../../formats/index.ts';
import { randomModel } from '../helpers/models.ts';
import { addPlayer, startHarness, type Harness } from './harness.ts';

const bytes = encodeNca(randomModel({ seed: 5, topology: { hidden: 16 } }));

let harness: Harness;
before(async () => {
  harness = await startHarness();
  harness.routes.set('/models/m.nca', { body: bytes, type: 'application/octet-stream' });
});
after(() => harness?.close());

interface Quality {
  scale: number;
  stepsPerFrame: number;
  msPerStep: number;
  timing: string | null;
}

/** A 256x128 CSS-pixel player; collects its `quality` events in `window.qualities`. */
async function open(backend: string, attributes: Record<string, string>): Promise<Page> {
  const { page } = await harness.open();
  await page.addStyleTag({ content: 'nca-player { width: 256px; height: 128px }' });
  await page.evaluate(() => ((window as any).qualities = []));
  const loaded = await addPlayer(page, 'p', { src: '/models/m.nca', backend, ...attributes });
  assert.equal(loaded.event, 'load', JSON.stringify(loaded.detail));
  await page.evaluate(() => {
    const player = (window as any).players.p;
    player.addEventListener('quality', (e: CustomEvent) => (window as any).qualities.push(e.detail));
  });
  return page;
}

const state = (page: Page) =>
  page.evaluate(() => {
    const player = (window as any).players.p;
    return { grid: player.grid, chosen: player.chosenQuality as Quality, events: (window as any).qualities as Quality[], steps: player.stepCount };
  });

for (const backend of ['webgl2', 'webgpu']) {
  test(`${backend}: a tiny budget makes cells 4x coarser and runs less than a step per frame; the choice is reported`, async () => {
    const page = await open(backend, { budget: '0.001' });
    await page.waitForFunction(() => (window as any).players.p.grid.width === 64, null, { timeout: 30_000 });
    const before = await state(page);
    assert.deepEqual(before.grid, { width: 64, height: 32 });
    await page.waitForTimeout(1500);
    const after = await state(page);
    assert.equal(after.chosen.scale, 0.25);
    assert.ok(after.chosen.stepsPerFrame < 1, `steps per frame ${after.chosen.stepsPerFrame}`);
    assert.ok(after.chosen.msPerStep > 0);
    assert.match(after.chosen.timing ?? '', /^(timer-query|frame)$/);
    assert.ok(after.events.some((q) => q.scale === 0.25 && q.stepsPerFrame < 1), JSON.stringify(after.events));
    // The loop keeps to the choice: at most about stepsPerFrame steps per 60 Hz frame on average.
    assert.ok(after.steps - before.steps <= 1.5 * 60 * after.chosen.stepsPerFrame + 2, `${after.steps - before.steps} steps in 1.5 s`);
    await page.close();
  });
}

test('a generous budget keeps the full cell size and speed; quality="fixed" never adapts', async () => {
  const generous = await open('webgl2', { budget: '100000' });
  await generous.waitForFunction(() => (window as any).qualities.length > 0, null, { timeout: 30_000 });
  await generous.waitForTimeout(1200);
  const full = await state(generous);
  assert.deepEqual(full.grid, { width: 256, height: 128 });
  assert.equal(full.chosen.scale, 1);
  assert.ok(full.chosen.stepsPerFrame > 0.5, `steps per frame ${full.chosen.stepsPerFrame}`); // speed 60: one per 60 Hz frame
  assert.ok(full.events.every((q) => q.scale === 1));

  const fixed = await open('webgl2', { budget: '0.001', quality: 'fixed' });
  await fixed.waitForTimeout(2500);
  const kept = await state(fixed);
  assert.deepEqual(kept.grid, { width: 256, height: 128 });
  assert.deepEqual(kept.events, []);
  assert.equal(kept.chosen.msPerStep, 0, 'fixed quality measures nothing');
  assert.equal(kept.chosen.scale, 1);
});

test('with an explicit grid, auto quality only lowers the steps per frame', async () => {
  const page = await open('webgpu', { budget: '0.001', width: '96', height: '48' });
  await page.waitForFunction(() => (window as any).qualities.length > 0, null, { timeout: 30_000 });
  await page.waitForTimeout(1000);
  const { grid, chosen } = await state(page);
  assert.deepEqual(grid, { width: 96, height: 48 });
  assert.equal(chosen.scale, 1);
  assert.ok(chosen.stepsPerFrame < 1);
});
