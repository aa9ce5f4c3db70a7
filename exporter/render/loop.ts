/**
 * Seamless loops by crossfading the ends (as the Self-Organising Textures videos do).
 *
 * From n + k rendered frames f[0..n+k), the loop is
 *   f[k], ..., f[n-1], b[0], ..., b[k-1]      with b[i] = mix(f[n+i], f[i], (i+1)/(k+1)),
 * so every transition, the wrap-around included, moves between neighbouring frames:
 * f[n-1] -> b[0] ≈ f[n], and b[k-1] ≈ f[k-1] -> f[k]. Only the first k frames are held.
 */

/** Blends two RGBA8 frames: (1 - t) * a + t * b. */
export function mixFrames(a: Uint8Array, b: Uint8Array, t: number): Uint8Array {
  const out = new Uint8Array(a.length);
  for (let i = 0; i < a.length; i++) out[i] = Math.round(a[i] + (b[i] - a[i]) * t);
  return out;
}

export async function* crossfadeLoop(source: AsyncIterable<Uint8Array>, frames: number, overlap: number): AsyncGenerator<Uint8Array> {
  if (!(overlap >= 1 && overlap < frames)) throw new Error(`crossfade of ${overlap} frames needs 1..${frames - 1}`);
  const head: Uint8Array[] = [];
  let index = 0;
  for await (const frame of source) {
    if (index < overlap) head.push(frame);
    else if (index < frames) yield frame;
    else yield mixFrames(frame, head[index - frames], (index - frames + 1) / (overlap + 1));
    index++;
  }
  if (index !== frames + overlap) throw new Error(`crossfade expected ${frames + overlap} frames, got ${index}`);
}
