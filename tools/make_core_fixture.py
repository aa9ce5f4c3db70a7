"""Writes test/fixtures/core-steps.json: several NCA steps computed with the source
method's exact formula (PyTorch, float32), for the TypeScript reference core to match.

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


def perchannel_conv(x, filters):
    b, ch, h, w = x.shape
    y = x.reshape(b * ch, 1, h, w)
    y = F.pad(y, [1, 1, 1, 1], "circular")
    y = F.conv2d(y, filters[:, None])
    return y.reshape(b, -1, h, w)


def perception(x):
    return perchannel_conv(x, torch.stack([ident, sobel_x, sobel_x.T, lap]))


def b64(t):
    return base64.b64encode(t.detach().contiguous().numpy().astype("<f4").tobytes()).decode()


def hwc(x):  # [1, C, H, W] -> [H, W, C]
    return x[0].permute(1, 2, 0)


torch.manual_seed(1234)
w1 = torch.nn.Conv2d(CHANNELS * 4, HIDDEN, 1)
w2 = torch.nn.Conv2d(HIDDEN, CHANNELS, 1, bias=False)
with torch.no_grad():
    w1.weight.mul_(0.5)
    w2.weight.normal_(0.0, 0.02)  # non-zero, unlike training init, so the test can fail

x = torch.rand(1, CHANNELS, H, W) - 0.5
states, masks = [hwc(x).clone()], []
with torch.no_grad():
    for _ in range(STEPS):
        mask = (torch.rand(1, 1, H, W) + 0.5).floor()
        x = x + w2(torch.relu(w1(perception(x)))) * mask
        masks.append(mask[0, 0].to(torch.uint8).flatten().tolist())
        states.append(hwc(x).clone())

fixture = {
    "about": "tools/make_core_fixture.py: source-method NCA steps, float32, circular padding",
    "channels": CHANNELS, "hidden": HIDDEN, "width": W, "height": H,
    "w1": b64(w1.weight[:, :, 0, 0]), "b1": b64(w1.bias), "w2": b64(w2.weight[:, :, 0, 0]),
    "masks": masks,
    "states": [b64(s) for s in states],
}
out = pathlib.Path(__file__).resolve().parent.parent / "test" / "fixtures" / "core-steps.json"
out.write_text(json.dumps(fixture))
print(f"wrote {out} ({out.stat().st_size} bytes)")
