/**
 * The fast CPU engine: `chunk` NCA steps unrolled into one onnxruntime graph, built
 * with the trainer's graph builder and its perception op. The update is dense (every
 * cell computes, the mask selects): for one grid that beats the trainer's sparse
 * firing-cell steps, whose gathers cost more than the skipped half of the GEMMs.
 * The masks are drawn here with the contract's counter RNG and fed in, so the result
 * matches the reference core cell for cell up to float rounding.
 */
import { createState, standardMask, type Grid, type NcaModel } from '../../formats/index.ts';
import { Graph, type Value } from '../../trainer/graph/graph.ts';
import { add, matmul, mul, relu, reshape, slice } from '../../trainer/graph/ops.ts';
import { Session } from '../../trainer/engine/session.ts';
import { perceive } from '../../trainer/nca/step-graph.ts';
import { batchSize, putHwc, takeHwc, type BatchShape } from '../../trainer/nca/layout.ts';
import type { Engine, EngineOptions } from './engine.ts';

const DEFAULT_CHUNK = 16;

/** x + mask * (w2 · relu(w1 · perceive(x) + b1) + b2), on a [1, C, H, W] state. */
function denseStep(x: Value, mask: Value, model: NcaModel, weights: Record<string, Value>): Value {
  const [, c, h, w] = x.shape;
  const features = reshape(perceive(x, model.topology), [1, -1, h * w]);
  const hidden = relu(add(matmul(weights.w1, features), weights.b1));
  let update = matmul(weights.w2, hidden);
  if (weights.b2) update = add(update, weights.b2);
  return add(x, mul(reshape(update, [1, c, h, w]), mask));
}

function stepsGraph(model: NcaModel, grid: Grid, chunk: number): Graph {
  const { channels: c, hidden: k } = model.topology;
  const { w1, b1, w2, b2 } = model.weights;
  const { width, height } = grid;
  const g = new Graph('render');
  let x = g.input('x', [1, c, height, width]);
  const masks = g.input('masks', [chunk, 1, 1, height, width]);
  const weights: Record<string, Value> = {
    w1: g.initializer('w1', w1, [k, w1.length / k]),
    b1: g.initializer('b1', b1, [k, 1]),
    w2: g.initializer('w2', w2, [c, k]),
  };
  if (b2) weights.b2 = g.initializer('b2', b2, [c, 1]);
  for (let i = 0; i < chunk; i++) {
    x = denseStep(x, reshape(slice(masks, [i], [i + 1], [0]), [1, 1, height, width]), model, weights);
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
    const session = await Session.create(stepsGraph(model, grid, chunk));
    const seed = options.seed ?? 0;
    const shape: BatchShape = { batch: 1, channels: model.topology.channels, height: grid.height, width: grid.width };
    const planar = new Float32Array(batchSize(shape));
    putHwc(planar, shape, 0, createState(model, grid, seed));
    return new OrtEngine(model, grid, seed, chunk, session, shape, planar);
  }

  async run(count: number): Promise<void> {
    const cells = this.grid.width * this.grid.height;
    const masks = new Float32Array(this.chunk * cells);
    for (let done = 0; done < count; done += this.chunk) {
      // A partial last chunk gets all-zero masks for its unused steps: x + update * 0 = x.
      const used = Math.min(this.chunk, count - done);
      masks.fill(0);
      for (let i = 0; i < used; i++) masks.set(standardMask(this.model.topology, this.grid, this.seed, this.steps + i), i * cells);
      const { y } = await this.session.run({ x: this.planar, masks });
      this.planar = y as Float32Array;
      this.steps += used;
    }
  }

  state(): Float32Array {
    return takeHwc(this.planar, this.shape, 0);
  }

  async dispose(): Promise<void> {
    await this.session.release();
  }
}
