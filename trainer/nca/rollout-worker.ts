/**
 * A worker thread that holds one RolloutPart (rollout-part.ts) and runs its
 * methods on request from batch-rollout.ts: messages { id, method, args },
 * answers { id, result } or { id, error }. Its first answer, id STARTED, says
 * whether the part could be made (e.g. its device exists).
 */
import { parentPort, workerData } from 'node:worker_threads';
import { RolloutPart, STARTED, type PartAnswer, type PartRequest, type PartSpec } from './rollout-part.ts';

const port = parentPort;
if (!port) throw new Error('rollout-worker.ts runs only as a worker thread (batch-rollout.ts starts it)');

const part = RolloutPart.create(workerData as PartSpec);
part.then(
  () => port.postMessage({ id: STARTED, result: null } satisfies PartAnswer),
  (e: Error) => port.postMessage({ id: STARTED, error: e.message } satisfies PartAnswer),
);

port.on('message', async ({ id, method, args }: PartRequest) => {
  try {
    const target = await part;
    const result = await (target[method] as (...a: unknown[]) => Promise<unknown>).apply(target, args);
    port.postMessage({ id, result } satisfies PartAnswer);
  } catch (e) {
    port.postMessage({ id, error: e instanceof Error ? e.message : String(e) } satisfies PartAnswer);
  }
});
