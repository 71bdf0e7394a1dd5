/** REPORT.md of a bench run: the machine, the calibration, each claim's verdict and each suite's table. */
import { suiteMarkdownTables } from './charts/tables.js';
import path from 'node:path';
import { replaceFile } from '../src/files.js';
import { duration, quantity } from '../src/format.js';
import { BENCH_SCHEMA, loadResults, resultsFileOf } from './results.js';
import type { ClaimVerdict, Row } from './runner.js';
import type { Incomplete } from './results.js';

export const CLAIMS: Record<string, string> = {
  C1: 'mprotect un-protection splits VMAs and fails with ENOMEM on large regions; uffd-wp does not',
  C2: 'a SIGSEGV handler is not called when a kernel thread (vhost) writes; userfaultfd catches kernel writes',
  C3: 'uffd-wp write faults are cheaper than SIGSEGV round trips',
  C4: "fork needs up to 100% extra memory; uffd's buffer bounds it, and when full the snapshot throttles writers",
  C5: 'uffd can copy at 4K inside a THP; fork COWs at 2M',
  C6: 'soft-dirty needs a full page-table scan per pass; async WP + PAGEMAP_SCAN reports only what changed',
  C7: 'live-migration-style pre-copy gives an end-of-run consistency point, not the requested one',
  C8: 'more handler fds/threads raise uffd throughput under write pressure',
  'target a': 'uffd snapshot of an idle 1 GiB region to a file >= 0.8x plain sequential write bandwidth',
  'target b': "uffd arm pause for 1 GiB of 4K pages <= 0.5x forkcow's fork pause, <= 0.1x with THP",
  'target c': "uffd per-fault round trip <= 1.5x mprotect's SIGSEGV round trip",
  'target d':
    'writer throughput during a uffd snapshot >= 0.8x of before at 65,536 random page writes/s over 1 GiB',
  'target e': 'uffd peak extra memory <= its buffer + 1 MiB at every point of the buffer sweep',
  'target f':
    "--fault-around auto keeps >= 0.9x the writer ratio of the best fixed K in every row of issue 23's matrix, >= 0.95x K=0's in the paced rows (4-6), >= 2x forkcow's in row 1 on tmpfs, and >= 0.9 of the writers' rate in rows 4 and 5",
  'target g': 'uffd arm pause of a filled 16 GiB region under 65,536 random page writes/s <= 2 ms',
};

interface SuiteReport {
  claim: string;
  description: string;
  seconds: number;
  date?: string;
  git_commit?: string;
  rows: Row[];
  skipped?: string;
  findings?: string[];
  verdicts?: ClaimVerdict[];
}

interface BenchReport {
  schema?: string;
  env: Record<string, unknown>;
  calibration: Record<string, number>;
  options: Record<string, unknown>;
  backends: string[];
  skipped_backends: Row[];
  suites: Record<string, SuiteReport>;
  calibrations?: Record<string, number>[];
  calibration_spread?: Record<string, number | null>;
  noise?: { warning: string | null };
  metrics?: Record<string, unknown>;
  incomplete?: Incomplete;
}

/** `csvDir`: where the suites' CSVs are, relative to REPORT.md (empty: beside it). */
export function renderReport(report: BenchReport, csvDir = ''): string {
  const env = report.env;
  const out: string[] = [];
  out.push(`# cowbench results — ${String(env['hostname'])}, ${String(env['date']).slice(0, 10)}\n`);
  out.push(
    `Machine: Linux ${String(env['kernel'])}, ${String(env['cores'])} × ${String(env['cpu_model'])} (${String(env['virtualized'])}), ` +
      `THP ${String(env['thp_mode'])}, vm.max_map_count ${String(env['vm_max_map_count'])}, node ${String(env['node_version'])}, ` +
      `cowbench ${String(env['cowbench_version'])} (${String(env['git_commit'])}).\n`,
  );
  const c = report.calibration;
  out.push(
    `Calibration (same run${report.calibrations ? `, medians of ${report.calibrations.length} through the run` : ''}): memcpy ${quantity(c['memcpy_MBps'] ?? NaN, 'MB/s')}, sink ${quantity(c['sink_MBps'] ?? NaN, 'MB/s')}, plain page fault ${quantity(c['page_fault_ns'] ?? NaN, 'ns')}` +
      (report.calibration_spread
        ? ` (spread (max−min)/median: ${Object.entries(report.calibration_spread)
            .map(([k, v]) => `${k} ${v === null ? 'n/a' : `${Math.round(v * 100)}%`}`)
            .join(', ')})`
        : '') +
      '. ' +
      `Backends: ${report.backends.join(', ')}${report.skipped_backends.length ? `; skipped: ${report.skipped_backends.map((s) => `${s['backend']} (${s['reason']})`).join('; ')}` : ''}. ` +
      `Options: ${JSON.stringify(report.options)}.\n`,
  );
  const inc = report.incomplete;
  if (inc)
    out.push(
      `> **Incomplete.** bench was interrupted by ${inc.signal}${inc.interrupted_suite ? ` during suite ${inc.interrupted_suite}` : ''}${inc.date ? ` at ${inc.date.slice(0, 16)}Z` : ''}: the suites below finished and are valid; ${[inc.interrupted_suite, ...inc.not_run].filter(Boolean).join(', ') || 'none'} did not run to the end.\n`,
    );
  if (report.noise?.warning)
    out.push(`> **Noisy machine.** ${report.noise.warning.replace(/^cowbench: warning: /, '')}\n`);
  out.push('## Claims and targets\n');
  if (report.schema === BENCH_SCHEMA)
    out.push(
      'Verdicts are decided by statistics: the effect with a 95% percentile-bootstrap confidence interval, n, and the Mann–Whitney U p-value where two distributions are compared; a bound is met (or a claim confirmed) only when the whole interval clears it, and "not measurable here" says why when n or the spread does not allow a decision.\n',
    );
  out.push('| claim | statement | verdict | evidence (this run) |\n|---|---|---|---|');
  const verdicts = Object.values(report.suites).flatMap((s) => s.verdicts ?? []);
  for (const [claim, statement] of Object.entries(CLAIMS)) {
    const found = verdicts.filter((v) => v.claim === claim);
    if (found.length === 0) out.push(`| ${claim} | ${statement} | not measured in this run | – |`);
    for (const v of found)
      out.push(`| ${claim} | ${statement} | **${v.verdict}** | ${v.evidence.replaceAll('|', '\\|')} |`);
  }
  out.push('');
  for (const [name, s] of Object.entries(report.suites)) {
    out.push(`## ${name} (${s.claim}): ${s.description}\n`);
    if (s.skipped) out.push(`Skipped: ${s.skipped}\n`);
    out.push(
      s.rows.length
        ? suiteMarkdownTables(name, s.rows as unknown as Parameters<typeof suiteMarkdownTables>[1])
        : '_no rows_\n',
    );
    if (s.rows.length)
      out.push(`_Every column: [${name}.csv](${path.posix.join(csvDir, `${name}.csv`)})._\n`);
    for (const f of s.findings ?? []) out.push(`- ${f}`);
    out.push(
      `\n_${duration(Math.round(s.seconds))}${s.date ? `, measured ${s.date.slice(0, 16)}Z` : ''}${s.git_commit ? ` at ${s.git_commit.slice(0, 12)}` : ''}; medians of runs with min and max in the CSV${report.schema === BENCH_SCHEMA ? '; every raw sample in results.json (metrics)' : ''}._\n`,
    );
  }
  return out.join('\n') + '\n';
}

/**
 * Writes REPORT.md into `outDir` (default: beside results.json in `dir`), replacing whatever is
 * there (never writing through a symlink). A damaged or mis-shaped results.json is one line naming
 * the file and what is wrong (exit 2).
 */
export function writeReport(dir: string, outDir?: string): string {
  const report = loadResults(dir) as unknown as BenchReport;
  const resultsDir = path.dirname(resultsFileOf(dir));
  const into = outDir ?? resultsDir;
  const file = path.join(into, 'REPORT.md');
  replaceFile(file, renderReport(report, path.relative(path.resolve(into), path.resolve(resultsDir))));
  return file;
}
