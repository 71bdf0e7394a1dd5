/** C3, C8: write-fault stall per backend, and uffd with 1/2/4 handler threads under write pressure. */
import { MiB, repeatRuns, scratch, spread, summarize, type Row, type Suite } from '../runner.js';

const handlerCounts = [1, 2, 4];

export const latencySuite: Suite = {
  name: 'latency',
  claim: 'C3, C8',
  description: 'write stall per backend under unthrottled writers; uffd handler threads 1/2/4',
  plannedRuns: (c) =>
    (c.backends.length + (c.backends.includes('uffd') ? handlerCounts.length : 0)) * c.repeat,
  async run(ctx) {
    const size = ctx.quick ? 128 * MiB : 512 * MiB;
    const rows: Row[] = [];
    const image = scratch(ctx, 'latency.img');
    const measure = async (backend: string, extra: string[], label: string, handlers: number | null) => {
      const { results, failures } = await repeatRuns(
        ctx,
        [
          '--backend',
          backend,
          '--size',
          String(size),
          '--writers',
          '2',
          '--rate',
          'max',
          '--out',
          image,
          '--force',
          ...extra,
        ],
        label,
      );
      rows.push({
        backend,
        handlers,
        ...spread('stall_p50_us', summarize(results.map((r) => r.write_stall.p50_us)), 2),
        ...spread('stall_p99_us', summarize(results.map((r) => r.write_stall.p99_us)), 2),
        ...spread('stall_p999_us', summarize(results.map((r) => r.write_stall.p999_us)), 2),
        ...spread('faults', summarize(results.map((r) => r.wp_faults)), 0),
        ...spread('total_ms', summarize(results.map((r) => r.total_ms)), 1),
        ...spread(
          'writer_throughput_ratio',
          summarize(results.map((r) => r.writers.throughput_ratio ?? NaN)),
          3,
        ),
        failures: failures.length,
      });
    };
    for (const backend of ctx.backends) await measure(backend, [], `${backend} stall`, null);
    if (ctx.backends.includes('uffd'))
      for (const h of handlerCounts)
        await measure('uffd', ['--handlers', String(h)], `uffd ${h} handlers`, h);
    return { rows };
  },
};
