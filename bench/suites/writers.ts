/**
 * C2: kernel and KVM writers. (1) What one write costs each writer kind with no snapshot (the
 * run's baseline phase) and under a uffd snapshot, and how many pages per second each kind (the
 * nested KVM guest in particular) writes in both phases; (2) the `cowbench compat` matrix over the
 * backends this bench runs, with the evidence behind every incompatible cell; (3) a KVM guest
 * paced at 65,536 writes/s over 1 GiB (256 MiB quick) under uffd, with 4k pages and with THP and
 * 2 MiB granules: the guest's write rate during the snapshot ÷ before (issue 14, target 3).
 */
import { runCompat, WRITER_LABELS } from '../../src/compat.js';
import { native } from '../../src/native.js';
import { WRITER_KINDS } from '../../src/options.js';
import type { RunResult } from '../../src/result.js';
import { available, MiB, repeatRuns, scratch, spread, summarize, type Row, type Suite } from '../runner.js';
import { HUGE_PAGE_SIZE } from '../../src/page.js';
import type { RunRequest } from '../runner.js';
import { count } from '../../src/format.js';

/** Snapshots of this backend give the latency figures (the question the claim asks). */
const LATENCY_BACKEND = 'uffd';

/** The paced guest: the rate QEMU's background-snapshot figures were taken at, and its pages. */
const GUEST_RATE = 65536;
const GUEST_PAGES = [
  { granularity: '4k', thp: false, options: {} as RunRequest, label: '4k pages' },
  {
    granularity: '2m',
    thp: true,
    options: { hugepage: true, granularityBytes: HUGE_PAGE_SIZE } as RunRequest,
    label: 'THP, 2 MiB granules',
  },
];

/** The only writer of a run is `kind`: its pages per second in one phase. */
const rate = (r: RunResult, phase: 'baseline' | 'snapshot') =>
  phase === 'baseline' ? r.writers.baseline_writes_per_s : r.writers.snapshot_writes_per_s;

const over = (results: RunResult[], f: (r: RunResult) => number) => summarize(results.map(f));

/** The figures every row of this suite reports: the one writer's stalls and rates, and the faults. */
function writerFigures(results: RunResult[]): Row {
  return {
    ...spread(
      'stall_p50_us',
      over(results, (r) => r.write_stall.p50_us),
    ),
    ...spread(
      'stall_p99_us',
      over(results, (r) => r.write_stall.p99_us),
    ),
    ...spread(
      'no_snapshot_writes_per_s',
      over(results, (r) => rate(r, 'baseline')),
      0,
    ),
    ...spread(
      'snapshot_writes_per_s',
      over(results, (r) => rate(r, 'snapshot')),
      0,
    ),
    ...spread(
      'writer_throughput_ratio',
      over(results, (r) => r.writers.throughput_ratio ?? NaN),
      3,
    ),
    ...spread(
      'wp_faults',
      over(results, (r) => r.wp_faults),
      0,
    ),
    ...spread(
      'total_ms',
      over(results, (r) => r.total_ms),
      1,
    ),
  };
}

export const writersSuite: Suite = {
  name: 'writers',
  claim: 'C2',
  description:
    'one write by each writer kind (cpu, read(2), io_uring, process_vm_writev, kvm) with no snapshot vs under uffd; a KVM guest paced at 65,536 writes/s, with 4k pages and with THP and 2 MiB granules; the backend × writer compat matrix',
  plannedRuns: (c) =>
    (c.backends.includes(LATENCY_BACKEND) ? (WRITER_KINDS.length + GUEST_PAGES.length) * c.repeat : 0) +
    c.backends.length * WRITER_KINDS.length,
  async run(ctx) {
    const size = ctx.quick ? 64 * MiB : 256 * MiB;
    const baselineMs = ctx.quick ? 300 : 1000;
    const rows: Row[] = [];
    const findings: string[] = [];
    const image = scratch(ctx, 'writers.img');

    if (available(ctx, LATENCY_BACKEND)) {
      const support = new Map<string, { ok: boolean; detail?: string }>();
      for (const kind of WRITER_KINDS) {
        support.set(kind, await native.probeWriter(kind));
        const { ok, detail } = support.get(kind)!;
        if (!ok) {
          rows.push({ writer: kind, skipped: detail ?? 'unsupported' });
          for (let i = 0; i < ctx.repeat; i++) ctx.tick(`${kind} skipped`);
          continue;
        }
        const { results, failures } = await repeatRuns(
          ctx,
          {
            backend: LATENCY_BACKEND,
            sizeBytes: size,
            writerKinds: [kind],
            ratePagesPerSec: 0,
            baselineMs,
            out: image,
            force: true,
          },
          `${kind} write latency`,
        );
        const noSnapshotP50 = over(results, (r) => r.writers.baseline_write_stall.p50_us);
        rows.push({
          writer: kind,
          backend: LATENCY_BACKEND,
          ...spread('no_snapshot_p50_us', noSnapshotP50),
          ...spread(
            'no_snapshot_p99_us',
            over(results, (r) => r.writers.baseline_write_stall.p99_us),
          ),
          ...spread(
            'stall_max_us',
            over(results, (r) => r.write_stall.max_us),
            0,
          ),
          // Holding this writer at the arm barrier (for kvm: kicking the vCPU out of KVM_RUN).
          ...spread(
            'quiesce_us',
            over(results, (r) => r.quiesce_us),
            1,
          ),
          ...writerFigures(results),
          failures: failures.length,
        });
        if (results.length)
          findings.push(
            `${WRITER_LABELS[kind] ?? kind}: one write p50 ${noSnapshotP50.median.toFixed(2)} µs with no snapshot, ` +
              `${over(results, (r) => r.write_stall.p50_us).median.toFixed(2)} µs under ${LATENCY_BACKEND}; ` +
              `${over(results, (r) => rate(r, 'baseline')).median.toFixed(0)} → ${over(results, (r) => rate(r, 'snapshot')).median.toFixed(0)} pages/s (n=${results.length})`,
          );
      }

      const kvm = support.get('kvm') ?? { ok: false, detail: 'no kvm writer kind' };
      for (const pages of GUEST_PAGES) {
        const id = {
          part: 'paced kvm guest',
          writer: 'kvm',
          rate: GUEST_RATE,
          granularity: pages.granularity,
        };
        if (!kvm.ok) {
          rows.push({ ...id, skipped: kvm.detail ?? 'unsupported' });
          for (let i = 0; i < ctx.repeat; i++) ctx.tick(`paced kvm guest (${pages.label}) skipped`);
          continue;
        }
        const { results, failures } = await repeatRuns(
          ctx,
          {
            backend: LATENCY_BACKEND,
            sizeBytes: ctx.quick ? 256 * MiB : 1024 * MiB,
            writerKinds: ['kvm'],
            ratePagesPerSec: GUEST_RATE,
            ...pages.options,
            out: image,
            force: true,
          },
          `kvm guest at ${GUEST_RATE} writes/s, ${pages.label}`,
        );
        const ratio = over(results, (r) => r.writers.throughput_ratio ?? NaN);
        const mbps = over(results, (r) => r.throughput_MBps);
        const throttled = over(results, (r) => r.throttled_ms);
        rows.push({
          ...id,
          backend: LATENCY_BACKEND,
          thp: pages.thp,
          ...writerFigures(results),
          // The guest waits for room in the bounded buffer once the image's disk is slower than it
          // dirties pages: these say how much of the ratio is the sink's.
          ...spread('throughput_MBps', mbps, 0),
          ...spread('throttled_ms', throttled, 0),
          failures: failures.length,
        });
        if (results.length)
          findings.push(
            `kvm guest at ${count(GUEST_RATE)} writes/s, ${pages.label}: during the snapshot ` +
              `${ratio.median.toFixed(3)}× its rate before (${ratio.min.toFixed(3)}…${ratio.max.toFixed(3)}, n=${results.length}); ` +
              `image ${mbps.median.toFixed(0)} MB/s, writers throttled by the full buffer ${throttled.median.toFixed(0)} ms`,
          );
      }
    }

    const matrix = await runCompat({
      sizeBytes: ctx.quick ? 32 * MiB : 64 * MiB,
      backends: ctx.backends,
      onCell: (row, cell) => ctx.tick(`compat ${row.label} × ${cell.writer}`),
    });
    for (const row of matrix.rows) {
      const by = (status: string) =>
        row.cells.filter((c) => c.status === status).map((c) => WRITER_LABELS[c.writer] ?? c.writer);
      const incompatible = row.cells
        .filter((c) => c.status === 'incompatible')
        .map((c) => `${WRITER_LABELS[c.writer] ?? c.writer} (${c.detail})`);
      findings.push(
        `compat ${row.label}: ok for ${by('ok').join(', ') || 'none'}` +
          (incompatible.length ? `; incompatible: ${incompatible.join('; ')}` : '') +
          (by('unsupported').length ? `; unsupported: ${by('unsupported').join(', ')}` : '') +
          (by('failed').length ? `; cell failed: ${by('failed').join(', ')}` : ''),
      );
    }
    return { rows, findings, raw: { compat: matrix } };
  },
};
