/** The few WebGL2 chores the backend repeats: compiling programs and making float textures. */
import { PlayerError } from '../errors.ts';
import { fullscreenVertex } from './shaders.ts';

export interface Program {
  program: WebGLProgram;
  uniforms: Record<string, WebGLUniformLocation | null>;
}

function compile(gl: WebGL2RenderingContext, type: number, source: string): WebGLShader {
  const shader = gl.createShader(type)!;
  gl.shaderSource(shader, source);
  gl.compileShader(shader);
  if (!gl.getShaderParameter(shader, gl.COMPILE_STATUS) && !gl.isContextLost()) {
    throw new PlayerError('gpu', `WebGL2 shader failed to compile: ${gl.getShaderInfoLog(shader)}`);
  }
  return shader;
}

/** A full-screen-triangle program; `names` are the uniforms the backend sets. */
export function createProgram(gl: WebGL2RenderingContext, fragment: string, names: string[]): Program {
  const program = gl.createProgram()!;
  const shaders = [compile(gl, gl.VERTEX_SHADER, fullscreenVertex), compile(gl, gl.FRAGMENT_SHADER, fragment)];
  for (const shader of shaders) gl.attachShader(program, shader);
  gl.linkProgram(program);
  for (const shader of shaders) gl.deleteShader(shader);
  if (!gl.getProgramParameter(program, gl.LINK_STATUS) && !gl.isContextLost()) {
    throw new PlayerError('gpu', `WebGL2 program failed to link: ${gl.getProgramInfoLog(program)}`);
  }
  const uniforms = Object.fromEntries(names.map((name) => [name, gl.getUniformLocation(program, name)]));
  return { program, uniforms };
}

/** Float32 render targets where the GPU has them, else half floats (mobile), else nothing. */
export function stateFormat(gl: WebGL2RenderingContext): number {
  if (gl.getExtension('EXT_color_buffer_float')) return gl.RGBA32F;
  if (gl.getExtension('EXT_color_buffer_half_float')) return gl.RGBA16F;
  throw new PlayerError('no-backend', 'WebGL2 here cannot render to float textures');
}

/** Float textures are read with texelFetch only: NEAREST keeps them complete without float filtering. */
export function nearest(gl: WebGL2RenderingContext, target: number): void {
  gl.texParameteri(target, gl.TEXTURE_MIN_FILTER, gl.NEAREST);
  gl.texParameteri(target, gl.TEXTURE_MAG_FILTER, gl.NEAREST);
}
