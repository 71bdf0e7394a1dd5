/** Human-readable renderings of results and probes. */
import type { ProbeRow } from './probe.js';
import { CowbenchError } from './errors.js';
import { writeStderr } from './stdout.js';
import { environment } from './env.js';
import { RESULT_SCHEMA, type LostWrites, type RunResult } from './result.js';
import { formatBytes } from './units.js';
import { timelineLine } from './timeline.js';

/** "12034 writes by read did not land (EFAULT 12034)": what a run that lost writes lost. */
export function describeLostWrites(l: LostWrites): string {
  const kinds = Object.entries(l.by_kind);
  const by =
    kinds.length === 1 ? kinds[0]![0] : kinds.map(([kind, n]) => `${kind} ${n}`).join(', ') || 'the writers';
  const causes = [
    ...Object.entries(l.by_errno).map(([errno, n]) => `${errno} ${n}`),
    ...Object.entries(l.kvm_exits).map(([reason, n]) => `kvm exit ${reason} ${n}`),
  ];
  return `${l.writes} write${l.writes === 1 ? '' : 's'} by ${by} did not land (${causes.join(', ')})`;
}

const fmt = (n: number, digits = 1) => (Number.isFinite(n) ? n.toFixed(digits) : String(n));

export function renderRun(r: RunResult): string {
  const w = r.writers;
  const lines: [string, string][] = [
    ['backend', `${r.backend} (consistency point: ${r.consistency_point})`],
    [
      'region',
      `${formatBytes(r.region_bytes)}${r.hugepage ? ' (THP)' : ''}, granularity ${formatBytes(r.granularity_bytes)}`,
    ],
    [
      'writers',
      `${w.kinds.length} × ${[...new Set(w.kinds)].join('+')}, ${w.pattern}, rate ${w.rate_pages_per_s === 'unthrottled' ? 'unthrottled' : `${w.rate_pages_per_s}/s`}`,
    ],
    ['pause', `${fmt(r.pause_us)} µs (writers held ${fmt(r.quiesce_us)} µs to quiesce)`],
    ['total', `${fmt(r.total_ms)} ms`],
    ['throughput', `${fmt(r.throughput_MBps)} MB/s`],
    ['wp faults', `${r.wp_faults}`],
    ['copied before write', `${r.pages_copied_before_write}`],
    ['bytes written', formatBytes(r.bytes_written)],
    ['buffer peak', formatBytes(r.buffer_peak_bytes)],
    ['extra memory peak', `${formatBytes(r.extra_memory_peak_bytes)} (${r.extra_memory_source})`],
    ['throttled', `${fmt(r.throttled_ms)} ms`],
    [
      'write stall',
      `p50 ${fmt(r.write_stall.p50_us, 2)} µs, p99 ${fmt(r.write_stall.p99_us, 2)} µs, max ${fmt(r.write_stall.max_us, 0)} µs (${r.write_stall.count} writes)`,
    ],
    [
      'writer throughput',
      `${fmt(w.snapshot_writes_per_s, 0)}/s during vs ${fmt(w.baseline_writes_per_s, 0)}/s before` +
        (w.throughput_ratio === null ? '' : ` (${fmt(w.throughput_ratio * 100, 0)}%)`),
    ],
  ];
  if (r.writer_timeline) lines.push(['writer timeline', timelineLine(r.writer_timeline)]);
  if (r.vma_count_peak > 0) lines.push(['vma count peak', String(r.vma_count_peak)]);
  const byKind = Object.entries(w.writes_by_kind ?? {});
  if (byKind.some(([kind]) => kind !== 'cpu'))
    lines.push([
      'writes by kind',
      byKind.map(([kind, n]) => `${kind} ${n}`).join(', ') + ' (during the snapshot)',
    ]);
  const exits = Object.entries(w.exit_reasons ?? {});
  if (exits.length) lines.push(['vcpu exits', exits.map(([why, n]) => `${why} ${n}`).join(', ')]);
  for (const [k, v] of Object.entries(r.incompatibilities)) lines.push([k.replaceAll('_', ' '), String(v)]);
  for (const [k, v] of Object.entries(r.backend_metrics)) lines.push([k.replaceAll('_', ' '), String(v)]);
  const v = r.verification;
  if (r.lost_writes)
    lines.push([
      'lost writes',
      `INCOMPATIBLE: ${describeLostWrites(r.lost_writes)}: ${r.backend} cannot snapshot memory written this way; the run fails`,
    ]);
  lines.push([
    'verified',
    v.skipped
      ? r.output === null && r.options.out === '/dev/null'
        ? 'not verified (null sink: an overhead run; exit 0)'
        : `no (skipped: ${v.skipped})`
      : r.verified && r.lost_writes
        ? `image only: ${v.checked_pages} pages match the consistency point (${v.checksum}), but writes were lost: the run failed`
        : r.verified
          ? `yes (${v.checked_pages} pages, ${v.checksum})`
          : `NO: ${v.bad_pages} of ${v.checked_pages} pages differ from the consistency point; first: ${v.first_bad
              .slice(0, 8)
              .map(
                (b) =>
                  `page ${b.page} expected v${b.expected} found ${b.found === -2 ? 'missing' : b.found === -1 ? 'torn' : `v${b.found}`}`,
              )
              .join(', ')}`,
  ]);
  lines.push([
    'image',
    r.output
      ? `${r.output} (manifest ${r.manifest})`
      : r.options.out === '/dev/null'
        ? 'none (null sink)'
        : r.options.out
          ? 'not kept (the run failed)'
          : 'not kept (use --out FILE)',
  ]);
  lines.push(['machine', `${r.env.hostname}, Linux ${r.env.kernel}, ${r.env.cores} × ${r.env.cpu_model}`]);
  const width = Math.max(...lines.map(([k]) => k.length));
  return lines.map(([k, val]) => `${k.padEnd(width)}  ${val}`).join('\n') + '\n';
}

export function renderProbe(rows: ProbeRow[]): string {
  const nameWidth = Math.max(...rows.map((r) => r.name.length));
  return (
    rows
      .map(
        (r) =>
          `${r.name.padEnd(nameWidth)}  ${r.ok ? 'yes' : 'no '}  ${r.detail}${r.meaning ? `\n${''.padEnd(nameWidth + 7)}${r.meaning}` : ''}`,
      )
      .join('\n') + '\n'
  );
}

/** Exit code and stderr line for a run that lost writes: 1, named as an incompatibility. */
export function runVerdict(r: RunResult): number {
  if (!r.lost_writes) return 0;
  writeStderr(
    `cowbench: incompatible: ${r.backend} with this workload: ${describeLostWrites(r.lost_writes)}; no image kept\n`,
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
  return {
    schema: RESULT_SCHEMA,
    verified: false,
    backend: options?.backend ?? null,
    options,
    error: { ...err.toJSON(), phase: err.phase ?? (options === null ? 'options' : null) },
    interrupted_by: interruptedBy ?? null,
    cleanup: err.cleanup ?? null,
    output: null,
    manifest: null,
    env: environment(),
  };
}
