/**
 * The report's figures as people read them: human units and exact integers in report.html's
 * tables, yes/no in the CSVs, every chart drawn from the committed results (no browser needed).
 */
import test from 'ava';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { CHARTS, renderCharts } from '../bench/charts/index.js';
import { machineOf, type BenchResults } from '../bench/charts/data.js';
import { bytes } from '../src/format.js';
import { formatCell, suiteTables } from '../bench/charts/tables.js';
import { writeCsv } from '../bench/runner.js';
import { packageRoot } from '../src/native.js';
import { tempDir } from './helpers.js';

const FULL = path.join(packageRoot, 'results', '2026-11-26-vm');

test('human units: bytes, ratios, integers exact, booleans yes/no', (t) => {
  t.is(bytes(268435456), '256 MiB');
  t.is(bytes(2147483648), '2 GiB');
  t.is(bytes(2491), '2.43 KiB');
  t.is(formatCell('region_bytes', 1073741824), '1 GiB');
  t.is(formatCell('vma_count_peak', 268435456), '268,435,456');
  t.is(formatCell('writer_throughput_ratio', 0.0781), '0.078×');
  t.is(formatCell('exact', true), 'yes');
  t.is(formatCell('enomem', false), 'no');
  t.is(formatCell('pause_us', null), '–');
});

test('tables have at most 10 columns and show median (min…max)', (t) => {
  const results = JSON.parse(readFileSync(path.join(FULL, 'results.json'), 'utf8')) as BenchResults;
  for (const [suite, s] of Object.entries(results.suites))
    for (const table of suiteTables(suite, s.rows)) {
      const head = /<thead>(.*?)<\/thead>/s.exec(table.html)?.[1] ?? '';
      const columns = (head.match(/<th>/g) ?? []).length;
      t.true(columns > 0 && columns <= 10, `${suite}: ${columns} columns`);
    }
  const memory = suiteTables('memory', results.suites['memory']!.rows)[0]!.html;
  t.regex(memory, /2\.55 MiB <span class="spread">\(2\.04 MiB…3\.34 MiB\)<\/span>/);
});

test('CSV booleans are yes/no, integers exact', (t) => {
  const dir = tempDir(t);
  const file = path.join(dir, 'x.csv');
  writeCsv(file, [{ region_bytes: 268435456, enomem: true, exact: false }]);
  t.is(readFileSync(file, 'utf8'), 'region_bytes,enomem,exact\n268435456,yes,no\n');
});

test('every chart renders from the committed results, or names what it lacks', async (t) => {
  const results = JSON.parse(readFileSync(path.join(FULL, 'results.json'), 'utf8')) as BenchResults;
  const charts = await renderCharts([machineOf(FULL, results)]);
  t.is(charts.length, CHARTS.length);
  for (const c of charts) {
    if (c.id === 'timeline') {
      t.is(c.svg, null);
      t.regex(c.missing ?? '', /no writer-throughput timeline/);
      continue;
    }
    if (c.id === 'fault-around') {
      t.is(c.svg, null);
      t.regex(c.missing ?? '', /no fault-around suite/);
      continue;
    }
    t.truthy(c.svg, `${c.id}: ${c.missing ?? ''}`);
    t.regex(c.svg ?? '', /class="mark-[a-z]+ role-mark/);
  }
  // Several charts in one page: their clip-path ids do not collide.
  const ids = charts.flatMap((c) => [...(c.svg ?? '').matchAll(/ id="([^"]+)"/g)].map((m) => m[1]));
  t.is(new Set(ids).size, ids.length);
});
