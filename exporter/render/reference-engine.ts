/** The reference core behind the Engine interface: exact, and 20-40x slower than ort. */
import { ReferenceNca, type Grid, type NcaModel } from '../../formats/index.ts';
import type { Engine } from './engine.ts';

export class ReferenceEngine implements Engine {
  private readonly nca: ReferenceNca;
  constructor(model: NcaModel, grid: Grid, seed: number) {
    this.nca = new ReferenceNca(model, grid, seed);
  }
  get model() {
    return this.nca.model;
  }
  get grid() {
    return this.nca.grid;
  }
  get steps() {
    return this.nca.steps;
  }
  async run(count: number): Promise<void> {
    this.nca.run(count);
  }
  state(): Float32Array {
    return this.nca.state;
  }
  setState(state: Float32Array, steps: number): void {
    if (state.length !== this.nca.state.length) throw new Error(`setState: ${state.length} values, expected ${this.nca.state.length}`);
    this.nca.state = state.slice();
    this.nca.steps = steps;
  }
  async dispose(): Promise<void> {}
}
