/**
 * Browser test harness for the player: builds dist/player into a temp folder, serves it with
 * test models from a local HTTP server on 127.0.0.1, and drives Debian's Chromium through
 * playwright-core with SwiftShader WebGL2 and WebGPU (../shared/NOTES.md §3).
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { extname, join, normalize } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { buildPlayer } from '../../player/build.ts';
import type { NcaModel } from '../../formats/index.ts';
import { livingModel } from '../helpers/models.ts';

const root = fileURLToPath(new URL('../..', import.meta.url));

const BASE_ARGS = [
  '--no-sandbox',
  '--disable-gpu-sandbox',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--enable-unsafe-webgpu',
  '--enable-features=Vulkan',
];
/** WebGPU on SwiftShader's Vulkan; WebGL2 keeps working on SwiftShader through ANGLE. */
const SWIFTSHADER_ARGS = ['--use-vulkan=swiftshader', '--use-webgpu-adapter=swiftshader', '--use-angle=swiftshader'];
export const CHROMIUM_ARGS = [...BASE_ARGS, ...SWIFTSHADER_ARGS];

/**
 * Largest |player state - reference state| the tests accept: float32 state, summed in another
 * order and with fused multiply-adds on the GPU, float64 in the reference (correctness.test.ts).
 */
export const TOLERANCE = 1e-4;

/** A response the test server gives for one path. */
export interface Route {
  body: Uint8Array | string;
  type?: string;
  status?: number;
}

const TYPES: Record<string, string> = { '.js': 'text/javascript', '.html': 'text/html', '.png': 'image/png' };

/** The page every test starts from: it loads the built ESM player. */
const PAGE = `<!doctype html>
<html><head><meta charset="utf-8"><style>body { margin: 0 }</style>
<script type="importmap">{ "imports": { "three": "/three/three.module.js" } }</script>
<script type="module">
  import * as player from '/dist/nca-player.js';
  window.player = player;
  window.playerReady = true;
</script></head><body></body></html>`;

/** A 1x1 PNG to stand in as a poster. */
export const POSTER_PNG = Buffer.from(
  'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR4nGP4z8DwHwAFAAH/iZk9HQAAAABJRU5ErkJggg==',
  'base64',
);

export interface Harness {
  url: string;
  routes: Map<string, Route>;
  context: BrowserContext;
  /** A fresh page with the player loaded; `errors` collects uncaught exceptions and console errors. */
  open(): Promise<{ page: Page; errors: string[] }>;
  close(): Promise<void>;
}

/**
 * `hardware` leaves the GPU choice to Chromium (benchmarks on a real GPU); tests always use
 * SwiftShader. NCA_CHROMIUM names another Chromium than /usr/bin/chromium.
 */
export async function startHarness({ hardware = false } = {}): Promise<Harness> {
  const dist = mkdtempSync(join(tmpdir(), 'nca-player-dist-'));
  const profile = mkdtempSync(join(tmpdir(), 'nca-player-chromium-'));
  await buildPlayer(dist);
  const folders: Record<string, string> = { '/dist/': dist, '/three/': join(root, 'node_modules/three/build') };
  const routes = new Map<string, Route>([
    ['/', { body: PAGE, type: 'text/html' }],
    ['/poster.png', { body: POSTER_PNG, type: 'image/png' }],
  ]);
  const server: Server = createServer((request, response) => {
    const path = new URL(request.url ?? '/', 'http://127.0.0.1').pathname;
    let route = routes.get(path);
    const folder = Object.keys(folders).find((prefix) => path.startsWith(prefix));
    if (!route && folder) route = file(join(folders[folder], normalize(path.slice(folder.length))));
    if (!route) return void response.writeHead(404, { 'content-type': 'text/plain' }).end('not found');
    response.writeHead(route.status ?? 200, route.type ? { 'content-type': route.type } : {});
    response.end(route.body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const url = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
  // A real GPU may need more flags (bench/gpu-check.sh sets them): NCA_CHROMIUM_ARGS, space-separated.
  const gpuArgs = (process.env.NCA_CHROMIUM_ARGS ?? '').split(' ').filter(Boolean);
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: process.env.NCA_CHROMIUM || '/usr/bin/chromium',
    headless: true,
    args: hardware ? [...BASE_ARGS, ...gpuArgs] : CHROMIUM_ARGS,
  });
  return {
    url,
    routes,
    context,
    async open() {
      const page = await context.newPage();
      const errors: string[] = [];
      page.on('pageerror', (error) => errors.push(`uncaught: ${error.message}`));
      await page.goto(`${url}/`);
      await page.waitForFunction(() => (window as unknown as { playerReady?: boolean }).playerReady);
      return { page, errors };
    },
    async close() {
      await context.close();
      await new Promise((resolve) => server.close(resolve));
      rmSync(dist, { recursive: true, force: true });
      rmSync(profile, { recursive: true, force: true });
    },
  };
}

function file(path: string): Route | undefined {
  try {
    return { body: readFileSync(path), type: TYPES[extname(path)] ?? 'application/octet-stream' };
  } catch {
    return undefined;
  }
}

export interface PlayerResult {
  event: 'load' | 'error';
  detail: { backend?: string; code?: string; message?: string };
}

/**
 * Adds an `<nca-player>` with these attributes to the page and waits for its load or error
 * event. The element is left in `window.players[id]`.
 */
export function addPlayer(page: Page, id: string, attributes: Record<string, string>): Promise<PlayerResult> {
  return page.evaluate(
    ({ id, attributes }) =>
      new Promise<PlayerResult>((resolve) => {
        const element = document.createElement('nca-player');
        for (const [name, value] of Object.entries(attributes)) element.setAttribute(name, value);
        const w = window as unknown as { players?: Record<string, HTMLElement> };
        (w.players ??= {})[id] = element;
        element.addEventListener('load', (e) => resolve({ event: 'load', detail: (e as CustomEvent).detail }));
        element.addEventListener('error', (e: Event) => resolve({ event: 'error', detail: (e as CustomEvent).detail }));
        document.body.append(element);
      }),
    { id, attributes },
  );
}

/**
 * livingModel() with its update 4x as strong. With the v1.1 filter scales (Sobel/8, Laplacian/8)
 * the helper's model grows to only a few dozen cells in these tests' runs: too few for them to
 * tell dead from living cells, or the within-1 shortcut from the reference.
 */
export function growingModel(): NcaModel {
  const model = livingModel();
  model.weights.w2 = model.weights.w2.map((w) => w * 4);
  return model;
}
