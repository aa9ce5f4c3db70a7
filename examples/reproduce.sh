#!/usr/bin/env bash
# Rebuilds the shipped examples from nothing: draws the targets, trains each model in
# pixel-target mode with quantisation-aware training, exports int8 .nca files with their
# fidelity reports, and renders the GIF previews. See examples/README.md for timings.
# Usage: examples/reproduce.sh [name ...]     (default: ring heart flower)
set -euo pipefail
cd "$(dirname "$0")/.."
nca() { echo "+ nca $*" >&2; node bin/nca.mjs "$@"; }

names=("$@")
[ ${#names[@]} -eq 0 ] && names=(ring heart flower)
npx tsx examples/make-targets.ts
mkdir -p examples/models examples/previews
for n in "${names[@]}"; do
  # One thread: a run repeats exactly only for the same thread count.
  nca train --target "examples/targets/$n.png" --out "runs/examples/$n" --iterations 800 \
    --pool 64 --steps 32-64 --hidden 64 --qat --preview-every 200 --threads 1 --quiet
  nca export "runs/examples/$n" --out "examples/models/$n.nca" --dtype int8 \
    --fidelity-size 64x64 --json --quiet > "examples/models/$n.fidelity.json"
  nca render "examples/models/$n.nca" --gif "examples/previews/$n.gif" --size 48x48 --scale 3 \
    --frames 60 --steps-per-frame 2 --fps 15 --quiet
done
