/**
 * What is specific to the softdirty backend: engine choice and refusal, the end-of-run
 * consistency point (C7), pre-copy passes, PAGEMAP_SCAN's walk_end handling, pagemap decoding.
 */
import test from 'ava';
import { readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import path from 'node:path';
import { runSnapshot, type RunOptions } from '../src/orchestrator.js';
import type { RunResult } from '../src/result.js';
import { native, packageRoot } from '../src/native.js';
import { probeRow } from '../src/probe.js';
import { MiB, runCli, tempDir, testOptions } from './helpers.js';
import { testIf, testIfSupported } from './skip.js';
import { probeFor, probeOptions, ownOptionsOf } from '../src/run-options.js';

const softDirtyWorks = probeRow('soft_dirty')?.ok === true;
const wpAsyncWorks = probeFor({ backend: 'softdirty', engine: 'wp-async' }).ok;
const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);

const withWpAsync = testIf(
  wpAsyncWorks,
  'the wp-async engine is unavailable on this kernel (UFFD_FEATURE_WP_ASYNC + PAGEMAP_SCAN, Linux 6.7+)',
);
const uffdWorks = probeFor({ backend: 'uffd' });

test.serial(
  '--engine clear-refs: refused with exit 2 naming CONFIG_MEM_SOFT_DIRTY, or verified where it works',
  async (t) => {
    const r = await runCli(['run', '--backend', 'softdirty', '--engine', 'clear-refs', '--size', '16M']);
    if (softDirtyWorks) {
      t.is(r.code, 0, r.stderr);
      t.regex(r.stdout, /backend_metrics\.engine_clear_refs\s+1/);
      t.regex(r.stdout, /verified\s+yes/);
      return;
    }
    t.is(r.code, 2, r.stderr);
    t.regex(r.stderr, /CONFIG_MEM_SOFT_DIRTY/);
    t.regex(r.stderr, /--engine wp-async/);
    t.is(r.stderr.trim().split('\n').length, 1, 'one line');
    t.is(r.stdout, '', 'no result printed: not a silent empty snapshot');
  },
);

testIf(!softDirtyWorks, 'this kernel has working soft-dirty').serial(
  'the native engine refuses clear-refs by behaviour too, whoever skips the TS probe',
  async (t) => {
    const region = new native.Region({ bytes: 4 * MiB, hugepage: false, fill: 'all' });
    await region.init();
    const workload = new native.Workload(region);
    workload.start({ kinds: ['cpu'], pattern: 'random', rate: 0, seed: 1 });
    const sink = new native.Sink('/dev/null');
    const options = testOptions({ backend: 'softdirty', engine: 'clear-refs' });
    const snap = new native.Snapshot(
      'softdirty',
      region,
      workload,
      sink,
      probeOptions(options),
      ownOptionsOf(options),
    );
    try {
      const err = await t.throwsAsync(snap.prepare());
      t.is((err as { code?: string }).code, 'EUNSUPPORTED');
      t.regex(err!.message, /CONFIG_MEM_SOFT_DIRTY.*--engine wp-async/);
    } finally {
      await snap.release();
      await workload.stop();
    }
  },
);

withWpAsync.serial(
  'auto picks wp-async here and says so; every pass is accounted for in bytes written',
  async (t) => {
    const options = testOptions({ backend: 'softdirty', engine: 'auto', ratePagesPerSec: 200000 });
    const result = await runSnapshot(options);
    t.true(result.verified);
    t.is(result.consistency_point, 'end');
    t.is(result.backend_metrics.engine_wp_async, 1);
    t.is(result.backend_metrics.engine_clear_refs, undefined);
    const pagesPerPass = result.backend_series.pages_per_pass!;
    const passes = result.backend_metrics.passes!;
    t.is(pagesPerPass[0], options.sizeBytes / 4096, 'pass 0 copies every page');
    t.is(pagesPerPass.length, passes + 1, 'pre-copy passes, then the final pause');
    t.is(result.backend_series.scan_us_per_pass!.length, pagesPerPass.length);
    t.is(result.bytes_written, sum(pagesPerPass) * 4096, 'the sink saw exactly the pages of every pass');
    t.is(pagesPerPass.at(-1), result.backend_metrics.final_dirty_pages);
    t.is(result.backend_metrics.final_pause_us, result.pauses_us.at(-1), 'the final pause is the last one');
    t.is(result.pauses_us.length, 2, 'wp-async stops the world only to arm and to finish');
  },
);

/** The final set is staged in memory (and written after the pause) exactly when it fits in --buffer. */
function checkFinalStaging(
  t: { is(a: unknown, b: unknown, m?: string): void },
  r: RunResult,
  bufferBytes: number,
) {
  const finalBytes = r.backend_metrics.final_dirty_pages! * 4096;
  const staged = finalBytes > 0 && finalBytes <= bufferBytes;
  t.is(
    r.backend_metrics.final_staged,
    staged ? 1 : 0,
    `final set ${finalBytes} bytes, buffer ${bufferBytes}`,
  );
  t.is(r.buffer_peak_bytes, staged ? finalBytes : 0);
}

for (const bufferBytes of [4096, 16 * MiB]) {
  withWpAsync.serial(
    `final stop with --buffer ${bufferBytes}: staged only if the final set fits, verified either way`,
    async (t) => {
      const result = await runSnapshot(
        testOptions({
          backend: 'softdirty',
          engine: 'wp-async',
          bufferBytes,
          finalDirtyPages: 0,
          maxPasses: 2,
        }),
      );
      t.true(result.verified);
      checkFinalStaging(t, result, bufferBytes);
      t.is(result.bytes_written, sum(result.backend_series.pages_per_pass!) * 4096);
    },
  );
}

withWpAsync.serial(
  'writers that outpace the copy: the forced final stop after --max-passes is no error',
  async (t) => {
    // finalDirtyPages 0 can never be undercut: pre-copy runs all its passes.
    const result = await runSnapshot(
      testOptions({ backend: 'softdirty', engine: 'wp-async', finalDirtyPages: 0, maxPasses: 3 }),
    );
    t.true(result.verified);
    t.is(result.backend_metrics.passes, 3);
    t.is(result.backend_metrics.converged, 0);
    t.is(result.backend_series.pages_per_pass!.length, 4);
    t.is(result.backend_metrics.final_pause_us, result.pauses_us.at(-1));
  },
);

withWpAsync.serial(
  '--max-passes 1: pass 0, then everything it let writers dirty in the final pause',
  async (t) => {
    const result = await runSnapshot(testOptions({ backend: 'softdirty', engine: 'wp-async', maxPasses: 1 }));
    t.true(result.verified);
    t.is(result.backend_metrics.passes, 1);
    t.is(result.backend_metrics.converged, 0);
    t.is(result.backend_series.pages_per_pass!.length, 2);
    t.is(result.bytes_written, sum(result.backend_series.pages_per_pass!) * 4096);
  },
);

withWpAsync.serial(
  'a dirty set below --final-dirty after pass 0 goes straight to the final stop',
  async (t) => {
    const result = await runSnapshot(
      testOptions({ backend: 'softdirty', engine: 'wp-async', finalDirtyPages: 2 ** 40, maxPasses: 8 }),
    );
    t.true(result.verified);
    t.is(result.backend_metrics.passes, 1);
    t.is(result.backend_metrics.converged, 1);
  },
);

/** Pages whose version differs between two captures. */
function differing(a: Uint32Array, b: Uint32Array): number {
  let n = 0;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) n++;
  return n;
}

/**
 * Drives the native protocol step by step so the image can be checked against three states:
 * the arm pause, the backend's last capture (its consistency point), and the state after the run.
 */
async function imageAgainstStates(backend: 'softdirty' | 'uffd', options: RunOptions, dir: string) {
  const region = new native.Region({ bytes: options.sizeBytes, hugepage: false, fill: 'all' });
  await region.init();
  const workload = new native.Workload(region);
  workload.start({ kinds: ['cpu', 'cpu'], pattern: 'random', rate: 0, seed: 7 });
  const sink = new native.Sink(path.join(dir, `${backend}.img`));
  const snap = new native.Snapshot(
    backend,
    region,
    workload,
    sink,
    probeOptions(options),
    ownOptionsOf({ ...options, backend }),
  );
  try {
    await snap.prepare();
    await snap.arm();
    const atArm = snap.expected(); // the capture of the arm pause
    workload.beginPhase();
    // Let writers land some writes before the copy ends, however busy the machine is.
    for (let i = 0; i < 3000 && workload.phaseStats().writes < 1000; i++) await sleep(10);
    await snap.copy();
    const writesDuringCopy = workload.phaseStats().writes;
    const metrics = await snap.release();
    if (metrics.error) throw metrics.error;
    await workload.stop();
    const atLastCapture = snap.expected(); // softdirty: the final pause; uffd: still the arm pause
    const afterRun = workload.versions();
    return {
      writesDuringCopy,
      armToLastCapture: differing(atArm, atLastCapture),
      armToAfterRun: differing(atArm, afterRun),
      vsArm: await native.verifyImage(sink.tempPath, atArm),
      vsLastCapture: await native.verifyImage(sink.tempPath, atLastCapture),
      vsAfterRun: await native.verifyImage(sink.tempPath, afterRun),
    };
  } finally {
    await workload.stop();
    sink.discard();
  }
}

withWpAsync.serial(
  'C7: the softdirty image is the state at the final pause, not at the start of the run',
  async (t) => {
    const dir = tempDir(t);
    const options = testOptions({ backend: 'softdirty', engine: 'wp-async', sizeBytes: 32 * MiB });
    const r = await imageAgainstStates('softdirty', options, dir);
    t.true(r.writesDuringCopy > 0, 'writers ran during the copy');
    t.true(r.armToLastCapture > 0, 'pages changed between the arm pause and the final pause');
    t.is(r.vsLastCapture.bad_pages, 0, 'matches the final pause exactly');
    t.is(r.vsArm.bad_pages, r.armToLastCapture, 'differs from the start in exactly the pages written since');
  },
);

testIfSupported(uffdWorks).serial(
  'C7 contrast: a start-point backend (uffd) matches the arm pause instead',
  async (t) => {
    const dir = tempDir(t);
    const options = testOptions({ backend: 'uffd', sizeBytes: 32 * MiB });
    const r = await imageAgainstStates('uffd', options, dir);
    t.is(r.armToLastCapture, 0, 'uffd captures only at arm');
    t.true(r.armToAfterRun > 0, 'writers changed pages during the copy');
    t.is(r.vsArm.bad_pages, 0);
    t.is(r.vsAfterRun.bad_pages, r.armToAfterRun);
  },
);

// PAGEMAP_SCAN's walk_end: the kernel walks through an internal buffer of 512 regions. Alternate
// dirty pages make every page its own region, so 4096 pages give 2048 discontiguous runs.
withWpAsync.serial(
  'PAGEMAP_SCAN: a full output vector is continued from walk_end, nothing lost or doubled',
  async (t) => {
    const reps = await native.softdirty.scanTrial({ pages: 4096, dirty: 'alternate', vecLen: 100, reps: 2 });
    for (const r of reps) {
      t.is(r.dirtied, 2048);
      t.is(r.reported, 2048);
      t.is(r.missed, 0);
      t.is(r.duplicates, 0);
      t.is(r.spurious, 0);
      t.is(r.calls, Math.ceil(2048 / 100), '20 full vectors and one partial');
    }
  },
);

withWpAsync.serial(
  'PAGEMAP_SCAN: a complete scan of >512 regions is not resumed from a short walk_end',
  async (t) => {
    const reps = await native.softdirty.scanTrial({ pages: 4096, dirty: 'alternate', vecLen: 4096, reps: 2 });
    for (const r of reps) {
      t.is(r.regions, 2048);
      t.is(r.reported, 2048);
      t.is(r.duplicates, 0);
      t.is(r.missed, 0);
      t.is(r.calls, 1, 'the vector did not fill: one call is the whole scan');
      t.true(r.walk_end_short <= 1);
    }
    t.log(
      `kernel reported walk_end short of the range end in ${sum(reps.map((r) => r.walk_end_short))} of 2 complete scans`,
    );
  },
);

withWpAsync.serial('PAGEMAP_SCAN: random dirty pages are reported exactly, pass after pass', async (t) => {
  const reps = await native.softdirty.scanTrial({ pages: 65536, dirty: 'fraction', fraction: 0.05, reps: 3 });
  for (const r of reps) {
    t.is(r.dirtied, Math.round(65536 * 0.05));
    t.is(r.reported, r.dirtied);
    t.is(r.missed + r.duplicates + r.spurious, 0);
  }
});

test('clear-refs decodes soft-dirty pages from recorded pagemap entries', (t) => {
  const text = readFileSync(path.join(packageRoot, 'test', 'fixtures', 'pagemap-soft-dirty.txt'), 'utf8');
  const words = text
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('#'))
    .map((l) => BigInt(`0x${l}`));
  t.is(words.length, 20);
  const runs = native.softdirty.decodePagemap(BigUint64Array.from(words), 100);
  // present+dirty 1-3, 9, 13-14; VM_SOFTDIRTY holes 11 and 19; swapped 16; file 17.
  t.deepEqual(runs, [
    [101, 3],
    [109, 1],
    [111, 1],
    [113, 2],
    [116, 2],
    [119, 1],
  ]);
  t.deepEqual(native.softdirty.decodePagemap(new BigUint64Array(8), 0), [], 'zero entries: nothing dirty');
});
