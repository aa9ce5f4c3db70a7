"""Writes test/fixtures/core-steps.json: several NCA steps computed with the source
method's exact formula (PyTorch, float32), for the TypeScript reference core to match,
and test/fixtures/core-steps-living.json: the same with zero padding, filters scaled by
[1, 1/8, 1/8, 1/8], Growing NCA's alive masking (3x3 max-pool of alpha > 0.1, kept only if alive before and after the
update) and a state clamp (.nca v1.1).

Weights, the initial state and the per-step masks are fixed here and stored in the
fixture, so the test needs no random generator in common with this script.
Run: python3 tools/make_core_fixture.py
"""
import base64, json, pathlib
import torch
import torch.nn.functional as F

CHANNELS, HIDDEN, H, W, STEPS = 12, 128, 12, 16, 6

ident = torch.tensor([[0.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 0.0]])
sobel_x = torch.tensor([[-1.0, 0.0, 1.0], [-2.0, 0.0, 2.0], [-1.0, 0.0, 1.0]])
lap = torch.tensor([[1.0, 2.0, 1.0], [2.0, -12.0, 2.0], [1.0, 2.0, 1.0]])


def perchannel_conv(x, filters, padding):
    b, ch, h, w = x.shape
    y = x.reshape(b * ch, 1, h, w)
    y = F.pad(y, [1, 1, 1, 1], padding)
    y = F.conv2d(y, filters[:, None])
    return y.reshape(b, -1, h, w)


def perception(x, padding, scales=(1.0, 1.0, 1.0, 1.0)):
    filters = [f * s for f, s in zip([ident, sobel_x, sobel_x.T, lap], scales)]
    return perchannel_conv(x, torch.stack(filters), padding)


def living_mask(x):  # Growing NCA: alive if the 3x3 max of alpha exceeds 0.1 (max_pool pads with -inf)
    return F.max_pool2d(x[:, 3:4], kernel_size=3, stride=1, padding=1) > ALIVE_THRESHOLD


def b64(t):
    return base64.b64encode(t.detach().contiguous().numpy().astype("<f4").tobytes()).decode()


def hwc(x):  # [1, C, H, W] -> [H, W, C]
    return x[0].permute(1, 2, 0)


ALIVE_THRESHOLD, CLAMP, SCALES = 0.1, 0.6, (1.0, 0.125, 0.125, 0.125)


def write(name, about, living):
    torch.manual_seed(1234)
    w1 = torch.nn.Conv2d(CHANNELS * 4, HIDDEN, 1)
    w2 = torch.nn.Conv2d(HIDDEN, CHANNELS, 1, bias=False)
    with torch.no_grad():
        w1.weight.mul_(0.5)
        w2.weight.normal_(0.0, 0.02)  # non-zero, unlike training init, so the test can fail
    x = torch.rand(1, CHANNELS, H, W) - 0.5
    if living:  # a blob of live cells in an empty grid, so some cells die and some are born
        x[:, :, :, : W // 2] = 0
        x[:, 3] = x[:, 3].abs()
    states, masks = [hwc(x).clone()], []
    with torch.no_grad():
        for _ in range(STEPS):
            mask = (torch.rand(1, 1, H, W) + 0.5).floor()
            if living:
                pre = living_mask(x)
                x = x + w2(torch.relu(w1(perception(x, "constant", SCALES)))) * mask
                x = (x * (pre & living_mask(x))).clamp(-CLAMP, CLAMP)
            else:
                x = x + w2(torch.relu(w1(perception(x, "circular")))) * mask
            masks.append(mask[0, 0].to(torch.uint8).flatten().tolist())
            states.append(hwc(x).clone())
    fixture = {
        "about": about,
        "channels": CHANNELS, "hidden": HIDDEN, "width": W, "height": H,
        "w1": b64(w1.weight[:, :, 0, 0]), "b1": b64(w1.bias), "w2": b64(w2.weight[:, :, 0, 0]),
        "masks": masks,
        "states": [b64(s) for s in states],
    }
    if living:
        fixture.update(alive={"channel": 3, "threshold": ALIVE_THRESHOLD}, clamp=CLAMP, filterScales=list(SCALES))
    out = pathlib.Path(__file__).resolve().parent.parent / "test" / "fixtures" / name
    out.write_text(json.dumps(fixture))
    print(f"wrote {out} ({out.stat().st_size} bytes)")


write("core-steps.json", "tools/make_core_fixture.py: source-method NCA steps, float32, circular padding", False)
write("core-steps-living.json", "tools/make_core_fixture.py: Growing-NCA alive masking + clamp, zero padding", True)
