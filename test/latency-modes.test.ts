/** Every fault mode of the latency suite is a command line its backend accepts. */
import test from 'ava';
import { faultModes, withDrain } from '../bench/suites/latency.js';
import { flagsOf } from '../src/options.js';
import { runCli } from './helpers.js';

test('each latency fault mode runs its fault-latency trial (no flag refused for its backend)', async (t) => {
  for (const m of faultModes) {
    const r = await runCli([
      'fault-latency',
      '--backend',
      m.backend,
      '--pages',
      '64',
      '--json',
      ...flagsOf(withDrain(m.backend, m.options)),
    ]);
    t.is(r.code, 0, `${m.label}: ${r.stderr}`);
  }
});
