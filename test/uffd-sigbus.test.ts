/** uffd --delivery sigbus: the writer's own SIGBUS handler copies and un-protects the page. */
import test from 'ava';
import { backends } from '../src/registry.js';
import { backendOptions, runSnapshot, type RunOptions } from '../src/orchestrator.js';
import { MiB, testOptions } from './helpers.js';

function sigbusOptions(overrides: Partial<RunOptions>): RunOptions {
  return testOptions({ backend: 'uffd', delivery: 'sigbus', ...overrides });
}

const cases: { name: string; options: Partial<RunOptions> }[] = [
  { name: 'random writers', options: { pattern: 'random' } },
  { name: 'hotset writers', options: { pattern: 'hotset', writerKinds: ['cpu', 'cpu', 'cpu'] } },
  { name: 'sparse region', options: { fill: 'none' } },
  {
    name: 'THP region, 2m granularity',
    options: { hugepage: true, sizeBytes: 64 * MiB, granularityBytes: 2 * MiB },
  },
];

for (const c of cases) {
  test.serial(`uffd sigbus: ${c.name} -> image verified, faults served in the writer`, async (t) => {
    const options = sigbusOptions(c.options);
    const support = backends.uffd.probe(backendOptions(options));
    if (!support.ok) {
      t.log(`skipped: ${support.reason}`);
      t.pass();
      return;
    }
    const result = await runSnapshot(options);
    t.true(result.verified, JSON.stringify(result.verification.first_bad.slice(0, 4)));
    t.is(result.verification.bad_pages, 0);
    t.true(result.wp_faults > 0, 'writers took SIGBUS faults');
    t.true(result.pages_copied_before_write > 0);
  });
}

test.serial('uffd sigbus: verification catches a handler that skips copy-before-write', async (t) => {
  const options = sigbusOptions({ injectFault: 'skip-copy-before-write' });
  if (!backends.uffd.probe(backendOptions(options)).ok) return t.pass();
  const result = await runSnapshot(options);
  t.false(result.verified);
  t.true(result.verification.bad_pages > 0);
  t.true(result.verification.bad_pages <= result.pages_copied_before_write);
});

test.serial('uffd sigbus: a full buffer under the fail policy fails cleanly', async (t) => {
  const options = sigbusOptions({ bufferBytes: 8192, bufferPolicy: 'fail', injectSinkDelayUs: 20000 });
  if (!backends.uffd.probe(backendOptions(options)).ok) return t.pass();
  const err = await t.throwsAsync(runSnapshot(options));
  t.is((err as { code?: string }).code, 'EBUFFER_FULL');
});
