/** C5: what one write to a huge page costs under fork (2 MiB COW?) and uffd at 4k / 2m granularity. */
import { GiB, MiB, repeatRuns, scratch, spread, summarize, type Row, type Suite } from '../runner.js';

const variants = [
  { backend: 'uffd', granularity: '4k' },
  { backend: 'uffd', granularity: '2m' },
  { backend: 'forkcow', granularity: '4k' },
];

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
        [
          '--backend',
          v.backend,
          '--hugepage',
          '--size',
          String(size),
          '--granularity',
          v.granularity,
          '--rate',
          '2000',
          '--writers',
          '1',
          '--out',
          image,
          '--force',
        ],
        `${v.backend} THP ${v.granularity}`,
      );
      const writes = results.map((r) => (r.writers.snapshot_writes_per_s * r.total_ms) / 1000);
      // Bytes the snapshot had to copy because of writes: before-write copies (uffd) or COW (fork).
      const copiedPerWrite = results.map((r, i) => {
        const w = writes[i] ?? 0;
        const bytes =
          r.pages_copied_before_write > 0
            ? r.pages_copied_before_write * r.granularity_bytes
            : r.extra_memory_peak_bytes;
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
    return { rows, findings };
  },
};
