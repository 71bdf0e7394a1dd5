/**
 * The `scan` bench suite's parts (C6): the hidden child commands it runs, and the native
 * single-operation hook its micro-benchmarks call. Counts and behaviour only, never timing.
 */
import test from 'ava';
import type { MicroFigure } from '../bench/scan_children.js';
import { native, type ScanTrialRep } from '../src/native.js';
import { probeRow } from '../src/probe.js';
import { runCli } from './helpers.js';
import { testIf } from './skip.js';
import { probeFor } from '../src/run-options.js';

const wpAsyncWorks = probeFor({ backend: 'softdirty', engine: 'wp-async' }).ok;
const softDirtyWorks = probeRow('soft_dirty')?.ok === true;
const withWpAsync = testIf(wpAsyncWorks, 'the wp-async engine is unavailable on this kernel (Linux 6.7+)');

withWpAsync.serial('scan-trial: wp-async reports exactly the written pages of each collect', async (t) => {
  const r = await runCli(['scan-trial', '--engine', 'wp-async', '--size', '8M', '--fraction', '0.05']);
  t.is(r.code, 0, r.stderr);
  const out = JSON.parse(r.stdout) as { reps: ScanTrialRep[] };
  t.true(out.reps.length >= 2);
  for (const rep of out.reps) {
    t.is(rep.dirtied, Math.round(0.05 * 2048));
    t.is(rep.reported, rep.dirtied);
    t.is(rep.missed + rep.duplicates + rep.spurious, 0);
    t.true(rep.calls >= 1);
  }
});

test.serial('scan-trial: clear-refs is refused with exit 2 where soft-dirty does not work', async (t) => {
  const r = await runCli(['scan-trial', '--engine', 'clear-refs', '--size', '4M', '--fraction', '0.1']);
  if (softDirtyWorks) {
    t.is(r.code, 0, r.stderr);
    return;
  }
  t.is(r.code, 2);
  t.regex(r.stderr, /CONFIG_MEM_SOFT_DIRTY/);
});

test.serial('scan-trial: bad input names the flag', async (t) => {
  const bad = await runCli(['scan-trial', '--engine', 'nope']);
  t.is(bad.code, 2);
  t.regex(bad.stderr, /--engine: 'nope'/);
  const frac = await runCli(['scan-trial', '--fraction', '2']);
  t.is(frac.code, 2);
  t.regex(frac.stderr, /--fraction/);
});

withWpAsync.serial('scan-micro: one figure per operation, each from many samples', async (t) => {
  const r = await runCli(['scan-micro', '--time-ms', '20']);
  t.is(r.code, 0, r.stderr);
  const figures = JSON.parse(r.stdout) as MicroFigure[];
  t.deepEqual(
    figures.map((f) => f.operation.split(' ')[0]),
    ['native', 'UFFDIO_WRITEPROTECT', 'PAGEMAP_SCAN', 'PAGEMAP_SCAN', 'clear-refs'],
  );
  for (const f of figures) {
    t.true(f.samples > 0, f.operation);
    t.true(f.min_us <= f.p50_us && f.p50_us <= f.max_us, f.operation);
  }
});

withWpAsync.serial('ScanMicro: a scan reports exactly the pages touched since the last one', (t) => {
  const m = new native.softdirty.ScanMicro({ pages: 64 });
  try {
    t.is(m.pagemapScan(), 0, 'nothing written since the start');
    m.touch(5);
    t.is(m.pagemapScan(), 5);
    t.is(m.pagemapScan(), 0, 'the scan re-protected what it reported');
    m.writeProtectPair(7); // leaves page 7 writable: it counts as written
    t.is(m.pagemapScan(), 1);
    t.throws(() => m.writeProtectPair(64), { code: 'EINVAL' });
    t.throws(() => m.touch(65), { code: 'EINVAL' });
  } finally {
    m.close();
    m.close();
  }
  t.throws(() => m.pagemapScan(), { code: 'EINVAL', message: /not open/ });
  t.throws(() => new native.softdirty.ScanMicro({ pages: 0 }), { code: 'EINVAL' });
});
