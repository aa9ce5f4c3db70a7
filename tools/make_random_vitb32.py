#!/usr/bin/env python3
"""Writes a full-size CLIP ViT-B/32 with random weights (Hugging Face's own
initialisation, seeded) for benchmarks: it costs exactly what the real
openai/clip-vit-base-patch32 costs, and needs no download.

    python3 tools/make_random_vitb32.py [OUT_DIR]     (default .cache/clip-vit-b32-random)

The directory is laid out like the Hub repository (config.json, tokenizer.json,
model.safetensors in float32, about 600 MB) and is meant for --clip-path. It stays
out of git (.cache/ is ignored). The real BPE vocabulary cannot be obtained
offline, so tokenizer.json is the small fixture tokenizer: its ids are all valid
for the 49408-token embedding, and tokenization cost does not matter here.
"""
import os
import shutil
import sys

import torch
from safetensors.torch import save_file
from transformers import CLIPConfig, CLIPModel

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..')


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, '.cache', 'clip-vit-b32-random')
    os.makedirs(out, exist_ok=True)
    torch.manual_seed(0)
    config = CLIPConfig()  # the defaults are openai/clip-vit-base-patch32's architecture
    model = CLIPModel(config).eval()
    tensors = {k: v.contiguous() for k, v in model.state_dict().items() if 'position_ids' not in k}
    save_file(tensors, os.path.join(out, 'model.safetensors'), metadata={'format': 'pt'})
    config.save_pretrained(out)
    fixture = os.path.join(ROOT, 'test', 'fixtures', 'clip-tiny')
    for name in ('tokenizer.json', 'tokenizer_config.json'):
        shutil.copy(os.path.join(fixture, name), os.path.join(out, name))
    params = sum(v.numel() for v in tensors.values())
    print(f'wrote {out}: {params / 1e6:.1f}M parameters')


if __name__ == '__main__':
    main()
