/**
 * `cowbench report DIR [DIR…]`: charts/*.svg, report.html (one self-contained file: inline SVG, no
 * script, no network) and, for several directories, a claims × machines REPORT.md. Its input is the
 * parsed results.json of each directory; nothing here measures anything.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { outputDirectory, readRegularFile, replaceFile } from '../src/files.js';
import path from 'node:path';
import { renderCharts, writeCharts, type RenderedChart } from './charts/index.js';
import {
  hostFacts,
  type HostFacts,
  machineOf,
  rows as rowsOf,
  type BenchResults,
  type Machine,
  type ResultVerdict,
} from './charts/data.js';
import { headline } from './charts/headlines.js';
import { SEED_ARCHIVE, SEED_QUOTES, SEED_THREAD, SHORT_TITLES } from './charts/seed.js';
import { esc, suiteTables } from './charts/tables.js';
import { packageRoot } from '../src/native.js';
import { fingerprintDifferences } from './compare.js';
import { MIN_SAMPLES } from './stats.js';
import { CLAIMS, writeReport } from './report.js';
import { loadResults } from './results.js';

/** A claim's section: the suites (and the part of a suite) whose tables it shows. */
interface Section {
  id: string;
  tables: { suite: string; part?: string }[];
  /** A target judged from figures another section shows. */
  see?: string;
}

const SECTIONS: Section[] = [
  { id: 'C1', tables: [{ suite: 'vma' }] },
  { id: 'C2', tables: [{ suite: 'compat' }, { suite: 'writers' }] },
  { id: 'C3', tables: [{ suite: 'latency', part: 'fault' }] },
  { id: 'C4', tables: [{ suite: 'memory' }] },
  { id: 'C5', tables: [{ suite: 'thp' }] },
  { id: 'C6', tables: [{ suite: 'scan' }] },
  { id: 'C7', tables: [{ suite: 'consistency' }] },
  { id: 'C8', tables: [{ suite: 'latency', part: 'run' }] },
  { id: 'target a', tables: [{ suite: 'bandwidth' }] },
  { id: 'target b', tables: [{ suite: 'scale' }] },
  { id: 'target c', tables: [], see: 'C3' },
  { id: 'target d', tables: [], see: 'target b' },
  { id: 'target e', tables: [], see: 'C4' },
  { id: 'target f', tables: [{ suite: 'fault-around' }] },
  { id: 'target g', tables: [], see: 'target b' },
];

const anchor = (id: string) => id.toLowerCase().replace(/[^a-z0-9]+/g, '-');

function verdictsOf(m: Machine, claim: string): (ResultVerdict & { suite: string })[] {
  return Object.entries(m.results.suites).flatMap(([suite, s]) =>
    (s.verdicts ?? []).filter((v) => v.claim === claim).map((v) => ({ ...v, suite })),
  );
}

/** The accelerator a machine's results ran under: none (this kernel), or kvm / tcg (cowbench vm). */
function accelOf(m: Machine): string {
  const a = (m.results.env as { accel?: string } | undefined)?.accel;
  return a === 'kvm' ? 'kvm' : a === 'tcg' ? 'tcg (emulated CPU: no timing verdicts)' : 'none';
}

function verdictClass(v: string): string {
  if (/^(confirmed|met)$/.test(v)) return 'yes';
  if (/^(refuted|missed)$/.test(v)) return 'no';
  if (/partly/.test(v)) return 'partly';
  return 'na';
}

/** Fields a statistical verdict may add (effect, interval, p, n), shown as they come. */
function verdictStats(v: ResultVerdict): string {
  const extra = Object.entries(v).filter(
    ([k, x]) => !['claim', 'verdict', 'evidence', 'suite'].includes(k) && x !== null && typeof x !== 'object',
  );
  const objects = Object.entries(v).filter(
    ([k, x]) => !['suite'].includes(k) && x !== null && typeof x === 'object',
  );
  const parts = [
    ...extra.map(
      ([k, x]) => `${k.replaceAll('_', ' ')} ${typeof x === 'number' ? Number(x.toPrecision(4)) : String(x)}`,
    ),
    ...objects.map(([k, x]) => `${k.replaceAll('_', ' ')} ${JSON.stringify(x)}`),
  ];
  return parts.length ? `<span class="stats">${esc(parts.join(' · '))}</span>` : '';
}

function suiteCommand(m: Machine, suite: string): string {
  const o = m.results.options ?? {};
  const quick = o['quick'] === true ? ' --quick' : '';
  const repeat = typeof o['repeat'] === 'number' ? ` --repeat ${o['repeat']}` : '';
  return `cowbench bench ${suite}${quick}${repeat} --out ${m.dir} && cowbench report ${m.dir}`;
}

function machineLine(m: Machine, suite: string | null): string {
  const h = hostFacts(m);
  const s = suite ? m.results.suites[suite] : undefined;
  const when = s?.date ? s.date.slice(0, 16).replace('T', ' ') : h.date;
  const commit = s?.git_commit ? ` at ${s.git_commit.slice(0, 10)}` : '';
  return `${esc(m.label)}: Linux ${esc(h.kernel)}, ${esc(h.cpu)}, THP ${esc(h.thp)}, vm.max_map_count ${esc(h.max_map_count)}; measured ${esc(when)}${esc(commit)}`;
}

function chartFigure(c: RenderedChart): string {
  if (!c.svg)
    return `<p class="missing" data-chart-missing="${esc(c.id)}">No chart “${esc(c.title)}”: ${esc(c.missing ?? '')}.</p>`;
  return (
    `<figure class="chart" id="chart-${esc(c.id)}" data-chart="${esc(c.id)}">\n${c.svg}\n` +
    `<figcaption>${c.note ? `${esc(c.note)} · ` : ''}<a href="${esc(c.file ?? '')}">${esc(c.file ?? '')}</a></figcaption></figure>`
  );
}

export const CSS = `
:root { color-scheme: light dark; --fg:#1b1b1b; --bg:#fff; --muted:#666; --line:#ddd; --strong-line:#bbb; --text2:#333;
  --link:#0b5cad; --quote-bg:#f6f8fb; --quote-line:#b8c7dd; --code-bg:#f4f4f4; --note-bg:#fff8e6; --note-line:#e0b44c;
  --yes:#1a7f37; --no:#c62828; --partly:#b26a00; --na:#777; }
@media (prefers-color-scheme: dark) {
  :root { --fg:#e4e4e4; --bg:#16181b; --muted:#a0a4aa; --line:#34383d; --strong-line:#555; --text2:#d0d0d0;
    --link:#7fb6ff; --quote-bg:#1f242b; --quote-line:#3d5573; --code-bg:#22262b; --note-bg:#2b2518; --note-line:#8a6a1f;
    --yes:#2e9a4e; --no:#d9534f; --partly:#c98a1b; --na:#6b6f75; }
  /* The charts are drawn for a white page: keep them on one, framed. */
  figure.chart svg { background: #fff; border-radius: 4px; }
}
* { box-sizing: border-box; }
body { font: 15px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: var(--fg); background: var(--bg); margin: 0; }
main { max-width: 1080px; margin: 0 auto; padding: 24px 28px 64px; }
h1 { font-size: 26px; margin: 0 0 4px; } h2 { font-size: 21px; margin: 40px 0 8px; border-top: 1px solid var(--line); padding-top: 20px; }
h3 { font-size: 16px; margin: 20px 0 6px; }
.sub { color: var(--muted); margin: 0 0 16px; }
nav h4 { margin: 10px 0 2px; font-size: 14px; color: var(--muted); font-weight: 600; }
ul.toc { list-style: none; padding: 0; margin: 4px 0; } ul.toc li { margin: 3px 0; }
.toc-cols { display: grid; grid-template-columns: 1fr 1fr; gap: 0 28px; }
h2 .title { font-weight: 400; color: var(--text2); }
.verdict.small { font-size: 11px; padding: 0 6px; font-weight: 600; vertical-align: 1px; }
table.matrix th:first-child { white-space: nowrap; }
table.facts td { white-space: nowrap; } table.facts td:nth-child(4), table.facts td:nth-child(7) { white-space: normal; }
table.history td:nth-child(2) { overflow-wrap: anywhere; } table.history td.machine-class { min-width: 14em; }
a { color: var(--link); }
blockquote { margin: 8px 0 10px; padding: 6px 14px; border-left: 4px solid var(--quote-line); background: var(--quote-bg); color: var(--text2); }
blockquote cite { display: block; color: var(--muted); font-style: normal; font-size: 13px; margin-top: 2px; }
.tested { margin: 4px 0 8px; }
.verdict { display: inline-block; padding: 1px 9px; border-radius: 10px; color: #fff; font-weight: 600; font-size: 13px; white-space: nowrap; }
.verdict.yes { background: var(--yes); } .verdict.no { background: var(--no); } .verdict.partly { background: var(--partly); } .verdict.na { background: var(--na); }
ul.verdicts { list-style: none; padding: 0; margin: 8px 0; } ul.verdicts li { margin: 6px 0; }
.evidence { display: block; margin: 2px 0 0 2px; } .stats { display: block; color: var(--muted); font-size: 13px; }
table { border-collapse: collapse; margin: 8px 0 14px; font-size: 13px; font-variant-numeric: tabular-nums; }
th, td { border-bottom: 1px solid var(--line); padding: 4px 10px 4px 0; text-align: left; vertical-align: top; }
th { font-weight: 600; border-bottom: 2px solid var(--strong-line); } td.num { text-align: right; white-space: nowrap; } td:first-child { white-space: nowrap; } th:not(:first-child), td:not(:first-child) { padding-left: 10px; }
.spread { color: var(--muted); font-size: 12px; white-space: nowrap; display: block; }
.table-wrap { overflow-x: auto; }
figure.chart { margin: 12px 0 18px; } figure.chart svg { max-width: 100%; height: auto; display: block; }
figcaption { color: var(--muted); font-size: 13px; }
.missing { color: var(--muted); font-style: italic; }
.machine, .cmd { font-size: 13px; color: var(--text2); margin: 4px 0; } code, pre { font: 12.5px ui-monospace, SFMono-Regular, Menlo, monospace; }
pre.cmd { background: var(--code-bg); padding: 6px 10px; border-radius: 4px; white-space: pre-wrap; }
table.matrix td { min-width: 190px; } table.matrix th.machine-head { font-weight: 400; font-size: 12px; } table.matrix th.machine-head b { font-size: 13px; }
.headline { display: block; font-size: 12.5px; margin-top: 2px; }
.cite { border: 1px solid var(--line); border-radius: 6px; padding: 8px 14px; margin: 12px 0 18px; font-size: 13.5px; }
.cite h4 { margin: 0 0 4px; font-size: 13px; color: var(--muted); font-weight: 600; }
.cite p { margin: 2px 0; }
.disagree { background: var(--note-bg); border-left: 4px solid var(--note-line); padding: 6px 12px; margin: 8px 0 12px; font-size: 13.5px; }
.disagree ul { margin: 4px 0; padding-left: 20px; }
details.long { margin: 6px 0 14px; } details.long > summary { cursor: pointer; color: var(--link); font-size: 13.5px; }
dl.method dt { font-weight: 600; margin-top: 10px; } dl.method dd { margin: 2px 0 0 0; }
@media print {
  nav, .no-print { display: none; }
  body { font-size: 11pt; background: #fff; color: #000; }
  main { max-width: none; padding: 0; }
  h2 { break-after: avoid; } figure.chart, table, blockquote, .cite, .disagree { break-inside: avoid; }
  /* Folded tables print whole. */
  details.long > summary { display: none; }
  details.long::details-content { content-visibility: visible; display: contents; }
  a[href^="http"]::after { content: " <" attr(href) ">"; font-size: 9pt; color: #444; word-break: break-all; }
  .table-wrap { overflow: visible; }
}
`;

export interface ResearchReport {
  html: string;
  charts: RenderedChart[];
  chartMs: number;
}

/** report.html from the machines' results. */
export async function renderResearchReport(machines: Machine[], outDir = '.'): Promise<ResearchReport> {
  const t0 = performance.now();
  const charts = await renderCharts(machines);
  const chartMs = performance.now() - t0;
  const out: string[] = [];
  const several = machines.length > 1;
  const title = several
    ? `cowbench: the 2016 claims on ${machines.length} machines`
    : `cowbench: the 2016 claims on ${machines[0]!.label}`;
  out.push(
    `<!doctype html>\n<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">`,
    `<title>${esc(title)}</title><style>${CSS}</style></head><body><main>`,
    `<h1>${esc(title)}</h1>`,
    `<p class="sub">Each claim of the <a href="${esc(SEED_ARCHIVE)}">${esc(SEED_THREAD)}</a> thread, put to numbers by <code>cowbench bench</code>: the verdict, its chart, its table, where it ran and how to run it again. How the verdicts are decided: <a href="#methodology">Methodology</a>.</p>`,
    citeBox(machines),
  );
  // Contents
  const item = (s: Section) =>
    `<li><a href="#${anchor(s.id)}"><b>${esc(s.id)}</b> ${esc(SHORT_TITLES[s.id] ?? '')}</a>${several ? '' : ` ${verdictBadges(s.id, machines)}`}</li>`;
  out.push(
    '<nav><h3>Contents</h3><ul class="toc">',
    `<li><a href="#machines">Machines</a></li>`,
    ...(several ? [`<li><a href="#matrix">Claims × machines</a></li>`] : []),
    `<li><a href="#methodology">Methodology</a></li>`,
    '</ul><div class="toc-cols"><div><h4>Claims of the 2016 thread</h4><ul class="toc">',
    ...SECTIONS.filter((s) => s.id.startsWith('C')).map(item),
    '</ul></div><div><h4>Performance targets</h4><ul class="toc">',
    ...SECTIONS.filter((s) => !s.id.startsWith('C')).map(item),
    '</ul></div></div></nav>',
  );
  // Machines
  out.push('<h2 id="machines">Machines</h2><div class="table-wrap"><table class="facts"><thead><tr>');
  const facts: (keyof HostFacts)[] = [
    'host',
    'kernel',
    'cpu',
    'thp',
    'max_map_count',
    'virtualized',
    'cowbench',
    'date',
  ];
  out.push(
    `<th>results</th>${facts.map((f) => `<th>${esc(f.replaceAll('_', ' '))}</th>`).join('')}<th>data</th></tr></thead><tbody>`,
  );
  for (const m of machines) {
    const h = hostFacts(m);
    out.push(
      `<tr><td>${esc(m.label)}</td>${facts.map((f) => `<td>${esc(h[f])}</td>`).join('')}<td>${dataLinks(m, outDir)}</td></tr>`,
    );
  }
  out.push('</tbody></table></div>');
  if (several) out.push(matrixHtml(machines));
  for (const s of SECTIONS) out.push(sectionHtml(s, machines, charts));
  out.push(methodologyHtml(machines));
  const total = charts.filter((c) => c.svg).length;
  out.push(
    `<p class="sub" style="margin-top:40px">Generated by <code>cowbench report ${esc(machines.map((m) => m.dir).join(' '))}</code>: ${total} charts rendered with vega-lite in ${Math.round(chartMs)} ms. No script, no network: everything is in this file.</p>`,
    '</main></body></html>\n',
  );
  return { html: out.join('\n'), charts, chartMs };
}

/** The verdict of each machine as small badges (the contents list). */
function verdictBadges(claim: string, machines: Machine[]): string {
  return machines
    .map((m) => {
      const v = verdictsOf(m, claim)[0];
      return v
        ? `<span class="verdict small ${verdictClass(v.verdict)}">${esc(v.verdict)}</span>`
        : `<span class="verdict small na">not measured</span>`;
    })
    .join(' ');
}

function matrixHtml(machines: Machine[]): string {
  const head = machines
    .map((m) => {
      const h = hostFacts(m);
      return `<th class="machine-head"><b>${esc(m.label)}</b><br>Linux ${esc(h.kernel)}<br>accel ${esc(accelOf(m))}<br>${esc(h.cpu)}<br>THP ${esc(h.thp)} · max_map_count ${esc(h.max_map_count)}<br>cowbench ${esc(h.cowbench)}</th>`;
    })
    .join('');
  const body = SECTIONS.map((s) => {
    const cells = machines
      .map((m) => {
        const vs = verdictsOf(m, s.id);
        if (vs.length === 0) return `<td><span class="verdict na">not measured</span></td>`;
        const v = vs[0]!;
        const line = headline(s.id, m, v.evidence);
        return `<td><span class="verdict ${verdictClass(v.verdict)}">${esc(v.verdict)}</span>${line ? `<span class="headline">${esc(line)}</span>` : ''}</td>`;
      })
      .join('');
    return `<tr><th><a href="#${anchor(s.id)}">${esc(s.id)}</a></th>${cells}</tr>`;
  }).join('\n');
  return `<h2 id="matrix">Claims × machines</h2><div class="table-wrap"><table class="matrix"><thead><tr><th>claim</th>${head}</tr></thead><tbody>\n${body}\n</tbody></table></div>`;
}

function sectionHtml(s: Section, machines: Machine[], charts: RenderedChart[]): string {
  const out: string[] = [];
  out.push(
    `<section id="${anchor(s.id)}" data-claim="${esc(s.id)}">`,
    `<h2>${esc(s.id)} <span class="title">${esc(SHORT_TITLES[s.id] ?? '')}</span></h2>`,
  );
  const quote = SEED_QUOTES[s.id];
  if (quote)
    out.push(
      `<blockquote>“${esc(quote.text)}”<cite>— ${esc(quote.who)}, ${esc(quote.date)}</cite></blockquote>`,
    );
  out.push(`<p class="tested"><b>As tested:</b> ${esc(CLAIMS[s.id] ?? '')}</p>`);
  out.push('<ul class="verdicts">');
  for (const m of machines) {
    const vs = verdictsOf(m, s.id);
    if (vs.length === 0) out.push(`<li><span class="verdict na">not measured</span> on ${esc(m.label)}</li>`);
    for (const v of vs)
      out.push(
        `<li><span class="verdict ${verdictClass(v.verdict)}">${esc(v.verdict)}</span>${several(machines) ? ` on ${esc(m.label)}` : ''}<span class="evidence">${esc(v.evidence)}</span>${verdictStats(v)}</li>`,
      );
  }
  out.push('</ul>');
  out.push(disagreementHtml(s.id, machines));
  for (const c of charts.filter((c) => c.claims[0] === s.id)) out.push(chartFigure(c));
  if (s.see) out.push(`<p>Figures: see <a href="#${anchor(s.see)}">${esc(s.see)}</a>.</p>`);
  for (const t of s.tables)
    for (const m of machines) {
      const rs = rowsOf(m, t.suite).filter((r) => !t.part || r['part'] === t.part);
      const suite = m.results.suites[t.suite];
      if (!suite) continue;
      out.push(
        `<h3>${esc(t.suite)}${t.part ? ` (${esc(t.part)})` : ''}${several(machines) ? ` — ${esc(m.label)}` : ''}: ${esc(suite.description ?? '')}</h3>`,
      );
      if (suite.skipped) out.push(`<p class="missing">Skipped: ${esc(suite.skipped)}</p>`);
      for (const table of suiteTables(t.suite, rs))
        out.push(
          `${table.caption && !t.part ? `<p class="machine"><b>${esc(table.caption)}</b></p>` : ''}${foldLong(`<div class="table-wrap">${table.html}</div>`)}`,
        );
      out.push(`<p class="machine">Ran on ${machineLine(m, t.suite)}.</p>`);
      out.push(`<pre class="cmd">${esc(suiteCommand(m, t.suite))}</pre>`);
    }
  out.push('</section>');
  return out.join('\n');
}

const several = (machines: Machine[]) => machines.length > 1;

/** Tables longer than this many rows are folded (print shows them whole). */
const FOLD_ROWS = 15;

/** A long table folded in <details>, its row count in the summary. */
function foldLong(tableHtml: string): string {
  const rows = (tableHtml.match(/<tr[\s>]/g) ?? []).length - 1;
  if (rows <= FOLD_ROWS) return tableHtml;
  return `<details class="long"><summary>table: ${rows} rows (show)</summary>${tableHtml}</details>`;
}

/** results.json and each suite's CSV of a machine, linked relative to the report. */
function dataLinks(m: Machine, outDir: string): string {
  let names: string[] = [];
  try {
    names = readdirSync(m.dir).filter((f) => f === 'results.json' || f.endsWith('.csv'));
  } catch {
    /* an unreadable directory: no links */
  }
  names.sort((a, b) => (a === 'results.json' ? -1 : b === 'results.json' ? 1 : a.localeCompare(b)));
  return names
    .map((f) => `<a href="${esc(path.relative(outDir, path.join(m.dir, f)))}">${esc(f)}</a>`)
    .join(' ');
}

/** The package's name, version and licence, for the cite-as box (CITATION.cff holds the same). */
function packageFacts(): { version: string; license: string } {
  try {
    const p = JSON.parse(readFileSync(path.join(packageRoot, 'package.json'), 'utf8')) as {
      version?: string;
      license?: string;
    };
    return { version: p.version ?? 'unknown', license: p.license ?? 'unknown' };
  } catch {
    return { version: 'unknown', license: 'unknown' };
  }
}

/** The title CITATION.cff gives the software (a test keeps the two equal). */
export const CITATION_TITLE =
  'cowbench: point-in-time copy-on-write snapshots of live memory, and what each costs';

/** "Cite as": the software, and the results this page shows (directory, commit, date). */
function citeBox(machines: Machine[]): string {
  const { version } = packageFacts();
  const years = [...new Set(machines.map((m) => hostFacts(m).date.slice(0, 4)).filter(Boolean))].sort();
  const year = years.at(-1) ?? String(new Date().getFullYear());
  const runs = machines.map((m) => {
    const h = hostFacts(m);
    return `${m.label} (cowbench ${h.cowbench}, Linux ${h.kernel}, ${h.date})`;
  });
  return (
    `<div class="cite" id="cite"><h4>Cite as</h4>` +
    `<p>The cowbench authors (${esc(year)}). <i>${esc(CITATION_TITLE)}</i>, version ${esc(version)} [software]. Results: ${esc(runs.join('; '))}.</p>` +
    `<p class="sub" style="margin:4px 0 0">Machine-readable: <code>CITATION.cff</code> in the cowbench package. Cite the results directory with its commit: the figures are only meaningful with the machine they came from.</p></div>`
  );
}

/** Where machines give a claim different verdicts: say so, and what differs in their fingerprints. */
function disagreementHtml(claim: string, machines: Machine[]): string {
  const judged = machines
    .map((m) => ({ m, v: verdictsOf(m, claim)[0] }))
    .filter((x): x is { m: Machine; v: ResultVerdict & { suite: string } } => x.v !== undefined);
  if (new Set(judged.map((x) => x.v.verdict)).size < 2) return '';
  let diffs = fingerprintDifferences(
    judged.map((x) => ({ ...x.m.results.env, ...(x.m.results.fingerprint ?? {}) })),
  ).filter((d) => d.field !== 'hostname');
  // A field one run did not record (an older cowbench) is no difference between the machines.
  const unrecorded = diffs.filter((d) => d.values.includes(null)).length;
  diffs = diffs.filter((d) => !d.values.includes(null));
  const who = judged.map((x) => `${x.m.label}: ${x.v.verdict}`).join('; ');
  const list = diffs.length
    ? `<ul>${diffs
        .slice(0, 12)
        .map(
          (d) =>
            `<li><code>${esc(d.field)}</code>: ${esc(d.values.map((v, i) => `${judged[i]!.m.label} ${v ?? '–'}`).join(' · '))}</li>`,
        )
        .join(
          '',
        )}${diffs.length > 12 ? `<li>and ${diffs.length - 12} more fields</li>` : ''}${unrecorded ? `<li>${unrecorded} field${unrecorded === 1 ? '' : 's'} recorded by only some of these runs (not compared)</li>` : ''}</ul>`
    : '<p>Their fingerprints do not differ: the same kind of machine gave different verdicts, so read the intervals (noise or load between the runs).</p>';
  return `<div class="disagree" data-disagree="${esc(claim)}"><b>The machines disagree</b> (${esc(who)}). What differs in their fingerprints:${list}</div>`;
}

/** How the figures were taken and the verdicts decided, with this report's own n and noise. */
function methodologyHtml(machines: Machine[]): string {
  const perMachine = machines.map((m) => {
    const o = m.results.options ?? {};
    const r = m.results as unknown as {
      calibrations?: unknown[];
      calibration_spread?: Record<string, number>;
      noise?: { warning?: string | null };
    };
    const repeat = typeof o['repeat'] === 'number' ? o['repeat'] : o['quick'] === true ? 2 : 5;
    const spread = r.calibration_spread
      ? Object.entries(r.calibration_spread)
          .map(([k, v]) => `${k} ${Math.round(v * 100)}%`)
          .join(', ')
      : 'not recorded (an older results file)';
    return `<li><b>${esc(m.label)}</b>: ${esc(String(repeat))} trials per figure${o['quick'] === true ? ' (--quick: smaller regions; a target naming a larger one is never marked met)' : ''}; calibration repeated ${esc(String(r.calibrations?.length ?? 1))}× through the run, spread ${esc(spread)}${r.noise?.warning ? `; <b>noise warning</b>: ${esc(r.noise.warning)}` : ''}.</li>`;
  });
  return [
    '<section id="methodology"><h2>Methodology</h2><dl class="method">',
    '<dt>Trials</dt><dd>Each trial of each suite runs in a fresh child process (signal handlers, userfaultfd registrations and fork stay process-wide), after a baseline phase in which the writers run undisturbed; a failed trial is recorded and the suite goes on. Every snapshot image is verified page by page against the state at its consistency point.</dd>',
    `<dt>n</dt><dd>Per machine:<ul>${perMachine.join('')}</ul>Raw samples are kept in <code>results.json</code> (linked in the Machines table).</dd>`,
    `<dt>Effect and interval</dt><dd>An effect is a ratio of medians, or one median, with a 95% percentile-bootstrap confidence interval (2,000 resamples, fixed seed, so the same samples give the same interval). Where two distributions are compared, the two-sided Mann–Whitney U test gives p.</dd>`,
    `<dt>Verdicts</dt><dd>A claim is <i>confirmed</i> (a target <i>met</i>) only when the whole interval is on the good side of its bound, <i>refuted</i> (<i>missed</i>) only when the whole interval is on the wrong side. Otherwise, or with fewer than ${MIN_SAMPLES} samples a side, the verdict is <i>not measurable here</i> with its reason. Deterministic counts (pages reported by a scan, runs that verified) are compared exactly, without a test.</dd>`,
    '<dt>“Not measurable here”</dt><dd>Not a failure of the claim: the interval straddles the bound, there were too few samples, the kernel or machine lacks what the measurement needs (a named skip), or the figure is a timing taken on an emulated CPU, which says nothing about real hardware.</dd>',
    '<dt>Noise</dt><dd>The machine is calibrated during the run (memcpy bandwidth, one plain page fault, sequential file writes), several times; a spread above 30% is flagged as a noise warning: such a run cannot resolve a 30% change. Shared VMs move 10–50% between runs.</dd>',
    "<dt>Thresholds (CI)</dt><dd><code>cowbench compare</code> gates on a significant regression whose cost change exceeds the metric's threshold (docs/metrics.md), and on metrics missing from the new run; thresholds were set from A/A runs of one build.</dd>",
    '</dl></section>',
  ].join('\n');
}

/** REPORT.md's chart links (git forges render charts/*.svg inline). */
export function chartsMarkdown(charts: RenderedChart[]): string {
  const lines = ['## Charts\n'];
  for (const c of charts)
    lines.push(
      c.file ? `![${c.title}](${c.file})\n` : `- ${c.title}: not drawn (${c.missing ?? 'no data'})\n`,
    );
  return lines.join('\n');
}

/**
 * REPORT.md with each chart linked under its suite's heading (`## vma (C1): …`); charts whose suite
 * has no heading, and the ones that could not be drawn, in a Charts section at the end.
 */
export function withChartLinks(markdown: string, charts: RenderedChart[]): string {
  let text = markdown
    .replace(/\n## Charts\n[\s\S]*$/, '\n')
    .replace(/^!\[[^\]]*\]\(charts\/[^)]+\.svg\)\n\n/gm, '');
  const rest: RenderedChart[] = [];
  const bySuite = new Map<string, RenderedChart[]>();
  for (const c of charts) bySuite.set(c.suite, [...(bySuite.get(c.suite) ?? []), c]);
  for (const [suite, list] of bySuite) {
    const heading = new RegExp(`^## ${suite} \\(.*\\n\\n`, 'm');
    const drawn = list.filter((c) => c.file);
    rest.push(...list.filter((c) => !c.file));
    if (!heading.test(text)) rest.push(...drawn);
    else text = text.replace(heading, (h) => h + drawn.map((c) => `![${c.title}](${c.file})\n\n`).join(''));
  }
  return rest.length ? `${text.trimEnd()}\n\n${chartsMarkdown(rest)}` : text;
}

/** REPORT.md of several directories: the claims × machines matrix, then the charts. */
export function matrixMarkdown(machines: Machine[], charts: RenderedChart[], outDir = '.'): string {
  const out: string[] = [`# cowbench: the 2016 claims on ${machines.length} machines\n`];
  out.push(
    `| claim | ${machines.map((m) => `${m.label} (Linux ${hostFacts(m).kernel.replace(/ \(QEMU \w+\)$/, '')}, accel ${accelOf(m)})`).join(' | ')} |`,
    `|---|${machines.map(() => '---').join('|')}|`,
  );
  const md = (s: string) => s.replaceAll('|', '\\|');
  for (const s of SECTIONS)
    out.push(
      `| ${s.id} | ${machines
        .map((m) => {
          const v = verdictsOf(m, s.id)[0];
          if (!v) return 'not measured';
          const h = headline(s.id, m, v.evidence);
          return `**${md(v.verdict)}**${h ? `: ${md(h)}` : ''}`;
        })
        .join(' | ')} |`,
    );
  out.push(
    '',
    ...machines.map((m) => {
      const h = hostFacts(m);
      return `- ${m.label}: Linux ${h.kernel}, ${h.cpu}, THP ${h.thp}, vm.max_map_count ${h.max_map_count}, cowbench ${h.cowbench}; [REPORT.md](${path.relative(outDir, m.dir)}/REPORT.md)`;
    }),
    '',
  );
  out.push(chartsMarkdown(charts));
  return out.join('\n') + '\n';
}

export interface WrittenReport {
  dir: string;
  files: string[];
  chartMs: number;
  htmlBytes: number;
}

/** Reads each DIR's results.json and writes charts/, report.html (and REPORT.md for several) into `outDir`. */
export async function writeResearchReport(dirs: string[], outDir: string = dirs[0]!): Promise<WrittenReport> {
  const machines = dirs.map((d) =>
    // loadResults refuses a damaged or mis-shaped results.json in one line naming the file (exit 2).
    machineOf(d, loadResults(d) as unknown as BenchResults),
  );
  const r = await renderResearchReport(machines, outDir);
  writeCharts(outDir, r.charts);
  const html = path.join(outDir, 'report.html');
  replaceFile(html, r.html);
  const files = [html, ...r.charts.filter((c) => c.file).map((c) => path.join(outDir, c.file!))];
  const md = path.join(outDir, 'REPORT.md');
  if (machines.length > 1) {
    replaceFile(md, matrixMarkdown(machines, r.charts, outDir));
    files.push(md);
  } else if (existsSync(md)) {
    // One directory: REPORT.md (written by writeReport) gains the chart links.
    replaceFile(md, withChartLinks(readRegularFile(md, 64 << 20, 'REPORT.md'), r.charts));
  }
  return { dir: outDir, files, chartMs: r.chartMs, htmlBytes: Buffer.byteLength(r.html) };
}

/** Where a report of these directories goes without --out: the one DIR, or report-<names> beside the first. */
export function reportDir(dirs: string[]): string {
  return dirs.length === 1
    ? dirs[0]!
    : path.join(
        path.dirname(path.resolve(dirs[0]!)),
        `report-${dirs.map((d) => path.basename(path.resolve(d))).join('+')}`,
      );
}

/**
 * `cowbench report DIR [DIR…]`: REPORT.md, charts/ and report.html. One directory: into it. Several:
 * into --out (default: report-<names> beside the first), the per-directory REPORT.md refreshed too.
 */
export async function reportCommand(dirs: string[], out: string | null): Promise<string> {
  // Each input is read (and refused in one line) before anything is written.
  for (const d of dirs) loadResults(d);
  const outDir = out ?? reportDir(dirs);
  // Every output goes under outDir: an existing directory or one made now (its parent must exist).
  outputDirectory('--out', outDir);
  // One directory: its REPORT.md afresh into outDir (then with chart links). Several: the inputs stay as they are.
  if (dirs.length === 1) writeReport(dirs[0]!, outDir);
  const r = await writeResearchReport(dirs, outDir);
  return (
    `${path.join(outDir, 'REPORT.md')}\n${path.join(outDir, 'report.html')} (${(r.htmlBytes / 1024).toFixed(0)} KiB, ` +
    `${r.files.filter((f) => f.endsWith('.svg')).length} charts rendered in ${Math.round(r.chartMs)} ms)\n`
  );
}
