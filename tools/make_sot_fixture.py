#!/usr/bin/env python3
"""Test fixtures for `nca import sot` (test/fixtures/sot/), from random models: no published model.

Writes, with NumPy only:

- models.json: 2 random models with Self-Organising Textures' own shape (12 channels, hidden 96),
  in the layout of its WebGL demo's models.json (as its export_models.py writes it);
- wide.json: 3 random models, 6 channels, hidden 102: outputs that are not a multiple of 4
  (zero-padded pixels) and a 2x2 tile layout with an empty tile;
- expected.json: for each model, states of that project's float update rule (a NumPy
  transcription of ca.py's CAModel.embody(quantized=False), q = 2), from the weights as the
  JSON holds them (8-bit): from the all-zero seed with the .nca masks of SPEC.md section 7
  (seed 0), and from a random state with random masks given in the file; and how often each
  clamp of the rule was active, so that a test can tell that the fixture exercises them.

The layout, from export_models.py (read, not copied): per layer, the n models' matrices
[in + 1, out] (TensorFlow's [in, out] with the bias as the last row) are stacked; layer 0's
first `in` rows go from channel-major (c * 4 + f) to filter-major (f * C + c); the out axis is
zero-padded to a multiple of 4 and cut into RGBA pixels; the n tiles are laid out in `w`
columns, w growing from 1 while w < n and w * tile_width < ceil(n / w) * tile_height; the
whole layer is quantised with scale = 2 * max |value|: u8 = clip(round(v / scale * 255 + 127)),
and stored as a PNG data URL with `scale`, `shape` (one model's), `quant_scale_zero` and
`layout` = [w, ceil(n / w)].

Usage: python3 tools/make_sot_fixture.py [OUT_DIR]   (default test/fixtures/sot)
"""
import base64
import json
import os
import struct
import sys
import zlib

import numpy as np

Q = 2.0
FIRE_RATE = 0.5
QUANT_SCALE_ZERO = [(2.0, 0.0), (4.0, 127.0 / 255.0)]
GRID_W, GRID_H = 7, 5
STEPS = 8
KEEP = [1, STEPS]


# ------------------------------------------------------------------ the export layout

def png_rgba(pixels):
    """A minimal PNG (8-bit RGBA, no filtering) of a uint8 array [H, W, 4]."""
    h, w, _ = pixels.shape
    raw = b''.join(b'\x00' + pixels[y].tobytes() for y in range(h))

    def chunk(kind, data):
        return struct.pack('>I', len(data)) + kind + data + struct.pack('>I', zlib.crc32(kind + data) & 0xFFFFFFFF)

    return (b'\x89PNG\r\n\x1a\n' + chunk(b'IHDR', struct.pack('>IIBBBBB', w, h, 8, 6, 0, 0, 0))
            + chunk(b'IDAT', zlib.compress(raw, 9)) + chunk(b'IEND', b''))


def tile_columns(n, tile_w, tile_h):
    w = 1
    while w < n and w * tile_w < -(-n // w) * tile_h:
        w += 1
    return w


def export_layer(mats, index):
    """mats: [n, in + 1, out] float32, rows channel-major. Returns (layer JSON, the uint8 image)."""
    n, rows, outs = mats.shape
    layer = mats.copy()
    if index == 0:
        c = (rows - 1) // 4
        body = layer[:, :-1].reshape(n, c, 4, outs)            # [n, c, f, out]
        layer[:, :-1] = body.transpose(0, 2, 1, 3).reshape(n, rows - 1, outs)  # rows f * C + c
    padded = np.zeros((n, rows, -(-outs // 4) * 4), np.float32)
    padded[:, :, :outs] = layer
    pixels = padded.reshape(n, rows, -1, 4)                    # [n, rows, tile_w, 4]
    tile_w = pixels.shape[2]
    cols = tile_columns(n, tile_w, rows)
    grid_rows = -(-n // cols)
    image = np.zeros((grid_rows * rows, cols * tile_w, 4), np.float32)
    for i in range(n):
        y, x = (i // cols) * rows, (i % cols) * tile_w
        image[y:y + rows, x:x + tile_w] = pixels[i]
    scale = float(2.0 * np.abs(image).max())
    u8 = np.clip(np.round(image / scale * 255.0 + 127.0), 0, 255).astype(np.uint8)
    url = 'data:image/PNG;base64,' + base64.b64encode(png_rgba(u8)).decode('ascii')
    return ({'scale': scale, 'data': url, 'shape': [rows, outs], 'quant_scale_zero': list(QUANT_SCALE_ZERO[index]),
             'layout': [cols, grid_rows]}, u8, scale)


def dequantised(mats, scale):
    """What the JSON holds for these matrices: the 8-bit values, back in the original (channel-major) layout."""
    u8 = np.clip(np.round(mats / scale * 255.0 + 127.0), 0, 255).astype(np.float64)
    return ((u8 - 127.0) / 255.0 * scale).astype(np.float32)  # in float64, as a reader in JavaScript does


def read_back(u8, layer, i, index):
    """Model i's matrix as a reader of the file sees it (the self-check of the layout)."""
    rows, outs = layer['shape']
    cols = layer['layout'][0]
    tile_w = -(-outs // 4)
    y, x = (i // cols) * rows, (i % cols) * tile_w
    tile = u8[y:y + rows, x:x + tile_w].reshape(rows, tile_w * 4)[:, :outs].astype(np.float64)
    mat = ((tile - 127.0) / 255.0 * layer['scale']).astype(np.float32)
    if index == 0:
        c = (rows - 1) // 4
        mat[:-1] = mat[:-1].reshape(4, c, outs).transpose(1, 0, 2).reshape(rows - 1, outs)
    return mat


# ------------------------------------------------------------------ the float update rule

SOBEL_X = np.outer([1.0, 2.0, 1.0], [-1.0, 0.0, 1.0]) / 8.0
LAPLACIAN = np.outer([1.0, 2.0, 1.0], [1.0, 2.0, 1.0]) / 8.0
LAPLACIAN[1, 1] -= 2.0
KERNELS = np.stack([np.outer([0.0, 1.0, 0.0], [0.0, 1.0, 0.0]), SOBEL_X, SOBEL_X.T, LAPLACIAN]).astype(np.float32)  # [4, 3, 3]


def perceive(x):
    """Depthwise 3x3 cross-correlation with wrap-around, [H, W, C] -> [H, W, 4C], index c * 4 + f."""
    h, w, c = x.shape
    out = np.zeros((h, w, c, 4), np.float32)
    for dy in (-1, 0, 1):
        for dx in (-1, 0, 1):
            shifted = np.roll(np.roll(x, -dy, axis=0), -dx, axis=1)   # shifted[y, x] = x[y + dy, x + dx]
            out += shifted[..., None] * KERNELS[:, dy + 1, dx + 1]
    return out.reshape(h, w, 4 * c)


def step(x, w1, w2, mask, active):
    """One step of ca.py's float rule: every clamp as in embody(quantized=False)."""
    p = perceive(x)
    active['perception'] += int(np.sum(np.abs(p) > Q))
    y = np.clip(p, -Q, Q)
    z = np.maximum(y @ w1[:-1] + w1[-1], 0.0)
    active['hidden'] += int(np.sum(z > Q))
    h = np.clip(z, 0.0, Q)
    u = h @ w2[:-1] + w2[-1]
    active['update'] += int(np.sum(np.abs(u) > Q))
    dx = np.clip(u, -Q, Q)
    x = x + dx * mask[..., None].astype(np.float32)
    active['state'] += int(np.sum(np.abs(x) > Q))
    return np.clip(x, -Q, Q).astype(np.float32)


def to_rgb(x):
    return x[..., :3] / Q + 0.5


# ------------------------------------------------------------------ SPEC.md section 7 masks

def hash32(v):
    """SPEC.md's lowbias32 on uint32 (products wrap around, as intended)."""
    v = np.asarray(v, np.uint32)
    with np.errstate(over='ignore'):
        v = v ^ (v >> np.uint32(16))
        v = v * np.uint32(0x7FEB352D)
        v = v ^ (v >> np.uint32(15))
        v = v * np.uint32(0x846CA68B)
        return v ^ (v >> np.uint32(16))


def nca_mask(seed, step_index, w, h, fire_rate):
    key = hash32(hash32(np.uint32(seed ^ 0x6D61736B)) ^ np.uint32(step_index))
    ys, xs = np.mgrid[0:h, 0:w].astype(np.uint32)
    cells = hash32(key ^ ((xs & np.uint32(0xFFFF)) | ((ys & np.uint32(0xFFFF)) << np.uint32(16))))
    return (cells >> np.uint32(8)).astype(np.float64) / 16777216.0 < fire_rate


def f32_b64(a):
    return base64.b64encode(np.ascontiguousarray(a, '<f4').tobytes()).decode('ascii')


def trajectory(x, w1, w2, masks, active):
    kept = []
    for i, mask in enumerate(masks):
        x = step(x, w1, w2, mask, active)
        if i + 1 in KEEP:
            kept.append(x)
    return kept


def make_file(rng, name, count, channels, hidden, out_dir):
    l1 = np.concatenate([rng.normal(0, 0.6 / np.sqrt(channels), (count, 4 * channels, hidden)),
                         rng.normal(0, 0.5, (count, 1, hidden))], 1).astype(np.float32)
    l2 = np.concatenate([rng.normal(0, 3.0 / np.sqrt(hidden), (count, hidden, channels)),
                         rng.normal(0, 0.3, (count, 1, channels))], 1).astype(np.float32)
    names = ['texture/models/random-%s-%d' % (name.split('.')[0], i) for i in range(count)]
    layers, weights = [], []
    for index, mats in enumerate([l1, l2]):
        layer, u8, scale = export_layer(mats, index)
        layers.append(layer)
        held = dequantised(mats, scale)
        for i in range(count):
            assert np.array_equal(read_back(u8, layer, i, index), held[i]), 'layout self-check failed'
        weights.append(held)
    with open(os.path.join(out_dir, name), 'w') as f:
        json.dump({'model_names': names, 'layers': layers}, f)

    models = []
    for i in range(count):
        w1, w2 = weights[0][i], weights[1][i]
        active = {'perception': 0, 'hidden': 0, 'update': 0, 'state': 0}
        zero = np.zeros((GRID_H, GRID_W, channels), np.float32)
        seed_masks = [nca_mask(0, s, GRID_W, GRID_H, FIRE_RATE) for s in range(STEPS)]
        from_zero = trajectory(zero, w1, w2, seed_masks, active)
        start = rng.uniform(-Q, Q, (GRID_H, GRID_W, channels)).astype(np.float32)
        masks = [rng.random((GRID_H, GRID_W)) < FIRE_RATE for _ in range(STEPS)]
        from_random = trajectory(start, w1, w2, masks, active)
        models.append({
            'name': names[i],
            'zeroSeed': {'steps': KEEP, 'states': [f32_b64(s) for s in from_zero], 'rgb': f32_b64(to_rgb(from_zero[-1]))},
            'random': {'start': f32_b64(start), 'masks': [''.join('1' if m else '0' for m in mask.ravel()) for mask in masks],
                       'steps': KEEP, 'states': [f32_b64(s) for s in from_random]},
            'clampActive': active,
        })
    return {'channels': channels, 'hidden': hidden, 'models': models}


def main():
    out_dir = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), '..', 'test', 'fixtures', 'sot')
    os.makedirs(out_dir, exist_ok=True)
    rng = np.random.default_rng(20211)
    expected = {
        'note': 'written by tools/make_sot_fixture.py from random models; states in Self-Organising Textures units (x, colour = x / q + 0.5), [H][W][C] float32 base64',
        'q': Q, 'fireRate': FIRE_RATE, 'grid': {'width': GRID_W, 'height': GRID_H},
        'files': {
            'models.json': make_file(rng, 'models.json', 2, 12, 96, out_dir),
            'wide.json': make_file(rng, 'wide.json', 3, 6, 102, out_dir),
        },
    }
    with open(os.path.join(out_dir, 'expected.json'), 'w') as f:
        json.dump(expected, f, indent=1)
    for name, spec in expected['files'].items():
        for m in spec['models']:
            print(name, m['name'], 'clamps active:', m['clampActive'])


if __name__ == '__main__':
    main()
