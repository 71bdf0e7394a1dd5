/** C4: extra memory and writer stalls. uffd's buffer bounds it (block policy); fork's does not. */
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
import { parseRate } from '../../src/units.js';
import { bytes } from '../../src/format.js';

const buffers = (quick: boolean) =>
  quick ? [4 * MiB, 64 * MiB] : [4 * MiB, 16 * MiB, 64 * MiB, 256 * MiB, GiB];
const rates = ['65536', 'max'];

export const memorySuite: Suite = {
  name: 'memory',
  claim: 'C4',
  description: "extra memory and writer stalls vs write rate; uffd's buffer sweep (block policy) vs forkcow",
  plannedRuns: (c) =>
    (buffers(c.quick).length + (c.backends.includes('forkcow') ? rates.length : 0)) * c.repeat,
  async run(ctx) {
    const size = ctx.quick ? 256 * MiB : GiB;
    const rows: Row[] = [];
    const findings: string[] = [];
    const image = scratch(ctx, 'memory.img');
    let boundHeld = true;
    if (ctx.backends.includes('uffd')) {
      for (const buffer of buffers(ctx.quick).filter((b) => b <= size)) {
        const { results, failures } = await repeatRuns(
          ctx,
          {
            backend: 'uffd',
            sizeBytes: size,
            bufferBytes: buffer,
            bufferPolicy: 'block',
            ratePagesPerSec: 0,
            out: image,
            force: true,
          },
          `uffd buffer ${bytes(buffer)}`,
        );
        const extra = summarize(results.map((r) => r.extra_memory_peak_bytes));
        const withinBound =
          results.length > 0 && results.every((r) => r.extra_memory_peak_bytes <= buffer + MiB);
        boundHeld &&= withinBound;
        rows.push({
          backend: 'uffd',
          region_bytes: size,
          buffer_bytes: buffer,
          rate: 'max',
          ...spread('extra_memory_peak_bytes', extra, 0),
          ...spread('buffer_peak_bytes', summarize(results.map((r) => r.buffer_peak_bytes)), 0),
          ...spread('throttled_ms', summarize(results.map((r) => r.throttled_ms)), 1),
          ...spread('stall_p99_us', summarize(results.map((r) => r.write_stall.p99_us)), 2),
          ...spread('stall_max_us', summarize(results.map((r) => r.write_stall.max_us)), 0),
          ...spread(
            'writer_throughput_ratio',
            summarize(results.map((r) => r.writers.throughput_ratio ?? NaN)),
            3,
          ),
          extra_within_buffer_plus_1MiB: withinBound,
          failures: failures.length,
        });
      }
      findings.push(`uffd extra memory <= buffer + 1 MiB at every buffer size: ${boundHeld ? 'yes' : 'NO'}`);
    }
    if (ctx.backends.includes('forkcow')) {
      for (const rate of rates) {
        const { results, failures } = await repeatRuns(
          ctx,
          {
            backend: 'forkcow',
            sizeBytes: size,
            ratePagesPerSec: parseRate('rate', rate),
            out: image,
            force: true,
          },
          `forkcow rate ${rate}`,
        );
        const extra = summarize(results.map((r) => r.extra_memory_peak_bytes));
        rows.push({
          backend: 'forkcow',
          region_bytes: size,
          buffer_bytes: null,
          rate,
          ...spread('extra_memory_peak_bytes', extra, 0),
          extra_fraction_of_region: Number((extra.median / size).toFixed(3)),
          ...spread('stall_p99_us', summarize(results.map((r) => r.write_stall.p99_us)), 2),
          ...spread('stall_max_us', summarize(results.map((r) => r.write_stall.max_us)), 0),
          ...spread(
            'writer_throughput_ratio',
            summarize(results.map((r) => r.writers.throughput_ratio ?? NaN)),
            3,
          ),
          failures: failures.length,
        });
        findings.push(
          `forkcow at rate ${rate}: extra memory ${(extra.median / MiB).toFixed(0)} MiB = ${((100 * extra.median) / size).toFixed(0)}% of the region`,
        );
      }
    }
    const fork = rows.filter((r) => r.backend === 'forkcow');
    const forkMax = Math.max(0, ...fork.map((r) => Number(r['extra_fraction_of_region'] ?? 0)));
    const uffdRows = rows.filter((r) => r.backend === 'uffd');
    const throttled = uffdRows.some((r) => Number(r['throttled_ms_median'] ?? 0) > 0);
    const verdicts: ClaimVerdict[] = [];
    if (uffdRows.length > 0)
      verdicts.push({
        claim: 'target e',
        verdict: boundHeld ? 'met' : 'missed',
        evidence: uffdRows
          .map(
            (r) =>
              `buffer ${bytes(Number(r.buffer_bytes))}: extra ${bytes(Number(r['extra_memory_peak_bytes_max']))} max`,
          )
          .join('; '),
      });
    if (uffdRows.length > 0 && fork.length > 0)
      verdicts.push({
        claim: 'C4',
        verdict: boundHeld && forkMax > 0.1 ? (throttled ? 'confirmed' : 'partly confirmed') : 'refuted',
        evidence:
          `forkcow extra memory up to ${(forkMax * 100).toFixed(0)}% of the ${bytes(size)} region (${fork.map((r) => `rate ${r.rate}: ${bytes(Number(r['extra_memory_peak_bytes_median']))}`).join(', ')}); ` +
          `uffd bounded by its buffer: ${boundHeld ? 'yes' : 'no'}; throttling seen with the block policy: ${throttled ? 'yes' : 'no (the buffer never filled)'}`,
      });
    return { rows, findings, verdicts };
  },
};
