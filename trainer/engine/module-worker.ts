/**
 * Runs an object's methods in a worker thread, for work that onnxruntime-node
 * cannot spread over cores itself: it runs a session on the thread that calls
 * it, and on small grids its intra-op threads barely help (docs/performance.md).
 *
 * The worker module calls `serveCalls` with a promise of the object; the caller
 * gets a `WorkerCalls` from `startWorker`, whose `call(method, args)` runs
 * `object[method](...args, emit)` there. `emit` sends progress events back to
 * the call's `onEvent`. Messages: requests { id, method, args }; answers
 * { id, result }, { id, error } or { id, event }; the first answer, id STARTED,
 * says whether the object could be made (e.g. its device exists).
 */
import { parentPort, Worker } from 'node:worker_threads';

type Answer = { id: number; result: unknown } | { id: number; error: string } | { id: number; event: unknown };
interface Request {
  id: number;
  method: string;
  args: unknown[];
}
const STARTED = -1;

export interface WorkerCalls {
  call(method: string, args: unknown[], onEvent?: (event: unknown) => void): Promise<unknown>;
  /** Ends the worker (after its object's `release`, if it has one). */
  close(): Promise<void>;
}

/** The module `name` (no extension) beside the module at `callerUrl`, as compiled alike: `.ts` in a source checkout, `.js` in the package. */
export function moduleBeside(callerUrl: string, name: string): URL {
  return new URL(`./${name}${callerUrl.endsWith('.ts') ? '.ts' : '.js'}`, callerUrl);
}

/**
 * Starts `module` (moduleBeside gives it) in a worker thread, with `data` as its
 * workerData; resolves once the object it serves is made. The worker is unref'd
 * while no call is pending, so a process that forgets close() can still exit. In a
 * source checkout (TypeScript run through tsx) the worker registers tsx before
 * it loads the module: a worker does not inherit its parent's loader hooks.
 */
export function startWorker(module: URL, data: unknown, label: string): Promise<WorkerCalls> {
  const entry = JSON.stringify(module.href);
  const code = module.pathname.endsWith('.ts') ? `import(${JSON.stringify(import.meta.resolve('tsx/esm/api'))}).then((tsx) => tsx.register()).then(() => import(${entry}))` : `import(${entry})`;
  const worker = new Worker(code, { eval: true, workerData: data });
  const pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void; onEvent?: (event: unknown) => void }>();
  let failure: Error | null = null;
  let next = 0;
  const fail = (e: Error) => {
    failure ??= e;
    for (const p of pending.values()) p.reject(failure);
    pending.clear();
    worker.unref();
  };
  worker.on('message', (answer: Answer) => {
    const p = pending.get(answer.id);
    if (!p) return;
    if ('event' in answer) return p.onEvent?.(answer.event);
    pending.delete(answer.id);
    if (pending.size === 0) worker.unref();
    if ('error' in answer) p.reject(new Error(answer.error));
    else p.resolve(answer.result);
  });
  worker.on('error', (e) => fail(new Error(`${label} failed: ${e.message}`)));
  worker.on('exit', (code) => fail(new Error(`${label} exited (code ${code})`)));
  const calls: WorkerCalls = {
    call(method, args, onEvent) {
      if (failure) return Promise.reject(failure);
      const id = next++;
      worker.ref();
      worker.postMessage({ id, method, args } satisfies Request);
      return new Promise((resolve, reject) => pending.set(id, { resolve, reject, onEvent }));
    },
    async close() {
      if (!failure) await calls.call('release', []).catch(() => {});
      await worker.terminate();
    },
  };
  return new Promise<WorkerCalls>((resolve, reject) => pending.set(STARTED, { resolve: () => resolve(calls), reject })).catch(async (e: Error) => {
    await worker.terminate();
    throw e;
  });
}

/** The worker side: serves the methods of the object `made` resolves to (see startWorker). */
export function serveCalls(made: Promise<object>): void {
  const port = parentPort;
  if (!port) throw new Error('serveCalls() runs only in a worker thread (startWorker starts it)');
  const post = (answer: Answer) => port.postMessage(answer);
  made.then(
    () => post({ id: STARTED, result: null }),
    (e: Error) => post({ id: STARTED, error: e.message }),
  );
  port.on('message', async ({ id, method, args }: Request) => {
    try {
      const target = (await made) as Record<string, unknown>;
      const fn = target[method];
      if (typeof fn !== 'function') {
        if (method === 'release') return post({ id, result: null });
        throw new Error(`no method ${method}`);
      }
      post({ id, result: await fn.apply(target, [...args, (event: unknown) => post({ id, event })]) });
    } catch (e) {
      post({ id, error: e instanceof Error ? e.message : String(e) });
    }
  });
}
