/**
 * uffd --delivery sigbus: the writer's own SIGBUS handler copies and un-protects the page. The
 * checks every copy-before-write configuration shares (skipped copies caught, a full buffer under
 * the fail policy, 2m granularity) run for it in backends.test.ts.
 */
import { runSnapshot, type RunOptions } from '../src/orchestrator.js';
import { testOptions } from './helpers.js';
import { testIfSupported } from './skip.js';
import { probeFor } from '../src/run-options.js';

function sigbusOptions(overrides: Partial<RunOptions>): RunOptions {
  return testOptions({ backend: 'uffd', delivery: 'sigbus', ...overrides });
}

const cases: { name: string; options: Partial<RunOptions> }[] = [
  { name: 'random writers', options: { pattern: 'random' } },
  { name: 'hotset writers', options: { pattern: 'hotset', writerKinds: ['cpu', 'cpu', 'cpu'] } },
  { name: 'sparse region', options: { fill: 'none' } },
];

for (const c of cases) {
  const options = sigbusOptions(c.options);
  testIfSupported(probeFor(options)).serial(
    `uffd sigbus: ${c.name} -> image verified, faults served in the writer`,
    async (t) => {
      const result = await runSnapshot(options);
      t.true(result.verified, JSON.stringify(result.verification.first_bad.slice(0, 4)));
      t.is(result.verification.bad_pages, 0);
      t.true(result.wp_faults > 0, 'writers took SIGBUS faults');
      t.true(result.pages_copied_before_write > 0);
    },
  );
}
