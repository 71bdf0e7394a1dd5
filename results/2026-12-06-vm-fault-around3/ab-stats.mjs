import { readFileSync } from 'node:fs';
import { ratioOfMediansCI, mannWhitneyU, summarize } from '../../dist/bench/stats.js';
const rows = readFileSync(process.argv[2], 'utf8').trim().split('\n').map((l) => JSON.parse(l));
for (const key of ['ratio', 'wp_faults', 'pages_before', 'stall_p999_us', 'MBps', 'extra_mem']) {
  const b = rows.filter((r) => r.side === 'before').map((r) => r[key]);
  const a = rows.filter((r) => r.side === 'after').map((r) => r[key]);
  const ci = ratioOfMediansCI(b, a);
  const sb = summarize(b), sa = summarize(a);
  console.log(`${key.padEnd(14)} before ${sb.median.toPrecision(4)} [${sb.min.toPrecision(3)}–${sb.max.toPrecision(3)}] n=${b.length}  after ${sa.median.toPrecision(4)} [${sa.min.toPrecision(3)}–${sa.max.toPrecision(3)}] n=${a.length}  after/before ${ci.ratio.toFixed(3)} [${ci.lo.toFixed(3)}–${ci.hi.toFixed(3)}] p=${mannWhitneyU(a, b).p.toFixed(4)}`);
}
console.log('verified', rows.filter((r) => r.verified).length, 'of', rows.length, 'load', Math.min(...rows.map((r) => r.load)).toFixed(2), '–', Math.max(...rows.map((r) => r.load)).toFixed(2));
