/**
 * Faults users will hit, injected for real: a full disk, Ctrl-C / SIGTERM, no userfaultfd
 * permission. Each must end cleanly: cause named, writers released, no partial image.
 */
import test from 'ava';
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { runSnapshot } from '../src/orchestrator.js';
import { probeFor } from '../src/run-options.js';
import { configurations, MiB, runCli, tempDir, testOptions } from './helpers.js';
import { canMountTmpfs, isRoot, NO_TMPFS, testIf, unprivilegedUserfaultfd } from './skip.js';

function mountTmpfs(t: Parameters<typeof tempDir>[0], sizeBytes: number): string | null {
  if (!isRoot) return null;
  const dir = path.join(tempDir(t), 'small');
  mkdirSync(dir);
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${sizeBytes},mode=0700`, 'tmpfs', dir], {
      stdio: 'ignore',
    });
  } catch {
    return null;
  }
  t.teardown(() => execFileSync('umount', ['-l', dir], { stdio: 'ignore' }));
  return dir;
}

for (const c of configurations()) {
  const options = testOptions({ ...c.options, sizeBytes: 64 * MiB, writerKinds: ['cpu', 'cpu'] });
  const support = probeFor(options);
  testIf(support.ok && canMountTmpfs, support.ok ? NO_TMPFS : support.reason).serial(
    `${c.label}: disk full mid-snapshot fails with ENOSPC named, no partial image, writers released`,
    async (t) => {
      const dir = mountTmpfs(t, 16 * MiB);
      if (!dir) return t.fail(NO_TMPFS);
      const out = path.join(dir, 'snap.img');
      // The run returning at all proves no writer was left blocked on a protected page:
      // runSnapshot joins every writer thread before it settles.
      const err = await t.throwsAsync(runSnapshot({ ...options, out }));
      t.regex(err!.message, /ENOSPC|No space left/);
      t.deepEqual(readdirSync(dir), [], 'the partial image and its temporary are removed');
      // And the machine is usable right after: the same snapshot to a roomy place verifies.
      const again = await runSnapshot({ ...options, out: null });
      t.true(again.verified);
    },
  );
}

for (const [signal, code] of [
  ['SIGINT', 130],
  ['SIGTERM', 143],
  ['SIGHUP', 129], // a closed terminal, a dropped ssh session
  ['SIGQUIT', 131],
] as const) {
  test.serial(
    `${signal} mid-snapshot: disarmed, temporary removed, exit ${code}, next run succeeds`,
    async (t) => {
      const dir = tempDir(t);
      const out = path.join(dir, 'snap.img');
      let sent = false;
      const r = await runCli(['run', '--size', '1G', '--out', out, '--verbose', '--writers', '2'], {
        onSpawn: (child) => {
          child.stderr?.on('data', (d: Buffer) => {
            if (!sent && d.toString().includes('cowbench: copy')) {
              sent = true;
              child.kill(signal);
            }
          });
        },
      });
      t.true(sent, 'the signal arrived during the copy step');
      t.is(r.code, code, r.stderr);
      t.regex(r.stderr, new RegExp(`interrupted by ${signal}`));
      t.deepEqual(readdirSync(dir), [], 'no image and no temporary left');
      const next = await runCli(['run', '--size', '32M', '--out', out, '--baseline-ms', '20']);
      t.is(next.code, 0, next.stderr);
      t.regex(next.stdout, /verified\s+yes/);
    },
  );
}

testIf(
  isRoot && !unprivilegedUserfaultfd,
  isRoot
    ? 'this machine lets unprivileged users use userfaultfd'
    : 'needs root to drop to an unprivileged user',
).serial(
  'without userfaultfd permission: a user-mode-only userfaultfd serves cpu writers; kernel writers are a named incompatibility',
  async (t) => {
    const dir = tempDir(t);
    chmodSync(dir, 0o777);
    const nobody = { uid: 65534, gid: 65534, env: { TMPDIR: dir, HOME: dir } };
    const probe = await runCli(['probe'], nobody);
    t.is(probe.code, 0, probe.stderr);
    if (/^userfaultfd\s+yes\s+.*user-mode only/m.test(probe.stdout)) {
      // Linux 5.11+: UFFD_USER_MODE_ONLY opens without privilege.
      t.regex(probe.stdout, /^uffd\.kernel_faults\s+no\s/m);
      const run = await runCli(['run', '--backend', 'uffd', '--size', '16M', '--json'], nobody);
      t.is(run.code, 0, run.stderr);
      const result = JSON.parse(run.stdout) as { verified: boolean; backend_metrics: Record<string, number> };
      t.true(result.verified);
      t.is(result.backend_metrics['user_mode_only'], 1);
      const kernel = await runCli(
        ['run', '--backend', 'uffd', '--size', '64M', '--writers', 'cpu:1,read:1'],
        nobody,
      );
      t.is(kernel.code, 1, kernel.stderr);
      t.regex(
        kernel.stderr,
        /incompatible: uffd .*writes by read did not land \(EFAULT [\d,]+\).*user-mode only/,
      );
    } else {
      // Older kernels: a refusal that says what to change.
      t.regex(probe.stdout, /^userfaultfd\s+no\s+.*vm\.unprivileged_userfaultfd/m);
      const run = await runCli(['run', '--backend', 'uffd', '--size', '16M'], nobody);
      t.is(run.code, 2, run.stderr);
      t.regex(run.stderr, /vm\.unprivileged_userfaultfd/);
      t.regex(run.stderr, /\/dev\/userfaultfd/);
      t.is(run.stderr.trim().split('\n').length, 1);
    }
    t.deepEqual(readdirSync(dir), []);
  },
);

test('--force replaces an existing regular file; the result is still 0600', async (t) => {
  const dir = tempDir(t);
  const out = path.join(dir, 'snap.img');
  let r = await runCli(['run', '--size', '8M', '--out', out, '--baseline-ms', '10']);
  t.is(r.code, 0, r.stderr);
  r = await runCli(['run', '--size', '8M', '--out', out, '--baseline-ms', '10', '--force']);
  t.is(r.code, 0, r.stderr);
  const mode = Number.parseInt(execFileSync('stat', ['-c', '%a', out]).toString().trim(), 8);
  t.is(mode, 0o600);
});

test.serial('SIGINT while verifying: the verified image is not kept either', async (t) => {
  const dir = tempDir(t);
  const out = path.join(dir, 'snap.img');
  let sent = false;
  const r = await runCli(
    ['run', '--size', '2G', '--out', out, '--verbose', '--writers', '1', '--rate', '1000'],
    {
      onSpawn: (child) => {
        child.stderr?.on('data', (d: Buffer) => {
          if (!sent && d.toString().includes('cowbench: verify')) {
            sent = true;
            child.kill('SIGINT');
          }
        });
      },
    },
  );
  t.true(sent, 'the signal arrived during verification');
  t.is(r.code, 130, r.stderr);
  t.deepEqual(readdirSync(dir), [], 'no image, manifest or temporary left');
});

testIf(canMountTmpfs, NO_TMPFS).serial(
  'disk full while writing the manifest: neither image nor manifest is left, the next run is not refused',
  async (t) => {
    // 8 MiB of tmpfs holds the 8 MiB image exactly; the manifest's first page does not fit.
    const dir = mountTmpfs(t, 8 * MiB);
    if (!dir) return t.fail(NO_TMPFS);
    const out = path.join(dir, 'snap.img');
    const r = await runCli(['run', '--size', '8M', '--out', out, '--baseline-ms', '10']);
    t.is(r.code, 1, r.stderr);
    t.regex(r.stderr, /manifest.*(ENOSPC|No space left)/);
    t.is(r.stderr.trim().split('\n').length, 1, r.stderr);
    t.deepEqual(readdirSync(dir), [], 'no image, no manifest, no temporary');
    const next = await runCli(['run', '--size', '4M', '--out', out, '--baseline-ms', '10']);
    t.is(next.code, 0, next.stderr);
    t.deepEqual(readdirSync(dir).sort(), ['snap.img', 'snap.img.json']);
    t.is(statSync(out).size, 4 * MiB);
    t.is((JSON.parse(readFileSync(`${out}.json`, 'utf8')) as { region_bytes: number }).region_bytes, 4 * MiB);
  },
);

for (const [what, text] of [
  ['an empty manifest', ''],
  ['a cowbench manifest', '{\n  "format": "cowbench.image/1",\n  "image": "x"\n}\n'],
] as const)
  test(`${what} without its image is a leftover, not a blocker: replaced without --force`, async (t) => {
    const dir = tempDir(t);
    const out = path.join(dir, 'snap.img');
    writeFileSync(`${out}.json`, text);
    const r = await runCli(['run', '--size', '4M', '--out', out, '--baseline-ms', '10']);
    t.is(r.code, 0, r.stderr);
    t.deepEqual(readdirSync(dir).sort(), ['snap.img', 'snap.img.json']);
    t.is((JSON.parse(readFileSync(`${out}.json`, 'utf8')) as { region_bytes: number }).region_bytes, 4 * MiB);
  });

test('a file named like the manifest that is not one is still refused without --force', async (t) => {
  const dir = tempDir(t);
  const out = path.join(dir, 'data');
  writeFileSync(`${out}.json`, '{"mine": true}\n');
  const r = await runCli(['run', '--size', '4M', '--out', out, '--baseline-ms', '10']);
  t.is(r.code, 2, r.stderr);
  t.regex(r.stderr, /--out: .*data\.json exists; pass --force/);
  t.is(readFileSync(`${out}.json`, 'utf8'), '{"mine": true}\n');
});

interface FailedRunJson {
  verified: boolean;
  error: { code: string; message: string; errno: number | null; phase: string | null; exit_code: number };
  interrupted_by: string | null;
  cleanup: { writers_released: boolean; temporary_removed: string | null; image_kept: boolean } | null;
}

testIf(canMountTmpfs, NO_TMPFS).serial(
  'run --json that fails (disk full mid-copy) still prints one JSON object: error, errno, phase, cleanup',
  async (t) => {
    const dir = mountTmpfs(t, 16 * MiB);
    if (!dir) return t.fail(NO_TMPFS);
    const out = path.join(dir, 'snap.img');
    const r = await runCli(['run', '--size', '64M', '--json', '--out', out, '--baseline-ms', '10']);
    t.is(r.code, 1, r.stderr);
    const j = JSON.parse(r.stdout) as FailedRunJson;
    t.false(j.verified);
    t.is(j.error.code, 'ESYS', j.error.message); // a failed syscall: its errno says which
    t.regex(j.error.message, /ENOSPC/);
    t.is(j.error.errno, 28);
    t.is(j.error.phase, 'copy');
    t.is(j.error.exit_code, 1);
    t.true(j.cleanup!.writers_released);
    t.regex(j.cleanup!.temporary_removed ?? '', /\.snap\.img\.cowbench-\d+-\d+\.tmp$/);
    t.false(j.cleanup!.image_kept);
    t.deepEqual(readdirSync(dir), []);
  },
);

test.serial(
  'run --json interrupted by SIGINT prints a JSON object naming the signal, exit 130',
  async (t) => {
    const dir = tempDir(t);
    const out = path.join(dir, 'snap.img');
    let sent = false;
    const r = await runCli(['run', '--size', '1G', '--json', '--out', out, '--verbose', '--writers', '1'], {
      onSpawn: (child) => {
        child.stderr?.on('data', (d: Buffer) => {
          if (!sent && d.toString().includes('cowbench: copy')) {
            sent = true;
            child.kill('SIGINT');
          }
        });
      },
    });
    t.is(r.code, 130, r.stderr);
    const j = JSON.parse(r.stdout) as FailedRunJson;
    t.false(j.verified);
    t.is(j.interrupted_by, 'SIGINT');
    t.is(j.error.code, 'EABORTED');
    t.deepEqual(readdirSync(dir), []);
  },
);
