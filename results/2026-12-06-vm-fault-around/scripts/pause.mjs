// The arm pause against the region size: uffd after (this build), uffd before (the build whose
// pause still copies every page's version: e55778a, in BEFORE), and forkcow, 65,536 random
// writes/s, filled, image to /dev/null; configurations interleaved in a shuffled order per round.
//   BEFORE=/path/to/e55778a-checkout node pause.mjs OUT N SIZE...   (sizes in bytes)
import { spawnSync } from 'node:child_process';
import { appendFileSync, mkdirSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const after = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const before = process.env.BEFORE;
const [out, nText, ...sizes] = process.argv.slice(2);
const n = Number(nText);
if (!out || !(n >= 1) || !sizes.length) {
  process.stderr.write('usage: BEFORE=DIR node pause.mjs OUT N SIZE...\n');
  process.exit(2);
}
const configs = [
  { label: 'uffd after', root: after, flags: ['--backend', 'uffd'] },
  ...(before ? [{ label: 'uffd before', root: before, flags: ['--backend', 'uffd'] }] : []),
  { label: 'forkcow', root: after, flags: ['--backend', 'forkcow'] },
];
mkdirSync(out, { recursive: true });
for (let round = 1; round <= n; round++) {
  const cells = sizes.flatMap((size) => configs.map((c) => ({ size, c })));
  for (let i = cells.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [cells[i], cells[j]] = [cells[j], cells[i]];
  }
  for (const { size, c } of cells) {
    const args = ['bin/cowbench.js', 'run', '--json', '--no-progress', '--size', size, '--rate', '65536', '--out', '/dev/null', ...c.flags];
    const r = spawnSync(process.execPath, args, { cwd: c.root, encoding: 'utf8', maxBuffer: 1 << 28 });
    let result = null;
    try {
      result = JSON.parse(r.stdout);
    } catch {
      /* a failed run */
    }
    const m = result?.backend_metrics ?? {};
    const steps = Object.fromEntries(Object.entries(m).filter(([k]) => /^arm_|^prearm_/.test(k)));
    appendFileSync(
      path.join(out, 'pause.jsonl'),
      JSON.stringify({ round, size: Number(size), config: c.label, exit: r.status, loadavg: os.loadavg(), pause_us: result?.pause_us, quiesce_us: result?.quiesce_us, steps, env: result?.env }) + '\n',
    );
    process.stdout.write(`round ${round} ${c.label} ${size}: exit ${r.status} pause ${result?.pause_us?.toFixed(0)} µs\n`);
  }
}
