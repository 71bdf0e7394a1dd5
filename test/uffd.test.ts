/** What is specific to the uffd backend: the block policy, kept images, its knobs (the shared checks are in backends.test.ts). */
import { statSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { flagsOf } from '../src/options.js';
import { runSnapshot, type RunOptions } from '../src/orchestrator.js';
import { probeFor } from '../src/run-options.js';
import { configurations, MiB, runCli, tempDir, testOptions } from './helpers.js';
import { testIfSupported } from './skip.js';

/** On a kernel without userfaultfd these are skipped with the probe's reason, not failed. */
const uffdTest = testIfSupported(probeFor({ backend: 'uffd' }));

uffdTest.serial('a small buffer with the block policy throttles writers and still verifies', async (t) => {
  const result = await runSnapshot(
    testOptions({
      backend: 'uffd',
      sizeBytes: 64 * MiB,
      bufferBytes: 8192,
      bufferPolicy: 'block',
      inject: { sinkDelayUs: 10000 },
      writerKinds: ['cpu', 'cpu'],
    }),
  );
  t.true(result.verified);
  t.true(result.throttled_ms > 0, `throttled ${result.throttled_ms} ms`);
  t.true(result.buffer_peak_bytes <= 8192);
});

uffdTest.serial('a kept image is 0600 with a manifest that names the backend and the checksum', async (t) => {
  const dir = tempDir(t);
  const out = path.join(dir, 'snap.img');
  const result = await runSnapshot(testOptions({ backend: 'uffd', sizeBytes: 16 * MiB, out }));
  t.true(result.verified);
  t.is(statSync(out).mode & 0o777, 0o600);
  t.is(statSync(out).size, 16 * MiB);
  const manifest = JSON.parse(readFileSync(`${out}.json`, 'utf8')) as Record<string, unknown>;
  t.is(statSync(`${out}.json`).mode & 0o777, 0o600);
  t.is(manifest.backend, 'uffd');
  t.is(manifest.consistency_point, 'start');
  t.is(manifest.checksum, result.verification.checksum);
  t.is(manifest.page_size, 4096);
});

// The fault-path knobs of the latency suite: each must still give a verified image.
const knobs: { name: string; options: Partial<RunOptions> }[] = [
  { name: 'handler-cpu same', options: { handlerCpu: 'same' } },
  { name: 'handler-cpu other, 2 handlers', options: { handlerCpu: 'other', handlers: 2 } },
  { name: 'handler-wait spin, handler-cpu other', options: { handlerWait: 'spin', handlerCpu: 'other' } },
  { name: 'handler-batch, 2 handlers', options: { handlerBatch: true, handlers: 2 } },
  { name: 'drain-wake late', options: { drainWake: 'late' } },
  { name: 'drain-wake batch', options: { drainWake: 'batch' } },
];
for (const k of knobs) {
  uffdTest.serial(`uffd with ${k.name}: verified, faults copied before the write`, async (t) => {
    const result = await runSnapshot(
      // The copier starts 200 ms late so writers meet unsaved pages even on a loaded machine
      // (otherwise it can save every page before a writer thread is scheduled).
      testOptions({
        backend: 'uffd',
        writerKinds: ['cpu', 'cpu'],
        inject: { copierDelayUs: 200_000 },
        ...k.options,
      }),
    );
    t.true(result.verified);
    t.true(result.pages_copied_before_write > 0);
    if (k.options.handlerCpu)
      t.true((result.backend_metrics['handler_repins'] ?? 0) >= 1, 'handler was placed');
  });
}

for (const c of configurations({ option: 'drainWake' })) {
  testIfSupported(probeFor(c.options)).serial(
    `${c.label}: drain-wake batch with fewer slots than a batch still drains (block policy, no hang)`,
    async (t) => {
      // 16 slots < the 32-page wake batch: a pusher waiting for a slot must wake the drain itself.
      const result = await runSnapshot(
        testOptions({
          ...c.options,
          sizeBytes: 64 * MiB,
          bufferBytes: 64 * 1024,
          bufferPolicy: 'block',
          drainWake: 'batch',
          inject: { sinkDelayUs: 500 },
          writerKinds: ['cpu', 'cpu'],
        }),
      );
      t.true(result.verified);
      t.true(result.throttled_ms > 0, `throttled ${result.throttled_ms} ms`);
    },
  );
}

for (const c of configurations({ capability: 'copyBeforeWrite' }))
  testIfSupported(probeFor(c.options)).serial(
    `${c.label}: fault-latency: every timed write is one fault through the backend`,
    async (t) => {
      const r = await runCli(['fault-latency', '--json', ...flagsOf(c.options), '--pages', '512']);
      t.is(r.code, 0, r.stderr);
      const trial = JSON.parse(r.stdout) as { wp_faults: number; fault_us: { n: number; median: number } };
      t.is(trial.fault_us.n, 512);
      t.is(trial.wp_faults, 512, 'each write faulted once');
    },
  );
