#!/usr/bin/env bash
# bench/gpu-check.sh: everything this project can ask of a GPU, in one run of a few minutes,
# printed as one JSON object on stdout (progress on stderr):
#
#   player   <nca-player> steps/s at 1920x1080, hidden 128, both backends, headless Chromium on
#            the real GPU (npm run bench:player -- --hardware), with the renderer each API reports
#   trainer  one NCA training iteration's forward + backward (128x128, batch 4, 80 steps,
#            hidden 128, as npm run bench:train) with --device webgpu against --device cpu
#   parity   the GPU run's final state and gradients against the CPU run's
#   goals    60 steps/s at 1080p (issue 11); the trainer 10x its CPU figure on the same machine
#
# Needs: a GPU with a Vulkan driver (Linux; Metal on macOS, D3D12 on Windows for the trainer),
# the Vulkan loader (libvulkan.so.1), Node >= 20.19 with `npm ci` done, and Chromium
# (NCA_CHROMIUM=/path, default /usr/bin/chromium). Chromium's GPU flags can be replaced with
# NCA_CHROMIUM_ARGS. Without a GPU it stops at once with {"ok": false, "error": ...} and exit 1.
#
#   bash bench/gpu-check.sh > gpu-check.json
set -euo pipefail
cd "$(dirname "$0")/.."

fail() {
  node -e 'console.log(JSON.stringify({ ok: false, error: process.argv[1] }))' "$1" 2>/dev/null || echo "{\"ok\": false}"
  echo "gpu-check: $1" >&2
  exit 1
}
say() { echo "gpu-check: $*" >&2; }

command -v node >/dev/null || { echo '{"ok": false, "error": "node is not installed"}'; exit 1; }
[ -d node_modules/onnxruntime-node ] || fail "run npm ci first (node_modules is missing)"
gpu=""
if command -v nvidia-smi >/dev/null 2>&1; then gpu=$(nvidia-smi --query-gpu=name,driver_version --format=csv,noheader 2>/dev/null | head -1 || true); fi
if [ -z "$gpu" ] && ls /dev/dri/renderD* >/dev/null 2>&1; then gpu="a DRM render node ($(ls /dev/dri/renderD* | head -1))"; fi
[ -n "$gpu" ] || fail "no GPU here: neither nvidia-smi nor a /dev/dri render node answers"
if [ "$(uname -s)" = Linux ] && ! ldconfig -p 2>/dev/null | grep -q 'libvulkan\.so\.1'; then
  fail "no Vulkan loader (libvulkan.so.1): Dawn (WebGPU in Chromium and onnxruntime) and ANGLE need it; install libvulkan1 and the GPU's Vulkan driver"
fi
chromium=${NCA_CHROMIUM:-/usr/bin/chromium}
[ -x "$chromium" ] || fail "no Chromium at $chromium (set NCA_CHROMIUM)"
export NCA_CHROMIUM="$chromium"
# Headless Chromium uses SwiftShader unless told to use the GPU: ANGLE on Vulkan for WebGL2, Dawn on Vulkan for WebGPU.
export NCA_CHROMIUM_ARGS=${NCA_CHROMIUM_ARGS:---ignore-gpu-blocklist --enable-gpu --use-angle=vulkan --use-vulkan=native --enable-features=Vulkan,VulkanFromANGLE,DefaultANGLEVulkan --disable-vulkan-surface --enable-unsafe-webgpu}
say "GPU: $gpu"

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

say "player: 1920x1080, hidden 128, WebGL2 and WebGPU on the GPU (about a minute)"
timeout 240 node --import tsx bench/player.ts --hardware --sizes 1920x1080 --hidden 128 --seconds 3 --rounds 2 >"$work/player.json" 2>"$work/player.log" ||
  fail "the player benchmark failed: $(tail -3 "$work/player.log" | tr '\n' ' ')"
node -e '
  const { gpu } = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
  const soft = Object.entries(gpu).filter(([, r]) => !r || /swiftshader|llvmpipe|lavapipe|software/i.test(r));
  if (soft.length) { console.error(soft.map(([api, r]) => `${api}: ${r ?? "not available"}`).join("; ")); process.exit(1); }
' "$work/player.json" 2>"$work/soft.log" || fail "Chromium did not get the GPU ($(cat "$work/soft.log")); try other NCA_CHROMIUM_ARGS"

say "trainer: NCA forward + backward on the CPU, then with --device webgpu (about two minutes)"
cat >"$work/trainer.ts" <<EOF
import os from 'node:os';
import { defaultTopology, weightShapes, type Weights } from '$PWD/formats/model.ts';
import { Rng } from '$PWD/formats/random.ts';
import { probeWebGpu } from '$PWD/trainer/engine/session.ts';
import { autoSegmentSteps, NcaRollout } from '$PWD/trainer/nca/rollout.ts';
import { batchMasks } from '$PWD/trainer/nca/masks.ts';

const probe = probeWebGpu();
if (!probe.available) {
  console.log(JSON.stringify({ error: 'onnxruntime found no WebGPU adapter: ' + probe.reason }));
  process.exit(1);
}
const size = 128, steps = 80, iterations = 3;
const topology = defaultTopology({ hidden: 128 });
const shape = { batch: 4, height: size, width: size };
const rng = new Rng(7);
const shapes = weightShapes(topology);
const random = (k: 'w1' | 'b1' | 'w2', scale: number) => Float32Array.from({ length: shapes[k].reduce((a, b) => a * b, 1) }, () => rng.normal() * scale);
const weights: Weights = { w1: random('w1', 0.05), b1: random('b1', 0.05), w2: random('w2', 0.01) };
const state = Float32Array.from({ length: shape.batch * topology.channels * size * size }, () => rng.next());
const masks = batchMasks(topology, { width: size, height: size }, [1, 2, 3, 4]);
for (let k = 0; k < steps; k++) masks(k);
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function run(device: 'cpu' | 'webgpu') {
  const rollout = await NcaRollout.create(topology, shape, { device, segmentSteps: autoSegmentSteps(topology, shape, steps) });
  const forward: number[] = [], backward: number[] = [];
  let last;
  for (let i = 0; i < iterations; i++) {
    const t0 = performance.now();
    const trajectory = await rollout.forward(state, weights, masks, steps);
    const t1 = performance.now();
    const gradients = await rollout.backward(trajectory, weights, masks, Float32Array.from(trajectory.final, () => 1e-3));
    const t2 = performance.now();
    if (i > 0) (forward.push((t1 - t0) / 1000), backward.push((t2 - t1) / 1000)); // the first one warms up
    last = { final: trajectory.final, gradients };
  }
  await rollout.release();
  return { seconds: { forward: median(forward), backward: median(backward), total: median(forward) + median(backward) }, last: last! };
}

/** Largest |a - b|, relative to the largest |b| (0 for equal arrays). */
function relative(a: Float32Array, b: Float32Array): number {
  let diff = 0, scale = 0;
  for (let i = 0; i < a.length; i++) (diff = Math.max(diff, Math.abs(a[i] - b[i]))), (scale = Math.max(scale, Math.abs(b[i])));
  return scale ? diff / scale : diff;
}

const cpu = await run('cpu');
const gpu = await run('webgpu');
const parity = {
  finalState: relative(gpu.last.final, cpu.last.final),
  gradState: relative(gpu.last.gradients.state, cpu.last.gradients.state),
  gradW1: relative(gpu.last.gradients.weights.w1, cpu.last.gradients.weights.w1),
  gradB1: relative(gpu.last.gradients.weights.b1, cpu.last.gradients.weights.b1),
  gradW2: relative(gpu.last.gradients.weights.w2, cpu.last.gradients.weights.w2),
};
const worst = Math.max(...Object.values(parity));
console.log(JSON.stringify({
  settings: { ...shape, steps, hidden: topology.hidden, iterations, timed: iterations - 1, cpuThreads: os.cpus().length },
  cpu: cpu.seconds,
  webgpu: gpu.seconds,
  speedup: cpu.seconds.total / gpu.seconds.total,
  // float32 sums in another order over 80 steps: 1e-3 relative is agreement, a wrong kernel is far off
  parity: { ...parity, worst, tolerance: 1e-3, ok: worst < 1e-3 },
}));
EOF
# NCA_ORT_LOG_LEVEL=2: onnxruntime's warnings, among them which nodes the WebGPU provider leaves to the CPU.
NCA_ORT_LOG_LEVEL=2 timeout 300 node --import tsx "$work/trainer.ts" >"$work/trainer.json" 2>"$work/trainer.log" ||
  fail "the trainer check failed: $(tail -c 600 "$work/trainer.json" "$work/trainer.log" | tr '\n' ' ')"

node -e '
  const fs = require("fs");
  const [playerFile, trainerFile, logFile, gpu] = process.argv.slice(1);
  const player = JSON.parse(fs.readFileSync(playerFile, "utf8"));
  const trainer = JSON.parse(fs.readFileSync(trainerFile, "utf8"));
  const notes = fs.readFileSync(logFile, "utf8").split("\n").filter((l) => /CPUExecutionProvider|assigned|fallback|placed/i.test(l)).slice(0, 20);
  const at1080 = Object.fromEntries(player.results.map((r) => [r.backend, { stepsPerSecond: r.stepsPerSecond, seedMs: r.seedMs }]));
  console.log(JSON.stringify({
    ok: trainer.parity.ok,
    date: new Date().toISOString(),
    machine: { gpu, renderer: player.gpu, cpu: player.machine.cpu, cpus: player.machine.cpus, node: process.version },
    player: { grid: "1920x1080", model: player.model, results: at1080 },
    trainer: { settings: trainer.settings, cpu: trainer.cpu, webgpu: trainer.webgpu, speedup: trainer.speedup, onnxruntimeNotes: notes },
    parity: trainer.parity,
    goals: {
      player60StepsPerSecondAt1080p: Object.values(at1080).every((r) => r.stepsPerSecond >= 60),
      trainer10xCpu: trainer.speedup >= 10,
    },
  }, null, 2));
  process.exit(trainer.parity.ok ? 0 : 2);
' "$work/player.json" "$work/trainer.json" "$work/trainer.log" "$gpu"
