#!/usr/bin/env python3
"""Writes the VGG style-loss parity fixtures under test/fixtures/vgg-tiny/ from a tiny,
seeded, random-weight network with the exact layer layout of torchvision's
`vgg16().features` (configuration "D") but tiny widths. No pretrained weights and no
torchvision are needed, so this runs offline with torch, numpy and safetensors.

    python3 tools/make_vgg_fixtures.py

Outputs (both committed, float32):
  test/fixtures/vgg-tiny/model.safetensors     `features.{i}.weight` [out, in, 3, 3] and
                                               `features.{i}.bias` [out] for the 13 convs
                                               (Sequential indices 0, 2, 5, ..., 28), plus
                                               `pre_logits.fc1.weight` and `head.fc.bias`,
                                               which timm's `vgg16.tv_in1k` carries and the
                                               loader must ignore.
  test/fixtures/vgg-tiny/expected.safetensors  `pixels` [2, 3, 32, 32], `exemplar`
                                               [1, 3, 40, 36], the style-layer features of
                                               both (`relu1_1` ... `relu5_1`,
                                               `exemplar_relu1_1` ... `exemplar_relu5_1`),
                                               the SWD directions `swd_dirs_1` ... `swd_dirs_5`,
                                               and `gram_loss`, `gram_grad`, `swd_loss`,
                                               `swd_grad` (gradients w.r.t. `pixels`).

Everything expected is computed in float64 from the float32 values that are saved (weights,
inputs, directions), so the TypeScript side sees exactly the inputs these numbers come from.
The script checks that no style layer is dead or saturated (fraction of positive values in
(0.1, 0.9)) and checks both gradients against central finite differences.
"""
import math
import os

import torch
from safetensors.torch import save_file

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'test', 'fixtures', 'vgg-tiny')

IMAGENET_MEAN = [0.485, 0.456, 0.406]
IMAGENET_STD = [0.229, 0.224, 0.225]
# VGG16 "D": convs per block; the real widths are 64, 128, 256, 512, 512.
BLOCK_CONVS = [2, 2, 3, 3, 3]
BLOCK_WIDTHS = [4, 6, 8, 10, 12]
# relu1_1 ... relu5_1 as Sequential indices of vgg16().features.
STYLE_LAYERS = [1, 6, 11, 18, 25]

SEED_WEIGHTS = 1234
SEED_PIXELS = 1
SEED_EXEMPLAR = 2
SEED_DIRS = 3
SEED_FD = 4
BIAS_SCALE = 0.1
FD_EPS = 1e-6


class TinyVGG(torch.nn.Module):
    def __init__(self):
        super().__init__()
        layers, c_in = [], 3
        for n, width in zip(BLOCK_CONVS, BLOCK_WIDTHS):
            for _ in range(n):
                layers += [torch.nn.Conv2d(c_in, width, 3, padding=1), torch.nn.ReLU()]
                c_in = width
            layers.append(torch.nn.MaxPool2d(2, 2))
        self.features = torch.nn.Sequential(*layers)


def build_model():
    model = TinyVGG()
    g = torch.Generator().manual_seed(SEED_WEIGHTS)
    with torch.no_grad():
        for m in model.features:
            if isinstance(m, torch.nn.Conv2d):
                # He init keeps the ReLU signal's scale through 13 layers.
                fan_in = m.in_channels * 9
                m.weight.copy_(torch.randn(m.weight.shape, generator=g) * math.sqrt(2.0 / fan_in))
                m.bias.copy_(torch.randn(m.bias.shape, generator=g) * BIAS_SCALE)
    return model


def style_features(model, x):
    """The ReLU outputs at STYLE_LAYERS of the ImageNet-normalised RGB x in [0, 1]."""
    mean = torch.tensor(IMAGENET_MEAN, dtype=x.dtype).view(1, 3, 1, 1)
    std = torch.tensor(IMAGENET_STD, dtype=x.dtype).view(1, 3, 1, 1)
    h = (x - mean) / std
    out = []
    for i, layer in enumerate(model.features):
        h = layer(h)
        if i in STYLE_LAYERS:
            out.append(h)
            if len(out) == len(STYLE_LAYERS):
                break
    return out


def gram(f):
    """[B, C, H, W] -> [B, C, C], normalised by the number of positions."""
    b, c, h, w = f.shape
    f = f.reshape(b, c, h * w)
    return f @ f.transpose(1, 2) / (h * w)


def gram_loss(feats, target_feats):
    terms = []
    for f, t in zip(feats, target_feats):
        g_t = gram(t)[0]
        terms.append(((gram(f) - g_t) ** 2).mean() / ((g_t ** 2).mean() + 1e-8))
    return torch.stack(terms).mean()


def swd_loss(feats, target_feats, dirs):
    terms = []
    for f, t, d in zip(feats, target_feats, dirs):
        b, c, h, w = f.shape
        n = h * w
        proj = torch.sort(d @ f.reshape(b, c, n), dim=-1).values      # [B, P, N]
        t_flat = t.reshape(c, -1)
        m = t_flat.shape[1]
        t_proj = torch.sort(d @ t_flat, dim=-1).values                # [P, M]
        # Rank j of the image takes the exemplar's quantile at (j + 0.5) / N, in integers.
        q = torch.clamp((2 * torch.arange(n) + 1) * m // (2 * n), max=m - 1)
        target = t_proj[:, q]                                         # [P, N]
        terms.append(((proj - target) ** 2).mean() / ((t_flat ** 2).mean() + 1e-8))
    return torch.stack(terms).mean()


def main():
    os.makedirs(OUT, exist_ok=True)
    model = build_model()
    weights = {k: v.detach().float().contiguous() for k, v in model.state_dict().items()}
    g_extra = torch.Generator().manual_seed(SEED_WEIGHTS + 1)
    weights['pre_logits.fc1.weight'] = torch.randn(8, 12, 1, 1, generator=g_extra)
    weights['head.fc.bias'] = torch.randn(5, generator=g_extra)
    save_file(weights, os.path.join(OUT, 'model.safetensors'))

    # float32 weights upcast exactly, so the reference sees what the file holds.
    model = model.double()
    pixels32 = torch.rand(2, 3, 32, 32, generator=torch.Generator().manual_seed(SEED_PIXELS))
    exemplar32 = torch.rand(1, 3, 40, 36, generator=torch.Generator().manual_seed(SEED_EXEMPLAR))
    pixels, exemplar = pixels32.double(), exemplar32.double()

    g_dirs = torch.Generator().manual_seed(SEED_DIRS)
    dirs32 = []
    for width in BLOCK_WIDTHS:
        d = torch.randn(width, width, generator=g_dirs, dtype=torch.float64)
        dirs32.append((d / d.norm(dim=1, keepdim=True)).float())
    dirs = [d.double() for d in dirs32]

    with torch.no_grad():
        feats = style_features(model, pixels)
        target = style_features(model, exemplar)

    names = [f'relu{k}_1' for k in range(1, 6)]
    ok = True
    print('style layer   input     shape              positive   mean square')
    for name, f, t in zip(names, feats, target):
        for label, x in (('pixels', f), ('exemplar', t)):
            pos = (x > 0).double().mean().item()
            good = 0.1 < pos < 0.9
            ok &= good
            print(f'{name:12}  {label:8}  {str(list(x.shape)):17}  {pos:.4f}   {(x ** 2).mean().item():.4f}'
                  + ('' if good else '   <-- out of (0.1, 0.9)'))

    def loss_of(fn):
        return lambda p: fn(style_features(model, p), target, *([dirs] if fn is swd_loss else []))

    results = {}
    for label, fn in (('gram', gram_loss), ('swd', swd_loss)):
        p = pixels.clone().requires_grad_(True)
        loss = loss_of(fn)(p)
        (grad,) = torch.autograd.grad(loss, p)
        results[label] = (loss.detach(), grad)

    # Central finite differences on a few pixels: catches a wrong autograd path or a tie in sort.
    g_fd = torch.Generator().manual_seed(SEED_FD)
    coords = [tuple(int(torch.randint(0, s, (1,), generator=g_fd)) for s in pixels.shape) for _ in range(3)]
    print()
    with torch.no_grad():
        for label, fn in (('gram', gram_loss), ('swd', swd_loss)):
            f = loss_of(fn)
            for c in coords:
                plus, minus = pixels.clone(), pixels.clone()
                plus[c] += FD_EPS
                minus[c] -= FD_EPS
                fd = (f(plus) - f(minus)).item() / (2 * FD_EPS)
                ad = results[label][1][c].item()
                rel = abs(fd - ad) / max(abs(fd), abs(ad), 1e-30)
                good = rel < 1e-4
                ok &= good
                print(f'{label} grad at {c}: autograd {ad:+.6e}  finite diff {fd:+.6e}  rel err {rel:.2e}'
                      + ('' if good else '   <-- too large'))

    expected = {'pixels': pixels32, 'exemplar': exemplar32}
    for name, f, t in zip(names, feats, target):
        expected[name] = f.float()
        expected['exemplar_' + name] = t.float()
    for k, d in enumerate(dirs32, 1):
        expected[f'swd_dirs_{k}'] = d
    for label, (loss, grad) in results.items():
        expected[f'{label}_loss'] = loss.reshape(1).float()
        expected[f'{label}_grad'] = grad.float()
    save_file({k: v.contiguous() for k, v in expected.items()}, os.path.join(OUT, 'expected.safetensors'))

    print()
    for label, (loss, grad) in results.items():
        print(f'{label}_loss = {loss.item():.8f}   |{label}_grad| = {grad.norm().item():.6e}')
    if not ok:
        raise SystemExit('checks failed: see the marked lines above')
    print(f'wrote {len(weights)} tensors to model.safetensors and {len(expected)} to expected.safetensors in {os.path.normpath(OUT)}')


if __name__ == '__main__':
    main()
