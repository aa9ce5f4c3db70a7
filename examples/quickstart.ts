/**
 * `npm run example`: the whole offline path in a few minutes on two cores. It trains
 * briefly (the shipped examples' settings, fewer iterations) on a target drawn by
 * examples/make-targets.ts, exports an int8 .nca with its fidelity report, and renders
 * a GIF, printing each `nca` command as it goes. Everything lands in runs/quickstart/.
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const out = 'runs/quickstart';

const steps = [
  ['train', '--target', 'examples/targets/ring.png', '--out', out, '--iterations', '500', '--pool', '64', '--steps', '32-64', '--hidden', '64', '--qat'],
  ['export', out, '--out', `${out}/ring.nca`, '--dtype', 'int8', '--fidelity-size', '64x64'],
  ['render', `${out}/ring.nca`, '--gif', `${out}/ring.gif`, '--size', '48x48', '--scale', '3', '--frames', '60', '--steps-per-frame', '2', '--fps', '15'],
];

for (const args of steps) {
  console.log(`\n$ nca ${args.join(' ')}`);
  const result = spawnSync(process.execPath, ['bin/nca.mjs', ...args], { cwd: root, stdio: 'inherit' });
  if (result.status !== 0) process.exit(result.status ?? 1);
}
console.log(`\nDone: ${out}/ring.nca and ${out}/ring.gif. Try: npx nca play ${out}/ring.nca`);
