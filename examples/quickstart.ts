/**
 * `npm run example`: the whole offline path in about three minutes on two cores.
 * It trains briefly on a target drawn by examples/make-targets.ts, exports an int8 .nca
 * with its fidelity report, and renders a GIF, printing each `nca` command as it goes.
 * Everything lands in runs/quickstart/.
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const out = 'runs/quickstart';

const steps = [
  ['train', '--target', 'examples/targets/ring.png', '--out', out, '--iterations', '100', '--steps', '48-64', '--hidden', '96', '--qat', '--preview-every', '0'],
  ['export', out, '--out', `${out}/ring.nca`, '--dtype', 'int8', '--fidelity-size', '64x64'],
  ['render', `${out}/ring.nca`, '--gif', `${out}/ring.gif`, '--size', '96x96', '--frames', '60', '--steps-per-frame', '2'],
];

for (const args of steps) {
  console.log(`\n$ nca ${args.join(' ')}`);
  const result = spawnSync(process.execPath, ['bin/nca.mjs', ...args], { cwd: root, stdio: 'inherit' });
  if (result.status !== 0) process.exit(result.status ?? 1);
}
console.log(`\nDone: ${out}/ring.nca and ${out}/ring.gif. Try: npx nca play ${out}/ring.nca`);
