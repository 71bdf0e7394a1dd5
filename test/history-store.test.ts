/**
 * The history store: one suite run against the embedded store (PGlite) and a real PostgreSQL
 * server started for this file on a private socket. Recording, idempotence, 8 processes recording
 * at once, a damaged file refused with the database unchanged (compared as a dump), and a
 * database of schema version 1 upgraded with its data intact; the embedded store's lock.
 */
import test from 'ava';
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import {
  listRuns,
  loadSeries,
  readRun,
  recordRun,
  isSkipped,
  type RunRecord,
} from '../bench/history/runs.js';
import { lockDir, openStore, schemaVersion, type HistoryStore } from '../bench/history/store.js';
import { SCHEMA_VERSION } from '../bench/history/schema.js';
import { packageRoot } from '../src/native.js';
import { runCli } from './helpers.js';
import { postgresUnavailable, startPostgres, type PgServer } from './pg-server.js';
import { testIf } from './skip.js';

const FIXTURE = path.join(packageRoot, 'results', '2026-12-01-vm-ci-aa1', 'pair1-a', 'results.json');
const base = JSON.parse(readFileSync(FIXTURE, 'utf8')) as {
  env: { date: string };
  metrics: Record<string, { samples: number[] }>;
};

const scratch = mkdtempSync(path.join(os.tmpdir(), 'cowbench-history-test-'));
test.after.always(() => rmSync(scratch, { recursive: true, force: true }));

/** A results directory holding run `i`: the fixture with its own date and samples. */
function runDir(i: number): string {
  const dir = path.join(scratch, `run-${i}`);
  mkdirSync(dir, { recursive: true });
  const r = structuredClone(base);
  r.env.date = new Date(Date.parse(base.env.date) + i * 60_000).toISOString();
  for (const m of Object.values(r.metrics)) m.samples = m.samples.map((x) => x * (1 + i / 1000));
  writeFileSync(path.join(dir, 'results.json'), JSON.stringify(r));
  return dir;
}

const sampleCount = Object.values(base.metrics).reduce(
  (n, m) => n + (m.samples.length > 0 ? m.samples.length : 0),
  0,
);
const metricCount = Object.values(base.metrics).filter((m) => m.samples.length > 0).length;

/** Everything in the database, ordered: what "unchanged" is compared on. */
async function dump(store: HistoryStore): Promise<string> {
  const tables = ['cowbench_schema', 'cowbench_runs', 'cowbench_samples'];
  const out: unknown[] = [];
  for (const t of tables)
    out.push(
      await store.query(
        `SELECT coalesce(json_agg(x ORDER BY x::text), '[]'::json)::text AS rows FROM ${t} x`,
      ),
    );
  return JSON.stringify(out);
}

let server: PgServer | null = null;
const pgMissing = postgresUnavailable();
let dbs = 0;

interface Driver {
  name: string;
  runnable: boolean;
  reason: string;
  db(): Promise<string>;
}

const drivers: Driver[] = [
  {
    name: 'embedded (PGlite)',
    runnable: true,
    reason: '',
    db: async () => path.join(scratch, `db-${++dbs}.pglite`),
  },
  {
    name: 'PostgreSQL server',
    runnable: pgMissing === null,
    reason: pgMissing ?? '',
    db: async () => {
      server ??= await startPostgres();
      return server.createDatabase(`history_${++dbs}`);
    },
  },
];
test.after.always(() => server?.stop());

function storeSuite(d: Driver) {
  const t = testIf(d.runnable, d.reason);
  const title = (s: string) => `${d.name}: ${s}`;

  t.serial(title('a run is stored whole, and recording it again is a no-op'), async (tt) => {
    const db = await d.db();
    const run = readRun(runDir(1), 'text-subject') as RunRecord;
    const store = await openStore(db);
    try {
      tt.is(await schemaVersion(store), SCHEMA_VERSION);
      tt.true(await recordRun(store, run));
      tt.false(await recordRun(store, run));
      const runs = await listRuns(store);
      tt.is(runs.length, 1);
      tt.is(runs[0]!.subject, 'text-subject');
      tt.is(runs[0]!.metrics, metricCount);
      tt.is(runs[0]!.samples, sampleCount);
      const fp = await store.query<{ fp: { date: string } }>('SELECT fingerprint AS fp FROM cowbench_runs');
      tt.is(fp[0]!.fp.date, run.fingerprint.date);
      const { series } = await loadSeries(store);
      tt.is(series.length, metricCount);
    } finally {
      await store.close();
    }
    // Through the CLI: the same directory again records nothing.
    const again = await runCli(['history', 'add', '--db', db, '--subject', 'text-subject', runDir(1)]);
    tt.is(again.code, 0, again.stderr);
    tt.regex(again.stdout, /0 recorded, 1 already there/);
  });

  t.serial(title('8 processes record 8 runs at once: all 8 are there with every sample'), async (tt) => {
    const db = await d.db();
    // Created first, so the 8 do not all wait on a first-time creation.
    await (await openStore(db)).close();
    const dirs = Array.from({ length: 8 }, (_, i) => runDir(10 + i));
    const results = await Promise.all(
      dirs.map((dir) => runCli(['history', 'add', '--db', db, '--subject', 'dir', dir])),
    );
    for (const r of results) tt.is(r.code, 0, r.stderr);
    const store = await openStore(db);
    try {
      const runs = await listRuns(store);
      tt.deepEqual(runs.map((r) => r.subject).sort(), dirs.map((x) => path.basename(x)).sort());
      for (const r of runs) {
        tt.is(r.metrics, metricCount);
        tt.is(r.samples, sampleCount);
      }
    } finally {
      await store.close();
    }
  });

  t.serial(
    title('a damaged or foreign results.json is refused with one line and the database is unchanged'),
    async (tt) => {
      const db = await d.db();
      const store = await openStore(db);
      await recordRun(store, readRun(runDir(20), 'commit') as RunRecord);
      const before = await dump(store);
      await store.close();
      const damaged = (name: string, text: string) => {
        const dir = path.join(scratch, name);
        mkdirSync(dir, { recursive: true });
        writeFileSync(path.join(dir, 'results.json'), text);
        return dir;
      };
      const good = runDir(21);
      const full = readFileSync(path.join(good, 'results.json'), 'utf8');
      const cases: [string, string, RegExp][] = [
        ['truncated', full.slice(0, full.length / 2), /truncated or damaged/],
        ['foreign', JSON.stringify({ name: 'not cowbench' }), /no 'schema' field/],
        [
          'bad-sample',
          full.replace(/"samples":\s*\[/, '"samples": ["x", '),
          /\.samples\[0\] is the string "x", not a number$/m,
        ],
      ];
      for (const [name, text, why] of cases) {
        // The good run listed first is not recorded either: every file is checked before any write.
        const r = await runCli(['history', 'add', '--db', db, good, damaged(name, text)]);
        tt.is(r.code, 2, `${name}: ${r.stdout}`);
        tt.regex(r.stderr, why, name);
        tt.is(r.stderr.trim().split('\n').length, 1, name);
      }
      const after = await openStore(db);
      try {
        tt.is(await dump(after), before);
      } finally {
        await after.close();
      }
    },
  );

  t.serial(title('a database of schema version 1 is upgraded and its data survives'), async (tt) => {
    const db = await d.db();
    const old = await openStore(db, { upTo: 1 });
    tt.is(await schemaVersion(old), 1);
    const run = readRun(runDir(30), 'commit') as RunRecord;
    // Written as version 1 did: raw samples only, no median.
    const [row] = await old.query<{ id: number }>(
      `INSERT INTO cowbench_runs (run_key, subject, subject_kind, run_time, machine_class, fingerprint, options)
       VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id`,
      [
        run.key,
        run.subject,
        run.subjectKind,
        run.time,
        run.machineClass,
        JSON.stringify(run.fingerprint),
        '{}',
      ],
    );
    for (const m of run.metrics)
      await old.query(
        'INSERT INTO cowbench_samples (run_id, metric, unit, samples) VALUES ($1, $2, $3, $4)',
        [row!.id, m.metric, m.unit, m.samples],
      );
    await old.close();
    const store = await openStore(db);
    try {
      tt.is(await schemaVersion(store), SCHEMA_VERSION);
      const runs = await listRuns(store);
      tt.is(runs.length, 1);
      tt.is(runs[0]!.samples, sampleCount);
      const { series } = await loadSeries(store);
      for (const s of series) {
        const m = run.metrics.find((x) => x.metric === s.metric)!;
        const sorted = [...m.samples].sort((a, b) => a - b);
        const mid = sorted.length / 2;
        const median = sorted.length % 2 ? sorted[Math.floor(mid)]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
        tt.true(Math.abs(s.points[0]!.median - median) <= 1e-9 * Math.abs(median), s.metric);
        tt.is(s.points[0]!.lo, sorted[0]!);
        tt.is(s.points[0]!.hi, sorted.at(-1)!);
      }
      // The upgraded database takes new runs, and the old one again is a no-op.
      tt.false(await recordRun(store, run));
      tt.true(await recordRun(store, readRun(runDir(31), 'commit') as RunRecord));
    } finally {
      await store.close();
    }
  });
}

for (const d of drivers) storeSuite(d);

test('a schema-1 results directory is skipped with the reason', (t) => {
  const r = readRun(path.join(packageRoot, 'results', '2026-12-01-vm-latency-quick'), 'commit');
  t.true(isSkipped(r));
  if (isSkipped(r)) t.regex(r.reason, /schema 'cowbench.bench\/1' has no raw samples/);
});

test('a kernel subject leaves the kernel out of the machine class', (t) => {
  const byCommit = readRun(runDir(40), 'commit') as RunRecord;
  const byKernel = readRun(runDir(40), 'kernel') as RunRecord;
  t.regex(byCommit.machineClass, /Linux /);
  t.notRegex(byKernel.machineClass, /Linux /);
  t.is(byKernel.subjectKind, 'kernel');
});

test.serial(
  "the embedded store's lock: one holder at a time, released by the kernel when its holder is killed",
  async (t) => {
    const lockFile = path.join(scratch, 'killed.pglite.lock');
    const store = pathToFileURL(path.join(packageRoot, 'dist', 'bench', 'history', 'store.js')).href;
    const child = spawn(
      process.execPath,
      [
        '--input-type=module',
        '-e',
        `const { lockDir } = await import(${JSON.stringify(store)}); await lockDir(${JSON.stringify(lockFile)}); console.log('held'); setInterval(() => {}, 1000);`,
      ],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    t.teardown(() => child.kill('SIGKILL')); // also when an assertion below fails
    const exited = new Promise((resolve) => child.once('exit', resolve));
    await new Promise<void>((resolve, reject) => {
      child.stdout.on('data', (d: Buffer) => d.toString().includes('held') && resolve());
      child.once('exit', (code) => reject(new Error(`the holder exited (${code}) before taking the lock`)));
    });
    const held = await t.throwsAsync(lockDir(lockFile, 300));
    if (!held) return;
    t.regex(held.message, new RegExp(`held by process ${child.pid} \\(waited 0.3 s\\)`));
    child.kill('SIGKILL');
    await exited;
    // Nothing to judge stale or remove: the lock died with its holder, and the file is still there.
    t.true(existsSync(lockFile));
    const release = await lockDir(lockFile, 0);
    t.is(readFileSync(lockFile, 'utf8'), `${process.pid}\n`);
    release();
    // Released: taken again at once.
    (await lockDir(lockFile, 0))();
  },
);
