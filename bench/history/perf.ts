/**
 * The history's cost, as a benchmark (not a timed test): recording one `bench --ci` run, and
 * `history changes` (load every series, then E-divisive over each) over synthetic histories of
 * R runs × M metrics of S samples each, on the store --db names (a directory or postgres://…).
 * Every figure is repeated, reported as median with min–max and n, with the machine.
 *
 *   node dist/bench/history/perf.js --db DIR|URL --run RESULTS_DIR --runs 1000,10000 [--metrics 50]
 *   node dist/bench/history/perf.js --runs 1000,10000      (no --db: the analysis alone, in memory)
 */
import { rmSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { environment } from '../../src/env.js';
import { seededRandom, summarize } from '../stats.js';
import { CHANGE_DEFAULTS, findChanges } from './changes.js';
import { loadSeries, readRun, recordRun, type RunRecord, type StoredRun } from './runs.js';
import { isServerUrl, openStore, type HistoryStore } from './store.js';

const ms = (t0: number) => performance.now() - t0;

function figure(samples: number[]) {
  const s = summarize(samples);
  return {
    median_ms: Number(s.median.toFixed(1)),
    min_ms: Number(s.min.toFixed(1)),
    max_ms: Number(s.max.toFixed(1)),
    n: s.n,
  };
}

async function fresh(db: string, tag: string): Promise<string> {
  if (!isServerUrl(db)) {
    const dir = `${db}-${tag}`;
    rmSync(dir, { recursive: true, force: true });
    rmSync(`${dir}.lock`, { force: true });
    return dir;
  }
  // A server: a schema of its own per history (search_path), dropped first.
  const schema = `perf_${tag}`;
  const store = await openStore(db, { upTo: 0 });
  await store.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
  await store.query(`CREATE SCHEMA ${schema}`);
  await store.close();
  const u = new URL(db);
  u.searchParams.set('options', `-c search_path=${schema}`);
  return u.toString();
}

/** A synthetic run: M metrics (ci-like keys) of S samples, lognormal noise, a 2× step at 70 % of the history. */
function syntheticRun(
  i: number,
  runs: number,
  metrics: number,
  samples: number,
  rand: () => number,
): RunRecord {
  const normal = () => Math.sqrt(-2 * Math.log(1 - rand())) * Math.cos(2 * Math.PI * rand());
  const list: RunRecord['metrics'] = [];
  for (let m = 0; m < metrics; m++) {
    const level = 10 * (1 + m) * (m % 5 === 0 && i >= runs * 0.7 ? 2 : 1);
    list.push({
      metric: `ci/part=synthetic,case=${m}/fault_us`,
      unit: 'µs',
      samples: Array.from({ length: samples }, () => level * Math.exp(0.1 * normal())),
    });
  }
  return {
    key: `synthetic-${runs}-${i}`,
    subject: `s${i}`,
    subjectKind: 'text',
    time: new Date(Date.UTC(2026, 0, 1) + i * 60_000).toISOString(),
    machineClass: 'synthetic',
    fingerprint: environment(),
    options: {},
    source: 'synthetic',
    metrics: list,
  };
}

async function timeChanges(store: HistoryStore, repeats: number) {
  const load: number[] = [];
  const analyse: number[] = [];
  let found = 0;
  let series = 0;
  for (let r = 0; r < repeats; r++) {
    let t0 = performance.now();
    const { runs, series: s } = await loadSeries(store, { spread: false });
    load.push(ms(t0));
    t0 = performance.now();
    const results = findChanges(s, runs, CHANGE_DEFAULTS);
    analyse.push(ms(t0));
    found = results.reduce((n, x) => n + x.changes.length, 0);
    series = s.length;
  }
  return {
    series,
    change_points: found,
    load: figure(load),
    analyse: figure(analyse),
    total: figure(load.map((l, i) => l + analyse[i]!)),
  };
}

async function main() {
  const { values } = parseArgs({
    options: {
      db: { type: 'string' },
      run: { type: 'string' },
      runs: { type: 'string', default: '1000,10000' },
      metrics: { type: 'string', default: '50' },
      samples: { type: 'string', default: '10' },
      repeats: { type: 'string', default: '3' },
    },
  });
  if (!values.db) {
    // No database: the change-point analysis alone, over the same synthetic series in memory.
    const out: Record<string, unknown> = { store: 'none (in memory)', env: environment() };
    for (const runs of values.runs
      .split(',')
      .map(Number)
      .filter((n) => n > 0)) {
      const rand = seededRandom(runs);
      const recs = Array.from({ length: runs }, (_, i) =>
        syntheticRun(i, runs, Number(values.metrics), Number(values.samples), rand),
      );
      const series = recs[0]!.metrics.map((m, j) => ({
        metric: m.metric,
        unit: m.unit,
        machineClass: 'synthetic',
        points: recs.map((r, i) => {
          const s = [...r.metrics[j]!.samples].sort((a, b) => a - b);
          const mid = s.length >> 1;
          return {
            run: i + 1,
            median: s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2,
            lo: s[0]!,
            hi: s.at(-1)!,
          };
        }),
      }));
      const stored = recs.map((r, i) => ({ id: i + 1, subject: r.subject }) as StoredRun);
      const times: number[] = [];
      let found = 0;
      for (let r = 0; r < Number(values.repeats); r++) {
        const t0 = performance.now();
        found = findChanges(series, stored, CHANGE_DEFAULTS).reduce((n, x) => n + x.changes.length, 0);
        times.push(ms(t0));
      }
      out[runs] = { metrics: series.length, change_points: found, analyse: figure(times) };
      process.stderr.write(`${runs} runs: ${JSON.stringify(out[runs])}\n`);
    }
    process.stdout.write(JSON.stringify(out, null, 2) + '\n');
    return;
  }
  const db = values.db;
  const repeats = Number(values.repeats);
  const out: Record<string, unknown> = {
    store: isServerUrl(db) ? 'postgres' : 'embedded',
    env: environment(),
  };
  if (values.run) {
    const run = readRun(values.run, 'dir') as RunRecord;
    const create: number[] = [];
    const open: number[] = [];
    const record: number[] = [];
    const whole: number[] = [];
    for (let r = 0; r < repeats + 2; r++) {
      const target = await fresh(db, `record${r}`);
      // Each repeat records into a database of its own: created (and migrated) first, timed apart
      // (a first-time PGlite creation is seconds), so `open` is the open of an existing one.
      const c0 = performance.now();
      await (await openStore(target)).close();
      create.push(ms(c0));
      const t0 = performance.now();
      const store = await openStore(target);
      const t1 = performance.now();
      await recordRun(store, { ...run, key: `${run.key}-${r}` });
      const t2 = performance.now();
      await store.close();
      open.push(t1 - t0);
      record.push(t2 - t1);
      whole.push(ms(t0));
    }
    out['record_one_run'] = {
      metrics: run.metrics.length,
      create: figure(create),
      open: figure(open),
      record: figure(record),
      open_record_close: figure(whole),
    };
  }
  const sizes = values.runs
    .split(',')
    .map(Number)
    .filter((n) => n > 0);
  const metrics = Number(values.metrics);
  const samples = Number(values.samples);
  const bySize: Record<string, unknown> = {};
  for (const runs of sizes) {
    const target = await fresh(db, `h${runs}`);
    const store = await openStore(target);
    try {
      const rand = seededRandom(runs);
      const t0 = performance.now();
      for (let i = 0; i < runs; i++) await recordRun(store, syntheticRun(i, runs, metrics, samples, rand));
      const fill = ms(t0);
      bySize[runs] = {
        metrics,
        samples,
        fill_ms: Math.round(fill),
        fill_ms_per_run: Number((fill / runs).toFixed(2)),
        changes: await timeChanges(store, repeats),
      };
      process.stderr.write(`${runs} runs: ${JSON.stringify(bySize[runs])}\n`);
    } finally {
      await store.close();
    }
  }
  out['history_changes'] = bySize;
  process.stdout.write(JSON.stringify(out, null, 2) + '\n');
}

await main();
