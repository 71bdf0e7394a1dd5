// pause.jsonl → a markdown table: median pause (min…max, n) and the median of each step, per size and configuration.
//   node pause-summary.mjs pause.jsonl [more.jsonl ...]
import { readFileSync } from 'node:fs';

const recs = process.argv
  .slice(2)
  .flatMap((f) => readFileSync(f, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l)))
  .filter((r) => r.exit === 0 && Number.isFinite(r.pause_us));
const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const ms = (us) => (us / 1000).toFixed(2);
const STEPS = ['arm_pause_quiesce_us', 'arm_pause_backend_us', 'arm_pause_expected_us', 'arm_pause_resume_us', 'arm_reprotect_us', 'arm_expected_precapture_us', 'prearm_protect_us'];
const lines = [
  '| region | configuration | n | pause ms median (min…max) | quiesce | backend arm | expected state | resume | of which re-protect | precapture (outside) | pre-arm protect (outside) |',
  '|---|---|---|---|---|---|---|---|---|---|---|',
];
const sizes = [...new Set(recs.map((r) => r.size))].sort((a, b) => a - b);
for (const size of sizes)
  for (const config of ['uffd before', 'uffd after', 'forkcow']) {
    const rs = recs.filter((r) => r.size === size && r.config === config);
    if (!rs.length) continue;
    const p = rs.map((r) => r.pause_us);
    const step = (k) => {
      const xs = rs.map((r) => r.steps?.[k]).filter((x) => Number.isFinite(x));
      return xs.length ? ms(median(xs)) : '–';
    };
    lines.push(
      `| ${size / 2 ** 30} GiB | ${config} | ${rs.length} | ${ms(median(p))} (${ms(Math.min(...p))}…${ms(Math.max(...p))}) | ${STEPS.map(step).join(' | ')} |`,
    );
  }
process.stdout.write(lines.join('\n') + '\n');
