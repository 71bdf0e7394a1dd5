/** Human-readable renderings of results and probes. */
import type { ProbeRow } from './probe.js';
import type { RunResult } from './result.js';
import { formatBytes } from './units.js';
import { timelineLine } from './timeline.js';

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
  lines.push([
    'verified',
    v.skipped
      ? `no (skipped: ${v.skipped})`
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
  lines.push(['image', r.output ? `${r.output} (manifest ${r.manifest})` : 'not kept (use --out FILE)']);
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
