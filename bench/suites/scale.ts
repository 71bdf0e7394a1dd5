/** Pause, total time and throughput per backend as the region grows; targets b (arm pause) and d. */
import {
  GiB,
  MiB,
  repeatRuns,
  scratch,
  spread,
  summarize,
  type ClaimVerdict,
  type Row,
  type Suite,
} from '../runner.js';

const sizes = (quick: boolean) => (quick ? [64 * MiB, 256 * MiB] : [GiB / 4, GiB, 2 * GiB, 4 * GiB]);
const thpBackends = ['uffd', 'forkcow'];

export const scaleSuite: Suite = {
  name: 'scale',
  claim: 'scaling, targets b and d',
  description:
    'pause, total and throughput per backend from 0.25 to 4 GiB under 65,536 random writes/s (and THP)',
  plannedRuns: (c) =>
    (sizes(c.quick).length * c.backends.length + thpBackends.filter((b) => c.backends.includes(b)).length) *
    c.repeat,
  async run(ctx) {
    const rows: Row[] = [];
    const image = scratch(ctx, 'scale.img');
    const measure = async (backend: string, size: number, hugepage: boolean) => {
      const { results, failures } = await repeatRuns(
        ctx,
        [
          '--backend',
          backend,
          '--size',
          String(size),
          '--rate',
          '65536',
          '--out',
          image,
          '--force',
          ...(hugepage ? ['--hugepage'] : []),
        ],
        `${backend} ${size / MiB} MiB${hugepage ? ' THP' : ''}`,
      );
      rows.push({
        backend,
        region_bytes: size,
        thp: hugepage,
        ...spread('pause_us', summarize(results.map((r) => r.pause_us)), 1),
        ...spread('total_ms', summarize(results.map((r) => r.total_ms)), 1),
        ...spread('throughput_MBps', summarize(results.map((r) => r.throughput_MBps)), 1),
        ...spread(
          'writer_throughput_ratio',
          summarize(results.map((r) => r.writers.throughput_ratio ?? NaN)),
          3,
        ),
        ...spread('stall_p99_us', summarize(results.map((r) => r.write_stall.p99_us)), 2),
        failures: failures.length,
        failure: failures[0] ?? null,
      });
    };
    for (const size of sizes(ctx.quick))
      for (const backend of ctx.backends) await measure(backend, size, false);
    const pivot = ctx.quick ? 256 * MiB : GiB;
    for (const backend of thpBackends.filter((b) => ctx.backends.includes(b)))
      await measure(backend, pivot, true);

    const at = (backend: string, thp: boolean) =>
      rows.find((r) => r.backend === backend && r.region_bytes === pivot && r.thp === thp);
    const num = (r: Row | undefined, k: string) => Number(r?.[k] ?? NaN);
    const verdicts: ClaimVerdict[] = [];
    const uffd = at('uffd', false);
    const fork = at('forkcow', false);
    const uffdThp = at('uffd', true);
    const forkThp = at('forkcow', true);
    if (uffd && fork) {
      const r4k = num(uffd, 'pause_us_median') / num(fork, 'pause_us_median');
      const rThp = num(uffdThp, 'pause_us_median') / num(fork, 'pause_us_median');
      const rThpThp = num(uffdThp, 'pause_us_median') / num(forkThp, 'pause_us_median');
      verdicts.push({
        claim: 'target b',
        verdict: r4k <= 0.5 && rThp <= 0.1 ? 'met' : 'missed',
        evidence:
          `${pivot / MiB} MiB: uffd pause ${num(uffd, 'pause_us_median').toFixed(0)} µs vs fork pause ${num(fork, 'pause_us_median').toFixed(0)} µs = ${r4k.toFixed(3)}x (<= 0.5); ` +
          `uffd THP ${num(uffdThp, 'pause_us_median').toFixed(0)} µs = ${rThp.toFixed(3)}x the 4K fork pause (<= 0.1), ${rThpThp.toFixed(2)}x fork on the same THP region (${num(forkThp, 'pause_us_median').toFixed(0)} µs)`,
      });
    }
    if (uffd) {
      const ratio = num(uffd, 'writer_throughput_ratio_median');
      verdicts.push({
        claim: 'target d',
        verdict: ratio >= 0.8 ? 'met' : 'missed',
        evidence: `${pivot / MiB} MiB at 65,536 random page writes/s: writer throughput during the uffd snapshot ${ratio.toFixed(2)}x of before (min ${num(uffd, 'writer_throughput_ratio_min').toFixed(2)}, max ${num(uffd, 'writer_throughput_ratio_max').toFixed(2)})`,
      });
    }
    return { rows, verdicts };
  },
};
