/** Where a living model's seed cells go on its target (docs/trainer.md, "seed"). */
import type { RgbaImage } from '../image/png.ts';
import type { Box } from './pixel-loss.ts';

type Grid = { width: number; height: number };

/**
 * The seed cells of a target (already resized to `box`) placed in `box` of `grid`, as [dx, dy]
 * from the grid centre (floor(W / 2), floor(H / 2)). The first is the pixel deepest inside the
 * opaque part (alpha >= half, or the most opaque pixels), nearest the box centre among equals: a
 * seed on or next to a transparent spot, like a ring's hole or its edge, is told to vanish and
 * dies before it can grow. With `count` 2, the second is the opaque pixel nearest the first's mirror image through
 * the grid centre, so that erasing any half of the grid (nca eval's regrowth test) leaves one of
 * the two: a pattern cannot rebuild the half that held its only seed (docs/performance.md
 * "Session 25"). A target with one opaque pixel gets one cell.
 */
export function placeSeedCells(target: RgbaImage, box: Box, grid: Grid, count: 1 | 2): [number, number][] {
  const { width, height, data } = target;
  let maxAlpha = 0;
  for (let i = 3; i < data.length; i += 4) maxAlpha = Math.max(maxAlpha, data[i]);
  const solid = (x: number, y: number) => x >= 0 && y >= 0 && x < width && y < height && data[(y * width + x) * 4 + 3] >= Math.min(128, maxAlpha);
  // clearance: the largest square ring radius (up to 8) inside which every pixel is solid
  const clearance = (x: number, y: number) => {
    for (let r = 0; r <= 8; r++) {
      for (let d = -r; d <= r; d++) if (!solid(x + d, y - r) || !solid(x + d, y + r) || !solid(x - r, y + d) || !solid(x + r, y + d)) return r;
    }
    return 9;
  };
  /** The pixel with the largest key (compared element by element), first in reading order among equals. */
  const best = (key: (x: number, y: number) => number[]): [number, number] => {
    let found: [number, number] = [0, 0];
    let bestKey = key(0, 0);
    for (let y = 0; y < height; y++) {
      for (let x = 0; x < width; x++) {
        const k = key(x, y);
        const j = k.findIndex((v, i) => v !== bestKey[i]);
        if (j >= 0 && k[j] > bestKey[j]) (found = [x, y]), (bestKey = k);
      }
    }
    return found;
  };
  const first = best((x, y) => [clearance(x, y), -((x - (width - 1) / 2) ** 2 + (y - (height - 1) / 2) ** 2)]);
  const toGrid = ([x, y]: [number, number]): [number, number] => [box.x + x, box.y + y];
  const [ax, ay] = toGrid(first);
  const cx = Math.floor(grid.width / 2);
  const cy = Math.floor(grid.height / 2);
  const cells: [number, number][] = [[ax - cx, ay - cy]];
  if (count === 1) return cells;
  let [mx, my] = [grid.width - 1 - ax, grid.height - 1 - ay];
  // on an odd grid the centre cell is its own mirror image; its neighbour down and right lies in the other halves
  if (mx === ax && my === ay) (mx += 1), (my += 1);
  const second = best((x, y) => {
    const [gx, gy] = toGrid([x, y]);
    return [solid(x, y) ? 1 : 0, -((gx - mx) ** 2 + (gy - my) ** 2), clearance(x, y)];
  });
  const [bx, by] = toGrid(second);
  if (bx !== ax || by !== ay) cells.push([bx - cx, by - cy]);
  return cells;
}
