/** C7: which backends give a start-of-run image under writers, and which an end-of-run one. */
import { MiB, repeatRuns, scratch, type Row, type Suite } from '../runner.js';

export const consistencySuite: Suite = {
  name: 'consistency',
  claim: 'C7',
  description: "the moment each backend's verified image shows, under unthrottled writers",
  plannedRuns: (c) => c.backends.length * c.repeat,
  async run(ctx) {
    const size = ctx.quick ? 64 * MiB : 256 * MiB;
    const rows: Row[] = [];
    const image = scratch(ctx, 'consistency.img');
    for (const backend of ctx.backends) {
      const { results, failures } = await repeatRuns(
        ctx,
        { backend, sizeBytes: size, ratePagesPerSec: 0, out: image, force: true },
        `${backend} consistency`,
      );
      const r0 = results[0];
      rows.push({
        backend,
        consistency_point: r0?.consistency_point ?? null,
        verified_runs: results.length,
        failed_runs: failures.length,
        pages_differing_from_start: r0?.backend_metrics['pages_differing_from_start'] ?? null,
        final_pause_us: r0 ? (r0.pauses_us.at(-1) ?? null) : null,
      });
    }
    // Measured, not declared: the verified image of an end-point backend differs from the arm's state.
    const end = rows.filter(
      (r) =>
        r.consistency_point === 'end' &&
        Number(r.verified_runs) > 0 &&
        Number(r.pages_differing_from_start ?? 0) > 0,
    );
    const start = rows.filter((r) => r.consistency_point === 'start' && Number(r.verified_runs) > 0);
    return {
      rows,
      verdicts: [
        {
          claim: 'C7',
          verdict: end.length > 0 ? 'confirmed' : 'not measurable here',
          evidence:
            end.length > 0
              ? `${end.map((r) => `${r.backend}: verified image = state at the final pause, ${r.pages_differing_from_start} pages newer than at the arm`).join('; ')}; start-of-run images from ${start.map((r) => r.backend).join(', ')}`
              : 'no pre-copy backend ran, or its image did not differ from the arm state',
        },
      ],
      findings: rows.map(
        (r) => `${r.backend}: consistency point ${r.consistency_point} (${r.verified_runs} verified runs)`,
      ),
    };
  },
};
