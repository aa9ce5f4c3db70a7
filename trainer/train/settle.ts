/**
 * The settling loss: weight x mean((final - previous)^2) over every value of the
 * batch, where `previous` is the state before the rollout's last step. It is the
 * size of the last step's change, hidden channels included.
 *
 * Why: the pixel loss reads only the colour channels at the last step, so a model
 * may meet the target there while its hidden channels still drift. Then the shape
 * drifts slowly and is gone by 10^4-10^5 steps (docs/trainer.md). Penalising
 * the change pulls the whole state towards a fixed point of the update.
 *
 * The term reads two states of the rollout. Its gradient goes into the final state
 * and into the state before the last step (NcaRollout.backward's gradPrevious).
 */
export interface SettleTerm {
  /** mean((final - previous)^2), before weighting (what the log shows). */
  value: number;
  /** d(weight x value)/d(final); d/d(previous) is its negative. */
  gradFinal: Float32Array;
  gradPrevious: Float32Array;
}

export function settleTerm(final: Float32Array, previous: Float32Array, weight: number): SettleTerm {
  const n = final.length;
  const gradFinal = new Float32Array(n);
  const gradPrevious = new Float32Array(n);
  let sum = 0;
  for (let i = 0; i < n; i++) {
    const d = final[i] - previous[i];
    sum += d * d;
    gradFinal[i] = (2 * weight * d) / n;
    gradPrevious[i] = -gradFinal[i];
  }
  return { value: sum / n, gradFinal, gradPrevious };
}
