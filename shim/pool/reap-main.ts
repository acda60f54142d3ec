/**
 * Entry the pool's watchdog execs once the pool is gone: `node reap-main.js REGISTRY STATE_DIR`.
 * Prints one line per reaped VM on stderr (the watchdog's log).
 */
import { reapTiedVms } from "./reap.js";

const [registryPath, stateDir] = process.argv.slice(2);
if (!registryPath || !stateDir) {
  process.stderr.write("usage: reap-main REGISTRY STATE_DIR\n");
  process.exit(2);
}
const report = await reapTiedVms(registryPath, stateDir);
for (const vm of report.vms)
  process.stderr.write(`${new Date().toISOString()} tskata pool reaper: ${vm.id}: ${vm.outcome}\n`);
