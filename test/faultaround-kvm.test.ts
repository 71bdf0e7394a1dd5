/**
 * The kvm writer without an exit per write: a paced guest at 65,536 writes/s leaves the vCPU about
 * once per millisecond, not once per write, and its writes are still covered by verification.
 */
import { native } from '../src/native.js';
import { runSnapshot } from '../src/orchestrator.js';
import { probeFor } from '../src/run-options.js';
import { MiB, testOptions } from './helpers.js';
import { testIf } from './skip.js';

// The kvm writer and uffd, probed once before the tests are registered (a skip is counted as one).
const kvm = await native.probeWriter('kvm');
const uffd = probeFor({ backend: 'uffd' });
const kvmTest = testIf(
  kvm.ok && uffd.ok,
  !uffd.ok ? uffd.reason : `the kvm writer cannot run here: ${kvm.detail ?? kvm.code ?? 'unavailable'}`,
);

function exits(r: Awaited<ReturnType<typeof runSnapshot>>): number {
  return Object.values(r.writers.exit_reasons).reduce((a, b) => a + b, 0);
}

for (const rate of [65536, 0]) {
  kvmTest.serial(
    `kvm at ${rate || 'max'} writes/s: verified under uffd, far fewer exits than writes`,
    async (t) => {
      const r = await runSnapshot(
        testOptions({
          backend: 'uffd',
          writerKinds: ['kvm'],
          ratePagesPerSec: rate,
          sizeBytes: 32 * MiB,
          baselineMs: 300,
        }),
      );
      t.true(r.verified, JSON.stringify(r.verification.first_bad.slice(0, 4)));
      t.is(r.writers.failed_writes, 0);
      const writes = r.writers.writes_by_kind['kvm'] ?? 0;
      t.true(writes > 0, 'the guest wrote during the snapshot');
      t.log(`${writes} writes, exits ${JSON.stringify(r.writers.exit_reasons)}`);
      // About one exit per ms of guest time (progress, HLT for budget) plus the pauses: never one per write.
      t.true(exits(r) * 4 < writes, `${exits(r)} exits for ${writes} writes`);
    },
  );
}

kvmTest.serial('kvm, paced: a snapshot that skips copy-before-write fails verification', async (t) => {
  for (let attempt = 1; attempt <= 4; attempt++) {
    const r = await runSnapshot(
      testOptions({
        backend: 'uffd',
        writerKinds: ['kvm'],
        ratePagesPerSec: 65536,
        sizeBytes: 64 * MiB,
        faultAroundPages: 0,
        inject: { fault: 'skip-copy-before-write' },
      }),
    );
    if (r.pages_copied_before_write === 0) {
      t.log(`attempt ${attempt}: the guest hit no unsaved page; again`);
      continue;
    }
    t.false(r.verified, 'pages the fault skipped are caught');
    t.true(r.verification.bad_pages > 0);
    return;
  }
  t.fail('the guest never wrote an unsaved page in 4 snapshots');
});

kvmTest.serial(
  'kvm with fault-around: verified under uffd (thread) with sequential and hotset guests',
  async (t) => {
    for (const pattern of ['sequential', 'hotset'] as const) {
      // A 32 MiB snapshot lasts milliseconds: on a busy 2-CPU host the vCPU thread may get no
      // time inside it. Every attempt must verify; one of up to 4 must see the guest write.
      let guestWrote = false;
      for (let attempt = 1; attempt <= 4 && !guestWrote; attempt++) {
        const r = await runSnapshot(
          testOptions({
            backend: 'uffd',
            writerKinds: ['kvm', 'cpu'],
            pattern,
            faultAroundPages: 64,
            sizeBytes: 32 * MiB,
          }),
        );
        t.true(r.verified, `${pattern}: ${JSON.stringify(r.verification.first_bad.slice(0, 4))}`);
        guestWrote = (r.writers.writes_by_kind['kvm'] ?? 0) > 0;
        if (!guestWrote)
          t.log(`${pattern}, attempt ${attempt}: the guest did not write during the snapshot; again`);
      }
      t.true(guestWrote, `${pattern}: the guest wrote during one of 4 snapshots`);
    }
  },
);
