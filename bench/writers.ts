/**
 * `node dist/bench/writers.js [--quick] [--repeat N]`: the writers suite alone (same as
 * `cowbench bench writers`): write latency per writer kind with no snapshot vs under uffd, the
 * KVM guest's write rate, and the compat matrix.
 */
import { runBench } from './index.js';

const args = process.argv.slice(2);
const repeatAt = args.indexOf('--repeat');
process.exitCode = await runBench({
  suites: ['writers'],
  backends: null,
  quick: args.includes('--quick'),
  repeat: repeatAt >= 0 ? Number(args[repeatAt + 1]) : null,
  out: null,
  label: args.includes('--label') ? (args[args.indexOf('--label') + 1] ?? null) : 'writers',
});
