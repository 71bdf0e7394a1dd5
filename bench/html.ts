/**
 * `cowbench report DIR [DIR…]`: charts/*.svg, report.html (one self-contained file: inline SVG, no
 * script, no network) and, for several directories, a claims × machines REPORT.md. Its input is the
 * parsed results.json of each directory; nothing here measures anything.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
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
import { SEED_QUOTES, SEED_THREAD, SHORT_TITLES } from './charts/seed.js';
import { esc, suiteTables } from './charts/tables.js';
import { UsageError } from '../src/errors.js';
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

const CSS = `
:root { --fg:#1b1b1b; --muted:#666; --line:#ddd; --yes:#1a7f37; --no:#c62828; --partly:#b26a00; --na:#777; }
* { box-sizing: border-box; }
body { font: 15px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: var(--fg); margin: 0; }
main { max-width: 1080px; margin: 0 auto; padding: 24px 28px 64px; }
h1 { font-size: 26px; margin: 0 0 4px; } h2 { font-size: 21px; margin: 40px 0 8px; border-top: 1px solid var(--line); padding-top: 20px; }
h3 { font-size: 16px; margin: 20px 0 6px; }
.sub { color: var(--muted); margin: 0 0 16px; }
nav h4 { margin: 10px 0 2px; font-size: 14px; color: var(--muted); font-weight: 600; }
ul.toc { list-style: none; padding: 0; margin: 4px 0; } ul.toc li { margin: 3px 0; }
.toc-cols { display: grid; grid-template-columns: 1fr 1fr; gap: 0 28px; }
h2 .title { font-weight: 400; color: #333; }
.verdict.small { font-size: 11px; padding: 0 6px; font-weight: 600; vertical-align: 1px; }
table.matrix th:first-child { white-space: nowrap; }
table.facts td { white-space: nowrap; } table.facts td:nth-child(4), table.facts td:nth-child(7) { white-space: normal; }
a { color: #0b5cad; }
blockquote { margin: 8px 0 10px; padding: 6px 14px; border-left: 4px solid #b8c7dd; background: #f6f8fb; color: #333; }
blockquote cite { display: block; color: var(--muted); font-style: normal; font-size: 13px; margin-top: 2px; }
.tested { margin: 4px 0 8px; }
.verdict { display: inline-block; padding: 1px 9px; border-radius: 10px; color: #fff; font-weight: 600; font-size: 13px; white-space: nowrap; }
.verdict.yes { background: var(--yes); } .verdict.no { background: var(--no); } .verdict.partly { background: var(--partly); } .verdict.na { background: var(--na); }
ul.verdicts { list-style: none; padding: 0; margin: 8px 0; } ul.verdicts li { margin: 6px 0; }
.evidence { display: block; margin: 2px 0 0 2px; } .stats { display: block; color: var(--muted); font-size: 13px; }
table { border-collapse: collapse; margin: 8px 0 14px; font-size: 13px; font-variant-numeric: tabular-nums; }
th, td { border-bottom: 1px solid var(--line); padding: 4px 10px 4px 0; text-align: left; vertical-align: top; }
th { font-weight: 600; border-bottom: 2px solid #bbb; } td.num { text-align: right; white-space: nowrap; } td:first-child { white-space: nowrap; } th:not(:first-child), td:not(:first-child) { padding-left: 10px; }
.spread { color: var(--muted); font-size: 12px; white-space: nowrap; display: block; }
.table-wrap { overflow-x: auto; }
figure.chart { margin: 12px 0 18px; } figure.chart svg { max-width: 100%; height: auto; display: block; }
figcaption { color: var(--muted); font-size: 13px; }
.missing { color: var(--muted); font-style: italic; }
.machine, .cmd { font-size: 13px; color: #333; margin: 4px 0; } code, pre { font: 12.5px ui-monospace, SFMono-Regular, Menlo, monospace; }
pre.cmd { background: #f4f4f4; padding: 6px 10px; border-radius: 4px; white-space: pre-wrap; }
table.matrix td { min-width: 190px; } table.matrix th.machine-head { font-weight: 400; font-size: 12px; } table.matrix th.machine-head b { font-size: 13px; }
.headline { display: block; font-size: 12.5px; margin-top: 2px; }
`;

export interface ResearchReport {
  html: string;
  charts: RenderedChart[];
  chartMs: number;
}

/** report.html from the machines' results. */
export async function renderResearchReport(machines: Machine[]): Promise<ResearchReport> {
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
    `<p class="sub">Each claim of the ${esc(SEED_THREAD)} thread, put to numbers by <code>cowbench bench</code>: the verdict, its chart, its table, where it ran and how to run it again.</p>`,
  );
  // Contents
  const item = (s: Section) =>
    `<li><a href="#${anchor(s.id)}"><b>${esc(s.id)}</b> ${esc(SHORT_TITLES[s.id] ?? '')}</a>${several ? '' : ` ${verdictBadges(s.id, machines)}`}</li>`;
  out.push(
    '<nav><h3>Contents</h3><ul class="toc">',
    `<li><a href="#machines">Machines</a></li>`,
    ...(several ? [`<li><a href="#matrix">Claims × machines</a></li>`] : []),
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
    `<th>results</th>${facts.map((f) => `<th>${esc(f.replaceAll('_', ' '))}</th>`).join('')}</tr></thead><tbody>`,
  );
  for (const m of machines) {
    const h = hostFacts(m);
    out.push(`<tr><td>${esc(m.label)}</td>${facts.map((f) => `<td>${esc(h[f])}</td>`).join('')}</tr>`);
  }
  out.push('</tbody></table></div>');
  if (several) out.push(matrixHtml(machines));
  for (const s of SECTIONS) out.push(sectionHtml(s, machines, charts));
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
          `${table.caption && !t.part ? `<p class="machine"><b>${esc(table.caption)}</b></p>` : ''}<div class="table-wrap">${table.html}</div>`,
        );
      out.push(`<p class="machine">Ran on ${machineLine(m, t.suite)}.</p>`);
      out.push(`<pre class="cmd">${esc(suiteCommand(m, t.suite))}</pre>`);
    }
  out.push('</section>');
  return out.join('\n');
}

const several = (machines: Machine[]) => machines.length > 1;

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
  const r = await renderResearchReport(machines);
  mkdirSync(outDir, { recursive: true });
  writeCharts(outDir, r.charts);
  const html = path.join(outDir, 'report.html');
  writeFileSync(html, r.html);
  const files = [html, ...r.charts.filter((c) => c.file).map((c) => path.join(outDir, c.file!))];
  const md = path.join(outDir, 'REPORT.md');
  if (machines.length > 1) {
    writeFileSync(md, matrixMarkdown(machines, r.charts, outDir));
    files.push(md);
  } else if (existsSync(md)) {
    // One directory: REPORT.md (written by writeReport) gains the chart links.
    writeFileSync(md, withChartLinks(readFileSync(md, 'utf8'), r.charts));
  }
  return { dir: outDir, files, chartMs: r.chartMs, htmlBytes: Buffer.byteLength(r.html) };
}

/**
 * `cowbench report DIR [DIR…]`: REPORT.md, charts/ and report.html. One directory: into it. Several:
 * into --out (default: report-<names> beside the first), the per-directory REPORT.md refreshed too.
 */
export async function reportCommand(dirs: string[], out: string | null): Promise<string> {
  for (const d of dirs)
    if (!existsSync(path.join(d, 'results.json')))
      throw new UsageError('dir', `${d} holds no results.json (run cowbench bench first)`);
  // One directory: its REPORT.md afresh (then with chart links). Several: the inputs stay as they are.
  if (dirs.length === 1) writeReport(dirs[0]!);
  const outDir =
    out ??
    (dirs.length === 1
      ? dirs[0]!
      : path.join(
          path.dirname(path.resolve(dirs[0]!)),
          `report-${dirs.map((d) => path.basename(path.resolve(d))).join('+')}`,
        ));
  const r = await writeResearchReport(dirs, outDir);
  return (
    `${path.join(outDir, 'REPORT.md')}\n${path.join(outDir, 'report.html')} (${(r.htmlBytes / 1024).toFixed(0)} KiB, ` +
    `${r.files.filter((f) => f.endsWith('.svg')).length} charts rendered in ${Math.round(r.chartMs)} ms)\n`
  );
}
