/**
 * One compiled graph on onnxruntime-node. Feeds and results are plain typed
 * arrays; shapes come from the graph, so callers never build ort.Tensors.
 */
import os from 'node:os';
import ort from 'onnxruntime-node';
import type { DType, Graph, TensorData, Value } from '../graph/graph.ts';
import { sizeOf } from '../graph/graph.ts';
import { serializeGraph } from '../graph/serialize.ts';

export const DEVICES = ['cpu', 'cuda', 'dml', 'coreml'] as const;
export type Device = (typeof DEVICES)[number];

export interface SessionOptions {
  device?: Device;
  /** Intra-op threads; all cores by default. Results repeat exactly for a fixed thread count. */
  threads?: number;
}

/** Throws a clear error when this onnxruntime-node build cannot run `device`. */
export function checkDevice(device: string): Device {
  if (!(DEVICES as readonly string[]).includes(device)) {
    throw new Error(`unknown device "${device}" (choose one of: ${DEVICES.join(', ')})`);
  }
  const backends = ort.listSupportedBackends();
  if (!backends.some((b) => b.name === device)) {
    const have = backends.filter((b) => b.bundled).map((b) => b.name);
    throw new Error(
      `the installed onnxruntime-node has no "${device}" execution provider on ${process.platform}/${process.arch} ` +
        `(this build offers: ${have.join(', ')}). Use --device cpu, or run on a platform whose build has it.`,
    );
  }
  return device as Device;
}

const ORT_TYPE: Record<DType, ort.Tensor.Type> = {
  float32: 'float32',
  float64: 'float64',
  float16: 'float16',
  int64: 'int64',
  int32: 'int32',
  int8: 'int8',
  uint8: 'uint8',
  bool: 'bool',
};

export class Session {
  private constructor(
    private readonly session: ort.InferenceSession,
    private readonly inputs: readonly Value[],
    readonly outputNames: readonly string[],
  ) {}

  static async create(graph: Graph, options: SessionOptions = {}): Promise<Session> {
    const device = checkDevice(options.device ?? 'cpu');
    const bytes = serializeGraph(graph);
    let session: ort.InferenceSession;
    try {
      session = await ort.InferenceSession.create(bytes, {
        executionProviders: [device],
        intraOpNumThreads: options.threads ?? os.cpus().length,
        interOpNumThreads: 1,
        executionMode: 'sequential',
        graphOptimizationLevel: 'all',
        logSeverityLevel: 3,
        // Idle pool threads sleep instead of spinning: on a shared 2-core machine spinning
        // threads fight every other process (measured: an NCA step took 48 ms spinning, 29 ms not).
        extra: { session: { intra_op: { allow_spinning: '0' } } },
      } as ort.InferenceSession.SessionOptions);
    } catch (err) {
      const hint =
        device === 'cuda'
          ? ' The CUDA provider needs its binaries: reinstall with ONNXRUNTIME_NODE_INSTALL_CUDA=v12 (needs internet) or use --device cpu.'
          : '';
      throw new Error(`onnxruntime could not load graph "${graph.name}" on ${device}: ${(err as Error).message}${hint}`);
    }
    return new Session(session, graph.inputs, graph.outputs.map((v) => v.name));
  }

  /** Runs with every graph input fed; returns every graph output by name. */
  async run(feeds: Record<string, TensorData>): Promise<Record<string, TensorData>> {
    const tensors: Record<string, ort.Tensor> = {};
    for (const v of this.inputs) {
      const data = feeds[v.name];
      if (!data) throw new Error(`missing feed "${v.name}" (${v})`);
      if (data.length !== sizeOf(v.shape)) {
        throw new Error(`feed "${v.name}": ${data.length} values, expected ${sizeOf(v.shape)} for ${v}`);
      }
      tensors[v.name] = new ort.Tensor(ORT_TYPE[v.dtype], data as never, v.shape as number[]);
    }
    const results = await this.session.run(tensors);
    const out: Record<string, TensorData> = {};
    for (const name of this.outputNames) out[name] = results[name].data as TensorData;
    return out;
  }

  /** Like `run`, with the outputs in graph order (for outputs left with their node's name). */
  async runList(feeds: Record<string, TensorData>): Promise<TensorData[]> {
    const out = await this.run(feeds);
    return this.outputNames.map((name) => out[name]);
  }

  async release(): Promise<void> {
    await this.session.release();
  }
}
