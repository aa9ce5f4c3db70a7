/**
 * One compiled graph on onnxruntime-node. Feeds and results are plain typed
 * arrays; shapes come from the graph, so callers never build ort.Tensors.
 */
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import os from 'node:os';
import ort from 'onnxruntime-node';
import { Graph, sizeOf, type DType, type TensorData, type Value } from '../graph/graph.ts';
import { relu } from '../graph/ops.ts';
import { serializeGraph } from '../graph/serialize.ts';

/**
 * Execution providers. `webgpu` is bundled with onnxruntime-node (Dawn: Vulkan, Metal or D3D12,
 * no CUDA download); where no adapter exists it falls back to the CPU with one line on stderr
 * (`resolveDevice`). `cuda` needs its binaries installed (docs/trainer.md).
 */
export const DEVICES = ['cpu', 'webgpu', 'cuda', 'dml', 'coreml'] as const;
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

/** Whether onnxruntime's WebGPU provider finds an adapter on this machine, and if not, why (one line). */
export interface WebGpuProbe {
  available: boolean;
  reason: string;
}

let webgpuProbe: WebGpuProbe | undefined;

/**
 * Starts the WebGPU provider once, in a child process: Dawn writes its own warnings to stderr
 * (e.g. "Couldn't load Vulkan") and a broken driver can take the process down, so the
 * trainer's process only sees the verdict. Cached for the process.
 */
export function probeWebGpu(): WebGpuProbe {
  if (webgpuProbe) return webgpuProbe;
  const ortPath = createRequire(import.meta.url).resolve('onnxruntime-node');
  const script = `
    const ort = require(${JSON.stringify(ortPath)});
    ort.InferenceSession.create(require('fs').readFileSync(0), { executionProviders: ['webgpu'], logSeverityLevel: 4 })
      .then(() => process.stdout.write('ok'), (e) => process.stdout.write('error: ' + e.message));`;
  const graph = new Graph('webgpu-probe');
  graph.output(relu(graph.input('x', [1])), 'y');
  const child = spawnSync(process.execPath, ['-e', script], { input: serializeGraph(graph), encoding: 'utf8', timeout: 60_000 });
  const said = (child.stdout ?? '').trim();
  if (said === 'ok') return (webgpuProbe = { available: true, reason: 'a WebGPU adapter was found' });
  // The last line of onnxruntime's message ("Failed to get a WebGPU adapter: No supported adapters"), and Dawn's own why.
  const ortReason = said.replace(/^error: /, '').split('\n').map((line) => line.trim()).filter(Boolean).pop() ?? '';
  const dawn = (child.stderr ?? '').match(/Warning: (.*)/)?.[1]?.trim();
  const reason = [ortReason.replace(/^.*?(Failed to get a WebGPU adapter.*)$/, '$1') || `the probe ended with ${child.signal ?? `code ${child.status}`}`, dawn]
    .filter(Boolean)
    .join('; ');
  return (webgpuProbe = { available: false, reason });
}

const warned = new Set<string>();

/**
 * The device that sessions really run on: `webgpu` where its provider finds an adapter, else
 * `cpu`, saying so once per process on stderr in one line. Other devices are returned as they are
 * (checkDevice has vetted them).
 */
export function resolveDevice(device: Device, warn: (line: string) => void = (line) => process.stderr.write(`${line}\n`)): Device {
  if (device !== 'webgpu') return device;
  const probe = probeWebGpu();
  if (probe.available) return device;
  const line = `nca: --device webgpu: no WebGPU adapter on this machine (${probe.reason}); running on the CPU instead`;
  if (!warned.has(line)) {
    warned.add(line);
    warn(line.replace(/\s+/g, ' '));
  }
  return 'cpu';
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
    const device = resolveDevice(checkDevice(options.device ?? 'cpu'));
    const bytes = serializeGraph(graph);
    let session: ort.InferenceSession;
    try {
      session = await ort.InferenceSession.create(bytes, {
        executionProviders: [device],
        intraOpNumThreads: options.threads ?? os.cpus().length,
        interOpNumThreads: 1,
        executionMode: 'sequential',
        graphOptimizationLevel: 'all',
        // NCA_ORT_LOG_LEVEL=1 shows onnxruntime's own notes, e.g. which nodes a GPU provider leaves to the CPU.
        logSeverityLevel: Number(process.env.NCA_ORT_LOG_LEVEL ?? 3) as 0 | 1 | 2 | 3 | 4,
        // Idle pool threads sleep instead of spinning: on a shared 2-core machine spinning
        // threads fight every other process (measured: an NCA step took 48 ms spinning, 29 ms not).
        extra: { session: { intra_op: { allow_spinning: '0' } } },
        // NCA_ORT_PROFILE=PREFIX: onnxruntime's per-node timings, one JSON file per graph, written on release.
        ...(process.env.NCA_ORT_PROFILE ? { enableProfiling: true, profileFilePrefix: `${process.env.NCA_ORT_PROFILE}-${graph.name}` } : {}),
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
    if (process.env.NCA_ORT_PROFILE) this.session.endProfiling();
    await this.session.release();
  }
}
