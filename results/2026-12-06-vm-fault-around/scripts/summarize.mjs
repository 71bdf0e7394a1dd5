// Summarises matrix.mjs's raw.jsonl files into matrix.md (per cell: n, median writer throughput
// ratio with a 95 % percentile-bootstrap interval of the median, stall p99.9, snapshot MB/s, extra
// memory; per row: auto against the best fixed K, K=0 and forkcow as ratios of medians with their
// interval) and writer-ratio.svg (writer ratio per row and column).
//   node summarize.mjs OUTDIR RAW.jsonl [RAW.jsonl ...]
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const { ratioOfMediansCI, seededRandom, quantile } = await import(path.join(root, 'dist/bench/stats.js'));
const { renderSvg, CHART_CONFIG } = await import(path.join(root, 'dist/bench/charts/render.js'));

const [outDir, ...files] = process.argv.slice(2);
const recs = files.flatMap((f) =>
  readFileSync(f, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l)),
);
const ROWS = ['r1', 'r1disk', 'r2', 'r3', 'r4', 'r4disk', 'r5', 'r6'];
const LABELS = {
  r1: '1. 256 MiB, 2 unthrottled random, tmpfs',
  r1disk: '1. 256 MiB, 2 unthrottled random, disk',
  r2: '2. 256 MiB, sequential, tmpfs',
  r3: '3. 256 MiB, hotset, tmpfs',
  r4: '4. 1 GiB, 65,536 random/s, tmpfs',
  r4disk: '4. 1 GiB, 65,536 random/s, disk',
  r5: '5. 16 GiB filled, 65,536 random/s, /dev/null',
  r6: '6. KVM guest, 1 GiB, 65,536/s, 4k, tmpfs',
};
const COLUMNS = ['K=0', 'K=16', 'K=64', 'K=512', 'auto', 'forkcow'];
const FIXED = ['K=0', 'K=16', 'K=64', 'K=512'];
const PACED = new Set(['r4', 'r4disk', 'r5', 'r6']);

const median = (xs) => quantile([...xs].sort((a, b) => a - b), 0.5);
function medianCI(xs) {
  const rand = seededRandom(0x5eed);
  const ms = [];
  for (let b = 0; b < 2000; b++) ms.push(median(xs.map(() => xs[Math.floor(rand() * xs.length)])));
  ms.sort((a, b) => a - b);
  return [ms[50], ms[1949]];
}
// An image to /dev/null is not verified (verification.skipped says why); any other must verify.
const ok = (r) => r.exit === 0 && (r.result?.verified === true || Boolean(r.result?.verification?.skipped));
const cell = (row, col) => recs.filter((r) => r.row === row && r.column === col && ok(r)).map((r) => r.result);
const failed = (row, col) => recs.filter((r) => r.row === row && r.column === col && !ok(r)).length;
const ratioOf = (r) => r.writers.throughput_ratio;
const f = (x, d = 3) => (Number.isFinite(x) ? x.toFixed(d) : '–');

const lines = [];
const chart = [];
const verdicts = [];
for (const row of ROWS) {
  if (!COLUMNS.some((c) => cell(row, c).length)) continue;
  lines.push(`### ${LABELS[row]}`, '');
  lines.push('| column | n | writer ratio median [95 % CI] | min…max | stall p99.9 µs | snapshot MB/s | extra memory MiB | wp faults | pages copied on the fault path | no-snapshot writes/s | failed |');
  lines.push('|---|---|---|---|---|---|---|---|---|---|---|');
  for (const col of COLUMNS) {
    const rs = cell(row, col);
    if (!rs.length) {
      lines.push(`| ${col} | 0 | – | – | – | – | – | – | – | – | ${failed(row, col)} |`);
      continue;
    }
    const ratios = rs.map(ratioOf);
    const [lo, hi] = medianCI(ratios);
    const m = median(ratios);
    chart.push({ row: LABELS[row], column: col, ratio: m, lo, hi });
    lines.push(
      `| ${col} | ${rs.length} | ${f(m)} [${f(lo)}–${f(hi)}] | ${f(Math.min(...ratios))}…${f(Math.max(...ratios))} | ` +
        `${f(median(rs.map((r) => r.write_stall.p999_us)), 1)} | ${f(median(rs.map((r) => r.throughput_MBps)), 0)} | ` +
        `${f(median(rs.map((r) => r.extra_memory_peak_bytes / 2 ** 20)), 1)} | ${f(median(rs.map((r) => r.wp_faults)), 0)} | ${f(median(rs.map((r) => r.pages_copied_before_write)), 0)} | ${f(median(rs.map((r) => r.writers.baseline_writes_per_s)), 0)} | ${failed(row, col)} |`,
    );
  }
  lines.push('');
  const auto = cell(row, 'auto').map(ratioOf);
  const fixed = FIXED.map((c) => ({ c, xs: cell(row, c).map(ratioOf) })).filter((x) => x.xs.length);
  if (auto.length && fixed.length) {
    const best = fixed.reduce((a, b) => (median(b.xs) > median(a.xs) ? b : a));
    const vs = (name, xs, bound) => {
      const ci = ratioOfMediansCI(xs, auto);
      const met = ci.ratio >= bound;
      return `auto ÷ ${name}: ${f(ci.ratio, 2)} [${f(ci.lo, 2)}–${f(ci.hi, 2)}] (n=${auto.length}/${xs.length}; target ≥ ${bound}: ${met ? 'met at the median' : 'missed at the median'}${ci.lo < bound && ci.hi >= bound ? ', the interval straddles it' : ''})`;
    };
    const parts = [vs(`best fixed K (${best.c})`, best.xs, 0.9)];
    const k0 = cell(row, 'K=0').map(ratioOf);
    if (PACED.has(row) && k0.length) parts.push(vs('K=0', k0, 0.95));
    const fork = cell(row, 'forkcow').map(ratioOf);
    if (row === 'r1' && fork.length) parts.push(vs('forkcow', fork, 2));
    if ((row === 'r4' || row === 'r5') && auto.length)
      parts.push(`auto's writer ratio ${f(median(auto))} (target ≥ 0.9: ${median(auto) >= 0.9 ? 'met' : 'missed'} at the median)`);
    lines.push(...parts.map((p) => `- ${p}`), '');
    verdicts.push(`| ${LABELS[row]} | ${parts.join('<br>')} |`);
  }
}
const md = ['## Cells', '', ...lines, '## auto against the targets', '', '| row | comparisons |', '|---|---|', ...verdicts, ''];
writeFileSync(path.join(outDir, 'matrix.md'), md.join('\n'));

const spec = {
  $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
  title: 'Writer ratio (during ÷ before), median and 95 % CI, axis clamped at 1.5',
  config: CHART_CONFIG,
  data: { values: chart },
  facet: { row: { field: 'row', type: 'nominal', sort: ROWS.map((r) => LABELS[r]), title: null, header: { labelAngle: 0, labelAlign: 'left', labelLimit: 320 } } },
  spec: {
    width: 420,
    height: 110,
    layer: [
      {
        mark: 'bar',
        encoding: {
          y: { field: 'column', type: 'nominal', sort: COLUMNS, title: null },
          x: { field: 'ratio', type: 'quantitative', title: 'writer throughput ratio', scale: { domain: [0, 1.5], clamp: true } },
          color: { field: 'column', type: 'nominal', sort: COLUMNS, legend: null },
        },
      },
      {
        mark: { type: 'rule', color: '#333' },
        encoding: {
          y: { field: 'column', type: 'nominal', sort: COLUMNS },
          x: { field: 'lo', type: 'quantitative', scale: { domain: [0, 1.5], clamp: true } },
          x2: { field: 'hi' },
        },
      },
    ],
  },
  resolve: { scale: { y: 'independent' } },
};
writeFileSync(path.join(outDir, 'writer-ratio.svg'), await renderSvg(spec));
process.stdout.write(md.join('\n'));
