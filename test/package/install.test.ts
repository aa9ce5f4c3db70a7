// The npm package as a user gets it (issue #12): `npm pack` (prepack builds dist/), the tarball
// installed with production dependencies only into a scratch project, then used: the CLI, `nca
// play` over HTTP and in Chromium (the classic script), a Vite app that imports the player, the
// three.js adapter and the codec in Chromium, and a type check of the declarations.
// Slow (it packs, installs about 500 MB of dependencies from the npm cache, builds an app), so it
// runs only with NCA_TEST_PACKAGE=1: `npm run test:package`, which .ci/run runs after `npm test`.
import assert from 'node:assert/strict';
import { spawn, spawnSync, type SpawnSyncOptions } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { extname, join, normalize, sep } from 'node:path';
import { after, before, test } from 'node:test';
import { gzipSync } from 'node:zlib';
import type { Browser } from 'playwright-core';
import { repoRoot } from '../helpers/cli.ts';
import { decodeNca } from '../../formats/index.ts';

/** The hidden size of the shipped ring example, read by the checkout's own codec (the installed one is under test). */
const shippedHidden = () => decodeNca(readFileSync(join(repoRoot, 'examples/models/ring.nca'))).model.topology.hidden;

const enabled = process.env.NCA_TEST_PACKAGE === '1';
const skip = enabled ? false : 'installs the packed package (minutes): run `npm run test:package`';

/** npm's own variables from an enclosing `npm run` would point the inner npm at this checkout. */
const KEEP_NPM = new Set(['npm_config_cache', 'npm_config_registry', 'npm_config_userconfig', 'npm_config_globalconfig', 'npm_config_cafile']);
const env: NodeJS.ProcessEnv = {
  ...Object.fromEntries(Object.entries(process.env).filter(([k]) => !(k.toLowerCase().startsWith('npm_') && !KEEP_NPM.has(k.toLowerCase())) && k !== 'INIT_CWD')),
  // onnxruntime-node's install step would fetch CUDA binaries from outside the npm registry.
  ONNXRUNTIME_NODE_INSTALL: 'skip',
};

function run(command: string, args: string[], options: SpawnSyncOptions & { cwd: string }) {
  const r = spawnSync(command, args, { env, encoding: 'utf8', timeout: 300_000, maxBuffer: 64 << 20, ...options });
  const out = { code: r.status, stdout: String(r.stdout), stderr: String(r.stderr) };
  return out;
}

function ok(r: { code: number | null; stdout: string; stderr: string }, what: string) {
  assert.equal(r.code, 0, `${what} failed (${r.code}):\n${r.stdout.slice(-3000)}\n${r.stderr.slice(-3000)}`);
  return r;
}

const work = mkdtempSync(join(tmpdir(), 'nca-package-'));
const app = join(work, 'app');
const installed = join(app, 'node_modules', 'nca-studio');
const model = join(installed, 'examples', 'models', 'ring.nca');
let pack: { filename: string; size: number; unpackedSize: number; files: { path: string }[] };
let browser: Browser | undefined;

const nca = (args: string[]) => run(process.execPath, [join(app, 'node_modules', '.bin', 'nca'), ...args], { cwd: app });
const version = (name: string) => JSON.parse(readFileSync(join(repoRoot, 'node_modules', name, 'package.json'), 'utf8')).version;

before(async () => {
  if (!enabled) return;
  const packed = ok(run('npm', ['pack', '--json', '--pack-destination', work], { cwd: repoRoot }), 'npm pack');
  [pack] = JSON.parse(packed.stdout.slice(packed.stdout.search(/^\[/m)));
  mkdirSync(app);
  writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'nca-user-app', private: true, type: 'module' }));
  // As a user would: the package, plus three (its optional peer) and three's types for the adapter.
  ok(
    run('npm', ['install', '--omit=dev', '--prefer-offline', '--no-audit', '--no-fund', join(work, pack.filename), `three@${version('three')}`, `@types/three@${version('@types/three')}`], { cwd: app }),
    'npm install',
  );
});

after(async () => {
  await browser?.close();
  rmSync(work, { recursive: true, force: true });
});

async function openBrowser(): Promise<Browser> {
  // Imported here, so that `npm test`, where this file is skipped, does not load them.
  const { chromium } = await import('playwright-core');
  const { CHROMIUM_ARGS } = await import('../player/harness.ts');
  // launch() gives the browser a fresh temporary profile of its own.
  browser ??= await chromium.launch({ executablePath: '/usr/bin/chromium', args: CHROMIUM_ARGS });
  return browser;
}

test('the tarball ships built JavaScript, declarations and the prebuilt player, no TypeScript sources and no devDependencies', { skip }, (t) => {
  const files = pack.files.map((f) => f.path);
  const sources = files.filter((f) => f.endsWith('.ts') && !f.endsWith('.d.ts'));
  assert.deepEqual(sources, [], 'TypeScript sources in the tarball');
  for (const f of ['bin/nca.mjs', 'dist/player/nca-player.js', 'dist/player/nca-player.iife.js', 'dist/player/three.js', 'dist/lib/cli/main.js', 'dist/lib/package.json', 'dist/types/player/entry.d.ts', 'examples/models/ring.nca']) {
    assert.ok(files.includes(f), `${f} missing from the tarball`);
  }
  assert.ok(!files.some((f) => /^(test|trainer|cli|player|exporter|docs|bench|scratch)\//.test(f)), 'sources or tests in the tarball');
  // Every target of the exports map is in the installed package.
  const pkg = JSON.parse(readFileSync(join(installed, 'package.json'), 'utf8'));
  const targets = Object.values(pkg.exports as Record<string, string | Record<string, string>>).flatMap((v) => (typeof v === 'string' ? [v] : Object.values(v)));
  for (const target of targets) assert.ok(existsSync(join(installed, target)), `exports target ${target} missing`);
  for (const dev of ['tsx', 'vite', 'typescript', 'esbuild', 'playwright-core']) {
    assert.ok(!existsSync(join(app, 'node_modules', dev)), `${dev} was installed with --omit=dev`);
  }
  const iife = readFileSync(join(installed, 'dist/player/nca-player.iife.js'));
  t.diagnostic(
    `tarball ${pack.size} bytes, unpacked ${pack.unpackedSize} bytes, ${files.length} files; ` +
      `nca-player.iife.js ${iife.length} bytes min, ${gzipSync(iife, { level: 9 }).length} bytes min+gzip`,
  );
});

test('the installed nca runs every command: info, train (an SVG target; a prompt), export, eval, render', { skip }, () => {
  assert.match(ok(nca(['--version']), 'nca --version').stdout, /^nca-studio \d+\.\d+\.\d+/);
  assert.match(ok(nca(['info', model]), 'nca info').stdout, new RegExp(`network\\s+48 -> ${shippedHidden()} \\(relu\\) -> 12`));
  const svg = join(work, 'dot.svg');
  writeFileSync(svg, '<svg xmlns="http://www.w3.org/2000/svg" width="16" height="16"><circle cx="8" cy="8" r="6" fill="#e04020"/></svg>');
  const runDir = join(work, 'run');
  // --threads 2 with --batch 2: the batch is split across two worker threads, whose module must ship too
  const small = ['--iterations', '2', '--size', '12x12', '--pad', '4', '--steps', '8-10', '--batch', '2', '--pool', '4', '--hidden', '16', '--score-every', '0', '--preview-every', '0', '--threads', '2', '--quiet'];
  ok(nca(['train', '--target', svg, ...small, '--out', runDir]), 'nca train');
  // A CLIP run (the tokenizer comes from @huggingface/transformers) with the tiny fixture model and an SVG image prompt.
  const clip = ['--clip-path', join(repoRoot, 'test/fixtures/clip-tiny'), '--size', '40x24', '--steps', '8-10', '--pool', '8', '--batch', '2', '--cutouts', '3', '--threads', '1'];
  ok(nca(['train', 'red coral', '--image-prompt', `${svg}:0.5`, '--iterations', '1', '--preview-every', '0', '--quiet', '--out', join(work, 'clip'), ...clip]), 'nca train PROMPT');
  const exported = join(work, 'dot.nca');
  ok(nca(['export', runDir, '--out', exported, '--no-fidelity']), 'nca export');
  ok(nca(['eval', exported, '--steps', '50']), 'nca eval');
  const gif = join(work, 'ring.gif');
  ok(nca(['render', model, '--gif', gif, '--size', '32x32', '--frames', '3']), 'nca render');
  assert.equal(readFileSync(gif).subarray(0, 6).toString('latin1'), 'GIF89a');
  const bad = nca(['train', '--target', join(installed, 'package.json'), '--out', join(work, 'bad')]);
  assert.equal(bad.code, 65, bad.stderr);
});

test('nca-studio/formats decodes and encodes .nca files in Node', { skip }, () => {
  const script = join(app, 'codec.mjs');
  writeFileSync(
    script,
    `import { readFileSync } from 'node:fs';
import { decodeNca, encodeNca, NCA_MIME } from 'nca-studio/formats';
const { model } = decodeNca(readFileSync(process.argv[2]));
const again = decodeNca(encodeNca(model, { weightDtype: 'float16' }));
console.log(JSON.stringify({ title: model.metadata.title, hidden: again.model.topology.hidden, dtype: again.file.tensors.find((t) => t.name === 'w1').dtype, mime: NCA_MIME }));
`,
  );
  const out = JSON.parse(ok(run(process.execPath, [script, model], { cwd: app }), 'codec.mjs').stdout);
  assert.deepEqual(out, { title: 'ring', hidden: shippedHidden(), dtype: 'float16', mime: 'application/x-nca' });
});

test('nca play serves the page, the prebuilt classic script and the model; the page runs the model in Chromium', { skip, timeout: 180_000 }, async () => {
  const child = spawn(process.execPath, [join(app, 'node_modules', '.bin', 'nca'), 'play', model, '--port', '0', '--json'], { cwd: app, env });
  let stdout = '';
  let stderr = '';
  child.stderr.on('data', (d) => (stderr += d));
  const exited = new Promise<number | null>((resolve) => child.on('close', resolve));
  try {
    const url: string = await new Promise((resolve, reject) => {
      child.stdout.on('data', (d) => {
        stdout += d;
        if (stdout.includes('\n')) resolve(JSON.parse(stdout).url);
      });
      child.on('close', () => reject(new Error(`nca play exited early: ${stderr}`)));
    });
    const page = await (await fetch(url)).text();
    const script = page.match(/<script src="([^"]+)"/)![1];
    const served = await fetch(new URL(script, url));
    assert.equal(served.status, 200);
    assert.match(served.headers.get('content-type')!, /javascript/);
    assert.deepEqual(Buffer.from(await served.arrayBuffer()), readFileSync(join(installed, 'dist/player/nca-player.iife.js')), 'not the shipped build');
    assert.deepEqual(Buffer.from(await (await fetch(new URL('/model.nca', url))).arrayBuffer()), readFileSync(model));

    const tab = await (await openBrowser()).newPage({ viewport: { width: 160, height: 120 } });
    const errors: string[] = [];
    tab.on('pageerror', (e) => errors.push(String(e)));
    await tab.goto(url);
    const loaded = await tab.waitForFunction(
      () => {
        const p = document.querySelector('nca-player') as (HTMLElement & { activeBackend: string | null; error: Error | null; model: { metadata: { title?: string } } | null }) | null;
        return p && (p.activeBackend || p.error) ? { backend: p.activeBackend, error: p.error?.message ?? null, title: p.model?.metadata.title } : null;
      },
      undefined,
      { timeout: 60_000 },
    );
    const state = (await loaded.jsonValue())!;
    assert.deepEqual(errors, []);
    assert.equal(state.error, null);
    assert.match(String(state.backend), /^(webgl2|webgpu)$/);
    assert.equal(state.title, 'ring');
    await tab.close();
  } finally {
    child.kill('SIGINT');
  }
  assert.equal(await exited, 0, stderr);
});

/** A static server for a built app folder. */
function serve(dir: string): Promise<Server> {
  const types: Record<string, string> = { '.html': 'text/html', '.js': 'text/javascript', '.nca': 'application/octet-stream' };
  const server = createServer((request, response) => {
    const path = new URL(request.url ?? '/', 'http://localhost').pathname;
    const file = normalize(join(dir, path === '/' ? 'index.html' : decodeURIComponent(path)));
    if (!file.startsWith(dir + sep) || !existsSync(file)) return response.writeHead(404).end();
    response.writeHead(200, { 'content-type': types[extname(file)] ?? 'application/octet-stream' }).end(readFileSync(file));
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

/** The user's app: one module that uses the player, the three.js adapter and the codec. */
const MAIN_TS = `import { NcaPlayer } from 'nca-studio/player';
import { NCATexture } from 'nca-studio/three';
import { decodeNca } from 'nca-studio/formats';
import { Mesh, MeshBasicMaterial, PlaneGeometry } from 'three';

interface Status { player: string | null; texture: string | null; title: string | null; defined: boolean; errors: string[] }
const status: Status = { player: null, texture: null, title: null, defined: customElements.get('nca-player') === NcaPlayer, errors: [] };
(window as unknown as { ncaStatus: Status }).ncaStatus = status;

const player = document.createElement('nca-player');
player.addEventListener('load', (e) => (status.player = e.detail.backend));
player.addEventListener('error', (e) => status.errors.push(\`\${e.detail.code}: \${e.detail.message}\`));
player.src = './ring.nca';
player.speed = 30;
document.body.append(player);

const texture = new NCATexture('./ring.nca', { width: 32, height: 32 });
new Mesh(new PlaneGeometry(1, 1), new MeshBasicMaterial({ map: texture }));
texture.ready.then(() => (status.texture = texture.engine.kind), (e) => status.errors.push(String(e)));

const bytes = new Uint8Array(await (await fetch('./ring.nca')).arrayBuffer());
status.title = decodeNca(bytes).model.metadata.title ?? null;
`;

test('a Vite app that imports nca-studio/player, /three and /formats builds and runs a model in Chromium', { skip, timeout: 180_000 }, async () => {
  const src = join(app, 'web');
  mkdirSync(join(src, 'public'), { recursive: true });
  writeFileSync(join(src, 'index.html'), '<!doctype html><html><head><meta charset="utf-8"></head><body><script type="module" src="./main.ts"></script></body></html>');
  writeFileSync(join(src, 'main.ts'), MAIN_TS);
  writeFileSync(join(src, 'public', 'ring.nca'), readFileSync(model));
  // The repository's Vite (a devDependency here), building a folder of the user's project.
  ok(run(process.execPath, [join(repoRoot, 'node_modules/vite/bin/vite.js'), 'build', '--logLevel', 'warn', '--outDir', join(app, 'web-dist')], { cwd: src }), 'vite build');
  const built = readdirSync(join(app, 'web-dist', 'assets')).filter((f) => f.endsWith('.js'));
  assert.ok(built.length > 0);

  const server = await serve(join(app, 'web-dist'));
  try {
    const tab = await (await openBrowser()).newPage();
    const errors: string[] = [];
    tab.on('pageerror', (e) => errors.push(String(e)));
    await tab.goto(`http://127.0.0.1:${(server.address() as AddressInfo).port}/`);
    const done = await tab.waitForFunction(
      () => {
        const s = (window as unknown as { ncaStatus?: { player: string | null; texture: string | null; title: string | null; errors: string[] } }).ncaStatus;
        return s && ((s.player && s.texture && s.title) || s.errors.length) ? s : null;
      },
      undefined,
      { timeout: 60_000 },
    );
    const status = (await done.jsonValue()) as { player: string; texture: string; title: string; defined: boolean; errors: string[] };
    assert.deepEqual(errors, []);
    assert.deepEqual(status.errors, []);
    assert.equal(status.defined, true, 'importing nca-studio/player defines <nca-player>');
    assert.match(status.player, /^(webgl2|webgpu)$/);
    assert.match(status.texture, /^(webgl2|webgpu)$/);
    assert.equal(status.title, 'ring');
    await tab.close();
  } finally {
    server.close();
  }
});

/** A user's TypeScript: the element's typed properties, the classic script's global, the codec; wrong values must not compile. */
const TYPED_TS = `import { NcaPlayer, PlayerError, type NcaPlayerAttributes } from 'nca-studio/player';
import { decodeNca, encodeNca, type NcaModel } from 'nca-studio/formats';

const player: NcaPlayer = document.createElement('nca-player');
player.speed = 120;
player.paused = true;
player.fit = 'contain';
player.backend = 'webgl2';
const speed: number = player.speed;
const width: number | null = player.width;
const model: NcaModel | null = player.model;
const error: PlayerError | null = player.error;
player.addEventListener('load', (e) => {
  const backend: 'webgl2' | 'webgpu' = e.detail.backend;
  player.step(backend === 'webgpu' ? 2 : 1);
});
player.addEventListener('error', (e) => console.warn(e.detail.code, e.detail.message));
player.addEventListener('click', (e) => console.log(e.clientX));
// @ts-expect-error a frame event's detail has no backend
player.addEventListener('frame', (e) => e.detail.backend);
// @ts-expect-error fit is 'cover' or 'contain'
player.fit = 'stretch';
// @ts-expect-error speed is a number
player.speed = 'fast';
// @ts-expect-error no such property
player.sped = 1;

const attributes: NcaPlayerAttributes = { src: 'a.nca', speed: '30', interactive: true, backend: 'auto' };
// @ts-expect-error backend is auto, webgl2 or webgpu
const wrong: NcaPlayerAttributes = { backend: 'webgl' };

export function roundTrip(bytes: Uint8Array): Uint8Array {
  const { model, file } = decodeNca(bytes);
  const channels: number = model.topology.channels;
  const w1 = file.tensors.find((t) => t.name === 'w1');
  return encodeNca(model, { weightDtype: channels > 16 || w1?.dtype === 'float32' ? 'float16' : 'int8' });
}
export { speed, width, model, error, attributes, wrong };
`;

const TYPED_JSX = `import type { NcaPlayerAttributes } from 'nca-studio/player';

// What README's framework sections declare, here for a framework-free JSX.
declare global {
  namespace JSX {
    type Element = unknown;
    interface IntrinsicElements {
      'nca-player': NcaPlayerAttributes & { id?: string };
    }
  }
}
export const ok = <nca-player src="ring.nca" speed={30} width={64} interactive fit="contain" id="p" />;
// @ts-expect-error fit is 'cover' or 'contain'
export const bad = <nca-player fit="stretch" />;
`;

const IIFE_TS = `import type {} from 'nca-studio/player/iife';
// The classic script's global, as a CDN page sees it.
export const Engine = globalThis.NcaPlayer.NcaEngine;
export const element: HTMLElementTagNameMap['nca-player'] | null = document.querySelector('nca-player');
`;

const THREE_TS = `import { NCATexture, type NCATextureOptions } from 'nca-studio/three';
import { MeshBasicMaterial, type Texture } from 'three';

const options: NCATextureOptions = { width: 64, height: 64, speed: 30, backend: 'webgl2' };
export const texture: Texture = new NCATexture('a.nca', options);
export const material = new MeshBasicMaterial({ map: texture });
const nca = new NCATexture('a.nca');
nca.paused = true;
nca.ready.then(() => nca.engine.restart());
// @ts-expect-error backend is auto, webgl2 or webgpu
export const wrong = new NCATexture('a.nca', { backend: 'gl' });
`;

test('the declarations type-check a user project (bundler and NodeNext resolution)', { skip, timeout: 180_000 }, () => {
  const dir = join(app, 'typed');
  mkdirSync(dir);
  writeFileSync(join(dir, 'typed.ts'), TYPED_TS);
  writeFileSync(join(dir, 'typed-jsx.tsx'), TYPED_JSX);
  writeFileSync(join(dir, 'iife.ts'), IIFE_TS);
  writeFileSync(join(dir, 'three.ts'), THREE_TS);
  writeFileSync(join(dir, 'main.ts'), MAIN_TS);
  const base = { target: 'ES2022', strict: true, noEmit: true, lib: ['ES2022', 'DOM', 'DOM.Iterable'], types: [], jsx: 'preserve' };
  const ours = ['typed.ts', 'typed-jsx.tsx', 'iife.ts'];
  const configs: Record<string, { compilerOptions: object; files: string[] }> = {
    // Our declarations checked in full (no skipLibCheck), under both resolutions users have.
    'tsconfig.bundler.json': { compilerOptions: { ...base, module: 'ESNext', moduleResolution: 'bundler', skipLibCheck: false }, files: ours },
    'tsconfig.node.json': { compilerOptions: { ...base, module: 'NodeNext', moduleResolution: 'NodeNext', skipLibCheck: false }, files: ours },
    // With three.js: skipLibCheck as three.js projects have it (checking all of @types/three takes a minute).
    'tsconfig.three.json': { compilerOptions: { ...base, module: 'ESNext', moduleResolution: 'bundler', skipLibCheck: true }, files: ['three.ts', 'main.ts'] },
  };
  const tsc = join(repoRoot, 'node_modules/typescript/bin/tsc');
  for (const [name, config] of Object.entries(configs)) {
    writeFileSync(join(dir, name), JSON.stringify(config));
    ok(run(process.execPath, [tsc, '-p', join(dir, name)], { cwd: dir }), `tsc -p ${name}`);
  }
  // The check can fail: a wrong use that is not marked as expected is an error.
  writeFileSync(join(dir, 'typed.ts'), `${TYPED_TS}\nplayer.fit = 'fill';\n`);
  const broken = run(process.execPath, [tsc, '-p', join(dir, 'tsconfig.bundler.json')], { cwd: dir });
  assert.notEqual(broken.code, 0);
  assert.match(broken.stdout, /typed\.ts.*'"fill"' is not assignable/);
});
