/**
 * A container's memory limit (issue 21 item 4): preflight reads the tightest cgroup memory limit
 * less its usage (v2 memory.max/memory.current, v1 memory.limit_in_bytes/memory.usage_in_bytes,
 * every ancestor included) beside MemAvailable, and refuses a run that does not fit with exit 2
 * and the same message shape; forkcow counts the kernel's copy-on-write copies (up to the region
 * again). Before, a 512 MiB run in a 400 MiB cgroup was OOM-killed: exit 137, no message, no JSON.
 */
import test from 'ava';
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { availableMemory, cgroupMemory } from '../src/cgroup.js';
import { packageRoot } from '../src/native.js';
import { MiB } from '../src/page.js';
import { isRoot, testIf } from './skip.js';

/** A fake / holding proc/self/{cgroup,mountinfo} and the cgroup files given. */
function fakeRoot(
  t: { teardown(fn: () => void): void },
  cgroup: string,
  mountinfo: string,
  files: Record<string, string>,
): string {
  const root = mkdtempSync(path.join(os.tmpdir(), 'cowbench-cgroup-'));
  t.teardown(() => rmSync(root, { recursive: true, force: true }));
  for (const [f, text] of Object.entries({
    'proc/self/cgroup': cgroup,
    'proc/self/mountinfo': mountinfo,
    ...files,
  })) {
    mkdirSync(path.dirname(path.join(root, f)), { recursive: true });
    writeFileSync(path.join(root, f), text);
  }
  return root;
}

test('cgroup v2: the tightest memory.max less memory.current over the cgroup and its ancestors', (t) => {
  const root = fakeRoot(t, '0::/app.slice/box\n', '30 23 0:26 / /sys/fs/cgroup rw - cgroup2 cgroup2 rw\n', {
    'sys/fs/cgroup/app.slice/box/memory.max': 'max\n',
    'sys/fs/cgroup/app.slice/box/memory.current': `${10 * MiB}\n`,
    'sys/fs/cgroup/app.slice/memory.max': `${400 * MiB}\n`,
    'sys/fs/cgroup/app.slice/memory.current': `${100 * MiB}\n`,
  });
  t.like(cgroupMemory(root), {
    version: 2,
    dir: path.join(root, 'sys/fs/cgroup/app.slice'),
    limitBytes: 400 * MiB,
    usageBytes: 100 * MiB,
    availableBytes: 300 * MiB,
  });
  const a = availableMemory(8192 * MiB, root);
  t.is(a.bytes, 300 * MiB);
  t.regex(a.source, /^cgroup v2 .*app\.slice memory\.max 400 MiB, 100 MiB in use$/);
  // MemAvailable smaller than the cgroup's room: MemAvailable it is.
  t.deepEqual(availableMemory(200 * MiB, root), { bytes: 200 * MiB, source: 'MemAvailable 200 MiB' });
});

test('cgroup v1 (a hybrid machine): memory.limit_in_bytes less usage; no limit is LONG_MAX', (t) => {
  const root = fakeRoot(
    t,
    '4:memory:/box\n0::/\n',
    '31 23 0:28 / /sys/fs/cgroup rw - tmpfs tmpfs rw\n35 31 0:31 / /sys/fs/cgroup/memory rw - cgroup cgroup rw,memory\n40 31 0:35 / /sys/fs/cgroup/unified rw - cgroup2 cgroup2 rw\n',
    {
      'sys/fs/cgroup/memory/box/memory.limit_in_bytes': `${400 * MiB}\n`,
      'sys/fs/cgroup/memory/box/memory.usage_in_bytes': `${50 * MiB}\n`,
      'sys/fs/cgroup/memory/memory.limit_in_bytes': '9223372036854771712\n',
      'sys/fs/cgroup/memory/memory.usage_in_bytes': `${5000 * MiB}\n`,
    },
  );
  t.like(cgroupMemory(root), { version: 1, limitBytes: 400 * MiB, availableBytes: 350 * MiB });
});

test('no limit anywhere, or no cgroup files: null', (t) => {
  const root = fakeRoot(t, '0::/\n', '30 23 0:26 / /sys/fs/cgroup rw - cgroup2 cgroup2 rw\n', {
    'sys/fs/cgroup/memory.current': '1000\n',
  });
  t.is(cgroupMemory(root), null);
  t.is(cgroupMemory(path.join(root, 'nonexistent')), null);
});

/**
 * A child memory cgroup with `limit` bytes: v2 at the cgroup2 root (whose subtree_control may
 * enable memory), else v1 at the memory hierarchy's root. null with the reason when neither works.
 */
function makeCgroup(limit: number): { dir: string; remove(): void } | string {
  if (!isRoot) return 'needs root to create a cgroup';
  const mountinfo = readFileSync('/proc/self/mountinfo', 'utf8').split('\n');
  const v2 = mountinfo.find((l) => / - cgroup2 /.test(l))?.split(' ')[4];
  const v1 = mountinfo
    .find((l) => / - cgroup /.test(l) && /[ ,]memory(,|$)/.test(l.split(' - ')[1] ?? ''))
    ?.split(' ')[4];
  const name = `cowbench-test-${process.pid}`;
  const tries: (() => string)[] = [];
  if (
    v2 &&
    existsSync(path.join(v2, 'cgroup.controllers')) &&
    readFileSync(path.join(v2, 'cgroup.controllers'), 'utf8').includes('memory')
  )
    tries.push(() => {
      writeFileSync(path.join(v2, 'cgroup.subtree_control'), '+memory');
      const dir = path.join(v2, name);
      mkdirSync(dir);
      writeFileSync(path.join(dir, 'memory.max'), String(limit));
      writeFileSync(path.join(dir, 'memory.swap.max'), '0');
      return dir;
    });
  if (v1)
    tries.push(() => {
      const dir = path.join(v1, name);
      mkdirSync(dir);
      writeFileSync(path.join(dir, 'memory.limit_in_bytes'), String(limit));
      return dir;
    });
  const why: string[] = [];
  for (const make of tries) {
    try {
      const dir = make();
      return { dir, remove: () => rmdirSync(dir) };
    } catch (e) {
      why.push((e as Error).message);
    }
  }
  return `cannot create a memory cgroup here${why.length ? `: ${why.join('; ')}` : ' (no memory controller mounted)'}`;
}

const LIMIT = 400 * MiB;
const cgroup = makeCgroup(LIMIT);
if (typeof cgroup !== 'string') {
  // Removed when the file's tests are done (ava runs the file in its own process).
  process.on('exit', () => {
    try {
      cgroup.remove();
    } catch {
      /* a process still inside: the machine's business */
    }
  });
}

/** `cowbench ARGS` run inside the cgroup (the shell moves itself in, then execs node). */
function runInCgroup(
  dir: string,
  args: string[],
): Promise<{ code: number | null; signal: string | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      '/bin/sh',
      [
        '-c',
        'echo $$ > "$0/cgroup.procs" && exec "$@"',
        dir,
        process.execPath,
        path.join(packageRoot, 'bin', 'cowbench.js'),
        ...args,
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
}

const inCgroup = testIf(typeof cgroup !== 'string', typeof cgroup === 'string' ? cgroup : '');
const cgDir = typeof cgroup === 'string' ? '' : cgroup.dir;

inCgroup.serial(
  'in a 400 MiB memory cgroup, run --size 512M is refused: exit 2, one line, and the --json object',
  async (t) => {
    const r = await runInCgroup(cgDir, ['run', '--size', '512M', '--baseline-ms', '0']);
    t.is(r.code, 2, `${r.signal ?? ''} ${r.stderr}`);
    t.regex(
      r.stderr,
      /^cowbench: --size: 512 MiB region \+ 64(\.0)? MiB buffer exceed available memory \(cgroup v[12] .* 400 MiB, .* in use\)\n$/,
    );
    const j = await runInCgroup(cgDir, ['run', '--size', '512M', '--baseline-ms', '0', '--json']);
    t.is(j.code, 2, j.stderr);
    t.is((JSON.parse(j.stdout) as { error: { exit_code: number } }).error.exit_code, 2);
  },
);

inCgroup.serial(
  'in the same cgroup a run that fits verifies (the limit, not the cgroup, refuses)',
  async (t) => {
    const r = await runInCgroup(cgDir, ['run', '--size', '64M', '--buffer', '16M', '--baseline-ms', '0']);
    t.is(r.code, 0, r.stderr);
    t.regex(r.stdout, /verified\s+yes/);
  },
);

inCgroup.serial(
  "forkcow counts the kernel's copies: 256 MiB in a 400 MiB cgroup is refused, not OOM-killed",
  async (t) => {
    const r = await runInCgroup(cgDir, [
      'run',
      '--backend',
      'forkcow',
      '--size',
      '256M',
      '--baseline-ms',
      '0',
    ]);
    t.is(r.code, 2, `${r.signal ?? ''} ${r.stdout} ${r.stderr}`);
    t.regex(
      r.stderr,
      /256 MiB region \+ 256 MiB copy-on-write copies exceed available memory \(cgroup v[12] /,
    );
  },
);
