/**
 * The fast CPU engine: `chunk` NCA steps unrolled into one onnxruntime graph, built
 * with the trainer's graph builder and its perception op. The update is dense (every
 * cell computes, the mask selects): for one grid that beats the trainer's sparse
 * firing-cell steps, whose gathers cost more than the skipped half of the GEMMs.
 * The masks are drawn here with the contract's counter RNG and fed in, so the result
 * matches the reference core cell for cell up to float rounding.
 *
 * v1.1 topologies add, per step, alive masking (a 3x3 MaxPool of the alive channel
 * before and after the update, compared with the threshold; dead cells become zeros)
 * and the state clamp; v1.2 topologies clamp the perception, hidden units and update. A v1.0
 * topology builds exactly the graph it built before.
 */
import { createState, standardMask, type Grid, type NcaModel, type Topology } from '../../formats/index.ts';
import { Graph, type TensorData, type Value } from '../../trainer/graph/graph.ts';
import { add, and, clip, gemm, greater, matmul, maxPool, mul, or, pad, relu, reshape, slice, where } from '../../trainer/graph/ops.ts';
import { Session } from '../../trainer/engine/session.ts';
import { perceive } from '../../trainer/nca/step-graph.ts';
import { batchSize, putHwc, takeHwc, type BatchShape } from '../../trainer/nca/layout.ts';
import type { Engine, EngineOptions } from './engine.ts';

const DEFAULT_CHUNK = 16;

/**
 * x + mask * (w2 · relu(w1 · perceive(x) + b1) + b2), on a [1, C, H, W] state; v1.2 topologies
 * clamp the perception, the hidden units and the update (SPEC.md §6).
 */
function denseStep(x: Value, mask: Value, model: NcaModel, weights: Record<string, Value>): Value {
  const [, c, h, w] = x.shape;
  const { perceptionClamp: pq, hiddenClamp: hq, updateClamp: uq } = model.topology;
  // 2-D Gemm with b1 as its bias: onnxruntime fuses Gemm + Relu into one kernel (FusedGemm), which
  // saves the Add and Relu passes over [K, H·W] (per-step kernel time at 72x72: 2.69 -> 2.20 ms,
  // bit-identical results).
  let features = reshape(perceive(x, model.topology), [-1, h * w]);
  if (pq !== undefined) features = clip(features, -pq, pq);
  let hidden = relu(gemm(weights.w1, features, weights.b1));
  if (hq !== undefined) hidden = clip(hidden, 0, hq);
  let update = matmul(weights.w2, hidden);
  if (weights.b2) update = add(update, weights.b2);
  if (uq !== undefined) update = clip(update, -uq, uq);
  return add(x, mul(reshape(update, [1, c, h, w]), mask));
}

/**
 * The largest float32 <= t: for a float32 v, `v > t` (compared in double, as the
 * reference core does) holds exactly when `v > float32Below(t)` in float32.
 */
export function float32Below(t: number): number {
  const f = Math.fround(t);
  if (f <= t) return f;
  const bits = new DataView(new ArrayBuffer(4));
  bits.setFloat32(0, f);
  const u = bits.getUint32(0);
  bits.setUint32(0, f > 0 ? u - 1 : f < 0 ? u + 1 : 0x80000001); // one ulp towards -inf
  return bits.getFloat32(0);
}

/** SPEC.md §6 alive(s): [1, 1, H, W] bool, true where the 3x3 max of the alive channel exceeds the threshold. */
function aliveOf(x: Value, topology: Topology): Value {
  const { channel, threshold } = topology.alive!;
  const plane = slice(x, [channel], [channel + 1], [1]);
  // Past the edge: wrap, or read 0 (MaxPool's own padding would read -inf; the same for a threshold >= 0, but say what the spec says).
  const padded = pad(plane, [0, 0, 1, 1, 0, 0, 1, 1], topology.padding === 'circular' ? 'wrap' : 'constant', 0);
  return greater(maxPool(padded, [3, 3]), float32Below(threshold));
}

/**
 * Alive masking and the clamp after an update: x' where alive(x) and alive(x'), else 0;
 * `skip` [1, 1, 1, 1] bool is true on the unused steps of a partial chunk, which keep x'
 * (= x there: its mask is all zeros) instead, since masking is not idempotent.
 */
function afterUpdate(x: Value, next: Value, skip: Value | null, topology: Topology): Value {
  let y = next;
  if (topology.alive) {
    let keep = and(aliveOf(x, topology), aliveOf(next, topology));
    if (skip) keep = or(keep, skip);
    y = where(keep, y, 0);
  }
  if (topology.clamp !== undefined) y = clip(y, -topology.clamp, topology.clamp);
  return y;
}

function stepsGraph(model: NcaModel, grid: Grid, chunk: number): Graph {
  const { channels: c, hidden: k } = model.topology;
  const { w1, b1, w2, b2 } = model.weights;
  const { width, height } = grid;
  const g = new Graph('render');
  let x = g.input('x', [1, c, height, width]);
  const masks = g.input('masks', [chunk, 1, 1, height, width]);
  // Only alive masking needs to know which steps of a partial chunk are unused.
  const skips = model.topology.alive ? g.input('skips', [chunk, 1, 1, 1, 1], 'bool') : null;
  const weights: Record<string, Value> = {
    w1: g.initializer('w1', w1, [k, w1.length / k]),
    b1: g.initializer('b1', b1, [k, 1]),
    w2: g.initializer('w2', w2, [c, k]),
  };
  if (b2) weights.b2 = g.initializer('b2', b2, [c, 1]);
  for (let i = 0; i < chunk; i++) {
    const next = denseStep(x, reshape(slice(masks, [i], [i + 1], [0]), [1, 1, height, width]), model, weights);
    const skip = skips && reshape(slice(skips, [i], [i + 1], [0]), [1, 1, 1, 1]);
    x = afterUpdate(x, next, skip, model.topology);
  }
  g.output(x, 'y');
  return g;
}

export class OrtEngine implements Engine {
  steps = 0;
  private constructor(
    readonly model: NcaModel,
    readonly grid: Grid,
    private readonly seed: number,
    private readonly chunk: number,
    private readonly session: Session,
    private readonly shape: BatchShape,
    /** [1][channels][height][width] */
    private planar: Float32Array,
  ) {}

  static async create(model: NcaModel, grid: Grid, options: EngineOptions): Promise<OrtEngine> {
    const chunk = options.chunk ?? DEFAULT_CHUNK;
    const session = await Session.create(stepsGraph(model, grid, chunk), { device: options.device, threads: options.threads });
    const seed = options.seed ?? 0;
    const shape: BatchShape = { batch: 1, channels: model.topology.channels, height: grid.height, width: grid.width };
    const planar = new Float32Array(batchSize(shape));
    putHwc(planar, shape, 0, createState(model, grid, seed));
    return new OrtEngine(model, grid, seed, chunk, session, shape, planar);
  }

  async run(count: number): Promise<void> {
    const cells = this.grid.width * this.grid.height;
    const masks = new Float32Array(this.chunk * cells);
    const skips = new Uint8Array(this.chunk);
    for (let done = 0; done < count; done += this.chunk) {
      // A partial last chunk gets all-zero masks for its unused steps: x + update * 0 = x
      // (and the clamp is idempotent); alive masking is told to skip them.
      const used = Math.min(this.chunk, count - done);
      masks.fill(0);
      for (let i = 0; i < used; i++) masks.set(standardMask(this.model.topology, this.grid, this.seed, this.steps + i), i * cells);
      skips.fill(1).fill(0, 0, used);
      const feeds: Record<string, TensorData> = { x: this.planar, masks };
      if (this.model.topology.alive) feeds.skips = skips;
      const { y } = await this.session.run(feeds);
      this.planar = y as Float32Array;
      this.steps += used;
    }
  }

  state(): Float32Array {
    return takeHwc(this.planar, this.shape, 0);
  }

  setState(state: Float32Array, steps: number): void {
    if (state.length !== this.planar.length) throw new Error(`setState: ${state.length} values, expected ${this.planar.length}`);
    const planar = new Float32Array(this.planar.length);
    putHwc(planar, this.shape, 0, state);
    this.planar = planar;
    this.steps = steps;
  }

  async dispose(): Promise<void> {
    await this.session.release();
  }
}
