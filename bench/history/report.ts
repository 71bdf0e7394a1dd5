/**
 * The report's "history" section (`cowbench report --db …`): for each metric with a change point
 * and each headline metric (the CI preset's per-backend fault round trip and writer throughput
 * ratio), a vega-lite trend chart: runs in subject order on x, the run's median with its min–max
 * on y, one colour per machine class, change points marked and labelled with their magnitude.
 * Written as charts/history-*.svg, a section of report.html and links in REPORT.md.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { TopLevelSpec } from 'vega-lite';
import { outputDirectory, outputSubdirectory, replaceFile } from '../../src/files.js';
import { change, pValue, value } from '../../src/format.js';
import { WIDTH } from '../charts/chart.js';
import { renderSvg } from '../charts/render.js';
import { esc } from '../charts/tables.js';
import { parseKey } from '../metrics.js';
import {
  CHANGE_DEFAULTS,
  findChanges,
  renderChanges,
  sortedChanges,
  type Change,
  type SeriesResult,
} from './changes.js';
import { loadSeries, type StoredRun } from './runs.js';
import { openStore } from './store.js';

/** The headline series drawn even without a change point. */
export function isHeadline(metric: string): boolean {
  const k = parseKey(metric);
  if (!k || k.suite !== 'ci') return false;
  return k.metric === 'fault_us' || (k.metric === 'writer_throughput_ratio' && k.case.includes('mode=file'));
}

export interface TrendChart {
  metric: string;
  file: string;
  svg: string;
  changes: Change[];
}

/**
 * The y axis of a trend: the medians with a margin, not the min–max bars. One sample of a loaded
 * run can lie 1,000× from its median (a writer ratio over a stalled baseline); an axis stretched to
 * it flattens the medians, and their change points, into a line. The bars are cut at the axis.
 */
export function medianDomain(medians: number[]): [number, number] {
  const finite = medians.filter(Number.isFinite);
  if (finite.length === 0) return [0, 1];
  const lo = Math.min(...finite);
  const hi = Math.max(...finite);
  const pad = Math.max((hi - lo) * 0.15, Math.abs(hi) * 0.1) || 1;
  return [lo >= 0 ? Math.max(0, lo - pad) : lo - pad, hi + pad];
}

/** One metric's trend over every machine class it was measured on. */
export function trendSpec(metric: string, results: SeriesResult[], runs: StoredRun[]): TopLevelSpec {
  const order = new Map(runs.map((r, i) => [r.id, i + 1]));
  const subject = new Map(runs.map((r) => [r.id, r.subject]));
  const points = results.flatMap((r) =>
    r.series.points.map((p) => ({
      run: order.get(p.run)!,
      subject: subject.get(p.run) ?? '?',
      median: p.median,
      lo: p.lo,
      hi: p.hi,
      machine: r.series.machineClass,
    })),
  );
  const marks = results.flatMap((r) =>
    r.changes.map((c) => ({
      run: order.get(c.run)! - 0.5,
      label: `${change(c.change)} at ${c.subject}`,
      direction: c.direction,
      machine: r.series.machineClass,
    })),
  );
  const unit = results[0]?.series.unit;
  const k = parseKey(metric);
  const y = { scale: { zero: false, domain: medianDomain(points.map((p) => p.median)) } };
  const clipped = points.some((p) => p.lo < y.scale.domain[0]! || p.hi > y.scale.domain[1]!);
  const color = {
    field: 'machine',
    type: 'nominal' as const,
    title: 'machine class',
    legend: { orient: 'bottom' as const, direction: 'vertical' as const, labelLimit: 520 },
  };
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: {
      text: k ? `${k.metric} — ${k.suite}/${k.case}` : metric,
      subtitle: `median of each run, bar: min–max of its samples${clipped ? ' (cut at the axis)' : ''}; dashed: change points (E-divisive)`,
    },
    width: WIDTH,
    height: 220,
    layer: [
      {
        data: { values: points },
        mark: { type: 'rule', opacity: 0.5, clip: true },
        encoding: {
          x: {
            field: 'run',
            type: 'quantitative',
            title: 'run (subject order)',
            axis: { format: 'd', tickMinStep: 1 },
            scale: { zero: false, nice: false },
          },
          y: { field: 'lo', type: 'quantitative', ...y },
          y2: { field: 'hi' },
          color,
        },
      },
      {
        data: { values: points },
        mark: { type: 'line', point: { size: 30 }, strokeWidth: 1.5 },
        encoding: {
          x: { field: 'run', type: 'quantitative' },
          y: {
            field: 'median',
            type: 'quantitative',
            title: unit ? `median (${unit})` : 'median',
            ...y,
          },
          color,
          detail: { field: 'machine' },
        },
      },
      ...(marks.length
        ? [
            {
              data: { values: marks },
              mark: { type: 'rule' as const, strokeDash: [5, 3], strokeWidth: 1.5 },
              encoding: {
                x: { field: 'run', type: 'quantitative' as const },
                color: { value: '#c62828' },
              },
            },
            {
              data: { values: marks },
              mark: {
                type: 'text' as const,
                align: 'left' as const,
                dx: 4,
                dy: -4,
                fontSize: 11,
                fontWeight: 'bold' as const,
                color: '#c62828',
              },
              encoding: {
                x: { field: 'run', type: 'quantitative' as const },
                y: { value: 10 },
                text: { field: 'label', type: 'nominal' as const },
              },
            },
          ]
        : []),
    ],
  } as TopLevelSpec;
}

export interface HistoryReport {
  runs: number;
  series: number;
  changes: Change[];
  charts: TrendChart[];
  tableMarkdown: string;
}

/** The changes of the history and the trend charts of the metrics worth drawing. */
export async function historyReport(db: string): Promise<HistoryReport> {
  const store = await openStore(db);
  let loaded;
  try {
    loaded = await loadSeries(store);
  } finally {
    await store.close();
  }
  const results = findChanges(loaded.series, loaded.runs, CHANGE_DEFAULTS);
  const byMetric = new Map<string, SeriesResult[]>();
  for (const r of results) byMetric.set(r.series.metric, [...(byMetric.get(r.series.metric) ?? []), r]);
  const drawn = [...byMetric.entries()].filter(
    ([m, rs]) => rs.some((r) => r.changes.length > 0) || isHeadline(m),
  );
  // Metrics with a change point first, regressions before the rest.
  const rank = (rs: SeriesResult[]) =>
    rs.some((r) => r.changes.some((c) => c.direction === 'regression'))
      ? 0
      : rs.some((r) => r.changes.length)
        ? 1
        : 2;
  drawn.sort((a, b) => rank(a[1]) - rank(b[1]) || a[0].localeCompare(b[0]));
  const charts: TrendChart[] = [];
  for (const [metric, rs] of drawn) {
    const svg = await renderSvg(trendSpec(metric, rs, loaded.runs));
    const slug = metric
      .replace(/[^A-Za-z0-9]+/g, '-')
      .replace(/^-|-$/g, '')
      .slice(0, 120);
    charts.push({ metric, file: `charts/history-${slug}.svg`, svg, changes: rs.flatMap((r) => r.changes) });
  }
  return {
    runs: loaded.runs.length,
    series: results.length,
    changes: sortedChanges(results),
    charts,
    tableMarkdown: renderChanges(results, 'markdown', CHANGE_DEFAULTS),
  };
}

function sectionHtml(h: HistoryReport, db: string): string {
  // One machine class for every change point (the usual case): named once above the table, not in
  // a column of its own, so the table fits the page.
  const classes = new Set(h.changes.map((c) => c.machineClass));
  const oneClass = classes.size === 1 ? [...classes][0]! : null;
  const rows = h.changes
    .map(
      (c) =>
        `<tr><td>${esc(c.direction)}</td><td>${esc(c.metric).replace(/([,/])/g, '$1<wbr>')}</td><td>${esc(c.subject)} (run ${c.position + 1}/${c.length})</td>` +
        `<td class="num">${esc(value(c.before.median))} → ${esc(value(c.after.median))}${c.unit ? ` ${esc(c.unit)}` : ''}</td>` +
        `<td class="num">${esc(change(c.change))} [${esc(change(c.ci[0]))}, ${esc(change(c.ci[1]))}]</td><td class="num">${c.before.n}+${c.after.n}</td>` +
        `<td class="num">${esc(pValue(c.p))}</td>${oneClass === null ? `<td class="machine-class">${esc(c.machineClass)}</td>` : ''}</tr>`,
    )
    .join('\n');
  return [
    '<section id="history" data-section="history">',
    '<h2>History <span class="title">change points over the recorded runs</span></h2>',
    `<p class="tested">${h.runs} runs, ${h.series} series (metric × machine class) in <code>${esc(db)}</code>; change points by E-divisive means with a permutation test (p &lt; ${CHANGE_DEFAULTS.alpha}), at least ${CHANGE_DEFAULTS.minSegment} runs a side, each at least its metric's threshold. Change: after ÷ before − 1 of the medians of the runs between neighbouring change points, with its 95% bootstrap interval.</p>`,
    h.changes.length
      ? `${oneClass === null ? '' : `<p class="machine">Machine class of every change point: ${esc(oneClass)}</p>`}<div class="table-wrap"><table class="history"><thead><tr><th>kind</th><th>metric</th><th>first changed run</th><th>median before → after</th><th>change [95% CI]</th><th>n</th><th>p</th>${oneClass === null ? '<th>machine class</th>' : ''}</tr></thead><tbody>\n${rows}\n</tbody></table></div>`
      : '<p>No change point in any series.</p>',
    ...h.charts.map(
      (c) =>
        `<figure class="chart" id="chart-${esc(path.basename(c.file, '.svg'))}" data-chart="${esc(path.basename(c.file, '.svg'))}">\n${c.svg}\n<figcaption>${esc(c.metric)} · <a href="${esc(c.file)}">${esc(c.file)}</a></figcaption></figure>`,
    ),
    '</section>',
  ].join('\n');
}

function sectionMarkdown(h: HistoryReport): string {
  return [
    '## History\n',
    `${h.runs} runs, ${h.series} series.`,
    '',
    h.tableMarkdown,
    ...h.charts.map((c) => `![${c.metric}](${c.file})\n`),
  ].join('\n');
}

/**
 * Adds the history section to the report in outDir (report.html and REPORT.md, replacing an
 * earlier history section), or writes a report of the history alone when there is none.
 */
export async function writeHistoryReport(outDir: string, db: string, pageCss: string): Promise<string[]> {
  const h = await historyReport(db);
  // As the rest of the report: a missing parent or a charts/ symlink is refused, and every file is
  // a new temporary renamed over its target, never written through a symlink.
  outputDirectory('--out', outDir);
  outputSubdirectory(path.join(outDir, 'charts'));
  for (const c of h.charts) replaceFile(path.join(outDir, c.file), c.svg);
  const htmlFile = path.join(outDir, 'report.html');
  const section = sectionHtml(h, db);
  let html = existsSync(htmlFile)
    ? readFileSync(htmlFile, 'utf8').replace(/<section id="history"[\s\S]*?<\/section>\n?/, '')
    : `<!doctype html>\n<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>cowbench history</title><style>${pageCss}</style></head><body><main>\n<h1>cowbench history</h1>\n</main></body></html>\n`;
  html = html.replace('</main>', `${section}\n</main>`);
  replaceFile(htmlFile, html);
  const mdFile = path.join(outDir, 'REPORT.md');
  const md = existsSync(mdFile)
    ? readFileSync(mdFile, 'utf8').replace(/\n## History\n[\s\S]*?(?=\n## |$)/, '\n')
    : '# cowbench history\n';
  replaceFile(mdFile, `${md.trimEnd()}\n\n${sectionMarkdown(h)}`);
  return [htmlFile, mdFile, ...h.charts.map((c) => path.join(outDir, c.file))];
}
