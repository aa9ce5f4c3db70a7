import { test } from 'node:test';
import assert from 'node:assert/strict';
import { crossfadeLoop } from '../../exporter/render/loop.ts';

async function* source(count: number): AsyncGenerator<Uint8Array> {
  for (let i = 0; i < count; i++) yield Uint8Array.of(i * 10, 0, 0, 255);
}

async function collect(it: AsyncIterable<Uint8Array>): Promise<number[]> {
  const out: number[] = [];
  for await (const f of it) out.push(f[0]);
  return out;
}

test('crossfade loop: n frames out of n + k, every step (the wrap included) between neighbours', async () => {
  const n = 8;
  const k = 3;
  const out = await collect(crossfadeLoop(source(n + k), n, k));
  assert.equal(out.length, n);
  // Frames k..n-1 unchanged, then blends of f[n+i] into f[i] with weight (i+1)/(k+1).
  const expected = [30, 40, 50, 60, 70];
  for (let i = 0; i < k; i++) expected.push(Math.round((n + i) * 10 + (i * 10 - (n + i) * 10) * ((i + 1) / (k + 1))));
  assert.deepEqual(out, expected);
  // Source frames are 10 apart; cut without blending, the wrap would jump 40. Blended, no step exceeds 10.
  const jumps = out.map((v, i) => Math.abs(out[(i + 1) % n] - v));
  assert.ok(Math.max(...jumps) <= 10, `largest jump ${Math.max(...jumps)} in ${out}`);
});

test('crossfade loop checks its arguments and the number of frames it gets', async () => {
  await assert.rejects(collect(crossfadeLoop(source(10), 5, 5)), /needs 1\.\.4/);
  await assert.rejects(collect(crossfadeLoop(source(6), 5, 2)), /expected 7 frames, got 6/);
});
