/** A worker thread that runs one weight variant of `evaluateLongRun` (long-run.ts), so float and int8 run side by side. */
import { serveCalls } from '../../trainer/engine/module-worker.ts';
import { evaluateRun, type RunPlan, type RunReport } from './long-run.ts';
import type { NcaModel } from '../../formats/index.ts';

serveCalls(
  Promise.resolve({
    evaluateRun(model: NcaModel, weights: RunReport['weights'], plan: Omit<RunPlan, 'tick'>, emit: (steps: number) => void): Promise<RunReport> {
      return evaluateRun(model, weights, { ...plan, tick: emit });
    },
  }),
);
