/**
 * Adam (Kingma & Ba) over named float32 tensors, with float64 moments so
 * that a resumed run continues bit for bit. The state is plain data for checkpoints.
 */

export interface AdamState {
  step: number;
  m: Record<string, Float64Array>;
  v: Record<string, Float64Array>;
}

export const ADAM_DEFAULTS = { beta1: 0.9, beta2: 0.999, epsilon: 1e-8 };

export function adamInit(params: Record<string, Float32Array>): AdamState {
  const zeros = () => Object.fromEntries(Object.entries(params).map(([k, p]) => [k, new Float64Array(p.length)]));
  return { step: 0, m: zeros(), v: zeros() };
}

/** Updates `params` in place. */
export function adamStep(params: Record<string, Float32Array>, grads: Record<string, Float32Array>, state: AdamState, lr: number): void {
  const { beta1, beta2, epsilon } = ADAM_DEFAULTS;
  state.step++;
  const c1 = 1 - beta1 ** state.step;
  const c2 = 1 - beta2 ** state.step;
  for (const [name, p] of Object.entries(params)) {
    const g = grads[name];
    const m = state.m[name];
    const v = state.v[name];
    for (let i = 0; i < p.length; i++) {
      m[i] = beta1 * m[i] + (1 - beta1) * g[i];
      v[i] = beta2 * v[i] + (1 - beta2) * g[i] * g[i];
      p[i] -= (lr * (m[i] / c1)) / (Math.sqrt(v[i] / c2) + epsilon);
    }
  }
}

/** The source method's per-parameter normalisation: g / (||g||_2 + 1e-8), in place. */
export function normalizeGradients(grads: Record<string, Float32Array>): void {
  for (const g of Object.values(grads)) {
    let sum = 0;
    for (const x of g) sum += x * x;
    const scale = 1 / (Math.sqrt(sum) + 1e-8);
    for (let i = 0; i < g.length; i++) g[i] *= scale;
  }
}

/** Step decay: lr * factor^(number of milestones passed). Milestones are fractions of the run. */
export function learningRate(base: number, iteration: number, iterations: number, milestones: number[], factor: number): number {
  const passed = milestones.filter((f) => iteration >= Math.round(f * iterations)).length;
  return base * factor ** passed;
}
