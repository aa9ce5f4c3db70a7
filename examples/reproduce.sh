#!/usr/bin/env bash
# Rebuilds the shipped examples from nothing: draws the targets, trains each model in
# pixel-target mode with quantisation-aware training, exports int8 .nca files with their
# fidelity reports, and renders the GIF previews. 5-10 minutes per model on 2 idle cores.
# Usage: examples/reproduce.sh [name ...]     (default: ring heart flower)
set -euo pipefail
cd "$(dirname "$0")/.."
nca() { echo "+ nca $*" >&2; node bin/nca.mjs "$@"; }

# The settings each shipped model was trained with (threads matter: float sums are ordered per thread count).
declare -A ITERATIONS=([ring]=600 [heart]=400 [flower]=400)
declare -A THREADS=([ring]=2 [heart]=1 [flower]=1)

npx tsx examples/make-targets.ts
mkdir -p examples/models examples/previews
names=("$@")
[ ${#names[@]} -eq 0 ] && names=(ring heart flower)
for n in "${names[@]}"; do
  nca train --target "examples/targets/$n.png" --out "runs/examples/$n" --iterations "${ITERATIONS[$n]}" \
    --steps 32-48 --hidden 64 --qat --preview-every 100 --threads "${THREADS[$n]}" --quiet
  nca export "runs/examples/$n" --out "examples/models/$n.nca" --dtype int8 \
    --fidelity-size 64x64 --json --quiet > "examples/models/$n.fidelity.json"
  nca render "examples/models/$n.nca" --gif "examples/previews/$n.gif" --size 48x48 --scale 3 \
    --frames 80 --steps-per-frame 2 --fps 20 --quiet
done
