/** Human-readable renderings of results and probes. */
import type { ProbeRow } from './probe.js';
import { CowbenchError } from './errors.js';
import { writeStderr } from './stdout.js';
import { signalExitCode } from './signals.js';
import { environment } from './env.js';
import { RESULT_SCHEMA, type LostWrites, type RunResult } from './result.js';
import { bytes, count as countOf, fixed } from './format.js';
import { timelineLine } from './timeline.js';
import { columns } from './table.js';

/** "12,034 writes by read did not land (EFAULT 12,034)": what a run that lost writes lost. */
export function describeLostWrites(l: LostWrites): string {
  const kinds = Object.entries(l.by_kind);
  const by =
    kinds.length === 1
      ? kinds[0]![0]
      : kinds.map(([kind, n]) => `${kind} ${countOf(n)}`).join(', ') || 'the writers';
  const causes = [
    ...Object.entries(l.by_errno).map(([errno, n]) => `${errno} ${countOf(n)}`),
    ...Object.entries(l.kvm_exits).map(([reason, n]) => `kvm exit ${reason} ${countOf(n)}`),
  ];
  return `${countOf(l.writes)} write${l.writes === 1 ? '' : 's'} by ${by} did not land (${causes.join(', ')})`;
}

const stallLine = (s: { p50_us: number; p99_us: number; p999_us: number; max_us: number; count: number }) =>
  `p50 ${fixed(s.p50_us, 2)} · p99 ${fixed(s.p99_us, 2)} · p99.9 ${fixed(s.p999_us, 2)} · max ${countOf(s.max_us)} (${countOf(s.count)} writes)`;

/**
 * The terminal summary of one run. Each label is the result's JSON key (so a figure seen here is
 * found under the same name in `--json`), and the key carries the unit: `_us`, `_ms`, `_bytes`
 * (shown in binary units: 64 MiB), `_MBps`. Counters that are zero are left out unless `verbose`.
 */
export function renderRun(r: RunResult, opts: { verbose?: boolean } = {}): string {
  const w = r.writers;
  const verbose = opts.verbose === true;
  const lines: [string, string][] = [];
  const add = (key: string, value: string) => lines.push([key, value]);
  const count = (key: string, n: number, text = countOf(n)) => {
    if (n !== 0 || verbose) add(key, text);
  };
  add('backend', `${r.backend} (consistency_point: ${r.consistency_point})`);
  add(
    'region_bytes',
    `${bytes(r.region_bytes)}${r.hugepage ? ', THP' : ''} (granularity_bytes ${bytes(r.granularity_bytes)})`,
  );
  // --writers 0: an idle region (the pure copy cost); no writer figure means anything, none is shown.
  const idle = w.kinds.length === 0;
  add(
    'writers',
    idle
      ? 'none (an idle region: the copy cost alone)'
      : `${w.kinds.length} × ${[...new Set(w.kinds)].join('+')}, ${w.pattern}, rate_pages_per_s ${w.rate_pages_per_s === 'unthrottled' ? 'unthrottled' : countOf(w.rate_pages_per_s)}`,
  );
  add('pause_us', `${fixed(r.pause_us, 1)} (quiesce_us ${fixed(r.quiesce_us, 1)})`);
  add('total_ms', fixed(r.total_ms, 1));
  add('throughput_MBps', fixed(r.throughput_MBps, 1));
  count('wp_faults', r.wp_faults);
  count('pages_copied_before_write', r.pages_copied_before_write);
  add('bytes_written', bytes(r.bytes_written));
  count('buffer_peak_bytes', r.buffer_peak_bytes, bytes(r.buffer_peak_bytes));
  add('extra_memory_peak_bytes', `${bytes(r.extra_memory_peak_bytes)} (${r.extra_memory_source})`);
  if (r.throttled_ms !== 0 || verbose) add('throttled_ms', fixed(r.throttled_ms, 1));
  if (!idle) {
    add('write_stall_us', `${stallLine(r.write_stall)} during the snapshot`);
    if (w.baseline_write_stall)
      add('baseline_write_stall_us', `${stallLine(w.baseline_write_stall)} before it`);
    add(
      'writers.throughput_ratio',
      (w.throughput_ratio === null ? 'n/a' : fixed(w.throughput_ratio, 3)) +
        ` (snapshot_writes_per_s ${countOf(w.snapshot_writes_per_s)} / baseline_writes_per_s ${countOf(w.baseline_writes_per_s)})`,
    );
  }
  count('vma_count_peak', r.vma_count_peak);
  const byKind = Object.entries(w.writes_by_kind ?? {});
  if (byKind.some(([kind]) => kind !== 'cpu'))
    add(
      'writers.writes_by_kind',
      byKind.map(([kind, n]) => `${kind} ${countOf(n)}`).join(', ') + ' (during the snapshot)',
    );
  const exits = Object.entries(w.exit_reasons ?? {});
  if (exits.length) add('writers.exit_reasons', exits.map(([why, n]) => `${why} ${countOf(n)}`).join(', '));
  for (const [k, v] of Object.entries(r.incompatibilities)) count(`incompatibilities.${k}`, v);
  for (const [k, v] of Object.entries(r.backend_metrics))
    if (v !== 0 || verbose) add(`backend_metrics.${k}`, Number.isInteger(v) ? countOf(v) : fixed(v, 1));
  if (r.writer_timeline && !idle) add('writer_timeline', timelineLine(r.writer_timeline));
  const v = r.verification;
  if (r.lost_writes)
    add(
      'lost_writes',
      `INCOMPATIBLE: ${describeLostWrites(r.lost_writes)}: ${r.backend} cannot snapshot memory written this way; the run fails`,
    );
  add(
    'verified',
    v.skipped
      ? r.output === null && r.options.out === '/dev/null'
        ? 'not verified (null sink: an overhead run; exit 0)'
        : `no (skipped: ${v.skipped})`
      : r.verified && r.lost_writes
        ? `image only: ${countOf(v.checked_pages)} pages match the consistency point (${v.checksum}), but writes were lost: the run failed`
        : r.verified
          ? `yes (${countOf(v.checked_pages)} pages, ${v.checksum})`
          : `NO: ${countOf(v.bad_pages)} of ${countOf(v.checked_pages)} pages differ from the consistency point; first: ${v.first_bad
              .slice(0, 8)
              .map(
                (b) =>
                  `page ${b.page} expected v${b.expected} found ${b.found === -2 ? 'missing' : b.found === -1 ? 'torn' : `v${b.found}`}`,
              )
              .join(', ')}`,
  );
  add(
    'output',
    r.output
      ? `${r.output} (manifest ${r.manifest})`
      : r.options.out === '/dev/null'
        ? 'none (null sink)'
        : r.options.out
          ? 'not kept (the run failed)'
          : 'not kept (use --out FILE)',
  );
  add('env', `${r.env.hostname}, Linux ${r.env.kernel}, ${r.env.cores} × ${r.env.cpu_model}`);
  return columns(lines);
}

export function renderProbe(rows: ProbeRow[]): string {
  return columns(
    rows.map((r) => [r.name, r.ok ? 'yes' : 'no', r.meaning ? `${r.detail}\n${r.meaning}` : r.detail]),
  );
}

/** Exit code and stderr line for a run that lost writes: 1, named as an incompatibility. */
export function runVerdict(r: RunResult): number {
  if (!r.lost_writes) return 0;
  writeStderr(
    `cowbench: incompatible: ${r.backend} with this workload: ${describeLostWrites(r.lost_writes)}; no image kept` +
      (r.backend_metrics['user_mode_only']
        ? ' (this userfaultfd is user-mode only, as an unprivileged user gets it: writes made by the kernel are not served; run as root, set vm.unprivileged_userfaultfd=1 or grant /dev/userfaultfd)'
        : '') +
      '\n',
  );
  return 1;
}

/**
 * What `run --json` prints when the run fails: still one JSON object, `verified: false`, with
 * the error (code, message, syscall, errno, phase) and what was cleaned up.
 */
export function failedRunJson(
  e: unknown,
  options: Record<string, unknown> | null,
  interruptedBy: string | undefined,
): Record<string, unknown> {
  const err = CowbenchError.fromNative(e);
  // Interrupted, the process exits 128 + the signal, whatever error the abort surfaced as.
  const exitCode = interruptedBy === undefined ? err.exitCode : signalExitCode(interruptedBy);
  return {
    schema: RESULT_SCHEMA,
    verified: false,
    backend: options?.backend ?? null,
    options,
    error: {
      ...err.toJSON(),
      phase: err.phase ?? (options === null ? 'options' : null),
      exit_code: exitCode,
    },
    interrupted_by: interruptedBy ?? null,
    cleanup: err.cleanup ?? null,
    output: null,
    manifest: null,
    env: environment(),
  };
}
