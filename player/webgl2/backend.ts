/**
 * The WebGL2 backend: fragment shaders, ping-pong between two layered float textures, or a
 * rotation of three with alive masking (step x -> x', then x, x' -> the masked state).
 */
import type { Grid, NcaModel } from '../../formats/index.ts';
import type { Backend } from '../backend.ts';
import { PlayerError } from '../errors.ts';
import { shaderConstants, type ShaderConstants } from '../shader-constants.ts';
import { createProgram, nearest, stateFormat, type Program } from './gl.ts';
import { aliveFragment, displayFragment, noiseFragment, stepFragment } from './shaders.ts';
import { seedPatch } from '../seed.ts';

interface StateTarget {
  texture: WebGLTexture;
  framebuffer: WebGLFramebuffer;
}

export function createWebGl2Backend(model: NcaModel): Backend {
  const canvas = document.createElement('canvas');
  const gl = canvas.getContext('webgl2', { antialias: false, depth: false, stencil: false, powerPreference: 'high-performance' });
  if (!gl) throw new PlayerError('no-backend', 'WebGL2 is not available');
  return new WebGl2Backend(canvas, gl, model);
}

class WebGl2Backend implements Backend {
  readonly kind = 'webgl2';
  /** GPU timestamps where the browser exposes them (EXT_disjoint_timer_query_webgl2). */
  private readonly timer: { TIME_ELAPSED_EXT: number; GPU_DISJOINT_EXT: number } | null;
  readonly timing: string;
  onlost: (() => void) | null = null;
  private readonly k: ShaderConstants;
  private readonly format: number;
  private readonly programs: { step: Program; alive: Program | null; display: Program; noise: Program | null };
  private grid: Grid = { width: 0, height: 0 };
  /**
   * targets[0] holds the current state x. A step renders x' into targets[1]; without alive
   * masking that is the new state and the two swap. With it, a second pass renders the masked
   * state from targets[0] and targets[1] into targets[2], which becomes targets[0].
   */
  private targets: StateTarget[] = [];

  constructor(
    readonly canvas: HTMLCanvasElement,
    private readonly gl: WebGL2RenderingContext,
    private readonly model: NcaModel,
  ) {
    this.k = shaderConstants(model.topology);
    this.format = stateFormat(gl);
    this.timer = gl.getExtension('EXT_disjoint_timer_query_webgl2');
    this.timing = this.timer ? 'timer-query' : 'frame';
    const outputs = Math.min(gl.getParameter(gl.MAX_DRAW_BUFFERS), gl.getParameter(gl.MAX_COLOR_ATTACHMENTS));
    if (this.k.packs > outputs) {
      throw new PlayerError(
        'unsupported-model',
        `the model has ${this.k.channels} channels; WebGL2 on this GPU runs at most ${4 * outputs}`,
      );
    }
    this.programs = {
      step: createProgram(gl, stepFragment(this.k, model), ['state', 'seed', 'step']),
      alive: this.k.alive ? createProgram(gl, aliveFragment(this.k), ['state', 'updated']) : null,
      display: createProgram(gl, displayFragment(this.k), ['state']),
      noise: model.seed.kind === 'noise' ? createProgram(gl, noiseFragment(this.k), ['seed']) : null,
    };
    canvas.addEventListener('webglcontextlost', (event) => {
      event.preventDefault();
      this.onlost?.();
      this.onlost = null;
    });
  }

  private createTarget(): StateTarget {
    const { gl, grid } = this;
    const texture = gl.createTexture()!;
    gl.bindTexture(gl.TEXTURE_2D_ARRAY, texture);
    nearest(gl, gl.TEXTURE_2D_ARRAY);
    gl.texStorage3D(gl.TEXTURE_2D_ARRAY, 1, this.format, grid.width, grid.height, this.k.packs);
    const framebuffer = gl.createFramebuffer()!;
    gl.bindFramebuffer(gl.FRAMEBUFFER, framebuffer);
    for (let i = 0; i < this.k.packs; i++) {
      gl.framebufferTextureLayer(gl.FRAMEBUFFER, gl.COLOR_ATTACHMENT0 + i, texture, 0, i);
    }
    gl.drawBuffers(this.attachments());
    return { texture, framebuffer };
  }

  private attachments(): number[] {
    return Array.from({ length: this.k.packs }, (_, i) => this.gl.COLOR_ATTACHMENT0 + i);
  }

  private deleteTargets(): void {
    for (const { texture, framebuffer } of this.targets) {
      this.gl.deleteTexture(texture);
      this.gl.deleteFramebuffer(framebuffer);
    }
    this.targets = [];
  }

  seed(grid: Grid, seed: number): void {
    const { gl, k } = this;
    if (grid.width !== this.grid.width || grid.height !== this.grid.height || this.targets.length === 0) {
      this.deleteTargets();
      this.grid = { ...grid };
      this.targets = Array.from({ length: this.k.alive ? 3 : 2 }, () => this.createTarget());
      this.canvas.width = grid.width;
      this.canvas.height = grid.height;
    }
    const patch = seedPatch(this.model, grid);
    if (!patch) {
      const { program, uniforms } = this.programs.noise!;
      this.pass(program, this.targets[0], []);
      gl.uniform1ui(uniforms.seed, seed >>> 0);
      gl.drawArrays(gl.TRIANGLES, 0, 3);
      return;
    }
    gl.bindFramebuffer(gl.FRAMEBUFFER, this.targets[0].framebuffer);
    for (let i = 0; i < k.packs; i++) gl.clearBufferfv(gl.COLOR, i, [0, 0, 0, 0]);
    this.put(patch.x, patch.y, patch.width, patch.height, patch.data);
  }

  put(x: number, y: number, width: number, height: number, data: Float32Array | null): void {
    const { gl, k } = this;
    // [height][width][channels] -> [layer][height][width][4]
    const cells = width * height;
    const layers = new Float32Array(k.packs * cells * 4);
    for (let cell = 0; data && cell < cells; cell++) {
      for (let c = 0; c < k.channels; c++) layers[((c >> 2) * cells + cell) * 4 + (c & 3)] = data[cell * k.channels + c];
    }
    gl.bindTexture(gl.TEXTURE_2D_ARRAY, this.targets[0].texture);
    gl.texSubImage3D(gl.TEXTURE_2D_ARRAY, 0, x, y, 0, width, height, k.packs, gl.RGBA, gl.FLOAT, layers);
  }

  step(seed: number, step: number): void {
    const { gl } = this;
    const [x, updated, masked] = this.targets;
    const { program, uniforms } = this.programs.step;
    this.pass(program, updated, [[uniforms.state, x.texture, gl.TEXTURE_2D_ARRAY]]);
    gl.uniform1ui(uniforms.seed, seed >>> 0);
    gl.uniform1ui(uniforms.step, step >>> 0);
    gl.drawArrays(gl.TRIANGLES, 0, 3);
    const alive = this.programs.alive;
    if (!alive) {
      this.targets = [updated, x];
      return;
    }
    this.pass(alive.program, masked, [[alive.uniforms.state, x.texture, gl.TEXTURE_2D_ARRAY], [alive.uniforms.updated, updated.texture, gl.TEXTURE_2D_ARRAY]]);
    gl.drawArrays(gl.TRIANGLES, 0, 3);
    this.targets = [masked, x, updated];
  }

  /** Binds a program, its output and its input textures (one texture unit each, in order). */
  private pass(program: WebGLProgram, output: StateTarget, inputs: [WebGLUniformLocation | null, WebGLTexture, number][]): void {
    const { gl } = this;
    gl.useProgram(program);
    gl.bindFramebuffer(gl.FRAMEBUFFER, output.framebuffer);
    gl.viewport(0, 0, this.grid.width, this.grid.height);
    inputs.forEach(([uniform, texture, target], unit) => {
      gl.activeTexture(gl.TEXTURE0 + unit);
      gl.bindTexture(target, texture);
      gl.uniform1i(uniform, unit);
    });
  }

  draw(): void {
    const { gl } = this;
    const { program, uniforms } = this.programs.display;
    gl.useProgram(program);
    gl.bindFramebuffer(gl.FRAMEBUFFER, null);
    gl.viewport(0, 0, this.grid.width, this.grid.height);
    gl.activeTexture(gl.TEXTURE0);
    gl.bindTexture(gl.TEXTURE_2D_ARRAY, this.targets[0].texture);
    gl.uniform1i(uniforms.state, 0);
    gl.drawArrays(gl.TRIANGLES, 0, 3);
  }

  time(work: () => void): Promise<number> {
    const { gl, timer } = this;
    if (!timer) {
      // Frame timing: a one-texel read-back waits for the GPU to finish the work (and whatever was queued before it).
      const start = performance.now();
      work();
      gl.bindFramebuffer(gl.FRAMEBUFFER, this.targets[0].framebuffer);
      gl.readBuffer(gl.COLOR_ATTACHMENT0);
      gl.readPixels(0, 0, 1, 1, gl.RGBA, gl.FLOAT, new Float32Array(4));
      return Promise.resolve(performance.now() - start);
    }
    const query = gl.createQuery()!;
    gl.beginQuery(timer.TIME_ELAPSED_EXT, query);
    work();
    gl.endQuery(timer.TIME_ELAPSED_EXT);
    return new Promise((resolve) => {
      const poll = () => {
        if (gl.isContextLost()) return resolve(0);
        if (!gl.getQueryParameter(query, gl.QUERY_RESULT_AVAILABLE)) return void setTimeout(poll, 16);
        resolve(gl.getParameter(timer.GPU_DISJOINT_EXT) ? 0 : gl.getQueryParameter(query, gl.QUERY_RESULT) / 1e6);
        gl.deleteQuery(query);
      };
      poll();
    });
  }

  async read(): Promise<Float32Array> {
    const { gl, k, grid } = this;
    const cells = grid.width * grid.height;
    const layer = new Float32Array(cells * 4);
    const state = new Float32Array(cells * k.channels);
    gl.bindFramebuffer(gl.FRAMEBUFFER, this.targets[0].framebuffer);
    for (let i = 0; i < k.packs; i++) {
      gl.readBuffer(gl.COLOR_ATTACHMENT0 + i);
      gl.readPixels(0, 0, grid.width, grid.height, gl.RGBA, gl.FLOAT, layer);
      for (let cell = 0; cell < cells; cell++) {
        for (let j = 0; j < 4 && 4 * i + j < k.channels; j++) state[cell * k.channels + 4 * i + j] = layer[cell * 4 + j];
      }
    }
    return state;
  }

  destroy(): void {
    this.onlost = null;
    this.deleteTargets();
    for (const entry of Object.values(this.programs)) if (entry) this.gl.deleteProgram(entry.program);
    // Browsers cap live contexts per page: free this one now rather than at garbage collection.
    this.gl.getExtension('WEBGL_lose_context')?.loseContext();
  }
}
