/**
 * The fast CPU engine: `chunk` NCA steps unrolled into one onnxruntime graph (the
 * trainer's step graph, weights baked in as initializers). The update masks are drawn
 * here with the contract's counter RNG and fed in, so the result matches the reference
 * core cell for cell up to float rounding.
 */
import { createState, standardMask, type Grid, type NcaModel } from '../../formats/index.ts';
import { Graph } from '../../trainer/graph/graph.ts';
import { reshape, slice } from '../../trainer/graph/ops.ts';
import { Session } from '../../trainer/engine/session.ts';
import { ncaStep, prepareParams, type StepParams } from '../../trainer/nca/step-graph.ts';
import type { Engine, EngineOptions } from './engine.ts';

const DEFAULT_CHUNK = 16;

function stepsGraph(model: NcaModel, grid: Grid, chunk: number): Graph {
  const { topology, weights } = model;
  const { channels: c, hidden: k } = topology;
  const { width: w, height: h } = grid;
  const g = new Graph('render');
  let x = g.input('x', [1, c, h, w]);
  const masks = g.input('masks', [chunk, 1, 1, h, w]);
  const params: StepParams = {
    w1: g.initializer('w1', weights.w1, [k, weights.w1.length / k]),
    b1: g.initializer('b1', weights.b1, [k]),
    w2: g.initializer('w2', weights.w2, [c, k]),
  };
  if (weights.b2) params.b2 = g.initializer('b2', weights.b2, [c]);
  const prepared = prepareParams(params);
  for (let i = 0; i < chunk; i++) {
    x = ncaStep(x, reshape(slice(masks, [i], [i + 1], [0]), [1, 1, h, w]), prepared, topology);
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
    /** [channels][height][width] */
    private planar: Float32Array,
  ) {}

  static async create(model: NcaModel, grid: Grid, options: EngineOptions): Promise<OrtEngine> {
    const chunk = options.chunk ?? DEFAULT_CHUNK;
    const session = await Session.create(stepsGraph(model, grid, chunk));
    const seed = options.seed ?? 0;
    const planar = transpose(createState(model, grid, seed), grid.width * grid.height, model.topology.channels);
    return new OrtEngine(model, grid, seed, chunk, session, planar);
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
    return transpose(this.planar, this.model.topology.channels, this.grid.width * this.grid.height);
  }

  async dispose(): Promise<void> {
    await this.session.release();
  }
}

/** [rows][cols] -> [cols][rows]. */
function transpose(data: Float32Array, rows: number, cols: number): Float32Array {
  const out = new Float32Array(data.length);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) out[c * rows + r] = data[r * cols + c];
  return out;
}
