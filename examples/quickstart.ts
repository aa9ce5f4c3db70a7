/**
 * `npm run example`: the whole offline path in a few minutes on two cores. It trains a
 * small living model (the living defaults on a 20-cell ring, 800 iterations, scored every 50
 * up to 10^4 steps: a run this short swings between checkpoints, and 400 iterations were a
 * lottery (20.3 dB at 10^4 in one draw, 14.0 in the next), docs/performance.md; disc
 * damage only and no regrowth phase: half-plane damage needs 1500 iterations or more to learn; no pool ageing: with
 * it this short run held 18.8 dB at 10^4 steps against 20.7 without)
 * on a target drawn by examples/make-targets.ts, exports an int8 .nca with its fidelity
 * report, checks it over 10^4 steps with `nca eval`, and renders a GIF, printing each
 * `nca` command as it goes. Everything lands in runs/quickstart/.
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const out = 'runs/quickstart';

const steps = [
  ['train', '--target', 'examples/targets/ring.png', '--size', '20x20', '--out', out, '--iterations', '800', '--damage-shape', 'disc', '--regrow-phase', '0', '--age-steps', '0', '--score-every', '50', '--score-steps', '300,1000,3000,10000'],
  ['export', out, '--out', `${out}/ring.nca`, '--dtype', 'int8', '--fidelity-size', '32x32'],
  // exit 3 = below nca eval's default 25 dB thresholds: reported, not fatal for a short run
  ['eval', `${out}/ring.nca`, '--target', 'examples/targets/ring.png', '--steps', '100,1000,10000', '--strip', `${out}/ring.eval.png`],
  ['render', `${out}/ring.nca`, '--gif', `${out}/ring.gif`, '--scale', '4', '--frames', '60', '--steps-per-frame', '2', '--fps', '15'],
];

for (const args of steps) {
  console.log(`\n$ nca ${args.join(' ')}`);
  const result = spawnSync(process.execPath, ['bin/nca.mjs', ...args], { cwd: root, stdio: 'inherit' });
  if (result.status !== 0 && !(args[0] === 'eval' && result.status === 3)) process.exit(result.status ?? 1);
}
console.log(`\nDone: ${out}/ring.nca and ${out}/ring.gif. Try: npx nca play ${out}/ring.nca`);
