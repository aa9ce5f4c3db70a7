/**
 * Encoding of one weight tensor into bytes and back (SPEC.md §4).
 * int8 is quantised per output channel (per row of a [out, in] matrix; a 1-D tensor has one row).
 */
import { fail } from './errors.ts';
import { fromFloat16Bits, toFloat16Bits } from './float16.ts';
import type { WeightDtype } from './model.ts';

export const DTYPES: readonly WeightDtype[] = ['int8', 'float16', 'float32'];

export interface TensorEntry {
  name: string;
  dtype: WeightDtype;
  shape: number[];
  /** Byte offset inside the DATA chunk payload; a multiple of 4. */
  offset: number;
  length: number;
}

export function elementCount(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

/** Rows that own an int8 scale: the first dimension of a matrix, 1 for a vector. */
function scaleRows(shape: readonly number[]): number {
  return shape.length > 1 ? shape[0] : 1;
}

export function encodedLength(dtype: WeightDtype, shape: readonly number[]): number {
  const n = elementCount(shape);
  if (dtype === 'float32') return 4 * n;
  if (dtype === 'float16') return 2 * n;
  return 4 * scaleRows(shape) + n;
}

export function encodeTensor(values: Float32Array, dtype: WeightDtype, shape: readonly number[]): Uint8Array {
  const n = elementCount(shape);
  const out = new Uint8Array(encodedLength(dtype, shape));
  const view = new DataView(out.buffer);
  if (dtype === 'float32') {
    for (let i = 0; i < n; i++) view.setFloat32(4 * i, values[i], true);
  } else if (dtype === 'float16') {
    for (let i = 0; i < n; i++) view.setUint16(2 * i, toFloat16Bits(values[i]), true);
  } else {
    const rows = scaleRows(shape);
    const cols = n / rows;
    const base = 4 * rows;
    for (let r = 0; r < rows; r++) {
      let maxAbs = 0;
      for (let c = 0; c < cols; c++) maxAbs = Math.max(maxAbs, Math.abs(values[r * cols + c]));
      const scale = maxAbs / 127;
      view.setFloat32(4 * r, scale, true);
      for (let c = 0; c < cols; c++) {
        const q = scale === 0 ? 0 : Math.round(values[r * cols + c] / scale);
        view.setInt8(base + r * cols + c, Math.max(-127, Math.min(127, q)));
      }
    }
  }
  return out;
}

/** `bytes` is exactly the tensor's encoded bytes; its length was validated by the caller. */
export function decodeTensor(bytes: Uint8Array, dtype: WeightDtype, shape: readonly number[], name: string): Float32Array {
  const n = elementCount(shape);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out = new Float32Array(n);
  if (dtype === 'float32') {
    for (let i = 0; i < n; i++) out[i] = view.getFloat32(4 * i, true);
  } else if (dtype === 'float16') {
    for (let i = 0; i < n; i++) out[i] = fromFloat16Bits(view.getUint16(2 * i, true));
  } else {
    const rows = scaleRows(shape);
    const cols = n / rows;
    const base = 4 * rows;
    for (let r = 0; r < rows; r++) {
      const scale = view.getFloat32(4 * r, true);
      if (!Number.isFinite(scale) || scale < 0) fail('bad-tensor', `tensor "${name}" has an invalid int8 scale (${scale})`);
      for (let c = 0; c < cols; c++) out[r * cols + c] = view.getInt8(base + r * cols + c) * scale;
    }
  }
  for (let i = 0; i < n; i++) {
    if (!Number.isFinite(out[i])) fail('bad-tensor', `tensor "${name}" holds a non-finite value`);
  }
  return out;
}
