/**
 * Central finite-difference check of autodiff gradients, run on onnxruntime.
 *
 * The graph's output y is reduced to a scalar L = sum(y * R) with a fixed random
 * R (summed in float64 here in JS); the analytic dL/dx comes from `vjp` with R as
 * the cotangent. Each input element is nudged by +-eps and (L+ - L-) / 2eps is
 * compared with the analytic value.
 */
import { Rng } from '../../formats/random.ts';
import { Graph, type DType, type TensorData, type Value, makeData } from '../graph/graph.ts';
import { Session } from '../engine/session.ts';
import { vjp } from './gradients.ts';

export interface GradcheckOptions {
  dtype?: DType;
  /** Step; defaults suit the dtype (1e-6 for float64, 1e-2 for float32). */
  eps?: number;
  rtol?: number;
  atol?: number;
  seed?: number;
  /** Custom values per input name (e.g. positive numbers for Sqrt); the rest are uniform in [-1, 1]. */
  values?: Record<string, (rng: Rng, index: number) => number>;
}

export interface GradcheckResult {
  /** max over elements of |analytic - numeric| / (atol + rtol * |numeric|); passes when <= 1. */
  worst: number;
  where: string;
  checked: number;
}

/** `build` declares inputs on the graph and returns which ones to differentiate and the output. */
export async function gradcheck(
  build: (g: Graph, dtype: DType) => { wrt: Value[]; output: Value },
  options: GradcheckOptions = {},
): Promise<GradcheckResult> {
  const dtype = options.dtype ?? 'float64';
  const wide = dtype === 'float64';
  const eps = options.eps ?? (wide ? 1e-6 : 1e-2);
  const rtol = options.rtol ?? (wide ? 1e-5 : 2e-2);
  const atol = options.atol ?? (wide ? 1e-7 : 2e-3);
  const rng = new Rng(options.seed ?? 1234);

  const g = new Graph('gradcheck');
  const { wrt, output } = build(g, dtype);
  const cotangent = g.input('cotangent', output.shape, output.dtype);
  const grads = vjp([output], [cotangent], wrt);
  g.output(output, 'y');
  grads.forEach((v, i) => g.output(v, `grad_${i}`));
  const session = await Session.create(g, { threads: 1 });

  const feeds: Record<string, TensorData> = {};
  for (const v of g.inputs) {
    const custom = options.values?.[v.name];
    const values = Array.from({ length: v.size }, (_, i) => (custom ? custom(rng, i) : rng.next() * 2 - 1));
    feeds[v.name] = makeData(v.dtype, values);
  }
  const r = feeds.cotangent as Float32Array | Float64Array;
  const lossAt = async (): Promise<number> => {
    const y = (await session.run(feeds)).y as Float32Array | Float64Array;
    let sum = 0;
    for (let i = 0; i < y.length; i++) sum += y[i] * r[i];
    return sum;
  };

  const analytic = await session.run(feeds);
  let worst = 0;
  let where = '';
  let checked = 0;
  for (let k = 0; k < wrt.length; k++) {
    const x = feeds[wrt[k].name] as Float32Array | Float64Array;
    const a = analytic[`grad_${k}`] as Float32Array | Float64Array;
    for (let i = 0; i < x.length; i++) {
      const saved = x[i];
      x[i] = saved + eps;
      const high = x[i]; // as stored: float32 rounds the step
      const plus = await lossAt();
      x[i] = saved - eps;
      const low = x[i];
      const minus = await lossAt();
      x[i] = saved;
      const numeric = (plus - minus) / (high - low);
      const err = Math.abs(a[i] - numeric) / (atol + rtol * Math.abs(numeric));
      checked++;
      if (err > worst) {
        worst = err;
        where = `${wrt[k].name}[${i}]: analytic ${a[i]}, numeric ${numeric}`;
      }
    }
  }
  await session.release();
  return { worst, where, checked };
}
