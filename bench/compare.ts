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
 *    the metric's threshold (registry default, or --threshold KEY=PCT);
 *  - it also fails on a base metric it cannot judge: missing from NEW, or with too few samples on
 *    a side (registered metrics about the code only: context such as the calibration never gates). A metric that vanished is no evidence of "no regression" (`--allow-missing` accepts
 *    that on purpose).
 */
import { replaceFile } from '../src/files.js';
import { columns } from '../src/table.js';
import { percent, pValue, quantity, value } from '../src/format.js';
import { useColour } from '../src/stdout.js';
import { closest } from 'fastest-levenshtein';
import { isGated, lookupMetric, type MetricDef, parseKey } from './metrics.js';
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
  | 'improved'
  | 'regressed'
  | '~'
  | 'only in base'
  | 'only in new'
  | 'too few samples'
  | 'changed'
  | 'no timing verdict';

export interface Change {
  /** (new − base) / base of the medians, in %. */
  pct: number | null;
  /** The cost change in %: new/base − 1 when lower is better, base/new − 1 when higher is; > 0 is worse. */
  cost_pct: number | null;
  p: number | null;
  ci: RatioCI | null;
  verdict: Verdict;
  /**
   * Fails --fail-on-regression: a significant regression beyond the threshold or, unless missing
   * metrics are allowed, a base metric missing from NEW or too thin to judge (`reason` says which).
   */
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
  /** Base metrics that could not be judged (missing from NEW, too few samples) were accepted. */
  allow_missing: boolean;
  /** Inputs bench marked incomplete (interrupted): their metrics are partial. */
  incomplete: { label: string; detail: string }[];
  gate_failures: string[];
}

export interface CompareOptions {
  alpha?: number;
  thresholds?: Record<string, number>;
  labels?: string[];
  /** Do not fail the gate on base metrics missing from NEW or too thin to judge. */
  allowMissing?: boolean;
}

const FINGERPRINT_SKIP = new Set(['date', 'kernel_version']);
/** Numeric fields that move a little between boots of one machine: equal within this fraction. */
const FINGERPRINT_JITTER: Record<string, number> = { memory_bytes: 0.02 };

/** Whether a field's values are equal within its jitter tolerance (numeric fields only). */
function sameWithinJitter(field: string, values: (string | null)[]): boolean {
  const tolerance = FINGERPRINT_JITTER[field];
  if (tolerance === undefined || values.includes(null)) return false;
  const nums = values.map(Number);
  if (!nums.every(Number.isFinite)) return false;
  return Math.max(...nums) - Math.min(...nums) <= tolerance * Math.max(...nums.map(Math.abs));
}

function fingerprint(results: BenchResults[]): FingerprintDiff[] {
  return fingerprintDifferences(results.map((r) => (r.env ?? {}) as unknown as Record<string, unknown>));
}

/**
 * The fingerprint fields (nested ones as `a.b`) whose values differ between the inputs' envs
 * (memory_bytes within 2%: the same machine reports a little more or less after a reboot).
 */
export function fingerprintDifferences(envs: Record<string, unknown>[]): FingerprintDiff[] {
  const flat = envs.map((env) => {
    const out: Record<string, string> = {};
    for (const [k, v] of Object.entries(env)) {
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
    if (new Set(values).size > 1 && !sameWithinJitter(field, values)) diffs.push({ field, values });
  }
  return diffs;
}

export function thresholdFor(
  key: string,
  def: MetricDef | undefined,
  overrides: Record<string, number>,
): number | null {
  for (const candidate of thresholdNames(key))
    if (overrides[candidate] !== undefined) return overrides[candidate]!;
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
  return {
    pct,
    cost_pct,
    p: u.p,
    ci,
    verdict: bad ? 'regressed' : 'improved',
    gate: bad && beyond() && isGated(def),
    ...(isGated(def) ? {} : { reason: 'context: describes the machine, not gated' }),
  };
}

/** Kinds of figure an emulated CPU makes meaningless (times, rates, ratios of times). */
const TIMING_KINDS: ReadonlySet<string> = new Set(['time', 'rate', 'ratio']);

/**
 * No timing verdict across accelerators or under TCG (`cowbench vm`: an emulated CPU): times
 * compare with nothing there. Counts and bytes still compare.
 */
function acceleratorBlock(def: MetricDef | undefined, base: string, next: string): Change | null {
  if (!def || !TIMING_KINDS.has(def.kind) || (base === next && base !== 'tcg')) return null;
  return {
    pct: null,
    cost_pct: null,
    p: null,
    ci: null,
    gate: false,
    verdict: 'no timing verdict',
    reason:
      base === next
        ? 'both under TCG (an emulated CPU): times compare with nothing'
        : `accelerators differ (${base} vs ${next}): times compare with nothing`,
  };
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
  checkThresholdKeys(o.thresholds ?? {}, keys);
  const common = keys.filter((k) => inputs.every((i) => k in i.results.metrics));
  if (common.length === 0)
    throw badInput(`no metric in common between ${inputs.map((i) => i.label).join(' and ')}`);
  const accels = inputs.map((i) => String(i.results.env?.accel ?? 'none'));
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
      changes: sides.slice(1).map((s, j) => {
        const ch = compareOne(sides[0] ?? null, s, def, threshold, alpha);
        if (ch.verdict === 'only in base' || ch.verdict === 'only in new') return ch;
        return acceleratorBlock(def, accels[0]!, accels[j + 1]!) ?? ch;
      }),
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
  const allowMissing = o.allowMissing === true;
  if (!allowMissing)
    for (const r of rows.filter((row) => isGated(lookupMetric(row.key))))
      for (const c of r.changes)
        if (c.verdict === 'only in base') {
          c.gate = true;
          c.reason = 'missing from NEW: no evidence either way (--allow-missing accepts it)';
        } else if (c.verdict === 'too few samples') {
          c.gate = true;
          c.reason = `too few samples to judge: ${c.reason} (--allow-missing accepts it)`;
        }
  const gate_failures = rows.flatMap((r) =>
    r.changes.flatMap((c, j) =>
      c.gate
        ? [
            c.verdict === 'regressed'
              ? `${r.key} (${inputs[j + 1]!.label}): ${fmtPct(c.pct)} (cost ${fmtPct(c.cost_pct)} > ${Math.round((r.threshold ?? 0) * 100)}%), ${pText(c.p)}`
              : `${r.key} (${inputs[j + 1]!.label}): ${c.reason}`,
          ]
        : [],
    ),
  );
  // A results directory bench marked incomplete holds only the suites that finished: compared
  // as it is, it could pass the gate for what it never measured (a partial BASE most of all).
  const incomplete = inputs.flatMap((i) =>
    i.results.incomplete
      ? [
          {
            label: i.label,
            detail: `bench was interrupted by ${i.results.incomplete.signal}${i.results.incomplete.interrupted_suite ? ` during ${i.results.incomplete.interrupted_suite}` : ''}${i.results.incomplete.not_run.length ? `; not run: ${i.results.incomplete.not_run.join(', ')}` : ''}`,
          },
        ]
      : [],
  );
  if (!allowMissing)
    for (const x of incomplete)
      gate_failures.push(
        `${x.label} is incomplete (${x.detail}): its metrics are partial (--allow-missing accepts it)`,
      );
  return {
    schema: COMPARE_SCHEMA,
    inputs: inputs.map((i) => ({ label: i.label, file: i.file })),
    alpha,
    fingerprint: fingerprint(inputs.map((i) => i.results)),
    rows,
    geomean_cost_pct,
    regressions: rows.reduce((n, r) => n + r.changes.filter((c) => c.verdict === 'regressed').length, 0),
    allow_missing: allowMissing,
    incomplete,
    gate_failures,
  };
}

/** The names a --threshold KEY may take for `key`: the full key, `suite/metric`, or the metric. */
function thresholdNames(key: string): string[] {
  const k = parseKey(key);
  return k ? [key, `${k.suite}/${k.metric}`, k.metric] : [key];
}

/** A --threshold that matches no metric would silently not apply: refused, naming the closest. */
function checkThresholdKeys(thresholds: Record<string, number>, keys: string[]): void {
  const names = [...new Set(keys.flatMap(thresholdNames))];
  for (const given of Object.keys(thresholds)) {
    if (names.includes(given)) continue;
    const near = [closest(given, names)];
    const short = names.filter((n) => !n.includes('/') || n.split('/').length === 2);
    if (short.length) near.push(closest(given, short));
    throw badInput(
      `--threshold: '${given}' matches no metric in these results; closest: ${[...new Set(near)].join(', ')}`,
    );
  }
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

const fmtPct = (p: number | null) => (p === null ? 'n/a' : percent(p));
/** The p column: `<0.001` or `0.123`. */
const fmtP = (p: number | null) => (p === null ? '–' : pValue(p));
/** p in running text: `p<0.001` or `p=0.123`, never `p=<0.001`. */
const pText = (p: number | null) => (p === null ? 'no test' : pValue(p, 'p'));
/** A side: its median in the metric's unit (src/format.ts), then min…max and n. */
const fmtSide = (s: Summary | null, unit: string | null) =>
  s
    ? unit === 'B'
      ? `${quantity(s.median, unit)} (${quantity(s.min, unit)}…${quantity(s.max, unit)}, n=${s.n})`
      : `${quantity(s.median, unit)} (${value(s.min)}…${value(s.max)}, n=${s.n})`
    : '–';
const ciBound = (ratio: number) => {
  const pct = (ratio - 1) * 100;
  if (!Number.isFinite(pct)) return 'n/a';
  const r = Math.abs(pct) >= 10 ? Math.round(pct) : Number(pct.toFixed(1));
  return `${r >= 0 ? '+' : ''}${r}`;
};
/** Δ of the medians with its bootstrap interval, as benchstat prints it: `+12.0% [+4, +21]`. */
const fmtChange = (c: Change) =>
  c.verdict === 'only in base' || c.verdict === 'only in new' || c.pct === null
    ? '–'
    : `${fmtPct(c.pct)}${c.ci ? ` [${ciBound(c.ci.lo)}, ${ciBound(c.ci.hi)}]` : ''}`;
const fmtVerdict = (c: Change) => (c.gate ? `${c.verdict} ✗` : c.verdict);

/** A row worth a PR comment: a verdict other than `~`, or a gate failure. */
const isChanged = (r: MetricRow) =>
  r.changes.some(
    (ch) => ch.gate || ch.verdict === 'regressed' || ch.verdict === 'improved' || ch.verdict === 'changed',
  );

export interface RenderOptions {
  /** Only rows with a verdict (regressed, improved, changed) or a gate failure. */
  onlyChanged?: boolean;
  colour?: boolean;
}

/** Rows split into their case (`suite · case`) and metric, in key order. */
function byCase(
  c: Comparison,
  o: RenderOptions,
): { title: string; rows: { metric: string; row: MetricRow }[] }[] {
  const groups = new Map<string, { metric: string; row: MetricRow }[]>();
  for (const row of c.rows) {
    if (o.onlyChanged && !isChanged(row)) continue;
    const k = parseKey(row.key);
    const title = k ? `${k.suite} · ${k.case}` : '(other)';
    const metric = k ? k.metric : row.key;
    groups.set(title, [...(groups.get(title) ?? []), { metric, row }]);
  }
  return [...groups].map(([title, rows]) => ({ title, rows }));
}

function header(c: Comparison): string[] {
  const cols = ['metric', c.inputs[0]!.label];
  for (const i of c.inputs.slice(1)) cols.push(i.label, 'Δ [95% CI]', 'p', 'verdict');
  return cols;
}

function cells(metric: string, r: MetricRow): string[] {
  const out = [metric, fmtSide(r.sides[0] ?? null, r.unit)];
  r.changes.forEach((ch, j) =>
    out.push(fmtSide(r.sides[j + 1] ?? null, r.unit), fmtChange(ch), fmtP(ch.p), fmtVerdict(ch)),
  );
  return out;
}

function geomeanLine(c: Comparison): string {
  return `geomean cost change (+ is worse): ${c.geomean_cost_pct.map((g, j) => `${c.inputs[j + 1]!.label} ${fmtPct(g)}`).join(', ')}`;
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

/** Gate failures named in the summary line (a vanished suite is dozens: the rest are in the rows). */
const GATE_REASONS_SHOWN = 5;

function summaryLine(c: Comparison, o: RenderOptions = {}): string {
  const n = c.rows.length;
  const failing = c.rows.flatMap((r) => r.changes.filter((ch) => ch.gate));
  const regressed = failing.filter((ch) => ch.verdict === 'regressed').length;
  const unjudged = failing.length - regressed;
  const accepted = c.allow_missing
    ? c.rows
        .filter((r) => isGated(lookupMetric(r.key)))
        .flatMap((r) => r.changes)
        .filter((ch) => ch.verdict === 'only in base' || ch.verdict === 'too few samples').length
    : 0;
  const parts = [
    regressed ? `${regressed} regression${regressed === 1 ? '' : 's'} beyond threshold (p < ${c.alpha})` : '',
    unjudged
      ? `${unjudged} base metric${unjudged === 1 ? '' : 's'} not judged (missing from NEW or too few samples)`
      : '',
    c.incomplete.length && !c.allow_missing
      ? `${c.incomplete.length} incomplete input${c.incomplete.length === 1 ? '' : 's'}`
      : '',
  ].filter(Boolean);
  const notes = [
    c.incomplete.length && c.allow_missing
      ? `incomplete, accepted by --allow-missing: ${c.incomplete.map((x) => `${x.label} (${x.detail})`).join(', ')}`
      : '',
    accepted
      ? `${accepted} base metric${accepted === 1 ? '' : 's'} not judged, accepted by --allow-missing`
      : '',
    o.onlyChanged ? `${c.rows.filter((r) => !isChanged(r)).length} unchanged metrics not shown` : '',
  ].filter(Boolean);
  const note = notes.length ? `; ${notes.join('; ')}` : '';
  // The first few reasons; every failure has its own row (✗), JUnit failure and KTAP not-ok line.
  const shown = c.gate_failures.slice(0, GATE_REASONS_SHOWN);
  const more = c.gate_failures.length - shown.length;
  const reasons = `${shown.join('; ')}${more > 0 ? `; and ${more} more, each marked with its metric` : ''}`;
  return parts.length
    ? `gate fails: ${parts.join(', ')}: ${reasons}${note}`
    : `no significant regression beyond threshold in ${n} metrics (p < ${c.alpha})${note}`;
}

/** One table per case, metric by metric (benchstat's layout); the fingerprint above, the verdict below. */
export function renderTable(c: Comparison, o: RenderOptions = {}): string {
  const paint = (code: string, s: string) => (o.colour ? `\x1b[${code}m${s}\x1b[0m` : s);
  const out = [...fingerprintLines(c), ''];
  for (const g of byCase(c, o)) {
    const rows = g.rows.map(({ metric, row }) => {
      const cellsOf = cells(metric, row);
      row.changes.forEach((ch, j) => {
        const at = 2 + j * 4 + 3;
        if (ch.gate) cellsOf[at] = paint('1;31', cellsOf[at]!);
        else if (ch.verdict === 'regressed') cellsOf[at] = paint('31', cellsOf[at]!);
        else if (ch.verdict === 'improved') cellsOf[at] = paint('32', cellsOf[at]!);
      });
      return cellsOf;
    });
    out.push(paint('1', g.title), columns(rows, { head: header(c), rule: true, indent: '  ' }));
  }
  out.push(geomeanLine(c), summaryLine(c, o));
  return out.join('\n') + '\n';
}

const mdEscape = (s: string) => s.replaceAll('|', '\\|');

/** One table with case and metric columns: compact enough for a PR comment (with --only-changed). */
export function renderMarkdown(c: Comparison, o: RenderOptions = {}): string {
  const out = ['## cowbench compare', ''];
  out.push(...fingerprintLines(c).map((l) => (l.startsWith('  ') ? `- ${l.trim()}` : `**${l}**`)), '');
  const h = ['case', ...header(c)];
  out.push(`| ${h.map(mdEscape).join(' | ')} |`, `|${h.map(() => '---').join('|')}|`);
  for (const g of byCase(c, o))
    g.rows.forEach(({ metric, row }, i) =>
      out.push(`| ${[i === 0 ? g.title : '', ...cells(metric, row)].map(mdEscape).join(' | ')} |`),
    );
  out.push('', `${geomeanLine(c)}.`, '');
  out.push(
    `${summaryLine(c, o)}. Medians (min…max, n); Δ of medians with its 95% bootstrap interval; p: two-sided Mann–Whitney U; \`~\`: not significant; ✗: fails the gate.`,
  );
  return out.join('\n') + '\n';
}

/** Text for XML content and attributes (the JUnit reports of compare and history). */
export const xml = (s: string) =>
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
        `base ${fmtSide(r.sides[0] ?? null, r.unit)}; new ${fmtSide(r.sides[j + 1] ?? null, r.unit)}; change ${fmtChange(ch)}; ${pText(ch.p)}; verdict ${ch.verdict}${ch.reason ? ` (${ch.reason})` : ''}`,
      );
      if (ch.gate) {
        failures++;
        cases.push(
          `    <testcase classname="${cls}" name="${name}"><failure message="${ch.verdict === 'regressed' ? `regressed ${xml(fmtPct(ch.pct))} beyond ${Math.round((r.threshold ?? 0) * 100)}%, ${xml(pText(ch.p))}` : xml(`${ch.verdict}: ${ch.reason ?? ''}`)}">${detail}</failure></testcase>`,
        );
      } else if (
        ch.verdict === 'only in base' ||
        ch.verdict === 'only in new' ||
        ch.verdict === 'too few samples' ||
        ch.verdict === 'no timing verdict'
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
  // Each input is a test of its own: complete, or interrupted (a failure unless --allow-missing).
  for (const x of c.incomplete) {
    const tc = `    <testcase classname="cowbench.compare.inputs" name="${xml(x.label)} is complete">`;
    if (c.allow_missing) {
      skipped++;
      cases.push(`${tc}<skipped message="${xml(`incomplete: ${x.detail}`)}"/></testcase>`);
    } else {
      failures++;
      cases.push(`${tc}<failure message="${xml(`incomplete: ${x.detail}`)}"/></testcase>`);
    }
  }
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
      const desc = `${fmtChange(ch)} ${pText(ch.p)} ${ch.verdict}`;
      const status = ch.gate ? 'not ok' : 'ok';
      const skip =
        !ch.gate &&
        (ch.verdict === 'only in base' ||
          ch.verdict === 'only in new' ||
          ch.verdict === 'too few samples' ||
          ch.verdict === 'no timing verdict')
          ? ` # SKIP ${ch.verdict}`
          : '';
      tests.push(`${status} ${tests.length + 1} ${name}${skip}${skip ? '' : ` # ${desc}`}`);
    });
  for (const x of c.incomplete) {
    const name = `${x.label.replace(/[#\s]/g, '_')}_is_complete`;
    tests.push(
      c.allow_missing
        ? `ok ${tests.length + 1} ${name} # SKIP incomplete: ${x.detail}`
        : `not ok ${tests.length + 1} ${name} # incomplete: ${x.detail}`,
    );
  }
  lines.push(`1..${tests.length}`, ...tests);
  lines.push(`# ${summaryLine(c)}`);
  return lines.join('\n') + '\n';
}

export function renderComparison(c: Comparison, format: Format, o: RenderOptions = {}): string {
  switch (format) {
    case 'json':
      return JSON.stringify(c, null, 2) + '\n';
    case 'markdown':
      return renderMarkdown(c, o);
    case 'junit':
      return renderJunit(c);
    case 'tap':
      return renderTap(c);
    default:
      return renderTable(c, o);
  }
}

export interface CompareCommandOptions {
  inputs: string[];
  format: Format;
  failOnRegression: boolean;
  allowMissing?: boolean;
  onlyChanged?: boolean;
  thresholds: string[];
  alpha?: number;
  /** More formats written in the same pass, each to its file (hyperfine's --export-*). */
  exports?: Partial<Record<Format, string>>;
}

/** Exit 1 on a gate failure with --fail-on-regression, 0 otherwise; bad input throws (exit 2). */
export function compareCommand(o: CompareCommandOptions, write: (s: string) => void): number {
  if (!FORMATS.includes(o.format))
    throw badInput(`--format: '${o.format}' is not one of: ${FORMATS.join(', ')}`);
  const thresholds = parseThresholds(o.thresholds);
  const comparison = compareResults(loadInputs(o.inputs), {
    thresholds,
    allowMissing: o.allowMissing === true,
    ...(o.alpha !== undefined ? { alpha: o.alpha } : {}),
  });
  const render = { onlyChanged: o.onlyChanged === true };
  for (const [format, file] of Object.entries(o.exports ?? {}) as [Format, string][])
    replaceFile(file, renderComparison(comparison, format, render));
  write(
    renderComparison(comparison, o.format, {
      ...render,
      colour: o.format === 'table' && useColour(process.stdout.isTTY === true),
    }),
  );
  return o.failOnRegression && comparison.gate_failures.length > 0 ? 1 : 0;
}
