/**
 * `bench` under SIGINT, SIGTERM, SIGHUP and SIGQUIT (issue 21 item 2): the running `cowbench run`
 * child is stopped (not re-parented to write its image after bench has gone), the scratch
 * directory is removed, bench exits 128 + the signal's number, and the suites it finished stay in
 * results.json, valid against the schema and marked incomplete.
 */
import test from 'ava';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { runCli, tempDir, type CliResult } from './helpers.js';
import { validateResults } from './schema-helpers.js';

/** Every live descendant of `pid` (from /proc/PID/stat's ppid), with its command line. */
function descendants(pid: number): { pid: number; cmdline: string }[] {
  const parentOf = new Map<number, number>();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      // pid (comm) state ppid …: comm may hold spaces and parentheses, the last ')' ends it.
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      parentOf.set(Number(name), ppid);
    } catch {
      /* gone */
    }
  }
  const out: { pid: number; cmdline: string }[] = [];
  const walk = (p: number) => {
    for (const [child, ppid] of parentOf)
      if (ppid === p) {
        let cmdline = '';
        try {
          cmdline = readFileSync(`/proc/${child}/cmdline`, 'utf8').replaceAll('\0', ' ');
        } catch {
          /* gone */
        }
        out.push({ pid: child, cmdline });
        walk(child);
      }
  };
  walk(pid);
  return out;
}

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

/** bench's lock file in its results directory, removed by the bench that holds it. */
const BENCH_LOCK = '.cowbench-bench.lock';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Interrupted {
  r: CliResult;
  /** The `cowbench run` processes (and their descendants) alive when the signal was sent. */
  running: { pid: number; cmdline: string }[];
  out: string;
}

/**
 * Runs `bench SUITES --quick --repeat 1 --backends uffd --out DIR`, waits until `ready(out)` and a
 * `cowbench run` child of bench is running, then sends `sig` to bench alone (as CI cancellation does).
 */
async function interruptBench(
  t: Parameters<typeof tempDir>[0],
  suites: string[],
  sig: NodeJS.Signals,
  ready: (out: string) => boolean,
): Promise<Interrupted> {
  const out = path.join(tempDir(t), 'bench');
  let running: { pid: number; cmdline: string }[] = [];
  const r = await runCli(
    [...['bench', ...suites], '--quick', '--repeat', '1', '--backends', 'uffd', '--out', out],
    {
      onSpawn: (child) => {
        const poll = setInterval(() => {
          if (child.exitCode !== null || child.signalCode !== null) return clearInterval(poll);
          const d = descendants(child.pid!);
          if (!ready(out) || !d.some((p) => / run --json /.test(p.cmdline))) return;
          clearInterval(poll);
          running = d;
          child.kill(sig);
        }, 50);
      },
    },
  );
  // Whatever bench left running is ended here, so a failing test leaves no process behind.
  t.teardown(() => {
    for (const p of running) if (alive(p.pid)) process.kill(p.pid, 'SIGKILL');
  });
  return { r, running, out };
}

const finished = (suite: string) => (out: string) => {
  try {
    const data = JSON.parse(readFileSync(path.join(out, 'results.json'), 'utf8')) as {
      suites: Record<string, unknown>;
    };
    return suite in data.suites;
  } catch {
    return false;
  }
};

test.serial(
  'SIGTERM to bench during its second suite: child stopped, scratch removed, exit 143, the finished suite kept and marked incomplete',
  async (t) => {
    const { r, running, out } = await interruptBench(
      t,
      ['consistency', 'scale'],
      'SIGTERM',
      finished('consistency'),
    );
    t.true(running.length > 0, 'a run child was running when the signal was sent');
    t.is(r.code, 143, r.stderr);
    t.deepEqual(
      running.filter((p) => alive(p.pid)),
      [],
      'no child of bench outlives it',
    );
    t.false(existsSync(path.join(out, 'tmp')), 'scratch directory removed');
    t.false(existsSync(path.join(out, BENCH_LOCK)), 'the bench lock file removed');
    // A re-parented child would write its image into tmp/ later: nothing may appear.
    await sleep(1500);
    t.false(existsSync(path.join(out, 'tmp')), 'nothing written into the scratch directory afterwards');
    const data = JSON.parse(readFileSync(path.join(out, 'results.json'), 'utf8')) as {
      suites: Record<string, unknown>;
      incomplete?: { signal: string; exit_code: number; interrupted_suite: string | null; not_run: string[] };
    };
    t.deepEqual(validateResults(data), []);
    t.deepEqual(
      Object.keys(data.suites),
      ['consistency'],
      'the finished suite stays, the interrupted one is not written',
    );
    t.like(data.incomplete, { signal: 'SIGTERM', exit_code: 143, interrupted_suite: 'scale', not_run: [] });
    t.regex(readFileSync(path.join(out, 'REPORT.md'), 'utf8'), /Incomplete.*SIGTERM/);
    t.regex(r.stderr, /SIGTERM/);
    // The kept results are readable by report.
    const rep = await runCli(['report', out]);
    t.is(rep.code, 0, rep.stderr);
  },
);

for (const [sig, code] of [
  ['SIGINT', 130],
  ['SIGHUP', 129],
  ['SIGQUIT', 131],
] as const)
  test.serial(
    `${sig} to bench while its first suite runs: child stopped, scratch removed, exit ${code}`,
    async (t) => {
      const { r, running, out } = await interruptBench(t, ['consistency'], sig, () => true);
      t.true(running.length > 0, 'a run child was running when the signal was sent');
      t.is(r.code, code, r.stderr);
      t.deepEqual(
        running.filter((p) => alive(p.pid)),
        [],
        'no child of bench outlives it',
      );
      await sleep(1000);
      t.false(existsSync(path.join(out, 'tmp')), 'scratch directory removed, nothing written afterwards');
      // No suite finished: there is nothing to keep.
      t.false(existsSync(path.join(out, 'results.json')));
      t.false(existsSync(path.join(out, BENCH_LOCK)), 'the bench lock file removed');
    },
  );
