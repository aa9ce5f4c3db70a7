/**
 * Bad input never breaks the page: a 404, a wrong content type, a corrupt file, an unsupported
 * version, an unreachable server or a model too big for the GPU each fire one `error` event with
 * a clear message and show the poster; nothing is thrown, and other players keep working.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { encodeNca } from '../../formats/index.ts';
import { randomModel } from '../helpers/models.ts';
import { addPlayer, startHarness, type Harness } from './harness.ts';

const good = encodeNca(randomModel({ seed: 5, topology: { hidden: 16 } }));
const corrupt = good.slice();
corrupt[Math.floor(corrupt.length / 2)] ^= 0xff;
const future = good.slice();
new DataView(future.buffer).setUint16(8, 2, true); // major version 2

const cases: { name: string; src: string; code: string; message: RegExp }[] = [
  { name: '404', src: '/models/missing.nca', code: 'http', message: /missing\.nca.*HTTP 404/ },
  { name: 'HTML page', src: '/models/page.nca', code: 'content-type', message: /served as text\/html, not as a \.nca model/ },
  { name: 'corrupt file', src: '/models/corrupt.nca', code: 'bad-checksum', message: /corrupt\.nca is not a usable \.nca model: checksum mismatch/ },
  { name: 'unsupported version', src: '/models/future.nca', code: 'unsupported-version', message: /version 2\.0 is not supported/ },
  { name: 'truncated file', src: '/models/truncated.nca', code: 'truncated', message: /truncated/ },
  { name: 'unreachable server', src: 'http://127.0.0.1:9/model.nca', code: 'network', message: /could not fetch/ },
  { name: 'too many channels for WebGL2', src: '/models/wide.nca', code: 'unsupported-model', message: /64 channels; WebGL2 on this GPU runs at most/ },
];

let harness: Harness;
before(async () => {
  harness = await startHarness();
  const model = (body: Uint8Array) => ({ body, type: 'application/octet-stream' });
  harness.routes.set('/models/good.nca', model(good));
  harness.routes.set('/models/page.nca', { body: '<!doctype html><title>Not found</title>', type: 'text/html; charset=utf-8' });
  harness.routes.set('/models/corrupt.nca', model(corrupt));
  harness.routes.set('/models/future.nca', model(future));
  harness.routes.set('/models/truncated.nca', model(good.subarray(0, 100)));
  harness.routes.set('/models/wide.nca', model(encodeNca(randomModel({ topology: { channels: 64, hidden: 8 } }))));
});
after(() => harness?.close());

test('each bad input fires one clear error event, shows the poster and throws nothing', async () => {
  const { page, errors } = await harness.open();
  for (const { name, src, code, message } of cases) {
    const backend = code === 'unsupported-model' ? 'webgl2' : 'auto';
    const result = await addPlayer(page, name, { src, poster: '/poster.png', backend, width: '16', height: '16' });
    assert.equal(result.event, 'error', name);
    assert.equal(result.detail.code, code, name);
    assert.match(result.detail.message ?? '', message, name);
    const view = await page.evaluate(async (name) => {
      const player = (window as any).players[name];
      const poster = player.shadowRoot.querySelector('img');
      await poster.decode();
      return {
        posterShown: !poster.hidden && poster.naturalWidth === 1,
        canvases: [...player.shadowRoot.querySelectorAll('canvas')].filter((c: HTMLCanvasElement) => !c.hidden).length,
        error: player.error?.code,
      };
    }, name);
    assert.deepEqual(view, { posterShown: true, canvases: 0, error: code }, name);
  }
  // The rest of the page still works: a good model next to the broken ones loads and runs.
  const result = await addPlayer(page, 'good', { src: '/models/good.nca', width: '16', height: '16' });
  assert.equal(result.event, 'load');
  const frames = await page.evaluate(
    () => new Promise<number>((resolve) => (window as any).players.good.addEventListener('frame', (e: CustomEvent) => resolve(e.detail.step))),
  );
  assert.ok(frames > 0);
  assert.deepEqual(errors, []);
});

test('a bad src replaced by a good one recovers; a good one replaced by a bad one fails cleanly', async () => {
  const { page, errors } = await harness.open();
  assert.equal((await addPlayer(page, 'p', { src: '/models/corrupt.nca', width: '8', height: '8' })).event, 'error');
  const next = (src: string) =>
    page.evaluate(
      (src) =>
        new Promise<string>((resolve) => {
          const player = (window as any).players.p;
          player.addEventListener('load', () => resolve('load'), { once: true });
          player.addEventListener('error', () => resolve('error'), { once: true });
          player.src = src;
        }),
      src,
    );
  assert.equal(await next('/models/good.nca'), 'load');
  assert.equal(await next('/models/future.nca'), 'error');
  assert.equal(await page.evaluate(() => (window as any).players.p.activeBackend), null);
  assert.deepEqual(errors, []);
});
