#!/usr/bin/env node
// `nca` as a farm worker's child: the same command (`nca train`, `nca eval`), which
// also exits when its worker dies. The worker holds an IPC channel to it; when that
// closes (the worker was killed, even with SIGKILL) this process ends at once, so a
// dead worker leaves no orphan training in the shared run directory. The last
// checkpoint stays intact (they are written to a temporary name and renamed).
import { register } from 'tsx/esm/api';

if (process.channel) {
  process.channel.unref(); // the channel alone must not keep the process alive
  process.on('disconnect', () => process.exit(137));
}
register();
const { main } = await import('../main.ts');
process.exitCode = await main(process.argv.slice(2));
