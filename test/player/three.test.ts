/**
 * The three.js adapter: an NCATexture used as a material map shows the automaton and updates
 * each frame; a living (v1.1) model's dead cells are transparent on a transparent material.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createState, decodeNca, encodeNca, ReferenceNca, toColours, toRgba } from '../../formats/index.ts';
import { randomModel } from '../helpers/models.ts';
import { growingModel, startHarness, type Harness } from './harness.ts';

const bytes = encodeNca(randomModel({ seed: 11, topology: { hidden: 16 } }));
const grid = { width: 32, height: 32 };
const living = encodeNca(growingModel());

let harness: Harness;
before(async () => {
  harness = await startHarness();
  harness.routes.set('/models/m.nca', { body: bytes, type: 'application/octet-stream' });
  harness.routes.set('/models/living.nca', { body: living, type: 'application/octet-stream' });
});
after(() => harness?.close());

test('NCATexture maps the automaton onto a mesh and re-uploads as it runs', async () => {
  const { page, errors } = await harness.open();
  const result = await page.evaluate(`(async () => {
    const THREE = await import('three');
    const { NCATexture } = await import('/dist/three.js');
    const texture = new NCATexture('/models/m.nca', { width: 32, height: 32, seed: 2, speed: 0, backend: 'webgl2' });
    await texture.ready;
    texture.magFilter = THREE.NearestFilter; // 2x2 screen pixels per cell: compare cell by cell
    const renderer = new THREE.WebGLRenderer({ preserveDrawingBuffer: true });
    renderer.setSize(64, 64, false);
    const scene = new THREE.Scene();
    scene.add(new THREE.Mesh(new THREE.PlaneGeometry(2, 2), new THREE.MeshBasicMaterial({ map: texture })));
    const camera = new THREE.OrthographicCamera(-1, 1, 1, -1, 0, 2);
    camera.position.z = 1;
    renderer.render(scene, camera);
    const gl = renderer.getContext();
    const pixels = new Uint8Array(64 * 64 * 4);
    gl.readPixels(0, 0, 64, 64, gl.RGBA, gl.UNSIGNED_BYTE, pixels);
    const versionBefore = texture.version;
    texture.engine.speed = 60;
    await new Promise((r) => setTimeout(r, 300));
    return {
      pixels: Array.from(pixels),
      showsEngineCanvas: texture.image === texture.engine.canvas,
      uploadsWhileRunning: texture.version > versionBefore && texture.engine.stepCount > 0,
    };
  })()`) as { pixels: number[]; showsEngineCanvas: boolean; uploadsWhileRunning: boolean };
  assert.ok(result.showsEngineCanvas);
  assert.ok(result.uploadsWhileRunning);
  // Each cell covers 2x2 screen pixels; readPixels rows run bottom-up. sRGB round trips cost at most 2/255.
  const model = decodeNca(bytes).model;
  const expected = toRgba(model.topology, createState(model, grid, 2), grid);
  let worst = 0;
  for (let y = 0; y < grid.height; y++) {
    for (let x = 0; x < grid.width; x++) {
      const pixel = ((63 - 2 * y) * 64 + 2 * x) * 4;
      for (let k = 0; k < 3; k++) worst = Math.max(worst, Math.abs(result.pixels[pixel + k] - expected[(y * grid.width + x) * 4 + k]));
    }
  }
  assert.ok(worst <= 2, `worst colour difference ${worst}/255`);
  assert.deepEqual(errors, []);
});

test('NCATexture of a living model: dead cells are transparent on a transparent material', async () => {
  const steps = 14;
  const { page, errors } = await harness.open();
  const pixels = (await page.evaluate(`(async () => {
    const THREE = await import('three');
    const { NCATexture } = await import('/dist/three.js');
    const texture = new NCATexture('/models/living.nca', { width: 32, height: 32, seed: 3, speed: 0, backend: 'webgl2' });
    await texture.ready;
    texture.engine.run(${steps});
    texture.engine.draw();
    texture.needsUpdate = true;
    texture.magFilter = THREE.NearestFilter;
    const renderer = new THREE.WebGLRenderer({ preserveDrawingBuffer: true });
    renderer.setSize(64, 64, false);
    renderer.setClearColor(0xff00ff, 1);
    const scene = new THREE.Scene();
    scene.add(new THREE.Mesh(new THREE.PlaneGeometry(2, 2), new THREE.MeshBasicMaterial({ map: texture, transparent: true })));
    const camera = new THREE.OrthographicCamera(-1, 1, 1, -1, 0, 2);
    camera.position.z = 1;
    renderer.render(scene, camera);
    const gl = renderer.getContext();
    const pixels = new Uint8Array(64 * 64 * 4);
    gl.readPixels(0, 0, 64, 64, gl.RGBA, gl.UNSIGNED_BYTE, pixels);
    return Array.from(pixels);
  })()`)) as number[];
  // Straight colour over magenta; the canvas round trip (premultiplied 8-bit, un-premultiplied on upload) and sRGB cost a few /255.
  const model = decodeNca(living).model;
  const colours = toColours(model.topology, new ReferenceNca(model, grid, 3).run(steps).state, grid);
  let worst = 0;
  let transparent = 0;
  for (let y = 0; y < grid.height; y++) {
    for (let x = 0; x < grid.width; x++) {
      const pixel = ((63 - 2 * y) * 64 + 2 * x) * 4;
      const cell = (y * grid.width + x) * 4;
      const a = colours[cell + 3];
      if (a === 0) transparent++;
      for (let k = 0; k < 3; k++) {
        const expected = Math.round((colours[cell + k] * a + [1, 0, 1][k] * (1 - a)) * 255);
        worst = Math.max(worst, Math.abs(pixels[pixel + k] - expected));
      }
    }
  }
  console.log(`  living model through three.js: worst colour difference ${worst}/255`);
  assert.ok(transparent > 100 && transparent < grid.width * grid.height - 20, `${transparent} transparent cells`);
  assert.ok(worst <= 3, `worst colour difference ${worst}/255`);
  assert.deepEqual(errors, []);
});
