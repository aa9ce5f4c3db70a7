#!/usr/bin/env bash
# Rebuilds the shipped examples from nothing.
# Shapes (ring heart flower): draws the targets, trains each living model (pixel-target mode with
# the defaults: alive masking, clamp, ranked pool, damage, QAT, best model kept by its long-run
# score), exports int8 .nca files with their fidelity reports, checks each with `nca eval`
# (10^2..10^5 steps, float and int8, regrowth) and renders the GIF previews.
# Textures (cells stripes marble): draws the seamless exemplars, trains each with `--texture`
# defaults, exports int8, checks with `nca eval --texture` (10^3..10^5 steps) and renders a
# looping GIF. See examples/README.md for timings and scores.
# Usage: examples/reproduce.sh [name ...]     (default: all six)
set -euo pipefail
cd "$(dirname "$0")/.."
nca() { echo "+ nca $*" >&2; node bin/nca.mjs "$@"; }
# Per shape, the flags each was trained with. The ring: the living defaults of session 26 (a seed of
# two cells, 3600 iterations, the regrowth phase) at the default size (32 cells in a 48-cell grid),
# run seed 1 and two threads. The heart: the same defaults at 20 cells (a 32-cell grid), run seed 1,
# two threads. The flower: 20 cells, one seed cell, no regrowth phase and the defaults of session 4
# (pool 256, no weight average, scored every 100, discs, and no pool ageing: it came in session 9).
SESSION4="--size 20x20 --pool 256 --weight-average 0 --score-every 100 --age-steps 0 --seed-cells 1 --regrow-phase 0"
declare -A RUN=([ring]="--run-seed 1" [heart]="--size 20x20 --run-seed 1"
  [flower]="$SESSION4 --iterations 500 --damage-shape disc")
# A run repeats exactly only for the same thread count: the ring and the heart were trained on two.
declare -A THREADS=([ring]=2 [heart]=2 [flower]=1)
declare -A GRID=([ring]=48x48 [flower]=32x32 [heart]=32x32)
# Per texture: the cells with the defaults (the spectrum term, since session 6); the stripes and the
# marble were trained before it existed, with patches only.
declare -A TEXTURE_RUN=([cells]="" [stripes]="--spectrum-weight 0" [marble]="--spectrum-weight 0")
names=("$@")
[ ${#names[@]} -eq 0 ] && names=(ring heart flower cells stripes marble)
npx tsx examples/make-targets.ts
npx tsx examples/make-textures.ts
mkdir -p examples/models examples/previews
for n in "${names[@]}"; do
  if [ -f "examples/textures/$n.png" ]; then
    # One thread: a run repeats exactly only for the same thread count.
    # shellcheck disable=SC2086 # TEXTURE_RUN holds flags
    nca train --texture "examples/textures/$n.png" --out "runs/examples/$n" --iterations 1000 \
      ${TEXTURE_RUN[$n]} --preview-every 250 --threads 1 --quiet
    nca export "runs/examples/$n" --out "examples/models/$n.nca" --dtype int8 --json --quiet > "examples/models/$n.fidelity.json"
    nca eval "runs/examples/$n" --texture "examples/textures/$n.png" --json --quiet \
      --strip "examples/previews/$n.eval.png" > "examples/models/$n.eval.json" || [ $? -eq 3 ]
    nca render "examples/models/$n.nca" --gif "examples/previews/$n.gif" --size 64x64 --scale 2 \
      --frames 36 --steps-per-frame 4 --fps 12 --loop --quiet
    continue
  fi
  # shellcheck disable=SC2086 # RUN holds several flags
  nca train --target "examples/targets/$n.png" --out "runs/examples/$n" ${RUN[$n]} \
    --preview-every 250 --threads "${THREADS[$n]}" --quiet
  nca export "runs/examples/$n" --out "examples/models/$n.nca" --dtype int8 \
    --fidelity-size "${GRID[$n]}" --json --quiet > "examples/models/$n.fidelity.json"
  # exit 3 (below the thresholds) is reported in the JSON, not fatal here
  nca eval "runs/examples/$n" --target "examples/targets/$n.png" --json --quiet \
    --strip "examples/previews/$n.eval.png" > "examples/models/$n.eval.json" || [ $? -eq 3 ]
  nca render "examples/models/$n.nca" --gif "examples/previews/$n.gif" --scale 3 \
    --frames 60 --steps-per-frame 2 --fps 15 --quiet
done
