/** Pause, total time and throughput per backend as the region grows. */
import { GiB, MiB, repeatRuns, scratch, spread, summarize, type Row, type Suite } from '../runner.js';

const sizes = (quick: boolean) => (quick ? [64 * MiB, 256 * MiB] : [GiB / 4, GiB, 2 * GiB, 4 * GiB]);

export const scaleSuite: Suite = {
  name: 'scale',
  claim: 'scaling',
  description: 'pause, total and throughput per backend from 0.25 to 4 GiB under 65,536 random writes/s',
  plannedRuns: (c) => sizes(c.quick).length * c.backends.length * c.repeat,
  async run(ctx) {
    const rows: Row[] = [];
    const image = scratch(ctx, 'scale.img');
    for (const size of sizes(ctx.quick)) {
      for (const backend of ctx.backends) {
        const { results, failures } = await repeatRuns(
          ctx,
          ['--backend', backend, '--size', String(size), '--rate', '65536', '--out', image, '--force'],
          `${backend} ${size / MiB} MiB`,
        );
        rows.push({
          backend,
          region_bytes: size,
          ...spread('pause_us', summarize(results.map((r) => r.pause_us)), 1),
          ...spread('total_ms', summarize(results.map((r) => r.total_ms)), 1),
          ...spread('throughput_MBps', summarize(results.map((r) => r.throughput_MBps)), 1),
          failures: failures.length,
          failure: failures[0] ?? null,
        });
      }
    }
    return { rows };
  },
};
