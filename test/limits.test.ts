/**
 * Running out of tasks or memory is a named error, never an abort: the CLI runs under a task
 * limit (RLIMIT_NPROC as an unprivileged user, a pids cgroup as root) and an address-space limit
 * (RLIMIT_AS), swept across the range where each of its threads and allocations is the one that
 * fails. Every run must end with a verified image (exit 0) or exit 1 with one line naming what
 * ran out — never exit 134 (std::terminate), never a signal — and leave no file behind on failure.
 */
import type { ExecutionContext } from 'ava';
import { execFileSync, spawn } from 'node:child_process';
import {
  chmodSync,
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  rmSync,
  rmdirSync,
  writeFileSync,
} from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { packageRoot } from '../src/native.js';
import { tempDir } from './helpers.js';
import { isRoot, testIf, testIfSupported } from './skip.js';
import { probeFor } from '../src/run-options.js';
import { MiB } from '../src/page.js';

// An otherwise unused uid: RLIMIT_NPROC counts every task of the real uid on the machine.
const testUid = 60000 + (process.pid % 5000);

interface Outcome {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  files: string[];
}

function run(command: string[], outDir: string): Promise<Outcome> {
  return new Promise((resolve, reject) => {
    const proc = spawn(command[0]!, command.slice(1), { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    // Generous: a 4 GiB region through a one-page buffer is slow on a loaded machine (not a hang).
    const killer = setTimeout(() => proc.kill('SIGKILL'), 150_000);
    proc.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    proc.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    proc.on('error', reject);
    proc.on('close', (code, signal) => {
      clearTimeout(killer);
      const files = readdirSync(outDir);
      for (const f of files) rmSync(path.join(outDir, f), { force: true });
      resolve({ code, signal, stdout, stderr, files });
    });
  });
}

// What a run that ran out of something may say: a thread that could not start, an allocation
// that failed, or a syscall that failed with ENOMEM/EAGAIN (mmap, fork).
const NAMED =
  /^cowbench: (?:(?:EAGAIN|ENOMEM): could not start [a-z ]+ thread|ENOMEM: out of memory|.* failed: (?:ENOMEM|EAGAIN))/;

/** Checks the invariants of one limited run; returns what it ended with. */
function judge(t: ExecutionContext, label: string, r: Outcome): string {
  const why = `${label}: exit ${r.code ?? r.signal}; stderr: ${r.stderr.trim().slice(0, 400)}`;
  t.is(r.signal, null, why);
  t.true(r.code === 0 || r.code === 1, why);
  if (r.code === 0) {
    t.regex(r.stdout, /verified\s+yes/, why);
    t.deepEqual(r.files.sort(), ['snap.img', 'snap.img.json'], why);
    return 'verified';
  }
  const lines = r.stderr.trim().split('\n');
  t.is(lines.length, 1, why);
  t.regex(lines[0] ?? '', NAMED, why);
  t.deepEqual(r.files, [], `${why}: files left behind`);
  return (lines[0] ?? '')
    .replace(/^cowbench: /, '')
    .replace(/ \(.*$|;.*$/, '')
    .slice(0, 80);
}

/** The package as `uid` can read it: the checkout itself, or a copy in a world-readable dir. */
function readablePackage(t: ExecutionContext, uid: number): string {
  const probe = (root: string) => {
    try {
      execFileSync(
        'setpriv',
        [
          `--reuid=${uid}`,
          `--regid=${uid}`,
          '--clear-groups',
          process.execPath,
          '-e',
          `require('fs').accessSync(${JSON.stringify(path.join(root, 'build/Release/cowbench.node'))})`,
        ],
        { stdio: 'ignore' },
      );
      return true;
    } catch {
      return false;
    }
  };
  if (probe(packageRoot)) return packageRoot;
  const copy = mkdtempSync(path.join(os.tmpdir(), 'cowbench-limits-pkg-'));
  t.teardown(() => rmSync(copy, { recursive: true, force: true }));
  chmodSync(copy, 0o755);
  for (const p of ['package.json', 'bin', 'dist', 'node_modules', 'build/Release/cowbench.node'])
    cpSync(path.join(packageRoot, p), path.join(copy, p), { recursive: true });
  return copy;
}

/** The fewest tasks node itself needs (main thread, V8 platform, libuv pool) under `wrap`. */
function nodeFloor(wrap: (n: number) => string[]): number {
  for (let n = 8; n < 64; ++n) {
    try {
      execFileSync(
        wrap(n)[0]!,
        [...wrap(n).slice(1), process.execPath, '-e', "require('fs').readFile('/proc/self/stat', () => {})"],
        {
          stdio: 'ignore',
          timeout: 10_000, // far below its floor node may hang rather than abort
          killSignal: 'SIGKILL',
        },
      );
      return n;
    } catch {
      // below node's own floor: it aborts before any of our code runs
    }
  }
  return 64;
}

function outDirFor(t: ExecutionContext): string {
  const dir = tempDir(t);
  chmodSync(dir, 0o777);
  return dir;
}

testIf(isRoot, 'needs root to run the CLI as another user (setpriv)').serial(
  'RLIMIT_NPROC (unprivileged): writer, drain and fork failures are named, nothing left behind',
  async (t) => {
    const root = readablePackage(t, testUid);
    const cli = path.join(root, 'bin', 'cowbench.js');
    const asUser = (n: number) => [
      'setpriv',
      `--reuid=${testUid}`,
      `--regid=${testUid}`,
      '--clear-groups',
      'prlimit',
      `--nproc=${n}`,
    ];
    const floor = nodeFloor(asUser);
    const dir = outDirFor(t);
    const seen = new Map<string, number>();
    const cases = [
      { backend: 'mprotect', writers: 'cpu:4', extra: 8 },
      { backend: 'forkcow', writers: 'cpu:2', extra: 5 },
    ];
    for (const c of cases) {
      for (let n = floor; n <= floor + c.extra; ++n) {
        const args = [
          'run',
          '--backend',
          c.backend,
          '--size',
          '16M',
          '--writers',
          c.writers,
          '--baseline-ms',
          '0',
        ];
        const r = await run(
          [...asUser(n), process.execPath, cli, ...args, '--out', path.join(dir, 'snap.img')],
          dir,
        );
        const what = judge(t, `${c.backend} --nproc=${n}`, r);
        seen.set(`${c.backend}: ${what}`, (seen.get(`${c.backend}: ${what}`) ?? 0) + 1);
      }
    }
    t.log(`node's floor: ${floor} tasks; outcomes: ${JSON.stringify(Object.fromEntries(seen))}`);
    t.true(
      [...seen.keys()].some((k) => /writer thread/.test(k)),
      'a writer thread failed to start',
    );
    t.true(
      [...seen.keys()].some((k) => /copy buffer drain thread/.test(k)),
      'the drain thread failed to start',
    );
    t.true(
      [...seen.keys()].some((k) => /forkcow.*fork failed: EAGAIN|forkcow: EAGAIN/.test(k)),
      'fork failed',
    );
    t.true(
      [...seen.keys()].some((k) => k.endsWith('verified')),
      'the sweep reached a limit that suffices',
    );
  },
);

const pidsRoot = '/sys/fs/cgroup/pids';
/** Why the pids cgroup sweep cannot run here (decided at registration), or null. */
const noPidsCgroup = ((): string | null => {
  const probe = probeFor({ backend: 'uffd' });
  if (!probe.ok) return probe.reason;
  if (!isRoot || !existsSync(path.join(pidsRoot, 'cgroup.procs')))
    return 'needs root and a cgroup v1 pids hierarchy at /sys/fs/cgroup/pids';
  const trial = path.join(pidsRoot, `cowbench-limits-probe-${process.pid}`);
  try {
    mkdirSync(trial);
    rmdirSync(trial);
    return null;
  } catch (e) {
    return `cannot create a pids cgroup: ${(e as Error).message}`;
  }
})();

testIf(noPidsCgroup === null, noPidsCgroup ?? '').serial(
  'pids cgroup (root): handler, arm and drain thread failures are named, nothing left behind',
  async (t) => {
    const cg = path.join(pidsRoot, `cowbench-limits-${process.pid}`);
    mkdirSync(cg);
    t.teardown(() => rmdirSync(cg));
    const inCgroup = (n: number) => {
      writeFileSync(path.join(cg, 'pids.max'), String(n));
      return ['sh', '-c', `echo $$ > ${cg}/cgroup.procs && exec "$@"`, 'sh'];
    };
    const floor = nodeFloor(inCgroup);
    const dir = outDirFor(t);
    const seen = new Map<string, number>();
    const cli = path.join(packageRoot, 'bin', 'cowbench.js');
    for (let n = floor; n <= floor + 12; ++n) {
      const args = ['run', '--size', '16M', '--handlers', '4', '--arm-threads', '4', '--baseline-ms', '0'];
      const r = await run(
        [...inCgroup(n), process.execPath, cli, ...args, '--out', path.join(dir, 'snap.img')],
        dir,
      );
      const what = judge(t, `uffd pids.max=${n}`, r);
      seen.set(what, (seen.get(what) ?? 0) + 1);
    }
    t.log(`node's floor: ${floor} tasks; outcomes: ${JSON.stringify(Object.fromEntries(seen))}`);
    for (const thread of ['writer', 'copy buffer drain', 'handler', 'arm'])
      t.true(
        [...seen.keys()].some((k) => k.includes(`${thread} thread`)),
        `a ${thread} thread failed to start`,
      );
    t.true(seen.has('verified'), 'the sweep reached a limit that suffices');
  },
);

const limitedBackend = isRoot ? 'uffd' : 'mprotect';
testIfSupported(probeFor({ backend: limitedBackend })).serial(
  'RLIMIT_AS: thread stacks and allocations that do not fit are named errors, nothing left behind',
  async (t) => {
    const backend = limitedBackend;
    const dir = outDirFor(t);
    const cli = path.join(packageRoot, 'bin', 'cowbench.js');
    const seen = new Map<string, number>();
    const limited = (bytes: number, args: string[], out = path.join(dir, 'snap.img')) =>
      run(
        [
          'prlimit',
          `--as=${bytes}`,
          process.execPath,
          cli,
          'run',
          '--backend',
          backend,
          ...args,
          '--baseline-ms',
          '0',
          '--out',
          out,
        ],
        dir,
      );
    // The smallest limit that lets the region be mapped (to 4 MiB), found by bisection.
    const regionFloor = async (args: string[], lo: number, hi: number) => {
      while (hi - lo > 4 * MiB) {
        const mid = Math.floor((lo + hi) / 2 / MiB) * MiB;
        // To /dev/null: the floor is about mapping the region, and a probe past it is then a
        // quick copy, not a whole 4 GiB image written and verified.
        const r = await limited(mid, args, '/dev/null');
        // Too low for node itself (V8 cannot reserve its heap) or for the region: go higher.
        const pastRegion =
          r.code === 0 || (r.code === 1 && /^cowbench: /.test(r.stderr) && !/region: mmap/.test(r.stderr));
        if (pastRegion) hi = mid;
        else lo = mid;
      }
      return hi;
    };
    // 1: 8 handlers and a one-page buffer: each thread's 8 MiB stack in turn is what does not fit.
    // (The region keeps 64 MiB free for node itself: with a few MiB left, V8 or ICU aborted.)
    const threads = ['--size', '64M', '--buffer', '4k', '--handlers', '8', '--writers', 'cpu:4'];
    const floorThreads = await regionFloor(threads, 256 * MiB, 8192 * MiB);
    let verifiedInARow = 0;
    for (
      let limit = floorThreads + 16 * MiB;
      limit < floorThreads + 320 * MiB && verifiedInARow < 2;
      limit += 16 * MiB
    ) {
      const what = judge(t, `--as=${limit / MiB}M ${threads.join(' ')}`, await limited(limit, threads));
      verifiedInARow = what === 'verified' ? verifiedInARow + 1 : 0;
      seen.set(what, (seen.get(what) ?? 0) + 1);
    }
    // 2: a 4 GiB untouched region: its 4 MiB page-version arrays (the writers', the pause's) are
    // big enough to be what fails; stays below the limit a whole 4 GiB snapshot needs. Starts
    // where the region first fits: there node aborted in ICU (std::bad_alloc) before the region
    // kept room for it.
    const big = ['--size', '4G', '--fill', 'none', '--buffer', '4k'];
    // Node needs the same below its region either way: search near the first floor only (a probe
    // far above would take a whole 4 GiB snapshot).
    const near = floorThreads + 4032 * MiB;
    const floorBig = await regionFloor(big, near - 64 * MiB, near + 32 * MiB);
    // A verified 4 GiB snapshot through a one-page buffer takes 15-35 s here: stop after two in a
    // row, as above (a loaded runner otherwise spends minutes on them).
    verifiedInARow = 0;
    for (let limit = floorBig; limit < floorBig + 48 * MiB && verifiedInARow < 2; limit += 3 * MiB) {
      const what = judge(t, `--as=${limit / MiB}M ${big.join(' ')}`, await limited(limit, big));
      verifiedInARow = what === 'verified' ? verifiedInARow + 1 : 0;
      seen.set(what, (seen.get(what) ?? 0) + 1);
    }
    t.log(`outcomes: ${JSON.stringify(Object.fromEntries(seen))}`);
    t.true(
      [...seen.keys()].some((k) => /could not start/.test(k)),
      'a thread failed to start',
    );
    t.true(seen.has('verified'), 'the sweep reached a limit that suffices');
  },
);
