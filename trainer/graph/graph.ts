/**
 * A small typed ONNX graph builder. Every value has a static shape and dtype,
 * known when it is created, so that shape mistakes fail here (with the op
 * named) instead of deep inside onnxruntime, and so that autodiff rules can
 * read shapes. Nodes are kept in creation order, which is a topological order.
 */

export type DType = 'float32' | 'float64' | 'float16' | 'int64' | 'int32' | 'int8' | 'uint8' | 'bool';
export type Shape = readonly number[];

/** The JS array type that holds a tensor of each dtype (float16 travels as raw uint16 bits). */
export type TensorData = Float32Array | Float64Array | BigInt64Array | Int32Array | Int8Array | Uint8Array | Uint16Array;

export type Attr =
  | { kind: 'int'; value: number }
  | { kind: 'float'; value: number }
  | { kind: 'ints'; value: number[] }
  | { kind: 'floats'; value: number[] }
  | { kind: 'string'; value: string };

export const int = (value: number): Attr => ({ kind: 'int', value });
export const float = (value: number): Attr => ({ kind: 'float', value });
export const ints = (value: number[]): Attr => ({ kind: 'ints', value });
export const floats = (value: number[]): Attr => ({ kind: 'floats', value });
export const str = (value: string): Attr => ({ kind: 'string', value });

export interface Node {
  opType: string;
  /** `null` marks an omitted optional input. */
  inputs: (Value | null)[];
  outputs: Value[];
  attrs: Record<string, Attr>;
  /** Autodiff treats the outputs as constants (see `stopGradient`). */
  noGrad?: boolean;
}

export class Value {
  constructor(
    readonly graph: Graph,
    readonly name: string,
    readonly shape: Shape,
    readonly dtype: DType,
    /** The data of a constant (an initializer built with `graph.constant`), so rules and shape inference can read it. */
    readonly data?: TensorData,
  ) {}
  get rank(): number {
    return this.shape.length;
  }
  get size(): number {
    return sizeOf(this.shape);
  }
  toString(): string {
    return `${this.name}: ${this.dtype}[${this.shape.join(', ')}]`;
  }
}

export function sizeOf(shape: Shape): number {
  return shape.reduce((a, b) => a * b, 1);
}

export class Graph {
  readonly nodes: Node[] = [];
  readonly inputs: Value[] = [];
  readonly initializers: Value[] = [];
  readonly outputs: Value[] = [];
  private readonly names = new Set<string>();
  private readonly constantCache = new Map<string, Value>();
  private counter = 0;

  constructor(readonly name = 'graph') {}

  /** A runtime input, fed on every run. */
  input(name: string, shape: Shape, dtype: DType = 'float32'): Value {
    checkShape(shape, `input ${name}`);
    const v = new Value(this, this.claim(name), [...shape], dtype);
    this.inputs.push(v);
    return v;
  }

  /** A named tensor stored in the model (weights). Its data is copied in when the model is serialized. */
  initializer(name: string, data: TensorData, shape: Shape, dtype: DType = dtypeOfData(data)): Value {
    checkShape(shape, `initializer ${name}`);
    if (data.length !== sizeOf(shape)) {
      throw new Error(`initializer ${name}: ${data.length} values for shape [${shape.join(', ')}]`);
    }
    const v = new Value(this, this.claim(name), [...shape], dtype, data);
    this.initializers.push(v);
    return v;
  }

  /** A small anonymous constant, deduplicated by content (shape vectors, axes, scalars). */
  constant(values: ArrayLike<number>, shape: Shape = [values.length], dtype: DType = 'float32'): Value {
    const key = `${dtype}|${shape.join(',')}|${Array.from(values).join(',')}`;
    const cached = this.constantCache.get(key);
    if (cached) return cached;
    const v = this.initializer(this.fresh('const'), makeData(dtype, values), shape, dtype);
    this.constantCache.set(key, v);
    return v;
  }

  scalar(value: number, dtype: DType = 'float32'): Value {
    return this.constant([value], [], dtype);
  }

  int64s(values: ArrayLike<number>): Value {
    return this.constant(values, [values.length], 'int64');
  }

  /** Marks a value as a graph output, optionally under a new name (through an Identity node). */
  output(value: Value, name?: string): Value {
    let out = value;
    if (name !== undefined && name !== value.name) {
      out = this.addNode('Identity', [value], {}, [{ shape: value.shape, dtype: value.dtype }], { name })[0];
    }
    this.outputs.push(out);
    return out;
  }

  /** Appends one node. Shape inference is the caller's job (see ops.ts). */
  addNode(
    opType: string,
    inputs: (Value | null)[],
    attrs: Record<string, Attr>,
    outputs: { shape: Shape; dtype: DType }[],
    options: { name?: string; noGrad?: boolean } = {},
  ): Value[] {
    for (const v of inputs) {
      if (v && v.graph !== this) throw new Error(`${opType}: input ${v.name} belongs to another graph`);
    }
    const outs = outputs.map((o, i) => {
      checkShape(o.shape, `${opType} output`);
      const name = this.claim(i === 0 && options.name ? options.name : this.fresh(opType.toLowerCase()));
      return new Value(this, name, [...o.shape], o.dtype);
    });
    this.nodes.push({ opType, inputs, outputs: outs, attrs, noGrad: options.noGrad });
    return outs;
  }

  /** A name no value in this graph has yet (pass it to `input` or `initializer`). */
  fresh(prefix: string): string {
    let name: string;
    do name = `${prefix}_${this.counter++}`;
    while (this.names.has(name));
    return name;
  }

  private claim(name: string): string {
    if (this.names.has(name)) throw new Error(`duplicate value name "${name}"`);
    this.names.add(name);
    return name;
  }
}

function checkShape(shape: Shape, what: string): void {
  if (!shape.every((d) => Number.isInteger(d) && d >= 0)) {
    throw new Error(`${what}: bad shape [${shape.join(', ')}] (static non-negative integers only)`);
  }
}

export function dtypeOfData(data: TensorData): DType {
  if (data instanceof Float32Array) return 'float32';
  if (data instanceof Float64Array) return 'float64';
  if (data instanceof BigInt64Array) return 'int64';
  if (data instanceof Int32Array) return 'int32';
  if (data instanceof Int8Array) return 'int8';
  if (data instanceof Uint16Array) return 'float16';
  return 'uint8';
}

export function makeData(dtype: DType, values: ArrayLike<number>): TensorData {
  switch (dtype) {
    case 'float32':
      return Float32Array.from(values);
    case 'float64':
      return Float64Array.from(values);
    case 'int64':
      return BigInt64Array.from(Array.from(values, (v) => BigInt(v)));
    case 'int32':
      return Int32Array.from(values);
    case 'int8':
      return Int8Array.from(values);
    case 'uint8':
    case 'bool':
      return Uint8Array.from(values);
    case 'float16':
      throw new Error('float16 constants must be given as raw Uint16Array data via graph.initializer');
  }
}

/** Reads a constant's values as plain numbers (for shape vectors, axes, pads). */
export function constantValues(v: Value | null, what: string): number[] {
  if (!v || !v.data) throw new Error(`${what} must be a constant (built with graph.constant)`);
  return Array.from(v.data as ArrayLike<number | bigint>, (x) => Number(x));
}
