// Image prompts (trainer/clip/image-prompt.ts, nca train --image-prompt): any format loadImage
// reads, an SVG drawn at the tower's input size, a large photo shrunk first, bad files refused
// with one line and exit code 65. The test makes its own files with our PNG encoder and sharp.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import sharp from 'sharp';
import { decodeNca } from '../../formats/nca-file.ts';
import { fitImagePrompt, readImagePrompt } from '../../trainer/clip/image-prompt.ts';
import { ImageError } from '../../trainer/image/load.ts';
import { encodePng, type RgbaImage } from '../../trainer/image/png.ts';
import { repoRoot, runNca } from '../helpers/cli.ts';

const work = mkdtempSync(join(tmpdir(), 'nca-image-prompt-'));
/** A 2:1 drawing, red left half and blue right half, 8x4 at its own size. */
const svg = new TextEncoder().encode(
  '<svg xmlns="http://www.w3.org/2000/svg" width="8" height="4" viewBox="0 0 8 4">' +
    '<rect width="4" height="4" fill="#ff0000"/><rect x="4" width="4" height="4" fill="#0000ff"/></svg>',
);
const pixel = (im: RgbaImage, x: number, y: number) => Array.from(im.data.subarray((y * im.width + x) * 4, (y * im.width + x) * 4 + 4));

/** A smooth opaque picture, as a PNG. */
function picturePng(width: number, height: number): Uint8Array {
  const data = new Uint8Array(width * height * 4);
  for (let i = 0; i < width * height; i++) data.set([(i % width) * 3, Math.floor(i / width) * 5, 90, 255], i * 4);
  return encodePng({ width, height, data });
}

test('an SVG prompt is drawn with its short side at the tower size, not resampled from its own size', async () => {
  const file = await readImagePrompt(svg, 'logo.svg');
  assert.equal(file.svg, true);
  assert.deepEqual([file.image.width, file.image.height], [8, 4]);
  const fitted = await fitImagePrompt(file, 32);
  assert.deepEqual([fitted.width, fitted.height], [64, 32]);
  // Sharp at the seam: an 8x4 raster scaled up 8 times would blend the two columns beside it.
  assert.deepEqual(pixel(fitted, 31, 16), [255, 0, 0, 255]);
  assert.deepEqual(pixel(fitted, 32, 16), [0, 0, 255, 255]);
  const tall = await fitImagePrompt({ ...file, image: { width: 4, height: 8, data: new Uint8Array(128) } }, 32);
  assert.equal(tall.width, 32, 'a portrait drawing gets its width, the short side, set');
});

test('JPEG and WebP prompts load; a raster larger than the tower is shrunk to its short side, a smaller one is kept', async () => {
  const png = Buffer.from(picturePng(90, 45));
  for (const [name, bytes] of [
    ['photo.jpg', await sharp(png).jpeg({ quality: 95 }).toBuffer()],
    ['photo.webp', await sharp(png).webp({ lossless: true }).toBuffer()],
  ] as const) {
    const file = await readImagePrompt(bytes, name);
    assert.equal(file.svg, false);
    assert.deepEqual([file.image.width, file.image.height], [90, 45]);
    const small = await fitImagePrompt(file, 30);
    assert.deepEqual([small.width, small.height], [60, 30], name);
    // The shrunk image is the same picture: compare with a box average of the original.
    const mean = (im: RgbaImage, c: number) => im.data.reduce((s, v, i) => (i % 4 === c ? s + v : s), 0) / (im.width * im.height);
    for (const c of [0, 1, 2]) assert.ok(Math.abs(mean(small, c) - mean(file.image, c)) < 2, `${name} channel ${c}`);
    assert.equal(await fitImagePrompt(file, 45), file.image, 'no larger than the tower: used as it is');
  }
});

test('a bad image prompt file is an ImageError naming it', async () => {
  await assert.rejects(readImagePrompt(new TextEncoder().encode('not an image'), 'notes.txt'), (e: Error) => {
    assert.ok(e instanceof ImageError);
    assert.match(e.message, /^notes\.txt: not a readable image/);
    return true;
  });
});

test('nca train --image-prompt takes SVG and JPEG files; a bad one exits 65 with one line before any model is opened', async () => {
  const logo = join(work, 'logo.svg');
  const photo = join(work, 'photo.jpg');
  writeFileSync(logo, svg);
  writeFileSync(photo, await sharp(Buffer.from(picturePng(90, 45))).jpeg().toBuffer());
  const clip = ['--clip-path', join(repoRoot, 'test/fixtures/clip-tiny'), '--size', '40x24', '--steps', '8-10', '--pool', '8', '--batch', '2', '--cutouts', '3', '--threads', '1'];
  const out = join(work, 'run');
  const r = runNca(['train', '--image-prompt', `${logo}:0.5`, '--image-prompt', photo, '--iterations', '1', '--preview-every', '0', '--quiet', '--out', out, ...clip]);
  assert.equal(r.code, 0, r.stderr);
  const { model } = decodeNca(readFileSync(join(out, 'model.nca')));
  assert.deepEqual(model.metadata.extra?.imagePrompts, [
    { name: 'logo.svg', weight: 0.5 },
    { name: 'photo.jpg', weight: 1 },
  ]);

  const bad = join(work, 'notes.png');
  writeFileSync(bad, 'plain text, not a PNG');
  // No such CLIP folder: the bad image must be reported first.
  const refused = runNca(['train', '--image-prompt', bad, '--clip-path', join(work, 'no-clip'), '--iterations', '1', '--out', join(work, 'bad')]);
  assert.equal(refused.code, 65, refused.stderr);
  assert.equal(refused.stderr.trim().split('\n').length, 1, refused.stderr);
  assert.match(refused.stderr, /^nca train: .*notes\.png: not a readable image/);
});
