/**
 * `cowbench compare BASE NEW [NEW…]`: results directories (or results.json files) side by side.
 * First the host fingerprint, every difference named; then per metric each side's median
 * (min…max, n), the change in %, the Mann–Whitney U p-value, `~` when not significant and a
 * verdict; a geomean row; N-way columns when more than one NEW is given (several kernels).
 *
 * Decisions (benchstat's, with the registry's polarity and thresholds):
 *  - fewer than MIN_SAMPLES samples on a side: "too few samples", never a verdict from n=2;
 *  - exact counts (registry `exact`): compared exactly, no test;
 *  - otherwise U-test, significant when p < alpha; the direction from the registry's polarity;
 *  - the gate (`--fail-on-regression`) fails on a significant regression whose change exceeds
 *    the metric's threshold (registry default, or --threshold KEY=PCT).
 */
import Table from 'cli-table3';
import { lookupMetric, type MetricDef, parseKey } from './metrics.js';
import { badInput, BENCH_SCHEMA, loadResults, resultsFileOf, type BenchResults } from './results.js';
import {
  geomean,
  mannWhitneyU,
  MIN_SAMPLES,
  ratioOfMediansCI,
  summarize,
  type RatioCI,
  type Summary,
} from './stats.js';

export const COMPARE_SCHEMA = 'cowbench.compare/1';
export const FORMATS = ['table', 'markdown', 'json', 'junit', 'tap'] as const;
export type Format = (typeof FORMATS)[number];

export type Verdict =
  'improved' | 'regressed' | '~' | 'only in base' | 'only in new' | 'too few samples' | 'changed';

export interface Change {
  /** (new − base) / base of the medians, in %. */
  pct: number | null;
  /** The cost change in %: new/base − 1 when lower is better, base/new − 1 when higher is; > 0 is worse. */
  cost_pct: number | null;
  p: number | null;
  ci: RatioCI | null;
  verdict: Verdict;
  /** A significant regression beyond the threshold: fails --fail-on-regression. */
  gate: boolean;
  reason?: string;
}

export interface MetricRow {
  key: string;
  unit: string | null;
  polarity: MetricDef['polarity'] | null;
  threshold: number | null;
  exact: boolean;
  sides: (Summary | null)[];
  /** One per NEW side (index 1…). */
  changes: Change[];
}

export interface FingerprintDiff {
  field: string;
  values: (string | null)[];
}

export interface Comparison {
  schema: typeof COMPARE_SCHEMA;
  inputs: { label: string; file: string }[];
  alpha: number;
  fingerprint: FingerprintDiff[];
  rows: MetricRow[];
  /** Per NEW side: geometric mean of the cost ratios (new/base for lower-is-better, base/new for higher), as % change; > 0 is worse. */
  geomean_cost_pct: (number | null)[];
  regressions: number;
  gate_failures: string[];
}

export interface CompareOptions {
  alpha?: number;
  thresholds?: Record<string, number>;
  labels?: string[];
}

const FINGERPRINT_SKIP = new Set(['date', 'kernel_version']);

function fingerprint(results: BenchResults[]): FingerprintDiff[] {
  const flat = results.map((r) => {
    const out: Record<string, string> = {};
    for (const [k, v] of Object.entries(r.env ?? {})) {
      if (FINGERPRINT_SKIP.has(k)) continue;
      if (typeof v === 'object' && v !== null)
        for (const [k2, v2] of Object.entries(v as Record<string, unknown>)) out[`${k}.${k2}`] = String(v2);
      else out[k] = String(v);
    }
    return out;
  });
  const fields = [...new Set(flat.flatMap((f) => Object.keys(f)))];
  const diffs: FingerprintDiff[] = [];
  for (const field of fields) {
    const values = flat.map((f) => f[field] ?? null);
    if (new Set(values).size > 1) diffs.push({ field, values });
  }
  return diffs;
}

export function thresholdFor(
  key: string,
  def: MetricDef | undefined,
  overrides: Record<string, number>,
): number | null {
  const k = parseKey(key);
  for (const candidate of [key, k ? `${k.suite}/${k.metric}` : '', k?.metric ?? ''])
    if (candidate && overrides[candidate] !== undefined) return overrides[candidate]!;
  return def ? def.threshold : null;
}

function compareOne(
  base: Summary | null,
  next: Summary | null,
  def: MetricDef | undefined,
  threshold: number | null,
  alpha: number,
): Change {
  const none = { pct: null, cost_pct: null, p: null, ci: null, gate: false };
  if (!base || base.n === 0) return { ...none, verdict: 'only in new' };
  if (!next || next.n === 0) return { ...none, verdict: 'only in base' };
  const pct =
    base.median === 0
      ? next.median === 0
        ? 0
        : null
      : ((next.median - base.median) / Math.abs(base.median)) * 100;
  const worse = (d: number) => (def?.polarity === 'higher' ? d < 0 : d > 0);
  const cost =
    base.median === 0 || next.median === 0
      ? null
      : def?.polarity === 'higher'
        ? base.median / next.median
        : next.median / base.median;
  const cost_pct = cost === null ? null : (cost - 1) * 100;
  const beyond = () => cost_pct === null || cost_pct > (threshold ?? 0) * 100 + 1e-9;
  if (def?.exact) {
    const delta = next.median - base.median;
    if (delta === 0)
      return { pct, cost_pct, p: null, ci: null, verdict: '~', gate: false, reason: 'exact: equal' };
    const bad = worse(delta);
    return {
      pct,
      cost_pct,
      p: null,
      ci: null,
      verdict: bad ? 'regressed' : 'improved',
      gate: bad && beyond(),
      reason: 'exact count',
    };
  }
  const a = base.samples ?? [];
  const b = next.samples ?? [];
  if (a.length < MIN_SAMPLES || b.length < MIN_SAMPLES)
    return {
      pct,
      cost_pct,
      p: null,
      ci: null,
      verdict: 'too few samples',
      gate: false,
      reason: `n=${a.length} vs ${b.length}; at least ${MIN_SAMPLES} per side for a test`,
    };
  const u = mannWhitneyU(a, b);
  const ci = a.every((x) => x > 0) && b.every((x) => x > 0) ? ratioOfMediansCI(a, b) : null;
  if (u.p >= alpha) return { pct, cost_pct, p: u.p, ci, verdict: '~', gate: false };
  if (!def)
    return {
      pct,
      cost_pct,
      p: u.p,
      ci,
      verdict: 'changed',
      gate: false,
      reason: 'not in the metric registry',
    };
  const bad = worse(next.median - base.median);
  return { pct, cost_pct, p: u.p, ci, verdict: bad ? 'regressed' : 'improved', gate: bad && beyond() };
}

/** Loads every input; bad input (missing, damaged, mixed schema versions) is exit 2. */
export function loadInputs(args: string[]): { label: string; file: string; results: BenchResults }[] {
  if (args.length < 2) throw badInput('compare needs a BASE and at least one NEW results directory or file');
  return args.map((a) => ({
    label: a,
    file: resultsFileOf(a),
    results: loadResults(a, { needMetrics: true }),
  }));
}

export function compareResults(
  inputs: { label: string; file: string; results: BenchResults }[],
  o: CompareOptions = {},
): Comparison {
  const alpha = o.alpha ?? 0.05;
  const schemas = new Set(inputs.map((i) => i.results.schema));
  if (schemas.size > 1 || !schemas.has(BENCH_SCHEMA))
    throw badInput(
      `incompatible results schemas: ${inputs.map((i) => `${i.label}: ${i.results.schema}`).join(', ')}`,
    );
  const keys = [...new Set(inputs.flatMap((i) => Object.keys(i.results.metrics)))].sort();
  const common = keys.filter((k) => inputs.every((i) => k in i.results.metrics));
  if (common.length === 0)
    throw badInput(`no metric in common between ${inputs.map((i) => i.label).join(' and ')}`);
  const rows: MetricRow[] = keys.map((key) => {
    const def = lookupMetric(key);
    const threshold = thresholdFor(key, def, o.thresholds ?? {});
    const sides = inputs.map((i) => {
      const m = i.results.metrics[key];
      return m ? summarize(m.samples) : null;
    });
    const unit = inputs.map((i) => i.results.metrics[key]?.unit).find((u) => u) ?? def?.unit ?? null;
    return {
      key,
      unit,
      polarity: def?.polarity ?? null,
      threshold,
      exact: def?.exact === true,
      sides,
      changes: sides.slice(1).map((s) => compareOne(sides[0] ?? null, s, def, threshold, alpha)),
    };
  });
  const geomean_cost_pct = inputs.slice(1).map((_, j) => {
    const ratios = rows
      .filter((r) => r.polarity && !r.exact && r.sides[0] && r.sides[j + 1])
      .map((r) => {
        const b = r.sides[0]!.median;
        const n = r.sides[j + 1]!.median;
        return r.polarity === 'higher' ? b / n : n / b;
      });
    const g = geomean(ratios);
    return Number.isFinite(g) ? (g - 1) * 100 : null;
  });
  const gate_failures = rows.flatMap((r) =>
    r.changes.flatMap((c, j) =>
      c.gate
        ? [
            `${r.key} (${inputs[j + 1]!.label}): ${fmtPct(c.pct)} (cost ${fmtPct(c.cost_pct)} > ${Math.round((r.threshold ?? 0) * 100)}%), p=${fmtP(c.p)}`,
          ]
        : [],
    ),
  );
  return {
    schema: COMPARE_SCHEMA,
    inputs: inputs.map((i) => ({ label: i.label, file: i.file })),
    alpha,
    fingerprint: fingerprint(inputs.map((i) => i.results)),
    rows,
    geomean_cost_pct,
    regressions: rows.reduce((n, r) => n + r.changes.filter((c) => c.verdict === 'regressed').length, 0),
    gate_failures,
  };
}

/** `--threshold KEY=PCT` (PCT as `10%`, `10` or `0.1`? `10` and `10%` are percent). */
export function parseThresholds(items: string[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const item of items) {
    const m = /^(.+)=(\d+(?:\.\d+)?)%?$/.exec(item.trim());
    if (!m) throw badInput(`--threshold: '${item}' is not KEY=PCT (e.g. ci/pause_us=10%)`);
    out[m[1]!] = Number(m[2]) / 100;
  }
  return out;
}

// ---- rendering ----------------------------------------------------------------------------

const num = (x: number) => {
  if (!Number.isFinite(x)) return 'n/a';
  const a = Math.abs(x);
  if (a !== 0 && (a >= 1e6 || a < 1e-3)) return x.toExponential(2);
  return String(Number(x.toPrecision(4)));
};
const fmtPct = (p: number | null) => (p === null ? 'n/a' : `${p >= 0 ? '+' : ''}${p.toFixed(1)}%`);
const fmtP = (p: number | null) => (p === null ? '–' : p < 0.001 ? '<0.001' : p.toFixed(3));
const fmtSide = (s: Summary | null, unit: string | null) =>
  s
    ? `${num(s.median)}${unit && unit !== '1' ? ` ${unit}` : ''} (${num(s.min)}…${num(s.max)}, n=${s.n})`
    : '–';
const fmtChange = (c: Change) =>
  c.verdict === 'only in base' || c.verdict === 'only in new' || c.pct === null
    ? '–'
    : c.verdict === '~'
      ? `~ (${fmtPct(c.pct)})`
      : fmtPct(c.pct);
const fmtVerdict = (c: Change) => (c.gate ? `${c.verdict} ✗` : c.verdict);

function header(c: Comparison): string[] {
  const cols = ['metric', c.inputs[0]!.label];
  for (const i of c.inputs.slice(1)) cols.push(i.label, 'Δ', 'p', 'verdict');
  return cols;
}

function cells(c: Comparison, r: MetricRow): string[] {
  const out = [r.key, fmtSide(r.sides[0] ?? null, r.unit)];
  r.changes.forEach((ch, j) =>
    out.push(fmtSide(r.sides[j + 1] ?? null, r.unit), fmtChange(ch), fmtP(ch.p), fmtVerdict(ch)),
  );
  return out;
}

function geomeanCells(c: Comparison): string[] {
  const out = ['geomean (cost; + is worse)', ''];
  for (const g of c.geomean_cost_pct) out.push('', fmtPct(g), '', '');
  return out;
}

function fingerprintLines(c: Comparison): string[] {
  if (c.fingerprint.length === 0) return ['host fingerprint: identical on every input'];
  return [
    `host fingerprint: ${c.fingerprint.length} difference${c.fingerprint.length === 1 ? '' : 's'}`,
    ...c.fingerprint.map(
      (d) => `  ${d.field}: ${d.values.map((v, i) => `${c.inputs[i]!.label}=${v ?? '–'}`).join(', ')}`,
    ),
  ];
}

function summaryLine(c: Comparison): string {
  const n = c.rows.length;
  return c.gate_failures.length
    ? `${c.gate_failures.length} regression${c.gate_failures.length === 1 ? '' : 's'} beyond threshold (p < ${c.alpha}): ${c.gate_failures.join('; ')}`
    : `no significant regression beyond threshold in ${n} metrics (p < ${c.alpha})`;
}

export function renderTable(c: Comparison, colour: boolean): string {
  const paint = (code: string, s: string) => (colour ? `\x1b[${code}m${s}\x1b[0m` : s);
  const table = new Table({
    head: header(c),
    style: { head: [], border: [], compact: true },
    chars: { mid: '', 'left-mid': '', 'mid-mid': '', 'right-mid': '' },
  });
  for (const r of c.rows) {
    const row = cells(c, r);
    if (colour)
      r.changes.forEach((ch, j) => {
        const at = 2 + j * 4 + 3;
        if (ch.verdict === 'regressed') row[at] = paint(ch.gate ? '1;31' : '31', row[at]!);
        else if (ch.verdict === 'improved') row[at] = paint('32', row[at]!);
      });
    table.push(row);
  }
  table.push(geomeanCells(c));
  return [...fingerprintLines(c), '', table.toString(), '', summaryLine(c)].join('\n') + '\n';
}

const mdEscape = (s: string) => s.replaceAll('|', '\\|');

export function renderMarkdown(c: Comparison): string {
  const out = ['## cowbench compare', ''];
  out.push(...fingerprintLines(c).map((l) => (l.startsWith('  ') ? `- ${l.trim()}` : `**${l}**`)), '');
  const h = header(c);
  out.push(`| ${h.map(mdEscape).join(' | ')} |`, `|${h.map(() => '---').join('|')}|`);
  for (const r of c.rows) out.push(`| ${cells(c, r).map(mdEscape).join(' | ')} |`);
  out.push(`| ${geomeanCells(c).map(mdEscape).join(' | ')} |`, '');
  out.push(
    `${summaryLine(c)}. Medians (min…max, n); Δ of medians; p: two-sided Mann–Whitney U; \`~\`: not significant; ✗: beyond the regression threshold.`,
  );
  return out.join('\n') + '\n';
}

const xml = (s: string) =>
  s.replaceAll('&', '&amp;').replaceAll('<', '&lt;').replaceAll('>', '&gt;').replaceAll('"', '&quot;');

/** JUnit XML: one test case per metric and NEW side; a gate failure is a <failure>. */
export function renderJunit(c: Comparison): string {
  const cases: string[] = [];
  let failures = 0;
  let skipped = 0;
  for (const r of c.rows)
    r.changes.forEach((ch, j) => {
      const name = xml(r.key);
      const cls = xml(`cowbench.compare.${c.inputs[j + 1]!.label}`);
      const detail = xml(
        `base ${fmtSide(r.sides[0] ?? null, r.unit)}; new ${fmtSide(r.sides[j + 1] ?? null, r.unit)}; change ${fmtPct(ch.pct)}; p=${fmtP(ch.p)}; verdict ${ch.verdict}${ch.reason ? ` (${ch.reason})` : ''}`,
      );
      if (ch.gate) {
        failures++;
        cases.push(
          `    <testcase classname="${cls}" name="${name}"><failure message="regressed ${xml(fmtPct(ch.pct))} beyond ${Math.round((r.threshold ?? 0) * 100)}%, p=${xml(fmtP(ch.p))}">${detail}</failure></testcase>`,
        );
      } else if (
        ch.verdict === 'only in base' ||
        ch.verdict === 'only in new' ||
        ch.verdict === 'too few samples'
      ) {
        skipped++;
        cases.push(
          `    <testcase classname="${cls}" name="${name}"><skipped message="${xml(ch.verdict)}"/><system-out>${detail}</system-out></testcase>`,
        );
      } else
        cases.push(
          `    <testcase classname="${cls}" name="${name}"><system-out>${detail}</system-out></testcase>`,
        );
    });
  const tests = cases.length;
  return (
    `<?xml version="1.0" encoding="UTF-8"?>\n` +
    `<testsuites name="cowbench compare" tests="${tests}" failures="${failures}" skipped="${skipped}">\n` +
    `  <testsuite name="cowbench compare ${xml(c.inputs.map((i) => i.label).join(' vs '))}" tests="${tests}" failures="${failures}" skipped="${skipped}">\n` +
    cases.join('\n') +
    `\n  </testsuite>\n</testsuites>\n`
  );
}

/** KTAP: version line, plan, one `ok`/`not ok` line per metric and NEW side; SKIP directives. */
export function renderTap(c: Comparison): string {
  const lines = ['KTAP version 1', `# cowbench compare ${c.inputs.map((i) => i.label).join(' vs ')}`];
  for (const l of fingerprintLines(c)) lines.push(`# ${l.trim()}`);
  const tests: string[] = [];
  for (const r of c.rows)
    r.changes.forEach((ch, j) => {
      const name = `${r.key}${c.inputs.length > 2 ? `@${c.inputs[j + 1]!.label}` : ''}`.replace(
        /[#\s]/g,
        '_',
      );
      const desc = `${fmtPct(ch.pct)} p=${fmtP(ch.p)} ${ch.verdict}`;
      const status = ch.gate ? 'not ok' : 'ok';
      const skip =
        ch.verdict === 'only in base' || ch.verdict === 'only in new' || ch.verdict === 'too few samples'
          ? ` # SKIP ${ch.verdict}`
          : '';
      tests.push(`${status} ${tests.length + 1} ${name}${skip}${skip ? '' : ` # ${desc}`}`);
    });
  lines.push(`1..${tests.length}`, ...tests);
  lines.push(`# ${summaryLine(c)}`);
  return lines.join('\n') + '\n';
}

export function renderComparison(c: Comparison, format: Format, colour: boolean): string {
  switch (format) {
    case 'json':
      return JSON.stringify(c, null, 2) + '\n';
    case 'markdown':
      return renderMarkdown(c);
    case 'junit':
      return renderJunit(c);
    case 'tap':
      return renderTap(c);
    default:
      return renderTable(c, colour);
  }
}

export interface CompareCommandOptions {
  inputs: string[];
  format: Format;
  failOnRegression: boolean;
  thresholds: string[];
  alpha?: number;
}

/** Exit 1 on a gate failure with --fail-on-regression, 0 otherwise; bad input throws (exit 2). */
export function compareCommand(o: CompareCommandOptions, write: (s: string) => void): number {
  if (!FORMATS.includes(o.format))
    throw badInput(`--format: '${o.format}' is not one of: ${FORMATS.join(', ')}`);
  const thresholds = parseThresholds(o.thresholds);
  const comparison = compareResults(loadInputs(o.inputs), {
    thresholds,
    ...(o.alpha !== undefined ? { alpha: o.alpha } : {}),
  });
  write(renderComparison(comparison, o.format, process.stdout.isTTY === true && o.format === 'table'));
  return o.failOnRegression && comparison.gate_failures.length > 0 ? 1 : 0;
}
