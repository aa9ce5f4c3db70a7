/**
 * One part of a training batch (a range of its slots) on its own NcaRollout: the
 * unit that batch-rollout.ts runs in a worker thread, or in-process when the
 * batch is not split. Masks are given as per-slot seeds (masks.ts), not as
 * functions, so a request can cross threads; the trajectory of the last forward
 * pass stays here until its backward pass.
 */
import type { Topology, Weights } from '../../formats/model.ts';
import type { BatchShape } from './layout.ts';
import { batchMasks } from './masks.ts';
import { NcaRollout, type RolloutGradients, type RolloutOptions, type Trajectory, type MaskSource } from './rollout.ts';

export interface PartSpec {
  topology: Topology;
  shape: Omit<BatchShape, 'channels'>;
  options: RolloutOptions;
}

export class RolloutPart {
  private last: { trajectory: Trajectory; masks: MaskSource } | null = null;

  private constructor(private readonly rollout: NcaRollout) {}

  static async create(spec: PartSpec): Promise<RolloutPart> {
    return new RolloutPart(await NcaRollout.create(spec.topology, spec.shape, spec.options));
  }

  /** `steps` steps from `state` [b, C, H, W] with the masks of `seeds` (one per slot); the final state. */
  async forward(state: Float32Array, weights: Weights, seeds: number[], steps: number): Promise<Float32Array> {
    const masks = this.masks(seeds, true);
    this.last = null; // a failed forward pass must not leave the previous trajectory for backward
    this.last = { trajectory: await this.rollout.forward(state, weights, masks, steps), masks };
    return this.last.trajectory.final;
  }

  /** The state before the last step of the last forward pass. */
  previous(): Float32Array {
    if (!this.last) throw new Error('rollout part: previous() without a forward() before it');
    return this.last.trajectory.previous;
  }

  /** The gradients of the last forward pass, given dL/d(its final state) and optionally dL/d(its previous state); that trajectory is then dropped. */
  async backward(weights: Weights, gradFinal: Float32Array, gradPrevious?: Float32Array): Promise<RolloutGradients> {
    const last = this.last;
    if (!last) throw new Error('rollout part: backward() without a forward() before it');
    this.last = null;
    return this.rollout.backward(last.trajectory, weights, last.masks, gradFinal, gradPrevious);
  }

  /** `steps` steps without records (pool ageing): constant memory. */
  advance(state: Float32Array, weights: Weights, seeds: number[], steps: number): Promise<Float32Array> {
    return this.rollout.advance(state, weights, this.masks(seeds, false), steps);
  }

  release(): Promise<void> {
    this.last = null;
    return this.rollout.release();
  }

  private masks(seeds: number[], cache: boolean): MaskSource {
    const { topology, shape } = this.rollout;
    if (seeds.length !== shape.batch) throw new Error(`rollout part: ${seeds.length} mask seeds for ${shape.batch} slots`);
    return batchMasks(topology, shape, seeds, cache);
  }
}
