/**
 * The shared verification suite: every registered backend runs the same point-in-time checks.
 * A backend this kernel cannot run is skipped with its probe's reason.
 */
import test from 'ava';
import { backendNames, backends } from '../src/registry.js';
import { backendOptions, runSnapshot } from '../src/orchestrator.js';
import { MiB, testOptions } from './helpers.js';

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
    test.serial(`${name}: ${c.name} -> image verified at the consistency point`, async (t) => {
      const options = testOptions({ backend: name, ...c.options });
      const support = backend.probe(backendOptions(options));
      if (!support.ok) {
        t.log(`skipped: ${support.reason}`);
        t.pass();
        return;
      }
      const result = await runSnapshot(options);
      t.true(result.verified, JSON.stringify(result.verification.first_bad.slice(0, 4)));
      t.is(result.verification.checked_pages, options.sizeBytes / 4096);
      t.is(result.verification.bad_pages, 0);
      t.is(result.consistency_point, backend.capabilities.consistencyPoint);
      t.true(result.writers.snapshot_writes_per_s > 0, 'writers kept writing during the snapshot');
      t.true(result.bytes_written >= options.sizeBytes);
      t.is(result.output, null);
    });
  }
}
