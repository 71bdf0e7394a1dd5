/**
 * Change points of the history: E-divisive means over each series of per-run medians, with the
 * metric's registry threshold as the minimum magnitude (bench/metrics.ts, overridable like
 * compare's --threshold), then for each change point the medians of the runs between it and its
 * neighbours, the change with a bootstrap CI, p, and whether it is a regression (the cost rose:
 * a lower-is-better figure went up, a higher-is-better one down). Rendered as a table, markdown,
 * JSON or JUnit XML; the gate fails on a regression among the newest N runs.
 */
import { thresholdFor } from '../compare.js';
import { isGated, lookupMetric } from '../metrics.js';
import { ratioOfMediansCI } from '../stats.js';
import { xml } from '../compare.js';
import { change, pValue, value } from '../../src/format.js';
import { columns } from '../../src/table.js';
import { badInput } from '../results.js';
import { EDIVISIVE_DEFAULTS, eDivisive, magnitude, median, type EDivisiveOptions } from './edivisive.js';
import type { SeriesData, StoredRun } from './runs.js';

export const CHANGE_FORMATS = ['table', 'markdown', 'json', 'junit'] as const;
export type ChangeFormat = (typeof CHANGE_FORMATS)[number];

export interface ChangeOptions {
  alpha: number;
  minSegment: number;
  permutations: number;
  /** Threshold overrides: KEY=fraction as compare's --threshold. */
  thresholds: Record<string, number>;
}

export const CHANGE_DEFAULTS: ChangeOptions = {
  alpha: EDIVISIVE_DEFAULTS.alpha,
  minSegment: EDIVISIVE_DEFAULTS.minSegment,
  permutations: EDIVISIVE_DEFAULTS.permutations,
  thresholds: {},
};

/**
 * regression: the cost rose; improvement: it fell; machine: a context metric (the calibration)
 * moved, which describes the machine, not the code, and never gates; change: an unregistered metric.
 */
export type Direction = 'regression' | 'improvement' | 'machine' | 'change';

export interface Change {
  metric: string;
  unit: string | null;
  machineClass: string;
  /** The first run after the change: its id, subject and position in the series. */
  run: number;
  subject: string;
  position: number;
  /** Runs in the series. */
  length: number;
  before: { median: number; n: number };
  after: { median: number; n: number };
  /** after ÷ before − 1, with its 95 % percentile-bootstrap interval. */
  change: number;
  ci: [number, number];
  p: number;
  threshold: number;
  direction: Direction;
}

export interface SeriesResult {
  series: SeriesData;
  changes: Change[];
}

function directionOf(metric: string, before: number, after: number): Direction {
  const def = lookupMetric(metric);
  if (!def) return 'change';
  if (!isGated(def)) return 'machine';
  const worse = def.polarity === 'lower' ? after > before : after < before;
  return worse ? 'regression' : 'improvement';
}

/** The change points of one series, with the magnitude filter applied on the final segments. */
export function seriesChanges(s: SeriesData, runs: Map<number, StoredRun>, o: ChangeOptions): Change[] {
  const x = s.points.map((p) => p.median);
  const threshold = thresholdFor(s.metric, lookupMetric(s.metric), o.thresholds) ?? 0.3;
  const options: Partial<EDivisiveOptions> = {
    alpha: o.alpha,
    minSegment: o.minSegment,
    permutations: o.permutations,
    minMagnitude: threshold,
  };
  const found = eDivisive(x, options);
  // Each change point is judged between its neighbours; the weakest below the threshold is
  // dropped (its neighbours' segments merge) until every one left clears it.
  const cps = [...found];
  for (;;) {
    let weakest = -1;
    let weakestMag = Infinity;
    cps.forEach((c, i) => {
      const lo = i === 0 ? 0 : cps[i - 1]!.index;
      const hi = i === cps.length - 1 ? x.length : cps[i + 1]!.index;
      const m = magnitude(median(x, lo, c.index), median(x, c.index, hi));
      if (m < threshold && m < weakestMag) [weakest, weakestMag] = [i, m];
    });
    if (weakest < 0) break;
    cps.splice(weakest, 1);
  }
  return cps.map((c, i) => {
    const lo = i === 0 ? 0 : cps[i - 1]!.index;
    const hi = i === cps.length - 1 ? x.length : cps[i + 1]!.index;
    // The runs between the neighbouring change points, at most a search window on each side: in a
    // long history the change is judged against the runs around it, as it was found.
    const before = x.slice(Math.max(lo, c.index - EDIVISIVE_DEFAULTS.window), c.index);
    const after = x.slice(c.index, Math.min(hi, c.index + EDIVISIVE_DEFAULTS.window));
    const [lo95, hi95] = bootstrapRatio(before, after);
    const mb = median(before);
    const ma = median(after);
    const point = s.points[c.index]!;
    return {
      metric: s.metric,
      unit: s.unit,
      machineClass: s.machineClass,
      run: point.run,
      subject: runs.get(point.run)?.subject ?? '?',
      position: c.index,
      length: x.length,
      before: { median: mb, n: before.length },
      after: { median: ma, n: after.length },
      change: mb === 0 ? (ma === 0 ? 0 : Infinity) : ma / mb - 1,
      ci: [lo95 - 1, hi95 - 1],
      p: c.p,
      threshold,
      direction: directionOf(s.metric, mb, ma),
    };
  });
}

/** The 95 % percentile-bootstrap interval of median(after) / median(before) (stats.ts's, seeded). */
export function bootstrapRatio(before: number[], after: number[], resamples = 1000): [number, number] {
  const ci = ratioOfMediansCI(before, after, { resamples });
  return [ci.lo, ci.hi];
}

const rank: Record<Direction, number> = { regression: 0, change: 1, improvement: 2, machine: 3 };

/** Every series' change points, regressions first, then by size of the change. */
export function findChanges(series: SeriesData[], allRuns: StoredRun[], o: ChangeOptions): SeriesResult[] {
  const runs = new Map(allRuns.map((r) => [r.id, r]));
  return series.map((s) => ({ series: s, changes: seriesChanges(s, runs, o) }));
}

export function sortedChanges(results: SeriesResult[]): Change[] {
  return results
    .flatMap((r) => r.changes)
    .sort((a, b) => rank[a.direction] - rank[b.direction] || Math.abs(b.change) - Math.abs(a.change));
}

/** Regressions whose first changed run is among the newest `newest` runs of their series. */
export function recentRegressions(changes: Change[], newest: number): Change[] {
  return changes.filter((c) => c.direction === 'regression' && c.position >= c.length - newest);
}

function cells(c: Change): string[] {
  return [
    c.direction,
    c.metric,
    `${c.subject} (run ${c.position + 1}/${c.length})`,
    `${value(c.before.median)} → ${value(c.after.median)}${c.unit ? ` ${c.unit}` : ''}`,
    `${change(c.change)} [${change(c.ci[0])}, ${change(c.ci[1])}]`,
    `${c.before.n}+${c.after.n}`,
    pValue(c.p),
    c.machineClass,
  ];
}
const HEAD = [
  '',
  'metric',
  'first changed run',
  'median before → after',
  'change [95% CI]',
  'n',
  'p',
  'machine class',
];

function summary(results: SeriesResult[], changes: Change[], o: ChangeOptions): string {
  const reg = changes.filter((c) => c.direction === 'regression').length;
  return (
    `${changes.length} change point${changes.length === 1 ? '' : 's'} (${reg} regression${reg === 1 ? '' : 's'}) in ${results.length} series; ` +
    `E-divisive means, permutation test p < ${o.alpha} (${o.permutations} permutations), at least ${o.minSegment} runs a side, ` +
    `magnitude at least the metric's threshold`
  );
}

/** One format of the change points; `failing` (the gate's) become JUnit failures. */
export function renderChanges(
  results: SeriesResult[],
  format: ChangeFormat,
  o: ChangeOptions,
  failing: Change[] = [],
): string {
  const changes = sortedChanges(results);
  switch (format) {
    case 'json':
      return (
        JSON.stringify(
          {
            method: {
              name: 'e-divisive means',
              alpha: o.alpha,
              permutations: o.permutations,
              min_segment: o.minSegment,
            },
            series: results.length,
            changes,
          },
          null,
          2,
        ) + '\n'
      );
    case 'markdown': {
      const out = [`_${summary(results, changes, o)}._`, ''];
      if (changes.length) {
        out.push(`| ${HEAD.map((h) => h || 'kind').join(' | ')} |`, `|${HEAD.map(() => '---').join('|')}|`);
        for (const c of changes)
          out.push(
            `| ${cells(c)
              .map((s) => s.replaceAll('|', '\\|'))
              .join(' | ')} |`,
          );
      }
      return out.join('\n') + '\n';
    }
    case 'junit': {
      const failed = new Set(failing);
      const cases = results.map((r) => {
        const name = xml(`${r.series.metric} [${r.series.machineClass}]`);
        const detail = xml(r.changes.map((c) => cells(c).join('; ')).join('\n'));
        const bad = r.changes.filter((c) => failed.has(c));
        return bad.length
          ? `    <testcase classname="cowbench.history" name="${name}"><failure message="${xml(`regression ${change(bad[0]!.change)} at ${bad[0]!.subject}`)}">${detail}</failure></testcase>`
          : `    <testcase classname="cowbench.history" name="${name}">${detail ? `<system-out>${detail}</system-out>` : ''}</testcase>`;
      });
      const failures = results.filter((r) => r.changes.some((c) => failed.has(c))).length;
      return (
        `<?xml version="1.0" encoding="UTF-8"?>\n` +
        `<testsuites name="cowbench history" tests="${cases.length}" failures="${failures}">\n` +
        `  <testsuite name="cowbench history changes" tests="${cases.length}" failures="${failures}">\n` +
        cases.join('\n') +
        `\n  </testsuite>\n</testsuites>\n`
      );
    }
    case 'table':
      return (
        (changes.length ? columns(changes.map(cells), { head: HEAD, rule: true }) : '') +
        summary(results, changes, o) +
        '\n'
      );
  }
}

export function parseFormat(f: string): ChangeFormat {
  if (!(CHANGE_FORMATS as readonly string[]).includes(f))
    throw badInput(`--format: '${f}' is not one of: ${CHANGE_FORMATS.join(', ')}`);
  return f as ChangeFormat;
}
