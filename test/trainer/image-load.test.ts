// Image loading (trainer/image/load.ts): PNG, JPEG, WebP, GIF and SVG to RGBA8, and one clear error for bad files.
// The test makes its own files: a PNG from our encoder, converted by sharp to the other formats.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import sharp, { type Sharp } from 'sharp';
import { encodePng, type RgbaImage } from '../../trainer/image/png.ts';
import { ImageError, loadImage } from '../../trainer/image/load.ts';

/** A smooth opaque image (lossy codecs keep it close), or one with varied alpha. */
function picture(width: number, height: number, alpha = false): RgbaImage {
  const data = new Uint8Array(width * height * 4);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const i = (y * width + x) * 4;
      data[i] = Math.round((255 * x) / (width - 1));
      data[i + 1] = Math.round((255 * y) / (height - 1));
      data[i + 2] = 96;
      data[i + 3] = alpha ? 40 + ((x * 37 + y * 11) % 200) : 255;
    }
  }
  return { width, height, data };
}

const convert = (image: RgbaImage, f: (s: Sharp) => Sharp) => f(sharp(Buffer.from(encodePng(image)))).toBuffer();

function meanAbsDiff(a: Uint8Array, b: Uint8Array): number {
  assert.equal(a.length, b.length);
  let sum = 0;
  for (let i = 0; i < a.length; i++) sum += Math.abs(a[i] - b[i]);
  return sum / a.length;
}

test('PNG with alpha loads exactly', async () => {
  const image = picture(13, 7, true);
  const loaded = await loadImage(encodePng(image), 'a.png');
  assert.deepEqual([loaded.width, loaded.height], [13, 7]);
  assert.ok(loaded.data instanceof Uint8Array);
  assert.deepEqual(Array.from(loaded.data), Array.from(image.data));
});

test('interlaced PNG (which our own PNG codec refuses) loads exactly', async () => {
  const image = picture(9, 7, true);
  const interlaced = await convert(image, (s) => s.png({ progressive: true }));
  assert.equal(interlaced[28], 1, 'the IHDR interlace byte');
  const loaded = await loadImage(interlaced, 'adam7.png');
  assert.deepEqual(Array.from(loaded.data), Array.from(image.data));
});

test('greyscale PNG becomes RGB with opaque alpha', async () => {
  const grey = await convert(picture(8, 8), (s) => s.greyscale().png());
  const loaded = await loadImage(grey, 'grey.png');
  assert.equal(loaded.data.length, 8 * 8 * 4);
  for (let i = 0; i < 64; i++) {
    const [r, g, b, a] = loaded.data.subarray(4 * i, 4 * i + 4);
    assert.ok(r === g && g === b && a === 255, `pixel ${i}: ${r} ${g} ${b} ${a}`);
  }
});

test('JPEG loads close to the original, opaque', async () => {
  const image = picture(32, 24);
  const loaded = await loadImage(await convert(image, (s) => s.jpeg({ quality: 95 })), 'a.jpg');
  assert.deepEqual([loaded.width, loaded.height], [32, 24]);
  assert.ok(meanAbsDiff(loaded.data, image.data) < 3, `mean error ${meanAbsDiff(loaded.data, image.data)}`);
  for (let i = 3; i < loaded.data.length; i += 4) assert.equal(loaded.data[i], 255);
});

test('JPEG EXIF orientation is applied (a 32x24 photo tagged "rotate 90" loads as 24x32)', async () => {
  const jpeg = await convert(picture(32, 24), (s) => s.jpeg().withMetadata({ orientation: 6 }));
  const loaded = await loadImage(jpeg, 'rotated.jpg');
  assert.deepEqual([loaded.width, loaded.height], [24, 32]);
});

test('WebP: lossless is exact (alpha too), lossy is close', async () => {
  const image = picture(16, 9, true);
  const lossless = await loadImage(await convert(image, (s) => s.webp({ lossless: true })), 'a.webp');
  assert.deepEqual(Array.from(lossless.data), Array.from(image.data));
  const opaque = picture(32, 24);
  const lossy = await loadImage(await convert(opaque, (s) => s.webp({ quality: 95 })), 'b.webp');
  assert.ok(meanAbsDiff(lossy.data, opaque.data) < 4);
});

test('GIF loads (first frame, palette colours)', async () => {
  const image = picture(10, 6);
  const loaded = await loadImage(await convert(image, (s) => s.gif()), 'a.gif');
  assert.deepEqual([loaded.width, loaded.height], [10, 6]);
  assert.ok(meanAbsDiff(loaded.data, image.data) < 12);
});

const svg = new TextEncoder().encode(
  '<svg xmlns="http://www.w3.org/2000/svg" width="20" height="10" viewBox="0 0 20 10">' +
    '<rect width="10" height="10" fill="#ff0000"/><rect x="10" width="10" height="10" fill="#0000ff"/></svg>',
);
const pixel = (im: RgbaImage, x: number, y: number) => Array.from(im.data.subarray((y * im.width + x) * 4, (y * im.width + x) * 4 + 4));

test('SVG is rasterised at its own size, or at a requested one', async () => {
  const natural = await loadImage(svg, 'a.svg');
  assert.deepEqual([natural.width, natural.height], [20, 10]);
  assert.deepEqual(pixel(natural, 2, 5), [255, 0, 0, 255]);
  assert.deepEqual(pixel(natural, 17, 5), [0, 0, 255, 255]);

  const wide = await loadImage(svg, 'a.svg', { svgSize: { width: 200 } });
  assert.deepEqual([wide.width, wide.height], [200, 100], 'one side given: the other keeps the aspect');
  assert.deepEqual(pixel(wide, 0, 0), [255, 0, 0, 255]);
  assert.deepEqual(pixel(wide, 199, 99), [0, 0, 255, 255]);
  assert.deepEqual(pixel(wide, 95, 50), [255, 0, 0, 255], 'sharp edges at the rendered size, not an upscaled blur');

  const exact = await loadImage(svg, 'a.svg', { svgSize: { width: 64, height: 64 } });
  assert.deepEqual([exact.width, exact.height], [64, 64]);
  await assert.rejects(loadImage(svg, 'a.svg', { svgSize: { width: 0 } }), ImageError);
});

test('bad and unsupported files throw an ImageError with a one-line message naming the file', async () => {
  const png = encodePng(picture(8, 8));
  const jpeg = await convert(picture(32, 24), (s) => s.jpeg());
  const bad: [string, Uint8Array, RegExp][] = [
    ['empty.png', new Uint8Array(0), /empty/],
    ['cut.png', png.subarray(0, 60), /not a readable image/],
    ['cut.jpg', jpeg.subarray(0, jpeg.length >> 1), /not a readable image/],
    ['noise.bin', Uint8Array.from({ length: 200 }, (_, i) => (i * 73 + 11) & 255), /not a readable image/],
    ['broken.svg', new TextEncoder().encode('<svg xmlns="http://www.w3.org/2000/svg"><rect'), /not a readable image/],
    ['a.tif', await convert(picture(8, 8), (s) => s.tiff()), /unsupported image format "tiff"/],
  ];
  for (const [name, bytes, message] of bad) {
    await assert.rejects(loadImage(bytes, name), (err: Error) => {
      assert.ok(err instanceof ImageError, `${name}: ${err.name} ${err.message}`);
      assert.match(err.message, message);
      assert.ok(err.message.startsWith(`${name}: `), err.message);
      assert.ok(!err.message.includes('\n'), `${name}: several lines: ${err.message}`);
      return true;
    });
  }
});
