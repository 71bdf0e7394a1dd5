/**
 * A failed snapshot releases its writers at the failure, not only when release() runs: every
 * backend that protects pages makes the whole region writable again as soon as the snapshot is
 * lost (a full buffer under the fail policy, a full disk). Driven through the native API so the
 * writers can be watched between the failed copy() and release().
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { native } from '../src/native.js';
import { type RunOptions } from '../src/orchestrator.js';
import { configurations, MiB, tempDir, testOptions } from './helpers.js';
import { canMountTmpfs, NO_TMPFS, testIf, testIfSupported } from './skip.js';
import { probeFor, probeOptions, ownOptionsOf } from '../src/run-options.js';

/** Every configuration that protects pages until it has copied them. */
const cases = configurations({ capability: 'copyBeforeWrite' });
const causes = [
  {
    name: 'a full buffer (fail policy)',
    code: 'EBUFFER_FULL',
    options: {
      bufferBytes: 8192,
      bufferPolicy: 'fail',
      inject: { sinkDelayUs: 20000 },
    } as Partial<RunOptions>,
  },
  { name: 'a full disk', code: 'ESYS', options: {} as Partial<RunOptions> },
];

for (const c of cases) {
  for (const cause of causes) {
    const options = testOptions({
      ...c.options,
      ...cause.options,
      sizeBytes: 64 * MiB,
      writerKinds: ['cpu', 'cpu'],
    });
    const support = probeFor(options);
    const needsTmpfs = cause.code === 'ESYS';
    testIf(support.ok && (!needsTmpfs || canMountTmpfs), support.ok ? NO_TMPFS : support.reason).serial(
      `${c.label}: after ${cause.name}, writers run again before release()`,
      async (t) => {
        let out = path.join(tempDir(t), 'snap.img');
        if (needsTmpfs) {
          const dir = path.join(tempDir(t), 'small');
          mkdirSync(dir);
          execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=8m,mode=0700', 'tmpfs', dir], {
            stdio: 'ignore',
          });
          t.teardown(() => execFileSync('umount', ['-l', dir], { stdio: 'ignore' }));
          out = path.join(dir, 'snap.img');
        }
        const region = new native.Region({ bytes: options.sizeBytes, hugepage: false, fill: 'all' });
        await region.init();
        const workload = new native.Workload(region);
        workload.start({ kinds: options.writerKinds, pattern: 'random', rate: 0, seed: 5 });
        const sink = new native.Sink(out);
        const snap = new native.Snapshot(
          options.backend,
          region,
          workload,
          sink,
          probeOptions(options),
          ownOptionsOf(options),
        );
        try {
          await snap.prepare();
          await snap.arm();
          const err = await t.throwsAsync(snap.copy());
          if (cause.code === 'ESYS') t.regex(err!.message, /ENOSPC/);
          else t.is((err as { code?: string }).code, cause.code);
          // Not yet released: the writers must not be parked on pages left protected.
          workload.beginPhase();
          let writes = 0;
          for (let i = 0; i < 200 && writes < 20000; i++) {
            await sleep(50);
            writes = workload.phaseStats().writes;
          }
          t.true(writes >= 20000, `only ${writes} writes in 10 s after the failure, before release()`);
        } finally {
          await snap.release();
          await workload.stop();
          sink.discard();
          region.release();
        }
      },
    );
  }
}

// The fault path itself must release the writers: with the copier stalled (it only notices the
// failure at its next chunk), writers must already be writing again while copy() is still running.
for (const c of cases) {
  const options = testOptions({
    ...c.options,
    sizeBytes: 64 * MiB,
    bufferBytes: 8192,
    bufferPolicy: 'fail',
    inject: { sinkDelayUs: 20000, copierDelayUs: 3_000_000 },
    writerKinds: ['cpu', 'cpu'],
  });
  testIfSupported(probeFor(options)).serial(
    `${c.label}: a full buffer in the fault path releases writers before the copier notices`,
    async (t) => {
      const region = new native.Region({ bytes: options.sizeBytes, hugepage: false, fill: 'all' });
      await region.init();
      const workload = new native.Workload(region);
      workload.start({ kinds: options.writerKinds, pattern: 'random', rate: 0, seed: 9 });
      const sink = new native.Sink(path.join(tempDir(t), 'snap.img'));
      const snap = new native.Snapshot(
        options.backend,
        region,
        workload,
        sink,
        probeOptions(options),
        ownOptionsOf(options),
      );
      try {
        await snap.prepare();
        await snap.arm();
        let settled = false;
        const copying = snap.copy().then(
          () => (settled = true),
          (e: unknown) => {
            settled = true;
            return e;
          },
        );
        await sleep(300); // the 2-slot buffer overflows at the first few faults
        workload.beginPhase();
        let writes = 0;
        while (!settled && writes < 20000) {
          await sleep(20);
          writes = workload.phaseStats().writes;
        }
        t.true(
          writes >= 20000 && !settled,
          `${writes} writes before the copier noticed the failure (copy settled: ${settled})`,
        );
        const err = await copying;
        t.is((err as { code?: string }).code, 'EBUFFER_FULL');
      } finally {
        await snap.release();
        await workload.stop();
        sink.discard();
        region.release();
      }
    },
  );
}
