/**
 * The shared verification suite: every registered backend runs the same point-in-time checks,
 * and every configuration of a backend (its variants; each uffd delivery) runs the checks its
 * declared capabilities call for. A backend this kernel cannot run is registered as skipped with
 * its probe's reason.
 */
import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { runSnapshot, type RunOptions } from '../src/orchestrator.js';
import { probeRow } from '../src/probe.js';
import { backendNames, backends } from '../src/registry.js';
import { configurations, MiB, tempDir, testOptions } from './helpers.js';
import { testIf, testIfSupported } from './skip.js';
import { probeFor } from '../src/run-options.js';

interface Case {
  name: string;
  options: Parameters<typeof testOptions>[0];
}

const cases: Case[] = [
  { name: 'random writers', options: { pattern: 'random' } },
  { name: 'sequential writers', options: { pattern: 'sequential', writerKinds: ['cpu'] } },
  { name: 'hotset writers', options: { pattern: 'hotset', writerKinds: ['cpu', 'cpu', 'cpu'] } },
  // Pages never touched before the snapshot are first written during the copy.
  { name: 'sparse region', options: { fill: 'none', pattern: 'random' } },
  { name: 'half-filled region, rate-limited writers', options: { fill: 'half', ratePagesPerSec: 50000 } },
  { name: 'THP region', options: { hugepage: true, sizeBytes: 64 * MiB } },
];

for (const name of backendNames) {
  const backend = backends[name];
  for (const c of cases) {
    const options = testOptions({ backend: name, ...c.options });
    testIfSupported(probeFor(options)).serial(
      `${name}: ${c.name} -> image verified at the consistency point`,
      async (t) => {
        const result = await runSnapshot(options);
        t.true(result.verified, JSON.stringify(result.verification.first_bad.slice(0, 4)));
        t.is(result.verification.checked_pages, options.sizeBytes / 4096);
        t.is(result.verification.bad_pages, 0);
        t.is(result.consistency_point, backend.capabilities.consistencyPoint);
        t.true(result.writers.snapshot_writes_per_s > 0, 'writers kept writing during the snapshot');
        t.true(result.bytes_written >= options.sizeBytes);
        t.is(result.output, null);
      },
    );
  }
}

const thp = probeRow('thp');

for (const v of configurations()) {
  const caps = v.capabilities;
  const options = (o: Partial<RunOptions>) =>
    testOptions({ writerKinds: ['cpu', 'cpu'], ...v.options, ...o });

  if (caps.copyBeforeWrite) {
    const o = options({ inject: { fault: 'skip-copy-before-write' } });
    testIfSupported(probeFor(o)).serial(
      `${v.label}: verification catches a snapshot that skips copy-before-write, naming the pages`,
      async (t) => {
        const result = await runSnapshot(o);
        t.false(result.verified);
        t.true(result.pages_copied_before_write > 0, 'writers faulted during the copy');
        t.true(result.verification.bad_pages > 0);
        t.true(result.verification.bad_pages <= result.pages_copied_before_write);
        // The skipped pages are missing from the image where a version was expected.
        for (const bad of result.verification.first_bad) t.not(bad.found, bad.expected, `page ${bad.page}`);
      },
    );
  }

  if (caps.copyBuffer) {
    const o = options({ bufferBytes: 8192, bufferPolicy: 'fail', inject: { sinkDelayUs: 20000 } });
    testIfSupported(probeFor(o)).serial(
      `${v.label}: a full buffer under the fail policy fails cleanly: named cause, writers released, no image`,
      async (t) => {
        const dir = tempDir(t);
        const out = path.join(dir, 'snap.img');
        const err = await t.throwsAsync(runSnapshot({ ...o, out }));
        t.is((err as { code?: string }).code, 'EBUFFER_FULL');
        t.regex(err!.message, /buffer full .*--buffer-policy fail/);
        t.false(existsSync(out));
        t.deepEqual(readdirSync(dir), [], 'no temporary left behind');
      },
    );
  }

  if (caps.granularities.includes(2 * MiB)) {
    const o = options({ hugepage: true, granularityBytes: 2 * MiB, sizeBytes: 64 * MiB });
    const support = probeFor(o);
    testIf(
      support.ok && thp?.ok === true,
      support.ok ? `transparent hugepages unavailable (${thp?.detail ?? 'not probed'})` : support.reason,
    ).serial(`${v.label}: THP region at 2m granularity: whole huge pages copied, verified`, async (t) => {
      const result = await runSnapshot(o);
      t.true(result.verified, JSON.stringify(result.verification.first_bad.slice(0, 4)));
      t.is(result.granularity_bytes, 2 * MiB);
    });
  }
}
