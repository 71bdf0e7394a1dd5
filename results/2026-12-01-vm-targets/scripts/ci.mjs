// median(a)/median(b) with a percentile-bootstrap 95% CI and the Mann-Whitney p, a = each config, b = base
import { ratioOfMediansCI, mannWhitneyU } from '/work/main/dist/bench/stats.js';
import fs from 'node:fs';
const [file, base, key = 'ratio'] = process.argv.slice(2);
const res = JSON.parse(fs.readFileSync(file));
const b = res[base].map((x) => x[key]);
for (const [k, v] of Object.entries(res)) {
  if (k === base || !v.length) continue;
  const a = v.map((x) => x[key]);
  const ci = ratioOfMediansCI(b, a); // median(a)/median(b)
  console.log(`${k} ÷ ${base} (${key}): ${ci.ratio.toFixed(2)} [${ci.lo.toFixed(2)}–${ci.hi.toFixed(2)}] p=${mannWhitneyU(a, b).p.toFixed(4)} n=${a.length}/${b.length}`);
}
