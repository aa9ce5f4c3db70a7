#!/usr/bin/env bash
# Rebuilds the shipped examples from nothing: draws the targets, trains each living model
# (pixel-target mode with the defaults: alive masking, clamp, ranked pool, damage, QAT, best
# model kept by its long-run score), exports int8 .nca files with their fidelity reports,
# checks each with `nca eval` (10^2..10^5 steps, float and int8, regrowth) and renders the
# GIF previews. See examples/README.md for timings and scores.
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
  nca train --target "examples/targets/$n.png" --out "runs/examples/$n" --size 20x20 --iterations 500 \
    --preview-every 250 --threads 1 --quiet
  nca export "runs/examples/$n" --out "examples/models/$n.nca" --dtype int8 \
    --fidelity-size 32x32 --json --quiet > "examples/models/$n.fidelity.json"
  # exit 3 (below the thresholds) is reported in the JSON, not fatal here
  nca eval "runs/examples/$n" --target "examples/targets/$n.png" --json --quiet \
    --strip "examples/previews/$n.eval.png" > "examples/models/$n.eval.json" || [ $? -eq 3 ]
  nca render "examples/models/$n.nca" --gif "examples/previews/$n.gif" --scale 3 \
    --frames 60 --steps-per-frame 2 --fps 15 --quiet
done
