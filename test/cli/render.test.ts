import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { encodeNca, ReferenceNca, type NcaModel } from '../../formats/index.ts';
import { quantize } from '../../exporter/quantize.ts';
import { decodeGif } from '../helpers/gif-decoder.ts';
import { randomModel } from '../helpers/models.ts';
import { runNca } from '../helpers/cli.ts';

const dir = mkdtempSync(join(tmpdir(), 'nca-render-'));
// Render what the file holds (int8 weights): the reference frames must use the same weights.
const model: NcaModel = quantize(randomModel({ seed: 3 }), 'int8');
const modelPath = join(dir, 'model.nca');
writeFileSync(modelPath, encodeNca(model));

/** RGBA frames of the reference core: one every `spf` steps after `warmup`. */
function referenceFrames(width: number, height: number, count: number, spf: number, warmup: number): Uint8Array[] {
  const nca = new ReferenceNca(model, { width, height }).run(warmup);
  return Array.from({ length: count }, (_, i) => new Uint8Array((i > 0 ? nca.run(spf) : nca).rgba()));
}

/** Checks that each decoded pixel is (up to float rounding) the palette colour nearest to the reference pixel. */
function assertNearPalette(decoded: Uint8Array[], expected: Uint8Array[]): void {
  const palette = new Set<number>();
  for (const f of decoded) for (let p = 0; p < f.length; p += 4) palette.add((f[p] << 16) | (f[p + 1] << 8) | f[p + 2]);
  const colours = [...palette].map((c) => [c >> 16, (c >> 8) & 255, c & 255]);
  assert.ok(colours.length <= 256);
  let sum = 0;
  let count = 0;
  decoded.forEach((f, i) => {
    for (let p = 0; p < f.length; p += 4) {
      const ref = expected[i].subarray(p, p + 3);
      const dist = (c: ArrayLike<number>) => Math.hypot(c[0] - ref[0], c[1] - ref[1], c[2] - ref[2]);
      const best = Math.min(...colours.map(dist));
      const got = dist(f.subarray(p, p + 3));
      // 2 levels of slack: ort and the reference core may round a channel differently.
      assert.ok(got <= best + 2, `frame ${i} pixel ${p / 4}: error ${got}, nearest palette colour ${best}`);
      sum += got;
      count++;
    }
  });
  assert.ok(sum / count < 12, `mean palette error ${sum / count}`);
}

test('nca render --gif writes a looping GIF of the requested 16:9 size whose frames are the reference core\'s', () => {
  const gifPath = join(dir, 'wide.gif');
  const { code, stdout, stderr } = runNca(['render', modelPath, '--gif', gifPath, '--size', '48x27', '--frames', '6', '--steps-per-frame', '2', '--fps', '25', '--json']);
  assert.equal(code, 0, stderr);
  const summary = JSON.parse(stdout);
  assert.equal(summary.frames, 6);
  assert.equal(summary.outputs[0].bytes, readFileSync(gifPath).length);
  const gif = decodeGif(new Uint8Array(readFileSync(gifPath)));
  assert.equal(gif.width, 48);
  assert.equal(gif.height, 27);
  assert.equal(gif.loopCount, 0);
  assert.equal(gif.frames.length, 6);
  assert.ok(gif.frames.every((f) => f.delayCs === 4));
  assertNearPalette(gif.frames.map((f) => f.rgba), referenceFrames(48, 27, 6, 2, 0));
});

test('nca render --loop crossfades the ends of frames rendered after a warm-up', () => {
  const gifPath = join(dir, 'loop.gif');
  const args = ['render', modelPath, '--gif', gifPath, '--size', '20x20', '--frames', '8', '--steps-per-frame', '1', '--loop', '--crossfade', '3', '--warmup', '5', '--quiet'];
  const { code, stderr } = runNca(args);
  assert.equal(code, 0, stderr);
  assert.equal(stderr, '', '--quiet prints no progress');
  const raw = referenceFrames(20, 20, 11, 1, 5);
  // The documented loop: f[3..7], then f[8+i] blended towards f[i] with weight (i+1)/4.
  const mix = (a: Uint8Array, b: Uint8Array, t: number) => a.map((v, j) => Math.round(v + (b[j] - v) * t));
  const expected = [...raw.slice(3, 8), ...[0, 1, 2].map((i) => mix(raw[8 + i], raw[i], (i + 1) / 4))];
  const gif = decodeGif(new Uint8Array(readFileSync(gifPath)));
  assert.equal(gif.frames.length, 8);
  assertNearPalette(gif.frames.map((f) => f.rgba), expected);
});

test('nca render --scale N draws each cell as an N x N block of the unscaled frame', () => {
  const plain = join(dir, 'plain.gif');
  const scaled = join(dir, 'scaled.gif');
  const args = ['render', modelPath, '--size', '7x5', '--frames', '2', '--quiet'];
  assert.equal(runNca([...args, '--gif', plain]).code, 0);
  assert.equal(runNca([...args, '--gif', scaled, '--scale', '3']).code, 0);
  const a = decodeGif(new Uint8Array(readFileSync(plain)));
  const b = decodeGif(new Uint8Array(readFileSync(scaled)));
  assert.deepEqual([b.width, b.height, b.frames.length], [21, 15, 2]);
  b.frames.forEach((frame, i) => {
    for (let y = 0; y < 15; y++) {
      for (let x = 0; x < 21; x++) {
        const cell = a.frames[i].rgba.subarray(((Math.floor(y / 3) * 7 + Math.floor(x / 3)) * 4), (Math.floor(y / 3) * 7 + Math.floor(x / 3)) * 4 + 4);
        assert.deepEqual(frame.rgba.subarray((y * 21 + x) * 4, (y * 21 + x) * 4 + 4), cell, `frame ${i} (${x}, ${y})`);
      }
    }
  });
});

test('nca render --config takes the same settings as flags, and flags override it', () => {
  const config = join(dir, 'render.json');
  writeFileSync(config, JSON.stringify({ args: [modelPath], size: '24x16', frames: 3, 'steps-per-frame': 2, quiet: true }));
  const fromFlags = join(dir, 'flags.gif');
  const fromConfig = join(dir, 'config.gif');
  assert.equal(runNca(['render', modelPath, '--gif', fromFlags, '--size', '24x16', '--frames', '3', '--steps-per-frame', '2']).code, 0);
  assert.equal(runNca(['render', '--config', config, '--gif', fromConfig]).code, 0);
  assert.deepEqual(readFileSync(fromConfig), readFileSync(fromFlags));
  const overridden = join(dir, 'override.gif');
  assert.equal(runNca(['render', '--config', config, '--gif', overridden, '--frames', '2']).code, 0);
  assert.equal(decodeGif(new Uint8Array(readFileSync(overridden))).frames.length, 2);
});

test('nca render: bad input gets one line and the documented exit code', () => {
  // An ffmpeg that starts but fails, as one with a missing encoder does.
  const failingFfmpeg = join(dir, 'failing-ffmpeg');
  writeFileSync(failingFfmpeg, '#!/bin/sh\n[ "$1" = "-version" ] && exit 0\ncat > /dev/null\necho "no encoder" >&2\nexit 1\n', { mode: 0o755 });
  const corrupt = join(dir, 'corrupt.nca');
  const bytes = encodeNca(model);
  bytes[40] ^= 0xff;
  writeFileSync(corrupt, bytes);
  const badConfig = join(dir, 'bad.json');
  writeFileSync(badConfig, JSON.stringify({ frame: 3 }));
  const gif = join(dir, 'x.gif');
  const cases: [string[], number, RegExp, Record<string, string>?][] = [
    [['render', modelPath], 64, /no output given/],
    [['render', modelPath, '--gif', gif, '--size', '256by144'], 64, /WIDTHxHEIGHT/],
    [['render', modelPath, '--gif', gif, '--frames', '0'], 64, /--frames must be a whole number from 1/],
    [['render', modelPath, '--gif', gif, '--engine', 'gpu'], 64, /--engine must be one of ort, reference/],
    [['render', join(dir, 'missing.nca'), '--gif', gif], 66, /no such file/],
    [['render', corrupt, '--gif', gif], 65, /checksum/],
    [['render', badConfig, '--gif', gif], 65, /not a \.nca file or a training checkpoint/],
    [['render', '--config', badConfig, modelPath, '--gif', gif], 65, /unknown option "frame"/],
    [['render', modelPath, '--mp4', join(dir, 'x.mp4')], 69, /needs ffmpeg/, { NCA_FFMPEG: join(dir, 'no-ffmpeg-here') }],
    [['render', modelPath, '--mp4', join(dir, 'x.mp4'), '--quiet'], 1, /cannot write .*x\.mp4: ffmpeg failed: no encoder/, { NCA_FFMPEG: failingFfmpeg }],
    [['render', modelPath, '--gif', join(dir, 'no-such-folder', 'x.gif')], 1, /there is no folder/],
    [['render', modelPath, '--png-dir', modelPath], 1, /it is a file/],
  ];
  for (const [args, exitCode, message, env] of cases) {
    const { code, stderr } = runNca(args, { env });
    assert.equal(code, exitCode, `${args.join(' ')}: ${stderr}`);
    assert.match(stderr, message);
    assert.equal(stderr.trim().split('\n').length, 1, `${args.join(' ')}: one line, no stack trace`);
  }
});

const ffmpegInstalled = spawnSync('ffprobe', ['-version'], { stdio: 'ignore' }).status === 0;

test('nca render --mp4/--webm write videos that ffprobe reads back (only where ffmpeg is installed)', { skip: !ffmpegInstalled && 'ffmpeg is not installed' }, () => {
  const mp4 = join(dir, 'odd.mp4');
  const webm = join(dir, 'odd.webm');
  const { code, stderr } = runNca(['render', modelPath, '--mp4', mp4, '--webm', webm, '--size', '33x17', '--frames', '5', '--quiet']);
  assert.equal(code, 0, stderr);
  for (const [file, codec] of [[mp4, 'h264'], [webm, 'vp9']]) {
    const probe = spawnSync('ffprobe', ['-v', 'error', '-count_frames', '-show_entries', 'stream=codec_name,width,height,nb_read_frames', '-of', 'csv=p=0', file], { encoding: 'utf8' });
    // Odd sides are padded to even ones for yuv420p.
    assert.equal(probe.stdout.trim(), `${codec},34,18,5`, file);
  }
});

test('nca render --device webgpu: without an adapter (as here) one line says so and the CPU renders', () => {
  const dir = mkdtempSync(join(tmpdir(), 'nca-render-device-'));
  const gif = join(dir, 'out.gif');
  const r = runNca(['render', 'examples/models/ring.nca', '--gif', gif, '--frames', '2', '--device', 'webgpu', '--quiet']);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(decodeGif(readFileSync(gif)).frames.length, 2);
  const notes = r.stderr.split('\n').filter((line) => /webgpu/i.test(line));
  assert.ok(notes.length <= 1, r.stderr);
  if (notes.length === 1) assert.match(notes[0], /running on the CPU instead/);
  const bad = runNca(['render', 'examples/models/ring.nca', '--gif', gif, '--device', 'tpu']);
  assert.equal(bad.code, 64, bad.stderr);
});
