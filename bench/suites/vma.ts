/** C1: mprotect splits VMAs on scattered un-protection until ENOMEM; uffd-wp does not. */
import { GiB, MiB, repeatRuns, scratch, type Row, type Suite } from '../runner.js';
import { bytes, figure } from '../../src/format.js';

const sizes = (quick: boolean) => (quick ? [256 * MiB, GiB] : [256 * MiB, GiB, 2 * GiB, 4 * GiB]);

export const vmaSuite: Suite = {
  name: 'vma',
  claim: 'C1',
  description:
    'scattered writes on growing regions until mprotect fails (vm.max_map_count); the same on uffd',
  plannedRuns: (c) =>
    sizes(c.quick).length * ['mprotect', 'uffd'].filter((b) => c.backends.includes(b)).length,
  async run(ctx) {
    if (!ctx.backends.includes('mprotect')) return { rows: [], skipped: 'mprotect backend not available' };
    const rows: Row[] = [];
    const image = scratch(ctx, 'vma.img');
    const one = { ...ctx, repeat: 1 };
    for (const size of sizes(ctx.quick)) {
      for (const backend of ['mprotect', 'uffd'].filter((b) => ctx.backends.includes(b))) {
        const { results, failures } = await repeatRuns(
          one,
          {
            backend,
            sizeBytes: size,
            pattern: 'random',
            ratePagesPerSec: 0,
            // C1 is about the design discussed: one page un-protected per fault.
            faultAroundPages: 0,
            out: image,
            force: true,
          },
          `${backend} ${bytes(size)} scattered`,
        );
        const r = results[0];
        rows.push({
          backend,
          region_bytes: size,
          outcome: r ? 'verified' : 'failed',
          vma_count_peak: r?.vma_count_peak ?? null,
          error: failures[0] ?? null,
          enomem: /ENOMEM|max_map_count/.test(failures[0] ?? ''),
        });
      }
    }
    const mprotectFailed = rows.filter((r) => r.backend === 'mprotect' && r.enomem);
    const uffdAtThoseSizes = rows.filter(
      (r) => r.backend === 'uffd' && mprotectFailed.some((m) => m.region_bytes === r.region_bytes),
    );
    const uffdAllVerified =
      uffdAtThoseSizes.length > 0 && uffdAtThoseSizes.every((r) => r.outcome === 'verified');
    const smallest = mprotectFailed[0];
    return {
      rows,
      verdicts: [
        {
          claim: 'C1',
          verdict:
            mprotectFailed.length > 0 && uffdAllVerified
              ? 'confirmed'
              : mprotectFailed.length === 0 &&
                  rows.filter((r) => r.backend === 'mprotect').every((r) => r.outcome === 'verified')
                ? 'refuted'
                : mprotectFailed.length === 0
                  ? 'not measurable here'
                  : 'partly confirmed',
          evidence: smallest
            ? `mprotect hit ENOMEM at vm.max_map_count from ${bytes(Number(smallest.region_bytes))} under unthrottled random writers; uffd at the same sizes: ${uffdAtThoseSizes.map((r) => `${bytes(Number(r.region_bytes))} ${r.outcome}, peak ${figure('vma_count_peak', r.vma_count_peak)} mappings`).join('; ')}`
            : `mprotect did not hit ENOMEM (${rows
                .filter((r) => r.backend === 'mprotect')
                .map(
                  (r) =>
                    `${bytes(Number(r.region_bytes))}: ${r.outcome}, peak ${figure('vma_count_peak', r.vma_count_peak)} mappings`,
                )
                .join(', ')})`,
        },
      ],
      findings: rows.map(
        (r) =>
          `${r.backend} ${bytes(Number(r.region_bytes))}: ${r.outcome}${r.enomem ? ' (ENOMEM: vm.max_map_count)' : ''}`,
      ),
    };
  },
};
