/**
 * `--device webgpu`: onnxruntime-node's bundled WebGPU provider where an adapter exists, else the
 * CPU with one line on stderr. These machines have no adapter (no Vulkan driver that Dawn
 * accepts), so here the fallback is what runs; on a machine with a GPU the same tests check
 * the other branch.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { encodePng } from '../../trainer/image/png.ts';
import { checkDevice, DEVICES, probeWebGpu, resolveDevice, Session } from '../../trainer/engine/session.ts';
import { Graph } from '../../trainer/graph/graph.ts';
import { matmul, relu } from '../../trainer/graph/ops.ts';

const root = fileURLToPath(new URL('../..', import.meta.url));

test('webgpu is a device; unknown devices and providers this build lacks are refused with the choices', () => {
  assert.ok(DEVICES.includes('webgpu'));
  assert.equal(checkDevice('webgpu'), 'webgpu'); // bundled on linux/x64, macOS and Windows builds
  assert.equal(checkDevice('cpu'), 'cpu');
  assert.throws(() => checkDevice('metal'), /unknown device "metal" \(choose one of: cpu, webgpu, cuda, dml, coreml\)/);
  assert.throws(() => checkDevice('dml'), /has no "dml" execution provider .*this build offers: cpu, webgpu/);
});

test('resolveDevice: webgpu where the provider finds an adapter, else cpu and one line, once', () => {
  const probe = probeWebGpu();
  assert.equal(typeof probe.available, 'boolean');
  assert.ok(probe.reason.length > 0);
  const lines: string[] = [];
  const first = resolveDevice('webgpu', (line) => lines.push(line));
  const second = resolveDevice('webgpu', (line) => lines.push(line));
  assert.equal(resolveDevice('cpu', (line) => lines.push(line)), 'cpu');
  if (probe.available) {
    assert.deepEqual([first, second, lines], ['webgpu', 'webgpu', []]);
  } else {
    assert.deepEqual([first, second], ['cpu', 'cpu']);
    assert.equal(lines.length, 1, 'said once per process');
    assert.doesNotMatch(lines[0], /\n/);
    assert.match(lines[0], /^nca: --device webgpu: no WebGPU adapter on this machine \(.+\); running on the CPU instead$/);
    assert.ok(lines[0].includes(probe.reason));
  }
});

test('a session asked for webgpu computes the same as one on the CPU', async () => {
  const g = new Graph('device-test');
  const x = g.input('x', [2, 3]);
  const w = g.input('w', [3, 2]);
  g.output(relu(matmul(x, w)), 'y');
  const feeds = { x: Float32Array.from([1, -2, 3, 0.5, 0.25, -1]), w: Float32Array.from([0.5, -1, 2, 0.25, -0.75, 1]) };
  const on = async (device: 'cpu' | 'webgpu') => {
    const session = await Session.create(g, { device, threads: 1 });
    const { y } = await session.run(feeds);
    await session.release();
    return Array.from(y as Float32Array);
  };
  const [cpu, gpu] = [await on('cpu'), await on('webgpu')];
  assert.deepEqual(cpu, [0, 1.5, 1.5, 0]);
  for (let i = 0; i < cpu.length; i++) assert.ok(Math.abs(gpu[i] - cpu[i]) < 1e-5, `${gpu} vs ${cpu}`);
});

test('nca train --help offers --device webgpu; a tiny run with it trains and says where it runs, in one line', () => {
  const help = spawnSync(process.execPath, ['bin/nca.mjs', 'train', '--help'], { cwd: root, encoding: 'utf8' });
  assert.equal(help.status, 0, help.stderr);
  assert.match(help.stdout, /--device DEVICE +cpu, webgpu, cuda, dml, coreml/);

  const dir = mkdtempSync(join(tmpdir(), 'nca-device-'));
  const size = 12;
  const target = new Uint8Array(size * size * 4);
  for (let p = 0; p < size * size; p++) target.set(p % size < size / 2 ? [220, 60, 40, 255] : [0, 0, 0, 0], p * 4);
  writeFileSync(join(dir, 'target.png'), encodePng({ width: size, height: size, data: target }));
  const args = ['train', '--target', join(dir, 'target.png'), '--out', join(dir, 'run'), '--device', 'webgpu', '--iterations', '2', '--batch', '1', '--pool', '2'];
  const run = spawnSync(process.execPath, ['bin/nca.mjs', ...args, '--steps', '8-8', '--hidden', '16', '--preview-every', '0', '--quiet'], { cwd: root, encoding: 'utf8' });
  assert.equal(run.status, 0, run.stderr);
  const said = run.stderr.split('\n').filter((line) => line.includes('--device webgpu'));
  assert.equal(said.length, probeWebGpu().available ? 0 : 1, run.stderr);
  assert.ok(existsSync(join(dir, 'run', 'model.nca')));
  rmSync(dir, { recursive: true, force: true });
});
