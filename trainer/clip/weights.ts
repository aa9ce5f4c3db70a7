/**
 * CLIP weights as graph initializers, read tensor by tensor from a Hugging Face
 * `CLIPModel` checkpoint (`text_model.*`, `vision_model.*`, `*_projection`), with
 * every shape checked against the config, so a mismatched checkpoint fails by name.
 */
import type { Graph, Value } from '../graph/graph.ts';
import { SafetensorsFile } from './safetensors.ts';

export class ClipWeights {
  constructor(private readonly file: SafetensorsFile) {}

  static open(path: string): ClipWeights {
    return new ClipWeights(SafetensorsFile.open(path));
  }

  /** Reads `name` (which must have `shape`), optionally transforms it, and adds it to `graph`. */
  param(graph: Graph, name: string, shape: number[], transform?: (data: Float32Array) => Float32Array): Value {
    const data = this.file.readFloat32(name, shape);
    return graph.initializer(name, transform ? transform(data) : data, shape);
  }

  close(): void {
    this.file.close();
  }
}

/** Multiplies every value by `s`: folds attention's 1/sqrt(head size) into the query projection. */
export const scaledBy = (s: number) => (data: Float32Array) => data.map((v) => v * s);
