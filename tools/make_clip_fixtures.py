#!/usr/bin/env python3
"""Writes the CLIP parity fixtures under test/fixtures/ from the reference
implementation (Hugging Face `CLIPModel`) with tiny configs and seeded random
weights. No pretrained weights are needed, so this runs offline.

    python3 tools/make_clip_fixtures.py

Outputs (all committed, well under 1 MB together):
  test/fixtures/clip-tiny/        QuickGELU, weights stored as float16, a full
                                  transformers-style config.json, and the int64
                                  `position_ids` buffers that old checkpoints carry.
  test/fixtures/clip-tiny-gelu/   GELU, weights stored as bfloat16, a minimal
                                  config.json (defaults omitted, like LAION repos),
                                  and the legacy `eos_token_id: 2` of openai configs.
  test/fixtures/safetensors/      one tensor per dtype with its expected values, and
                                  torch's bilinear resizes for the cutout resampler.

Each model directory holds what a Hub repository holds (config.json,
tokenizer.json, tokenizer_config.json, model.safetensors) plus the expected
values: expected.json (token ids) and expected.safetensors (inputs, embeddings,
and the gradient of the similarity w.r.t. the RGB pixels).
"""
import collections
import json
import os
import re

import torch
from safetensors.torch import save_file
from transformers import CLIPConfig, CLIPModel, CLIPTokenizer

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'test', 'fixtures')
CLIP_MEAN = [0.48145466, 0.4578275, 0.40821073]
CLIP_STD = [0.26862954, 0.26130258, 0.27577711]
CONTEXT = 16

# Words the tiny BPE learns merges from; anything else falls back to single bytes.
CORPUS = (
    'red coral deep sea a photo of the cat coral reef under the sea '
    'blue green red orange yellow pattern texture of coral and sea water '
    'photo of a red cat in the deep blue sea'
)
# Prompts whose token ids and embeddings are checked: case, punctuation,
# contractions, digits, unknown words and non-ASCII letters.
PROMPTS = ['red coral', 'A photo of the Deep   Sea!']
TOKENIZER_ONLY = ["it's 42 cafés, ok?", 'zebra-striped coral', '', 'one two three four five six seven eight nine']


def bytes_to_unicode():
    """GPT-2/CLIP's reversible map from bytes to printable unicode characters."""
    bs = list(range(ord('!'), ord('~') + 1)) + list(range(ord('¡'), ord('¬') + 1)) + list(range(ord('®'), ord('ÿ') + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return dict(zip(bs, map(chr, cs)))


def learn_bpe(corpus, merges_wanted):
    """A textbook BPE learner over whole words ending in </w>, as CLIP's vocabulary was built."""
    words = collections.Counter(corpus.lower().split())
    seqs = {w: list(w[:-1]) + [w[-1] + '</w>'] for w in words}
    merges = []
    for _ in range(merges_wanted):
        pairs = collections.Counter()
        for w, seq in seqs.items():
            for a, b in zip(seq, seq[1:]):
                pairs[(a, b)] += words[w]
        if not pairs:
            break
        (a, b), _ = max(pairs.items(), key=lambda kv: (kv[1], kv[0]))
        merges.append((a, b))
        for w, seq in seqs.items():
            out, i = [], 0
            while i < len(seq):
                if i + 1 < len(seq) and seq[i] == a and seq[i + 1] == b:
                    out.append(a + b)
                    i += 2
                else:
                    out.append(seq[i])
                    i += 1
            seqs[w] = out
    return merges


def make_tokenizer():
    chars = list(bytes_to_unicode().values())
    merges = learn_bpe(CORPUS, 40)
    tokens = chars + [c + '</w>' for c in chars] + [a + b for a, b in merges] + ['<|startoftext|>', '<|endoftext|>']
    vocab = {t: i for i, t in enumerate(tokens)}
    return CLIPTokenizer(vocab=vocab, merges=merges, model_max_length=CONTEXT)


def perturb(model, gen):
    """HF initialises LayerNorms to (1, 0) and biases to 0; randomise them so parity checks every tensor."""
    with torch.no_grad():
        for name, p in model.named_parameters():
            if 'norm' in name and name.endswith('weight'):
                p.copy_(1 + 0.2 * torch.randn(p.shape, generator=gen))
            elif name.endswith('bias') or name.endswith('class_embedding'):
                p.copy_(0.1 * torch.randn(p.shape, generator=gen))
            elif 'embedding' in name:
                p.copy_(0.5 * torch.randn(p.shape, generator=gen))


def build_model(config, storage_dtype, seed):
    torch.manual_seed(seed)
    model = CLIPModel(config).eval()
    perturb(model, torch.Generator().manual_seed(seed + 1))
    # Round every weight to the storage dtype first, so the reference is computed
    # from exactly the values the TypeScript side will read.
    with torch.no_grad():
        for p in model.parameters():
            p.copy_(p.to(storage_dtype).to(torch.float32))
    return model


def expected_values(model, tokenizer, seed):
    gen = torch.Generator().manual_seed(seed)
    size = model.config.vision_config.image_size
    rgb = torch.rand((len(PROMPTS), 3, size, size), generator=gen).requires_grad_(True)
    mean = torch.tensor(CLIP_MEAN).view(1, 3, 1, 1)
    std = torch.tensor(CLIP_STD).view(1, 3, 1, 1)
    image = model.get_image_features(pixel_values=(rgb - mean) / std).pooler_output
    ids = tokenizer(PROMPTS, padding='max_length', max_length=CONTEXT, truncation=True, return_tensors='pt').input_ids
    with torch.no_grad():
        text = model.get_text_features(input_ids=ids).pooler_output
    # The similarity whose pixel gradient the trainer relies on: sum_i cos(image_i, text_i).
    similarity = torch.nn.functional.cosine_similarity(image, text, dim=-1).sum()
    similarity.backward()
    return {
        'rgb': rgb.detach(),
        'image_embeds': image.detach(),
        'text_embeds': text,
        'similarity': similarity.detach().reshape(1),
        'grad_rgb': rgb.grad,
    }


def write_model_dir(name, config_json, config, storage_dtype, seed, legacy_buffers):
    out = os.path.join(ROOT, name)
    os.makedirs(out, exist_ok=True)
    tokenizer = make_tokenizer()
    model = build_model(config, storage_dtype, seed)

    tensors = {k: v.to(storage_dtype).contiguous() for k, v in model.state_dict().items() if 'position_ids' not in k}
    if legacy_buffers:
        tensors['text_model.embeddings.position_ids'] = torch.arange(CONTEXT).unsqueeze(0)
        grid = (config.vision_config.image_size // config.vision_config.patch_size) ** 2 + 1
        tensors['vision_model.embeddings.position_ids'] = torch.arange(grid).unsqueeze(0)
    save_file(tensors, os.path.join(out, 'model.safetensors'), metadata={'format': 'pt'})

    with open(os.path.join(out, 'config.json'), 'w') as f:
        json.dump(config_json, f, indent=2)
    tokenizer.save_pretrained(out)
    for extra in ('special_tokens_map.json', 'vocab.json', 'merges.txt', 'chat_template.jinja'):
        path = os.path.join(out, extra)
        if os.path.exists(path):
            os.remove(path)

    values = expected_values(model, tokenizer, seed + 2)
    save_file({k: v.contiguous() for k, v in values.items()}, os.path.join(out, 'expected.safetensors'))
    # Truncated like the model sees them: the end-of-text token always survives.
    tokens = {t: tokenizer(t, truncation=True, max_length=CONTEXT).input_ids for t in PROMPTS + TOKENIZER_ONLY}
    with open(os.path.join(out, 'expected.json'), 'w') as f:
        json.dump({'prompts': PROMPTS, 'context_length': CONTEXT, 'mean': CLIP_MEAN, 'std': CLIP_STD,
                   'token_ids': tokens, 'untruncated_lengths': {t: len(tokenizer(t).input_ids) for t in tokens}},
                  f, indent=2)
    print(f'{name}: similarity {values["similarity"].item():.6f}, '
          f'|grad| {values["grad_rgb"].abs().max().item():.3e}, vocab {len(tokenizer)}')


def tiny_configs(vocab_size):
    text = dict(vocab_size=vocab_size, hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                num_attention_heads=4, max_position_embeddings=CONTEXT, bos_token_id=vocab_size - 2,
                eos_token_id=vocab_size - 1, pad_token_id=vocab_size - 1)
    vision = dict(hidden_size=64, intermediate_size=128, num_hidden_layers=2, num_attention_heads=4,
                  image_size=32, patch_size=8)
    quick = CLIPConfig(text_config=text, vision_config=vision, projection_dim=16)
    # The GELU variant: one layer per tower, openai's legacy eos_token_id, defaults left out of config.json.
    gelu_text = dict(text, num_hidden_layers=1, hidden_act='gelu', eos_token_id=2)
    gelu_vision = dict(vision, num_hidden_layers=1, hidden_act='gelu', layer_norm_eps=1e-6)
    gelu = CLIPConfig(text_config=gelu_text, vision_config=gelu_vision, projection_dim=16)
    gelu_json = {'architectures': ['CLIPModel'], 'model_type': 'clip', 'projection_dim': 16,
                 'text_config': gelu_text, 'vision_config': gelu_vision}
    return quick, quick.to_dict(), gelu, gelu_json


def write_dtype_fixture():
    out = os.path.join(ROOT, 'safetensors')
    os.makedirs(out, exist_ok=True)
    values = torch.tensor([0.0, -0.0, 1.0, -2.5, 3.140625, 65504.0, 1e-5, -1e-7, 1 / 3])
    tensors = {
        'f32': values.reshape(3, 3),
        'f16': values.to(torch.float16).reshape(3, 3),
        'bf16': values.to(torch.bfloat16).reshape(9),
        'i64': torch.arange(-2, 4).reshape(2, 3),
        'scalar': torch.tensor(7.5),
        'empty': torch.zeros((0, 4)),
    }
    save_file(tensors, os.path.join(out, 'dtypes.safetensors'), metadata={'note': 'dtype fixture'})
    expected = {k: {'shape': list(v.shape), 'values': v.to(torch.float64).flatten().tolist()} for k, v in tensors.items()}
    with open(os.path.join(out, 'dtypes.json'), 'w') as f:
        json.dump({'metadata': {'note': 'dtype fixture'}, 'tensors': expected}, f, indent=2)


def write_resample_fixture():
    """torch's bilinear resizes (antialiased when shrinking), which the cutout matrices must reproduce."""
    gen = torch.Generator().manual_seed(99)
    image = torch.rand((1, 3, 20, 30), generator=gen)
    tensors = {'image': image}
    for h, w in ((48, 40), (8, 12), (48, 12)):
        tensors[f'resized_{h}x{w}'] = torch.nn.functional.interpolate(
            image, size=(h, w), mode='bilinear', align_corners=False, antialias=True)
    save_file(tensors, os.path.join(ROOT, 'safetensors', 'resample.safetensors'))


def main():
    vocab_size = len(make_tokenizer())
    quick, quick_json, gelu, gelu_json = tiny_configs(vocab_size)
    write_model_dir('clip-tiny', quick_json, quick, torch.float16, 1234, legacy_buffers=True)
    write_model_dir('clip-tiny-gelu', gelu_json, gelu, torch.bfloat16, 5678, legacy_buffers=False)
    write_dtype_fixture()
    write_resample_fixture()


if __name__ == '__main__':
    main()
