/**
 * `cowbench history changes|gate` and `report --db` on an embedded history of 12 synthetic runs
 * made from a committed bench --ci result: each run's samples moved by a little seeded noise, and
 * in the second history the uffd thread fault round trip tripled from run 9 on. The gate exits 0
 * on the first, 1 on the second (and 0 when the step is older than --newest), 2 on bad input; the
 * report gains a history section whose trend chart marks the step, and whose change-point table
 * fits the page in Chromium.
 */
import test from 'ava';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { medianDomain, trendSpec } from '../bench/history/report.js';
import { readRun, recordRun, type RunRecord, type StoredRun } from '../bench/history/runs.js';
import { openStore } from '../bench/history/store.js';
import { seededRandom } from '../bench/stats.js';
import { packageRoot } from '../src/native.js';
import { runCli } from './helpers.js';
import { testIf } from './skip.js';

const FIXTURE = path.join(packageRoot, 'results', '2026-12-01-vm-ci-aa1', 'pair1-a', 'results.json');
const STEPPED = 'ci/part=fault,mode=thread,backend=uffd,pages=4096/fault_us';
const scratch = mkdtempSync(path.join(os.tmpdir(), 'cowbench-history-cli-'));
test.after.always(() => rmSync(scratch, { recursive: true, force: true }));

/** A history of 12 runs; with `stepAt`, the stepped metric ×3 from that run (0-based) on. */
async function history(name: string, stepAt: number | null): Promise<string> {
  const base = JSON.parse(readFileSync(FIXTURE, 'utf8')) as {
    env: { date: string };
    metrics: Record<string, { samples: number[] }>;
  };
  const rand = seededRandom(name.length);
  const db = path.join(scratch, `${name}.pglite`);
  const store = await openStore(db);
  try {
    for (let i = 0; i < 12; i++) {
      const r = structuredClone(base);
      r.env.date = new Date(Date.parse(base.env.date) + i * 3_600_000).toISOString();
      for (const [key, m] of Object.entries(r.metrics))
        m.samples = m.samples.map(
          (x) =>
            x * (1 + 0.02 * (rand() - 0.5)) * (key === STEPPED && stepAt !== null && i >= stepAt ? 3 : 1),
        );
      const dir = path.join(scratch, name, `run-${String(i + 1).padStart(2, '0')}`);
      mkdirSync(dir, { recursive: true });
      writeFileSync(path.join(dir, 'results.json'), JSON.stringify(r));
      await recordRun(store, readRun(dir, 'dir') as RunRecord);
    }
  } finally {
    await store.close();
  }
  return db;
}

test.serial('an A/A history has no change point and the gate exits 0', async (t) => {
  const db = await history('aa', null);
  const changes = await runCli(['history', 'changes', '--db', db, '--format', 'json']);
  t.is(changes.code, 0, changes.stderr);
  t.deepEqual((JSON.parse(changes.stdout) as { changes: unknown[] }).changes, []);
  const gate = await runCli(['history', 'gate', '--db', db, '--fail-on-regression']);
  t.is(gate.code, 0, gate.stdout + gate.stderr);
  t.regex(gate.stdout, /gate: no regression among the newest 5 runs/);
});

/** The history with the step, made once for the tests that read it. */
let stepped: Promise<string> | undefined;
const steppedHistory = () => (stepped ??= history('ab', 8));

test.serial(
  'a step is found at its first run, the gate exits 1 on it, and the report marks it',
  async (t) => {
    const db = await steppedHistory();
    const changes = await runCli(['history', 'changes', '--db', db, '--format', 'json']);
    t.is(changes.code, 0, changes.stderr);
    const found = (
      JSON.parse(changes.stdout) as {
        changes: { metric: string; subject: string; direction: string; change: number; ci: number[] }[];
      }
    ).changes;
    t.is(found.length, 1, changes.stdout);
    t.is(found[0]!.metric, STEPPED);
    t.is(found[0]!.subject, 'run-09');
    t.is(found[0]!.direction, 'regression');
    t.true(Math.abs(found[0]!.change - 2) < 0.1, String(found[0]!.change));
    t.true(found[0]!.ci[0]! <= found[0]!.change && found[0]!.change <= found[0]!.ci[1]!);

    const gate = await runCli(['history', 'gate', '--db', db, '--newest', '5', '--fail-on-regression']);
    t.is(gate.code, 1, gate.stdout + gate.stderr);
    t.regex(gate.stdout, /1 regression among the newest 5 runs: .*fault_us at run-09/);
    const junit = await runCli(['history', 'gate', '--db', db, '--format', 'junit', '--fail-on-regression']);
    t.is(junit.code, 1);
    t.regex(junit.stdout, /<failure message="regression \+20\d%/);
    // Without the flag the gate reports and passes; a step older than --newest passes it.
    t.is((await runCli(['history', 'gate', '--db', db])).code, 0);
    t.is((await runCli(['history', 'gate', '--db', db, '--newest', '3', '--fail-on-regression'])).code, 0);

    const out = path.join(scratch, 'report');
    const report = await runCli(['report', '--db', db, '--out', out]);
    t.is(report.code, 0, report.stderr);
    const html = readFileSync(path.join(out, 'report.html'), 'utf8');
    t.regex(html, /<section id="history"/);
    const slug = STEPPED.replace(/[^A-Za-z0-9]+/g, '-');
    const svg = readFileSync(path.join(out, 'charts', `history-${slug}.svg`), 'utf8');
    // The change point's label, drawn in the chart.
    t.regex(svg, /\+20\d% at run-09/);
    const md = readFileSync(path.join(out, 'REPORT.md'), 'utf8');
    t.true(md.includes(`(charts/history-${slug}.svg)`));
    // Run again: the section is replaced, not doubled.
    t.is((await runCli(['report', '--db', db, '--out', out])).code, 0);
    t.is(readFileSync(path.join(out, 'report.html'), 'utf8').match(/<section id="history"/g)?.length, 1);
  },
);

const chromiumPath = ['/usr/bin/chromium', '/usr/bin/chromium-browser'].find((p) => existsSync(p)) ?? null;

testIf(chromiumPath !== null, 'no Chromium at /usr/bin/chromium (apt-get install chromium)').serial(
  'the history section in Chromium: the change-point table fits the page, a row a line or three, and the trend axis follows the medians',
  async (t) => {
    const db = await steppedHistory();
    const out = path.join(scratch, 'report-browser');
    const report = await runCli(['report', '--db', db, '--out', out]);
    t.is(report.code, 0, report.stderr);
    const { chromium } = await import('playwright-core');
    const browser = await chromium.launch({
      executablePath: chromiumPath!,
      args: ['--headless', '--no-sandbox'],
    });
    try {
      const page = await browser.newPage({ viewport: { width: 1280, height: 1000 } });
      await page.goto(pathToFileURL(path.join(out, 'report.html')).href, { waitUntil: 'load' });
      const layout = await page.evaluate(() => {
        const wrap = document.querySelector('#history .table-wrap')!;
        return {
          hidden: wrap.scrollWidth - wrap.clientWidth,
          rows: [...wrap.querySelectorAll('tbody tr')].map((tr) => tr.getBoundingClientRect().height),
        };
      });
      // Before: the metric's unbreakable key widened the table past the page (change, CI and p
      // behind a horizontal scroll) and squeezed the machine class into a column a word wide.
      t.true(layout.hidden <= 0, `${layout.hidden} px of the table behind a horizontal scroll`);
      t.is(layout.rows.length, 1);
      for (const h of layout.rows) t.true(h < 70, `a change-point row ${h} px high`);
    } finally {
      await browser.close();
    }
  },
);

test("a trend's y axis spans the medians: one sample 1,150× its median does not flatten the step", (t) => {
  // One sample far from its run's median does not set the axis: the step's medians span most of it.
  const spec = JSON.stringify(
    trendSpec(
      'ci/part=snapshot,mode=file,backend=forkcow,region_bytes=67108864,rate=65536/writer_throughput_ratio',
      [
        {
          series: {
            metric: 'x',
            unit: '×',
            machineClass: 'm',
            points: Array.from({ length: 12 }, (_, i) => ({
              run: i + 1,
              median: i < 8 ? 0.88 : 0.57,
              lo: 0.3,
              hi: i === 4 ? 1150 : 1.2,
            })),
          },
          changes: [],
        },
      ],
      Array.from({ length: 12 }, (_, i) => ({ id: i + 1, subject: `r${i + 1}` }) as StoredRun),
    ),
  );
  const [lo, hi] = medianDomain([0.88, 0.57]);
  t.true(hi < 1.2 && lo <= 0.57, `[${lo}, ${hi}]`);
  t.true((0.88 - 0.57) / (hi - lo) > 0.5, 'the step spans most of the axis');
  // Both y encodings (the medians and the min–max bars) take that domain.
  const domains = [...spec.matchAll(/"y":\{[^{}]*"scale":\{[^{}]*"domain":\[([^\]]*)\]/g)].map((m) => m[1]);
  t.is(domains.length, 2, spec.slice(0, 400));
  t.true(
    domains.every((d) => d === `${lo},${hi}`),
    domains.join(' | '),
  );
  t.regex(spec, /"clip":true/);
  t.regex(spec, /cut at the axis/);
});

test.serial('bad input is one line and exit 2', async (t) => {
  const file = path.join(scratch, 'not-a-db');
  writeFileSync(file, 'x');
  for (const args of [
    ['history', 'gate', '--alpha', '2'],
    ['history', 'changes', '--format', 'yaml'],
    ['history', 'gate', '--newest', '0'],
    ['history', 'list', '--db', file],
    ['history', 'add', path.join(scratch, 'missing')],
    ['report'],
  ]) {
    const r = await runCli([
      ...args,
      ...(args.includes('--db') || args[0] === 'report' ? [] : ['--db', path.join(scratch, 'bad.pglite')]),
    ]);
    t.is(r.code, 2, `${args.join(' ')}: ${r.stdout}${r.stderr}`);
    t.is(r.stderr.trim().split('\n').length, 1, `${args.join(' ')}: ${r.stderr}`);
  }
});
