/** The element's behaviour: attributes, backend choice, playback, sizing, erasing and good citizenship. */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Page } from 'playwright-core';
import { createState, decodeNca, encodeNca } from '../../formats/index.ts';
import { maxAbsDiff, randomModel } from '../helpers/models.ts';
import { addPlayer, startHarness, type Harness } from './harness.ts';

const bytes = encodeNca(randomModel({ seed: 9, topology: { hidden: 16 } }));
const model = decodeNca(bytes).model;

let harness: Harness;
before(async () => {
  harness = await startHarness();
  harness.routes.set('/models/m.nca', { body: bytes, type: 'application/x-nca' });
});
after(() => harness?.close());

/** Runs `body` on the player `id` inside the page. */
function on<T>(page: Page, body: string, id = 'p'): Promise<T> {
  return page.evaluate(`(async (player) => { ${body} })(window.players[${JSON.stringify(id)}])`) as Promise<T>;
}

/** Whether a frame event comes within 5 s (generous: the machine may be busy). */
const framesResume = (page: Page, id = 'p') =>
  on<boolean>(page, `return new Promise((resolve) => {
    player.addEventListener('frame', () => resolve(true), { once: true });
    setTimeout(() => resolve(false), 5000);
  });`, id);

/** Frame events seen in `ms` milliseconds. */
const framesDuring = (page: Page, ms: number, id = 'p') =>
  on<number>(page, `let n = 0; const count = () => n++; player.addEventListener('frame', count);
    await new Promise((r) => setTimeout(r, ${ms})); player.removeEventListener('frame', count); return n;`, id);

test('attributes reflect to properties, with defaults for missing or bad values', async () => {
  const { page, errors } = await harness.open();
  const values = await page.evaluate(() => {
    const p = document.createElement('nca-player') as any;
    const defaults = { src: p.src, width: p.width, fit: p.fit, scale: p.scale, speed: p.speed, paused: p.paused, seed: p.seed, brush: p.brush, backend: p.backend };
    p.speed = 30;
    p.paused = true;
    p.fit = 'contain';
    p.width = 64;
    p.setAttribute('seed', '12');
    p.setAttribute('scale', '-1');
    p.setAttribute('backend', 'vulkan');
    const set = { speed: p.getAttribute('speed'), paused: p.hasAttribute('paused'), fit: p.getAttribute('fit'), width: p.getAttribute('width'), seed: p.seed, scale: p.scale, backend: p.backend };
    p.width = null;
    p.paused = false;
    return { defaults, set, cleared: { width: p.hasAttribute('width'), paused: p.hasAttribute('paused') } };
  });
  assert.deepEqual(values, {
    defaults: { src: '', width: null, fit: 'cover', scale: 1, speed: 60, paused: false, seed: 0, brush: 8, backend: 'auto' },
    set: { speed: '30', paused: true, fit: 'contain', width: '64', seed: 12, scale: 1, backend: 'auto' },
    cleared: { width: false, paused: false },
  });
  assert.deepEqual(errors, []);
});

test('auto picks WebGPU when there is an adapter; backend="webgl2" forces WebGL2', async () => {
  const { page } = await harness.open();
  assert.equal((await addPlayer(page, 'a', { src: '/models/m.nca', width: '8', height: '8' })).detail.backend, 'webgpu');
  assert.equal((await addPlayer(page, 'b', { src: '/models/m.nca', width: '8', height: '8', backend: 'webgl2' })).detail.backend, 'webgl2');
});

test('plays, pauses, restarts on a new seed, and steps on demand', async () => {
  const { page, errors } = await harness.open();
  await addPlayer(page, 'p', { src: '/models/m.nca', width: '16', height: '16' });
  assert.ok(await framesResume(page), 'frame events while playing');
  await on(page, 'player.pause()');
  await new Promise((r) => setTimeout(r, 100));
  assert.equal(await framesDuring(page, 300), 0, 'no frames while paused');
  assert.ok((await on<number>(page, 'return player.stepCount')) > 0);
  await on(page, 'player.seed = 3');
  assert.equal(await on<number>(page, 'return player.stepCount'), 0, 'a new seed restarts');
  const state = await on<number[]>(page, 'return Array.from(await player.readState())');
  assert.ok(maxAbsDiff(state, createState(model, { width: 16, height: 16 }, 3)) < 1e-6);
  await on(page, 'player.step(5)');
  assert.equal(await on<number>(page, 'return player.stepCount'), 5);
  assert.deepEqual(errors, []);
});

test('fills its CSS box at `scale` cells per CSS pixel, and follows resizes', async () => {
  const { page } = await harness.open();
  await page.addStyleTag({ content: 'nca-player { width: 120px; height: 80px }' });
  await addPlayer(page, 'p', { src: '/models/m.nca', scale: '0.5', paused: '' });
  assert.deepEqual(await on(page, 'return player.grid'), { width: 60, height: 40 });
  await on(page, `player.style.width = '200px'`);
  await page.waitForFunction(() => (window as any).players.p.grid.width === 100, null, { timeout: 5000 });
  assert.deepEqual(await on(page, 'return player.grid'), { width: 100, height: 40 });
});

test('interactive: dragging the pointer erases cells under the brush', async () => {
  for (const backend of ['webgl2', 'webgpu']) {
    const { page } = await harness.open();
    await page.addStyleTag({ content: 'nca-player { width: 128px; height: 128px }' });
    await addPlayer(page, 'p', { src: '/models/m.nca', width: '32', height: '32', paused: '', interactive: '', brush: '3', backend });
    // 4 CSS pixels per cell: the press at (64, 64) is cell (16, 16), the drag ends at cell (24, 16).
    await page.mouse.move(64, 64);
    await page.mouse.down();
    await page.mouse.move(96, 64, { steps: 2 });
    await page.mouse.up();
    const state = await on<number[]>(page, 'return Array.from(await player.readState())');
    const cell = (x: number, y: number) => state.slice((y * 32 + x) * 12, (y * 32 + x + 1) * 12);
    for (const [x, y] of [[16, 16], [20, 16], [24, 16], [16, 18]]) assert.deepEqual(cell(x, y), Array(12).fill(0), `${backend} (${x}, ${y})`);
    for (const [x, y] of [[16, 20], [10, 16], [28, 16]]) assert.ok(cell(x, y).some((v) => v !== 0), `${backend} (${x}, ${y}) untouched`);
  }
});

test('pauses offscreen and in a hidden tab; starts paused with prefers-reduced-motion', async () => {
  const { page, errors } = await harness.open();
  await page.addStyleTag({ content: 'body { height: 5000px } nca-player { position: absolute; top: 3000px }' });
  await addPlayer(page, 'p', { src: '/models/m.nca', width: '8', height: '8' });
  assert.equal(await framesDuring(page, 400), 0, 'offscreen');
  await on(page, `player.scrollIntoView()`);
  assert.ok(await framesResume(page), 'scrolled into view');
  // (a string: tsx would wrap an inline getter in a helper the page does not have)
  await page.evaluate(`Object.defineProperty(document, 'hidden', { configurable: true, value: true });
    document.dispatchEvent(new Event('visibilitychange'));`);
  assert.equal(await framesDuring(page, 400), 0, 'hidden tab');

  const reduced = await harness.open();
  await reduced.page.emulateMedia({ reducedMotion: 'reduce' });
  await addPlayer(reduced.page, 'p', { src: '/models/m.nca', width: '8', height: '8' });
  assert.equal(await on(reduced.page, 'return player.paused'), true);
  assert.equal(await framesDuring(reduced.page, 300), 0, 'reduced motion');
  assert.deepEqual([...errors, ...reduced.errors], []);
});

test('recovers from a lost WebGL context: a new canvas, reseeded, running again', async () => {
  const { page, errors } = await harness.open();
  await addPlayer(page, 'p', { src: '/models/m.nca', width: '16', height: '16', backend: 'webgl2' });
  assert.ok(await framesResume(page));
  const replaced = await on<boolean>(page, `
    const lost = player.shadowRoot.querySelector('canvas');
    lost.getContext('webgl2').getExtension('WEBGL_lose_context').loseContext();
    for (let wait = 0; wait < 100; wait++) {
      await new Promise((r) => setTimeout(r, 100));
      const now = player.shadowRoot.querySelector('canvas');
      if (now !== lost && !now.hidden && player.activeBackend === 'webgl2') return true;
    }
    return false;`);
  assert.ok(replaced, 'a new canvas within 10 s');
  assert.ok(await framesResume(page), 'running again');
  assert.deepEqual(errors, []);
});
