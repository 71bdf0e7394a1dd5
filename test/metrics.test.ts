/** The metric registry: one entry per (suite, metric), sane fields, keys, and docs/metrics.md generated from it. */
import test from 'ava';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  caseOfRow,
  lookupMetric,
  METRICS,
  metricDef,
  metricKey,
  parseKey,
  renderMetricsDoc,
} from '../bench/metrics.js';
import { extractMetrics } from '../bench/results.js';
import { spread } from '../bench/runner.js';
import { summarize } from '../bench/stats.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

test('every entry is unique and complete', (t) => {
  const seen = new Set<string>();
  for (const m of METRICS) {
    const id = `${m.suite}/${m.metric}`;
    t.false(seen.has(id), `${id} twice`);
    seen.add(id);
    t.true(['time', 'rate', 'count', 'bytes', 'ratio'].includes(m.kind), id);
    t.true(['lower', 'higher'].includes(m.polarity), id);
    t.true(m.threshold >= 0 && m.threshold <= 20, id);
    t.true(m.unit.length > 0 && m.description.length > 0, id);
    if (m.kind === 'rate') t.is(m.polarity, 'higher', `${id}: a rate is better higher`);
    if (m.kind === 'time' || m.kind === 'bytes') t.is(m.polarity, 'lower', id);
    if (m.exact) t.is(m.kind, 'count', `${id}: only counts are exact`);
  }
});

test('deterministic counts are compared exactly; timings statistically', (t) => {
  t.true(lookupMetric('ci/part=scan,engine=wp-async/reported_pages')!.exact);
  t.true(lookupMetric('ci/part=snapshot,backend=uffd/verified_runs')!.exact);
  t.is(lookupMetric('ci/part=snapshot,backend=uffd/verified_runs')!.threshold, 0);
  t.falsy(lookupMetric('ci/part=fault,mode=thread/fault_us')!.exact);
  t.is(lookupMetric('nosuch/x/y'), undefined);
});

test('keys: suite/case/metric round trip, cases from the identifying columns only', (t) => {
  const row = { backend: 'uffd', region_bytes: 1024, pause_us_median: 3, failure: null, detail: 'x' };
  t.is(caseOfRow(row), 'backend=uffd,region_bytes=1024');
  const key = metricKey('scale', caseOfRow(row), 'pause_us');
  t.deepEqual(parseKey(key), { suite: 'scale', case: 'backend=uffd,region_bytes=1024', metric: 'pause_us' });
  t.deepEqual(parseKey('latency/mode=a/b,flags=--x/fault_us'), {
    suite: 'latency',
    case: 'mode=a/b,flags=--x',
    metric: 'fault_us',
  });
  t.is(parseKey('nokey'), null);
});

test('extractMetrics moves raw samples out of rows; registered scalars become one-sample metrics', (t) => {
  const rows = [
    {
      backend: 'uffd',
      region_bytes: 1024,
      ...spread('pause_us', summarize([1, 2, 3]), 1),
      vma_count_peak: 7,
    },
  ];
  const scale = extractMetrics('scale', rows);
  t.deepEqual(scale.metrics['scale/backend=uffd,region_bytes=1024/pause_us'], {
    samples: [1, 2, 3],
    unit: 'µs',
  });
  t.false('pause_us_samples' in scale.rows[0]!);
  t.is(scale.rows[0]!['pause_us_median'], 2);
  const vma = extractMetrics('vma', [{ backend: 'mprotect', region_bytes: 1024, vma_count_peak: 7 }]);
  t.deepEqual(vma.metrics['vma/backend=mprotect,region_bytes=1024/vma_count_peak'], {
    samples: [7],
    unit: '1',
  });
});

test('docs/metrics.md is the one generated from the registry', (t) => {
  const doc = readFileSync(path.join(root, 'docs', 'metrics.md'), 'utf8');
  t.is(doc, renderMetricsDoc(), 'docs/metrics.md is stale: run `npm run docs:metrics`');
  for (const m of METRICS) t.true(doc.includes(`| ${m.suite} | ${m.metric} |`));
});

test('every figure a suite spreads (raw samples) is in the registry for that suite', (t) => {
  const dir = path.join(root, 'bench', 'suites');
  for (const file of readdirSync(dir).filter((f) => f.endsWith('.ts'))) {
    const src = readFileSync(path.join(dir, file), 'utf8');
    const suite = /name: '([a-z]+)'/.exec(src)?.[1];
    if (!suite) continue;
    const names = [...src.matchAll(/spread\(\s*'([A-Za-z0-9_]+)'/g)].map((m) => m[1]!);
    for (const metric of new Set(names))
      t.truthy(
        metricDef(suite, metric),
        `${suite}/${metric} (bench/suites/${file}) is not in bench/metrics.ts`,
      );
  }
});
