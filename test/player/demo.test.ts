/** The demo page works when served locally: every gallery model and the background load and run. */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext } from 'playwright-core';
import type { ViteDevServer } from 'vite';
import { startDemoServer } from '../../examples/demo/serve.ts';
import { CHROMIUM_ARGS } from './harness.ts';

let server: ViteDevServer;
let context: BrowserContext;
const profile = mkdtempSync(join(tmpdir(), 'nca-demo-chromium-'));
before(async () => {
  server = await startDemoServer(0);
  context = await chromium.launchPersistentContext(profile, { executablePath: '/usr/bin/chromium', headless: true, args: CHROMIUM_ARGS });
});
after(async () => {
  await context?.close();
  await server?.close();
  rmSync(profile, { recursive: true, force: true });
});

test('demo: gallery players and the background load, run and take control changes', async () => {
  const page = await context.newPage();
  const errors: string[] = [];
  page.on('pageerror', (error) => errors.push(error.message));
  await page.goto(server.resolvedUrls!.local[0]);
  const models = await (await page.request.get(new URL('/models.json', page.url()).href)).json();
  assert.ok(models.length >= 2, 'several models');
  await page.waitForFunction(
    (count) => {
      const players = [...document.querySelectorAll('nca-player')] as any[];
      return players.length === count + 1 && players.every((p) => p.activeBackend && p.stepCount > 0);
    },
    models.length,
    { timeout: 60_000 },
  );
  await page.fill('#seed', '5');
  await page.dispatchEvent('#seed', 'change');
  assert.equal(await page.evaluate(() => (document.querySelector('#background') as any).seed), 5);
  await page.click('#play');
  assert.equal(await page.evaluate(() => (document.querySelector('#background') as any).paused), true);
  assert.match((await page.textContent('#status')) ?? '', /(webgpu|webgl2) · \d+×\d+ cells/);
  assert.deepEqual(errors, []);
});

test('demo: textures have their own section and play full window from the address', async () => {
  const page = await context.newPage();
  const errors: string[] = [];
  page.on('pageerror', (error) => errors.push(error.message));
  const models: { name: string; kind: string }[] = await (await page.request.get(new URL('/models.json', server.resolvedUrls!.local[0]).href)).json();
  const textures = models.filter((m) => m.kind === 'texture');
  assert.ok(textures.length >= 1, 'at least one texture model');
  assert.equal(models.filter((m) => m.kind === 'shape').length + textures.length, models.length);
  const name = textures.at(-1)!.name;
  await page.goto(`${server.resolvedUrls!.local[0]}#${name.replace(/\.nca$/, '')}/bare`);
  await page.waitForFunction(() => (document.querySelector('#background') as any).stepCount > 0, null, { timeout: 60_000 });
  assert.equal(await page.evaluate(() => (document.querySelector('#background') as any).src), `/models/${name}`);
  assert.equal(await page.evaluate(() => document.querySelector('#textures')!.childElementCount), textures.length);
  assert.equal(await page.isVisible('main'), false, 'full window: the panels are hidden');
  await page.keyboard.press('Escape');
  assert.equal(await page.isVisible('main'), true, 'Esc brings them back');
  assert.deepEqual(errors, []);
});
