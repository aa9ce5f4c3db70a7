/// <reference types="@webgpu/types" />
/**
 * The WebGPU backend: compute shaders over two ping-pong storage buffers, or a rotation of
 * three with alive masking (step x -> x', then x, x' -> the masked state).
 */
import type { Grid, NcaModel } from '../../formats/index.ts';
import type { Backend } from '../backend.ts';
import { PlayerError } from '../errors.ts';
import { shaderConstants, type ShaderConstants } from '../shader-constants.ts';
import { aliveShader, displayShader, noiseShader, PARAMS_BYTES, stepShader, TILE } from './shaders.ts';
import { seedPatch } from '../seed.ts';

export async function createWebGpuBackend(model: NcaModel): Promise<Backend> {
  const adapter = await navigator.gpu?.requestAdapter({ powerPreference: 'high-performance' });
  if (!adapter) throw new PlayerError('no-backend', 'WebGPU is not available');
  // Large grids need more than the default 128 MiB per state buffer.
  const { maxStorageBufferBindingSize, maxBufferSize } = adapter.limits;
  const device = await adapter.requestDevice({ requiredLimits: { maxStorageBufferBindingSize, maxBufferSize } });
  const canvas = document.createElement('canvas');
  const context = canvas.getContext('webgpu');
  if (!context) throw new PlayerError('no-backend', 'WebGPU cannot draw to a canvas here');
  const format = navigator.gpu.getPreferredCanvasFormat();
  context.configure({ device, format, alphaMode: 'premultiplied' });
  const k = shaderConstants(model.topology);
  const compute = (code: string) =>
    device.createComputePipelineAsync({ layout: 'auto', compute: { module: device.createShaderModule({ code }) } });
  const displayModule = device.createShaderModule({ code: displayShader(k) });
  try {
    const [step, alive, display, noise] = await Promise.all([
      compute(stepShader(k, model)),
      k.alive ? compute(aliveShader(k)) : null,
      device.createRenderPipelineAsync({
        layout: 'auto',
        vertex: { module: displayModule },
        fragment: { module: displayModule, targets: [{ format }] },
      }),
      model.seed.kind === 'noise' ? compute(noiseShader(k)) : null,
    ]);
    return new WebGpuBackend(canvas, context, device, k, model, { step, alive, display, noise });
  } catch (error) {
    device.destroy();
    throw new PlayerError('gpu', `WebGPU pipeline failed to build: ${(error as Error).message}`);
  }
}

/** Copies per-cell values from one stride to another (the GPU pads cells to whole vec4s). */
function restride(data: Float32Array, cells: number, from: number, to: number): Float32Array {
  if (from === to) return data;
  const out = new Float32Array(cells * to);
  const n = Math.min(from, to);
  for (let cell = 0; cell < cells; cell++) out.set(data.subarray(cell * from, cell * from + n), cell * to);
  return out;
}

interface Pipelines {
  step: GPUComputePipeline;
  /** The second step pass, with alive masking only. */
  alive: GPUComputePipeline | null;
  display: GPURenderPipeline;
  /** The noise seed, for a model with one. */
  noise: GPUComputePipeline | null;
}

class WebGpuBackend implements Backend {
  readonly kind = 'webgpu';
  readonly timing = 'frame';
  onlost: (() => void) | null = null;
  private grid: Grid = { width: 0, height: 0 };
  private readonly params: GPUBuffer;
  /**
   * states[current] holds the state x. A step writes x' into the next buffer; without alive
   * masking that becomes current (ping-pong of two). With it, a second pass writes the masked
   * state from those two into the third, which becomes current (rotation of three).
   */
  private states: GPUBuffer[] = [];
  /** Bind groups for each choice of current buffer, indexed like `states`. */
  private groups: { step: GPUBindGroup; alive: GPUBindGroup | null; display: GPUBindGroup }[] = [];
  private current = 0;

  constructor(
    readonly canvas: HTMLCanvasElement,
    private readonly context: GPUCanvasContext,
    private readonly device: GPUDevice,
    private readonly k: ShaderConstants,
    private readonly model: NcaModel,
    private readonly pipelines: Pipelines,
  ) {
    const uniform = GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST;
    this.params = device.createBuffer({ size: PARAMS_BYTES, usage: uniform });
    device.lost.then((info) => {
      if (info.reason !== 'destroyed') this.onlost?.();
      this.onlost = null;
    });
  }

  private writeParams(seed: number, step: number): void {
    this.device.queue.writeBuffer(this.params, 0, new Uint32Array([this.grid.width, this.grid.height, seed >>> 0, step >>> 0]));
  }

  seed(grid: Grid, seed: number): void {
    const stride = 16 * this.k.packs; // bytes per cell
    const bytes = grid.width * grid.height * stride;
    if (bytes > this.device.limits.maxStorageBufferBindingSize) {
      throw new PlayerError('unsupported-model', `a ${grid.width}x${grid.height} grid is too large for this GPU`);
    }
    if (grid.width !== this.grid.width || grid.height !== this.grid.height || this.states.length === 0) {
      for (const buffer of this.states) buffer.destroy();
      this.grid = { ...grid };
      const usage = GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST;
      const count = this.pipelines.alive ? 3 : 2;
      this.states = Array.from({ length: count }, () => this.device.createBuffer({ size: bytes, usage }));
      this.groups = this.states.map((_, i) => this.bindGroups(i));
      this.canvas.width = grid.width;
      this.canvas.height = grid.height;
    }
    this.current = 0;
    this.writeParams(seed, 0);
    const { noise } = this.pipelines;
    const state = this.states[0];
    if (noise) return this.dispatch([noise, this.group(noise, [this.params, state])]);
    const encoder = this.device.createCommandEncoder();
    encoder.clearBuffer(state);
    this.device.queue.submit([encoder.finish()]);
    const patch = seedPatch(this.model, grid)!;
    this.put(patch.x, patch.y, patch.width, patch.height, patch.data);
  }

  put(x: number, y: number, width: number, height: number, data: Float32Array | null): void {
    // One row at a time (a patch's rows are not contiguous in the grid), cells padded to whole vec4s.
    const row = width * 4 * this.k.packs;
    const rows = data ? restride(data, width * height, this.k.channels, 4 * this.k.packs) : new Float32Array(row * height);
    for (let i = 0; i < height; i++) {
      this.device.queue.writeBuffer(this.states[this.current], ((y + i) * this.grid.width + x) * 16 * this.k.packs, rows as Float32Array<ArrayBuffer>, i * row, row); // offsets in floats
    }
  }

  private group(pipeline: GPUComputePipeline | GPURenderPipeline, buffers: GPUBuffer[]): GPUBindGroup {
    return this.device.createBindGroup({
      layout: pipeline.getBindGroupLayout(0),
      entries: buffers.map((buffer, binding) => ({ binding, resource: { buffer } })),
    });
  }

  /** The bind groups while states[current] is current. */
  private bindGroups(current: number) {
    const group = this.group.bind(this);
    const { step, alive, display } = this.pipelines;
    const [state, updated, masked] = this.states.map((_, i) => this.states[(current + i) % this.states.length]);
    return {
      step: group(step, [this.params, state, updated]),
      alive: alive && group(alive, [this.params, state, updated, masked]),
      display: group(display, [this.params, state]),
    };
  }

  /** One submit of dispatches over the grid, in order (WebGPU orders their storage writes). */
  private dispatch(...passes: [GPUComputePipeline, GPUBindGroup][]): void {
    const encoder = this.device.createCommandEncoder();
    const pass = encoder.beginComputePass();
    for (const [pipeline, group] of passes) {
      pass.setPipeline(pipeline);
      pass.setBindGroup(0, group);
      pass.dispatchWorkgroups(Math.ceil(this.grid.width / TILE), Math.ceil(this.grid.height / TILE));
    }
    pass.end();
    this.device.queue.submit([encoder.finish()]);
  }

  step(seed: number, step: number): void {
    // writeBuffer is ordered with submits, so each step sees its own step number.
    this.writeParams(seed, step);
    const groups = this.groups[this.current];
    const { alive } = this.pipelines;
    if (alive && groups.alive) {
      this.dispatch([this.pipelines.step, groups.step], [alive, groups.alive]);
      this.current = (this.current + 2) % 3;
    } else {
      this.dispatch([this.pipelines.step, groups.step]);
      this.current = 1 - this.current;
    }
  }

  draw(): void {
    const encoder = this.device.createCommandEncoder();
    const pass = encoder.beginRenderPass({
      colorAttachments: [{ view: this.context.getCurrentTexture().createView(), loadOp: 'clear', storeOp: 'store' }],
    });
    pass.setPipeline(this.pipelines.display);
    pass.setBindGroup(0, this.groups[this.current].display);
    pass.draw(3);
    pass.end();
    this.device.queue.submit([encoder.finish()]);
  }

  /** Frame timing: from submitting the work until the queue reports it done. */
  time(work: () => void): Promise<number> {
    const start = performance.now();
    work();
    return this.device.queue.onSubmittedWorkDone().then(() => performance.now() - start);
  }

  async read(): Promise<Float32Array> {
    const source = this.states[this.current];
    const staging = this.device.createBuffer({ size: source.size, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
    const encoder = this.device.createCommandEncoder();
    encoder.copyBufferToBuffer(source, 0, staging, 0, source.size);
    this.device.queue.submit([encoder.finish()]);
    await staging.mapAsync(GPUMapMode.READ);
    const padded = new Float32Array(staging.getMappedRange().slice(0));
    staging.destroy();
    return restride(padded, this.grid.width * this.grid.height, 4 * this.k.packs, this.k.channels);
  }

  destroy(): void {
    this.onlost = null;
    this.device.destroy(); // frees every buffer and pipeline made from it
  }
}
