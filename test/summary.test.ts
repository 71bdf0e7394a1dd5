/** The terminal summary of `run`. */
import test from 'ava';
import { runSnapshot } from '../src/orchestrator.js';
import { renderRun } from '../src/report.js';
import { testOptions } from './helpers.js';

test('the run summary labels figures with their JSON keys, groups digits, and hides zero counters', async (t) => {
  // Fault-around off: its runs (up to half this 4 MiB buffer per fault) would throttle the writers,
  // and this test needs a zero counter.
  const r = await runSnapshot(
    testOptions({ sizeBytes: 16 * 1024 * 1024, bufferBytes: 4 * 1024 * 1024, faultAroundPages: 0 }),
  );
  const text = renderRun(r);
  for (const key of [
    'pause_us',
    'total_ms',
    'throughput_MBps',
    'write_stall_us',
    'baseline_write_stall_us',
    'verified',
  ])
    t.regex(text, new RegExp(`^${key.replace('.', '\\.')}\\s`, 'm'), key);
  t.regex(text, /^region_bytes\s+16 MiB \(granularity_bytes 4 KiB\)$/m, 'bytes in binary units');
  t.notRegex(text, /^throttled_ms/m, 'a zero counter is left out');
  t.regex(renderRun(r, { verbose: true }), /^throttled_ms\s+0\.0$/m, 'shown with --verbose');
});
