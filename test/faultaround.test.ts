/**
 * Fault-around (--fault-around K): a write fault copies up to K unsaved pages of its 2 MiB extent
 * and un-protects them at once. Every image still verifies, every page is still copied exactly
 * once, faults drop with K, and a run that skips one of its pages is caught by verification.
 */
import test from 'ava';
import { runSnapshot } from '../src/orchestrator.js';
import type { RunResult } from '../src/result.js';
import { backendNames, optionOwners } from '../src/registry.js';
import { probeFor } from '../src/run-options.js';
import { configurations, MiB, runCli, testOptions } from './helpers.js';
import { testIfSupported } from './skip.js';

/** Every configuration whose write faults copy before the write: uffd's deliveries, mprotect. */
const deliveries = configurations({ option: 'faultAroundPages' }).map((c) => ({
  ...c,
  test: testIfSupported(probeFor(c.options)),
}));

function fa(result: RunResult): { runs: number; pages: number } {
  return {
    runs: result.backend_metrics['fault_around_runs'] ?? 0,
    pages: result.backend_metrics['fault_around_pages'] ?? 0,
  };
}

/** Exactly once: the sink got every page once, and the fault path copied no more than that. */
function assertCopiedOnce(
  t: { true(v: boolean, m?: string): void; is(a: unknown, b: unknown, m?: string): void },
  r: RunResult,
) {
  t.true(r.verified, JSON.stringify(r.verification.first_bad.slice(0, 4)));
  t.is(r.bytes_written, r.region_bytes, 'the sink got each page exactly once');
  const granules = r.region_bytes / r.granularity_bytes;
  t.true(r.pages_copied_before_write <= granules, `${r.pages_copied_before_write} <= ${granules}`);
  t.true(fa(r).pages <= r.pages_copied_before_write, 'neighbours are counted among the fault path copies');
}

for (const d of deliveries) {
  for (const pattern of ['sequential', 'random', 'hotset'] as const) {
    for (const k of [4, 512]) {
      d.test.serial(
        `${d.label}, ${pattern} writers, fault-around ${k}: verified, each page copied once`,
        async (t) => {
          const r = await runSnapshot(
            testOptions({
              ...d.options,
              pattern,
              faultAroundPages: k,
              sizeBytes: 32 * MiB,
              bufferBytes: 8 * MiB,
            }),
          );
          assertCopiedOnce(t, r);
          if (r.wp_faults > 0 && pattern !== 'sequential')
            t.true(
              fa(r).runs > 0 || r.pages_copied_before_write === r.wp_faults,
              'faults took neighbours along',
            );
        },
      );
    }
  }
  for (const granularity of ['4k', '2m'] as const) {
    d.test.serial(
      `${d.label}, hugepage region, ${granularity} granularity, fault-around 64: verified`,
      async (t) => {
        const r = await runSnapshot(
          testOptions({
            ...d.options,
            hugepage: true,
            granularityBytes: granularity === '2m' ? 2 * MiB : 4096,
            faultAroundPages: 64,
            sizeBytes: 64 * MiB,
            bufferBytes: 16 * MiB,
          }),
        );
        assertCopiedOnce(t, r);
        // One 2 MiB granule is the whole extent: there is nothing around it to take.
        if (granularity === '2m') t.is(fa(r).runs, 0);
      },
    );
  }

  d.test.serial(`${d.label}: a fault-around run that skips one page fails verification`, async (t) => {
    for (let attempt = 1; attempt <= 4; attempt++) {
      const r = await runSnapshot(
        testOptions({ ...d.options, faultAroundPages: 16, inject: { fault: 'skip-fault-around-page' } }),
      );
      if (fa(r).runs === 0) {
        t.log(`attempt ${attempt}: no fault took a neighbour along; again`);
        continue;
      }
      t.false(r.verified, 'the skipped pages are caught');
      t.true(r.verification.bad_pages > 0);
      t.true(r.verification.bad_pages <= fa(r).runs, 'at most one bad page per run');
      t.true(r.bytes_written < r.region_bytes, 'the skipped pages never reached the sink');
      return;
    }
    t.fail('no fault-around run in 4 snapshots');
  });

  d.test.serial(`${d.label}: the skip-page fault is harmless with fault-around off (control)`, async (t) => {
    const r = await runSnapshot(
      testOptions({ ...d.options, faultAroundPages: 0, inject: { fault: 'skip-fault-around-page' } }),
    );
    t.is(fa(r).runs, 0);
    assertCopiedOnce(t, r);
  });
}

for (const d of deliveries) {
  // A sink slower than the faults: each run may take only the buffer's free slots, so a full
  // buffer trims runs (counted) instead of holding the writer for room for its neighbours.
  d.test.serial(
    `${d.label}: a slow sink trims fault-around runs to the free buffer slots; verified`,
    async (t) => {
      for (let attempt = 1; attempt <= 4; attempt++) {
        const r = await runSnapshot(
          testOptions({
            ...d.options,
            pattern: 'random',
            faultAroundPages: 512,
            sizeBytes: 8 * MiB,
            bufferBytes: 256 * 1024,
            inject: { sinkDelayUs: 500, copierDelayUs: 200_000 }, // the writers fault first, whatever the load
          }),
        );
        assertCopiedOnce(t, r);
        const trimmed = r.backend_metrics['fault_around_trimmed'] ?? 0;
        t.log(`attempt ${attempt}: ${r.wp_faults} faults, ${fa(r).runs} runs, ${trimmed} trimmed`);
        if (trimmed > 0) return;
      }
      t.fail('no fault-around run was trimmed in 4 snapshots through a 64-slot buffer and a slow sink');
    },
  );
}

testIfSupported(probeFor({ backend: 'uffd' })).serial(
  'sequential writers: fewer write faults as K grows (uffd thread)',
  async (t) => {
    // Faults are a race between writers and the copier; on a busy machine one snapshot may let the
    // copier win nearly everything, so a few attempts are allowed.
    for (let attempt = 1; attempt <= 3; attempt++) {
      const faults: number[] = [];
      for (const k of [0, 16, 256]) {
        // A buffer as large as the region: fault-around is never cut short by buffer pressure here.
        const r = await runSnapshot(
          testOptions({
            backend: 'uffd',
            pattern: 'sequential',
            faultAroundPages: k,
            sizeBytes: 64 * MiB,
            bufferBytes: 64 * MiB,
          }),
        );
        assertCopiedOnce(t, r);
        faults.push(r.wp_faults);
      }
      const [k0, k16, k256] = faults as [number, number, number];
      t.log(`attempt ${attempt}: wp_faults at K = 0, 16, 256: ${faults.join(', ')}`);
      if (k16 < k0 && k256 * 4 < k0) return;
    }
    t.fail('write faults did not fall with K in 3 attempts');
  },
);

test('--fault-around takes 0…512 and --copy-order sequential|hot; anything else is bad input', async (t) => {
  for (const args of [
    ['--fault-around', '513'],
    ['--fault-around', '-1'],
    ['--copy-order', 'random'],
  ]) {
    const r = await runCli(['run', '--size', '4M', ...args]);
    t.is(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
    t.regex(r.stderr, new RegExp(args[0]!));
  }
});

const faultAroundOwners = optionOwners('faultAroundPages');
test(`--fault-around and --copy-order are ${faultAroundOwners.join(' and ')} options: the other backends refuse them`, async (t) => {
  for (const backend of backendNames.filter((n) => !faultAroundOwners.includes(n)))
    for (const args of [
      ['--fault-around', '0'],
      ['--copy-order', 'hot'],
    ]) {
      const r = await runCli(['run', '--backend', backend, '--size', '4M', ...args]);
      t.is(r.code, 2, `${backend} ${args.join(' ')}: ${r.stderr}`);
      t.regex(
        r.stderr,
        new RegExp(
          `${args[0]!}: the ${backend} backend has no such option \\(only ${faultAroundOwners.join(', ')} have it\\)`,
        ),
      );
    }
});

for (const d of deliveries)
  d.test.serial(`${d.label}: --copy-order hot: verified, each page once`, async (t) => {
    const r = await runSnapshot(testOptions({ ...d.options, copyOrder: 'hot', pattern: 'hotset' }));
    assertCopiedOnce(t, r);
  });
