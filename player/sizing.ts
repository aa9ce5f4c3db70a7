/** Grid size from the element's box, and pointer position to cell, under `fit`. */
import type { Grid } from '../formats/index.ts';

export type Fit = 'cover' | 'contain';

/** Larger grids exceed common texture limits and would crawl anyway. */
export const MAX_SIDE = 4096;

export interface Box {
  width: number;
  height: number;
}

/**
 * Explicit `width` and `height` win; one of them alone keeps the box's aspect ratio;
 * neither fills the box at `scale` cells per CSS pixel. Null while there is nothing to show.
 */
export function gridFor(box: Box, width: number | null, height: number | null, scale: number): Grid | null {
  const aspect = box.height / box.width;
  const w = width ?? (height !== null ? height / aspect : box.width * scale);
  const h = height ?? (width !== null ? width * aspect : box.height * scale);
  const side = (n: number) => Math.min(MAX_SIDE, Math.round(n));
  const grid = { width: side(w), height: side(h) };
  return grid.width >= 1 && grid.height >= 1 ? grid : null;
}

/** Where a point of the canvas's box falls on the grid (continuous cell units, y down), as CSS object-fit draws it. */
export function cellAt(grid: Grid, box: DOMRect, fit: Fit, clientX: number, clientY: number): { x: number; y: number } {
  const pick = fit === 'contain' ? Math.min : Math.max;
  const scale = pick(box.width / grid.width, box.height / grid.height);
  return {
    x: (clientX - box.left - (box.width - grid.width * scale) / 2) / scale,
    y: (clientY - box.top - (box.height - grid.height * scale) / 2) / scale,
  };
}
