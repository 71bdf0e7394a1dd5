/** C5: what one write to a huge page costs under fork (2 MiB COW?) and uffd at 4k / 2m granularity. */
import {
  GiB,
  MiB,
  repeatRuns,
  type ClaimVerdict,
  scratch,
  spread,
  summarize,
  type Row,
  type Suite,
} from '../runner.js';
import { GRANULARITIES } from '../../src/run-options.js';

const variants = [
  { backend: 'uffd', granularity: '4k' },
  { backend: 'uffd', granularity: '2m' },
  { backend: 'forkcow', granularity: '4k' },
] as const;

export const thpSuite: Suite = {
  name: 'thp',
  claim: 'C5',
  description: 'MADV_HUGEPAGE region: bytes copied and time per write under forkcow and uffd at 4k and 2m',
  plannedRuns: (c) => variants.filter((v) => c.backends.includes(v.backend)).length * c.repeat,
  async run(ctx) {
    const size = ctx.quick ? 256 * MiB : GiB;
    const rows: Row[] = [];
    const findings: string[] = [];
    const image = scratch(ctx, 'thp.img');
    for (const v of variants.filter((x) => ctx.backends.includes(x.backend))) {
      // Few, scattered writes: each likely the first to its huge page during the copy.
      const { results, failures } = await repeatRuns(
        ctx,
        {
          backend: v.backend,
          hugepage: true,
          sizeBytes: size,
          granularityBytes: GRANULARITIES[v.granularity],
          ratePagesPerSec: 2000,
          // C5 is about the unit one write makes the backend copy (4 KiB or 2 MiB), not about
          // fault-around's neighbours: those would be counted as copied per write.
          ...(v.backend === 'uffd' ? { faultAroundPages: 0 } : {}),
          writerKinds: ['cpu'],
          out: image,
          force: true,
        },
        `${v.backend} THP ${v.granularity}`,
      );
      const writes = results.map((r) => (r.writers.snapshot_writes_per_s * r.total_ms) / 1000);
      // Bytes the snapshot had to copy because of writes: before-write copies (uffd) or COW (fork).
      const copiedPerWrite = results.map((r, i) => {
        const w = writes[i] ?? 0;
        // Chosen by backend, not by value: a copy-before-write backend's own count, fork's COW memory.
        const bytes =
          r.backend === 'forkcow'
            ? r.extra_memory_peak_bytes
            : r.pages_copied_before_write * r.granularity_bytes;
        return w > 0 ? bytes / w : NaN;
      });
      const perWrite = summarize(copiedPerWrite);
      rows.push({
        backend: v.backend,
        granularity: v.granularity,
        region_bytes: size,
        ...spread('copied_bytes_per_write', perWrite, 0),
        ...spread('stall_p50_us', summarize(results.map((r) => r.write_stall.p50_us)), 2),
        ...spread('stall_p99_us', summarize(results.map((r) => r.write_stall.p99_us)), 2),
        ...spread('stall_max_us', summarize(results.map((r) => r.write_stall.max_us)), 0),
        ...spread('extra_memory_peak_bytes', summarize(results.map((r) => r.extra_memory_peak_bytes)), 0),
        failures: failures.length,
        failure: failures[0] ?? null,
      });
      findings.push(
        `${v.backend} ${v.granularity}: ${(perWrite.median / 1024).toFixed(0)} KiB copied per write on a THP region`,
      );
    }
    const per = (backend: string, granularity: string) =>
      Number(
        rows.find((r) => r.backend === backend && r.granularity === granularity)?.[
          'copied_bytes_per_write_median'
        ] ?? NaN,
      );
    const fork = per('forkcow', '4k');
    const uffd4k = per('uffd', '4k');
    const verdicts: ClaimVerdict[] =
      Number.isFinite(fork) && Number.isFinite(uffd4k)
        ? [
            {
              claim: 'C5',
              verdict:
                uffd4k <= 8192 && fork >= 1024 * 1024
                  ? 'confirmed'
                  : uffd4k <= 8192
                    ? 'partly confirmed'
                    : 'refuted',
              evidence: `bytes copied per write on a THP region: uffd 4k ${(uffd4k / 1024).toFixed(1)} KiB, uffd 2m ${(per('uffd', '2m') / 1024).toFixed(0)} KiB, forkcow ${(fork / 1024).toFixed(0)} KiB (${fork >= 1024 * 1024 ? 'fork still COWs whole huge pages: confirmed' : 'the fork half is refuted on this kernel: a write to a shared THP splits it and COWs 4 KiB'})`,
            },
          ]
        : [];
    return { rows, findings, verdicts };
  },
};
