/**
 * `cowbench vm` on Debian's 6.1 and 6.12 kernels (fetched into the cache by .ci/run), under TCG:
 * one boot per kernel runs a --script of the checks (probe, the shared suite's checks for
 * softdirty clear-refs, uffd and mprotect, the injected fault, an image brought back), read from
 * the --transcript. Then the failure paths: not a kernel, a panic at boot, --timeout, SIGINT
 * during boot and during a snapshot: each its message and exit code, no QEMU and no temporary
 * left. Skipped, with the reason, where QEMU, busybox or a kernel cannot be had.
 */
import test from 'ava';
import { spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { native } from '../src/native.js';
import { cachedKernel } from '../src/vm/fetch.js';
import { findBusybox } from '../src/vm/guest.js';
import { findQemu } from '../src/vm/runner.js';
import { configurations, runCli, tempDir } from './helpers.js';
import { testIf } from './skip.js';

/** The backends an injected skip-copy-before-write fault applies to (their default delivery each). */
const COPY_BEFORE_WRITE = [
  ...new Set(configurations({ capability: 'copyBeforeWrite' }).map((c) => c.backend)),
];

const qemu = findQemu();
const busybox = findBusybox();

function kernelReady(name: string): { ok: boolean; reason: string; image: string } {
  if (qemu === null)
    return { ok: false, reason: 'qemu-system-x86_64 not installed (Debian: qemu-system-x86)', image: '' };
  if (busybox === null)
    return { ok: false, reason: 'busybox not installed (Debian: busybox-static)', image: '' };
  try {
    const k = cachedKernel(name);
    return { ok: true, reason: '', image: k.image };
  } catch (e) {
    return { ok: false, reason: (e as Error).message, image: '' };
  }
}

let lastPid = 0;

/** `cowbench vm ARGS` in `cwd`; remembers the child's pid (its scratch directory and QEMU carry it). */
function vm(args: string[], cwd: string, onSpawn?: (c: ChildProcess) => void, env?: NodeJS.ProcessEnv) {
  return runCli(['vm', ...args], {
    cwd,
    ...(env ? { env } : {}),
    onSpawn: (child) => {
      lastPid = child.pid ?? 0;
      onSpawn?.(child);
    },
  });
}

/** QEMU processes a `cowbench vm` of pid `pid` started (their command line names its scratch directory). */
function qemuOf(pid: number): string[] {
  const r = spawnSync('pgrep', ['-af', 'qemu-system-x86_64'], { encoding: 'utf8' });
  return (r.stdout ?? '').split('\n').filter((l) => l.includes(`cowbench-${pid}-`));
}

/** This test process's children's scratch directories: none may outlive a vm run. */
function scratchOf(pid: number): string[] {
  return readdirSync(os.tmpdir()).filter((n) => n.startsWith(`cowbench-${pid}-`));
}

type Json = Record<string, unknown> & { [k: string]: unknown };
interface Transcript {
  accel: string;
  exit_code: number;
  error: string | null;
  timings: Record<string, number | null>;
  commands: { argv: string[]; code: number; stdout: string; stderr: string; files: string[] }[];
}

const SIZE = '16M';
/** The shared suite's cases, as command lines, for each backend the issue names. */
const BACKENDS = [['softdirty', '--engine', 'clear-refs'], ['uffd'], ['mprotect']] as const;
const CASES = [
  { name: 'random writers', flags: [] as string[] },
  { name: 'sparse region', flags: ['--fill', 'none'] },
  { name: 'half-filled region, rate-limited writers', flags: ['--fill', 'half', '--rate', '50000'] },
  { name: 'THP region', flags: ['--hugepage'] },
];

function script(): { lines: string[]; labels: string[] } {
  const lines: string[] = ['probe --json'];
  const labels: string[] = ['probe'];
  for (const [backend, ...flags] of BACKENDS)
    for (const c of CASES) {
      lines.push(
        [
          'run',
          '--backend',
          backend,
          ...flags,
          '--size',
          SIZE,
          '--baseline-ms',
          '100',
          ...c.flags,
          '--json',
        ].join(' '),
      );
      labels.push(`${[backend, ...flags].join(' ')}: ${c.name}`);
    }
  for (const backend of COPY_BEFORE_WRITE) {
    lines.push(
      `run --backend ${backend} --size ${SIZE} --baseline-ms 50 --inject-fault skip-copy-before-write --json`,
    );
    labels.push(`${backend}: injected fault`);
  }
  lines.push(`run --backend softdirty --engine wp-async --size ${SIZE} --baseline-ms 50 --json`);
  labels.push('softdirty wp-async');
  lines.push(
    `run --backend softdirty --engine clear-refs --size ${SIZE} --baseline-ms 50 --out out/vm.img --json`,
  );
  labels.push('image brought back');
  return { lines, labels };
}

for (const name of ['debian-6.1', 'debian-6.12']) {
  const k = kernelReady(name);
  testIf(k.ok, k.reason).serial(
    `${name} under TCG: one boot runs probe and the shared checks of softdirty clear-refs, uffd and mprotect; exit codes, --json and an --out image come back intact`,
    async (t) => {
      const dir = tempDir(t);
      const { lines, labels } = script();
      writeFileSync(path.join(dir, 'checks.txt'), lines.join('\n') + '\n');
      mkdirSync(path.join(dir, 'out')); // run --out needs its directory, on the host as in the guest
      const r = await vm(
        [
          '--kernel',
          name,
          '--accel',
          'tcg',
          '--script',
          'checks.txt',
          '--transcript',
          'transcript.json',
          '--timeout',
          '28m',
        ],
        dir,
      );
      t.true(existsSync(path.join(dir, 'transcript.json')), r.stderr);
      const tr = JSON.parse(readFileSync(path.join(dir, 'transcript.json'), 'utf8')) as Transcript;
      t.is(tr.error, null, r.stderr.slice(-3000));
      t.is(tr.accel, 'tcg');
      t.is(tr.commands.length, lines.length);
      const json = (i: number) => JSON.parse(tr.commands[i]!.stdout) as Json;

      // probe: soft-dirty tracks; 6.1 refuses async WP and PAGEMAP_SCAN with their reasons.
      t.is(tr.commands[0]!.code, 0);
      const probe = json(0) as { probes: { name: string; ok: boolean; detail: string }[]; env: Json };
      const row = (n: string) => probe.probes.find((p) => p.name === n)!;
      t.true(row('soft_dirty').ok, row('soft_dirty').detail);
      t.is(probe.env['accel'], 'tcg');
      t.regex(String(probe.env['kernel']), name === 'debian-6.1' ? /^6\.1\./ : /^6\.12\./);
      t.is((probe.env['kernel_config'] as Json)['CONFIG_MEM_SOFT_DIRTY'], 'y');
      const is61 = name === 'debian-6.1';
      for (const feature of ['uffd.wp_async', 'pagemap_scan']) {
        t.is(row(feature).ok, !is61, `${feature}: ${row(feature).detail}`);
        if (is61) t.true(row(feature).detail.length > 0, `${feature} refused with a reason`);
      }

      // The shared suite's checks, one command each.
      let i = 1;
      for (const [backend, ...flags] of BACKENDS)
        for (const _c of CASES) {
          const c = tr.commands[i]!;
          const label = labels[i]!;
          t.is(c.code, 0, `${label}: ${c.stderr.slice(-500)}`);
          const res = json(i) as Json & {
            verification: { bad_pages: number; checked_pages: number };
            writers: { snapshot_writes_per_s: number };
            backend_metrics: Json;
          };
          t.true(res['verified'], label);
          t.is(res.verification.bad_pages, 0, label);
          t.is(res.verification.checked_pages, 16 * 256, label);
          t.is(res['consistency_point'], backend === 'softdirty' ? 'end' : 'start', label);
          t.true(res.writers.snapshot_writes_per_s > 0, `${label}: writers kept writing`);
          if ((flags as readonly string[]).includes('clear-refs'))
            t.is(res.backend_metrics['engine_clear_refs'], 1, label);
          t.is((res['env'] as Json)['accel'], 'tcg');
          i++;
        }
      for (const backend of COPY_BEFORE_WRITE) {
        const c = tr.commands[i]!;
        t.is(c.code, 1, `${backend}: a snapshot that failed verification exits 1`);
        const res = json(i) as Json & {
          verification: { bad_pages: number };
          pages_copied_before_write: number;
        };
        t.false(res['verified'], `${backend}: the injected fault fails verification`);
        t.true(res.verification.bad_pages > 0);
        t.true(res.verification.bad_pages <= res.pages_copied_before_write);
        i++;
      }
      // wp-async: refused on 6.1 (exit 2, the reason named), verified on 6.12.
      const wp = tr.commands[i++]!;
      if (is61) {
        t.is(wp.code, 2, wp.stderr);
        t.regex(wp.stderr + wp.stdout, /WP_ASYNC|PAGEMAP_SCAN|6\.7/);
      } else {
        t.is(wp.code, 0, wp.stderr);
        t.true((JSON.parse(wp.stdout) as Json)['verified'] as boolean);
      }
      // The image and its manifest came back; the host recomputes the checksum the guest recorded.
      const img = tr.commands[i]!;
      t.is(img.code, 0, img.stderr);
      const imagePath = path.join(dir, 'out', 'vm.img');
      t.deepEqual(img.files.sort(), [imagePath, `${imagePath}.json`]);
      const manifest = JSON.parse(readFileSync(`${imagePath}.json`, 'utf8')) as {
        checksum: string;
        pages: number;
      };
      const host = await native.verifyImage(imagePath, new Uint32Array(manifest.pages));
      t.is(host.checksum, manifest.checksum);
      t.is(
        host.checksum,
        (JSON.parse(img.stdout) as { verification: { checksum: string } }).verification.checksum,
      );
      // The script's exit code is the first failing command's (the injected fault's 1).
      t.is(r.code, 1);
      t.is(tr.exit_code, 1);
      t.deepEqual(scratchOf(lastPid), []);
      t.deepEqual(
        readdirSync(dir).filter((n) => n.includes('.cowbench-')),
        [],
      );
      t.log(
        `boot to agent ${tr.timings['boot_to_agent_s']} s, initramfs ${tr.timings['initramfs_bytes']} bytes`,
      );
    },
  );
}

// The second UART carries the frames where the guest kernel has no virtio console; forced here.
const k612 = kernelReady('debian-6.12');
testIf(k612.ok, k612.reason).serial(
  'the UART fallback (cowbench.channel=uart): the --json and an --out image come back intact over ttyS1',
  async (t) => {
    const dir = tempDir(t);
    mkdirSync(path.join(dir, 'out'));
    const r = await vm(
      [
        '--kernel',
        'debian-6.12',
        '--accel',
        'tcg',
        '--append',
        'cowbench.channel=uart',
        '--transcript',
        'transcript.json',
        '--timeout',
        '15m',
        '--',
        'run',
        '--backend',
        'uffd',
        '--size',
        '1M',
        '--baseline-ms',
        '50',
        '--out',
        'out/uart.img',
        '--json',
      ],
      dir,
    );
    t.is(r.code, 0, r.stderr.slice(-3000));
    const tr = JSON.parse(readFileSync(path.join(dir, 'transcript.json'), 'utf8')) as Transcript & {
      channel: string;
    };
    t.is(tr.channel, '/dev/ttyS1');
    const res = JSON.parse(tr.commands[0]!.stdout) as {
      verified: boolean;
      verification: { checksum: string };
    };
    t.true(res.verified);
    const imagePath = path.join(dir, 'out', 'uart.img');
    const manifest = JSON.parse(readFileSync(`${imagePath}.json`, 'utf8')) as {
      checksum: string;
      pages: number;
    };
    const host = await native.verifyImage(imagePath, new Uint32Array(manifest.pages));
    t.is(host.checksum, manifest.checksum);
    t.is(host.checksum, res.verification.checksum);
    t.deepEqual(scratchOf(lastPid), []);
  },
);

const k61 = kernelReady('debian-6.1');

test.serial('a file that is not a kernel: one line, exit 1, nothing started', async (t) => {
  const dir = tempDir(t);
  writeFileSync(path.join(dir, 'notakernel'), 'hello\n'.repeat(1000));
  const r = await vm(['--kernel', 'notakernel', '--', 'probe'], dir);
  if (qemu === null) {
    t.is(r.code, 2);
    t.regex(r.stderr, /qemu-system-x86_64 is not installed.*qemu-system-x86/);
    return;
  }
  t.is(r.code, 1);
  t.regex(r.stderr, /^cowbench: --kernel notakernel: not a Linux kernel image/m);
  t.is(r.stderr.trim().split('\n').length, 1);
});

test.serial('bad flags exit 2 with one line', async (t) => {
  const dir = tempDir(t);
  for (const [args, pattern] of [
    [['--kernel', 'x', '--accel', 'hvf', '--', 'probe'], /--accel: 'hvf' is not one of auto, kvm, tcg/],
    [['--kernel', 'x', '--timeout', 'soon', '--', 'probe'], /--timeout: 'soon' is not a duration/],
    [['--kernel', 'x'], /name the cowbench command to run after --/],
    [['--', 'probe'], /--kernel: name the kernel/],
    [['--kernel', 'x', '--', 'vm', '--kernel', 'y'], /cannot itself be vm/],
  ] as const) {
    const r = await vm([...args], dir);
    t.is(r.code, 2, r.stderr);
    t.regex(r.stderr, pattern);
  }
});

test.serial('missing qemu-system-x86_64: a named refusal naming the Debian package', async (t) => {
  const dir = tempDir(t);
  const r = await vm(['--kernel', 'x', '--', 'probe'], dir, undefined, { PATH: dir });
  t.is(r.code, 2);
  t.regex(r.stderr, /qemu-system-x86_64 is not installed; .*package qemu-system-x86/);
});

testIf(k61.ok, k61.reason).serial(
  'a kernel that panics at boot: its panic line, the console tail, exit 1, nothing left',
  async (t) => {
    const dir = tempDir(t);
    const r = await vm(
      ['--kernel', 'debian-6.1', '--accel', 'tcg', '--append', 'rdinit=/nonexistent', '--', 'probe'],
      dir,
    );
    t.is(r.code, 1, r.stderr);
    t.regex(
      r.stderr,
      /cowbench: vm: the guest kernel panicked: Kernel panic - not syncing: VFS: Unable to mount root fs/,
    );
    t.regex(r.stderr, /last console lines:\n {2}\| /);
    t.deepEqual(qemuOf(lastPid), []);
    t.deepEqual(scratchOf(lastPid), []);
  },
);

testIf(k61.ok, k61.reason).serial(
  'a guest that outlives --timeout is stopped: exit 1, nothing left',
  async (t) => {
    const dir = tempDir(t);
    const r = await vm(['--kernel', 'debian-6.1', '--accel', 'tcg', '--timeout', '8', '--', 'probe'], dir);
    t.is(r.code, 1, r.stderr);
    t.regex(
      r.stderr,
      // Stopped while booting or while the command runs: which depends on how fast this host boots.
      /cowbench: vm: the guest outlived --timeout 8 s \((still booting: the agent never started|command 1 of 1 still running)\); stopped it/,
    );
    t.deepEqual(qemuOf(lastPid), []);
    t.deepEqual(scratchOf(lastPid), []);
  },
);

for (const when of ['boot', 'snapshot'] as const) {
  testIf(k61.ok, k61.reason).serial(
    `SIGINT during ${when}: the VM stopped, exit 130, no QEMU and no temporary left`,
    async (t) => {
      const dir = tempDir(t);
      const r = await vm(
        [
          '--kernel',
          'debian-6.1',
          '--accel',
          'tcg',
          '--',
          'run',
          '--backend',
          'uffd',
          '--size',
          '256M',
          '--rate',
          '2000',
          '--out',
          'snap.img',
          '--verbose',
        ],
        dir,
        (child) => {
          if (when === 'boot') setTimeout(() => child.kill('SIGINT'), 4000);
          else {
            // run --verbose names each protocol step as it starts, live through the VM.
            let seen = '';
            child.stderr!.on('data', (d: Buffer) => {
              seen += d.toString();
              if (/cowbench: copy/.test(seen) && !child.killed) child.kill('SIGINT');
            });
          }
        },
      );
      if (when === 'snapshot') t.regex(r.stderr, /cowbench: copy/);
      t.is(r.code, 130, r.stderr);
      t.regex(r.stderr, /cowbench: SIGINT: stopping the VM/);
      t.regex(r.stderr, /cowbench: vm: interrupted: the VM was stopped/);
      t.false(existsSync(path.join(dir, 'snap.img')));
      t.deepEqual(readdirSync(dir), [], 'no image, manifest or temporary');
      t.deepEqual(qemuOf(lastPid), []);
      t.deepEqual(scratchOf(lastPid), []);
    },
  );
}
