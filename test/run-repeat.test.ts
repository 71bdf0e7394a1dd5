/** `run --runs N` (mean ± σ, min … max, as hyperfine prints), and the progress line of every phase. */
import test from 'ava';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { packageRoot } from '../src/native.js';
import { runCli } from './helpers.js';
import { testIf } from './skip.js';

test('run --runs 3 prints each run and mean ± σ (min … max, n) of each figure', async (t) => {
  const r = await runCli(['run', '--size', '16M', '--runs', '3', '--baseline-ms', '20']);
  t.is(r.code, 0, r.stderr);
  t.is(r.stdout.match(/^run \d\/3: verified yes/gm)?.length, 3);
  t.regex(r.stdout, /^3 runs of uffd \(mean ± σ, min … max\):$/m);
  t.regex(r.stdout, /^pause_us\s+[\d,.]+ ± [\d,.]+\s+\([\d,.]+ … [\d,.]+, n=3\)$/m);
});

test('run --runs 2 --json: every run and the summary with its samples', async (t) => {
  const r = await runCli(['run', '--size', '16M', '--runs', '2', '--baseline-ms', '20', '--json']);
  t.is(r.code, 0, r.stderr);
  const out = JSON.parse(r.stdout) as {
    runs: { verified: boolean }[];
    summary: { key: string; n: number; samples: number[] }[];
  };
  t.is(out.runs.length, 2);
  t.true(out.runs.every((x) => x.verified));
  const pause = out.summary.find((f) => f.key === 'pause_us');
  t.is(pause?.n, 2);
  t.is(pause?.samples.length, 2);
});

test('run --runs with --out FILE is refused (exit 2): repeated runs keep no image', async (t) => {
  const r = await runCli(['run', '--runs', '2', '--out', '/tmp/never-written.img']);
  t.is(r.code, 2);
  t.regex(r.stderr, /^cowbench: --runs: /);
});

const haveScript = spawnSync('script', ['--version']).status === 0;
testIf(haveScript, 'needs script(1) (util-linux) for a pseudo-terminal').serial(
  'on a terminal, run shows every long phase by name, and the copy with an ETA',
  (t) => {
    const cli = path.join(packageRoot, 'bin', 'cowbench.js');
    // A slowed sink (test-only, 100 µs a page: about 1.6 s for 64 MiB) keeps the copy on screen
    // for several redraws however fast the copier is.
    const preload = path.join(packageRoot, 'dist', 'test', 'fixtures', 'slow-sink-preload.js');
    // script(1) gives the CLI a pty on stdout and stderr; the typescript file collects both.
    const r = spawnSync(
      'script',
      [
        '-qec',
        `${process.execPath} --import ${preload} ${cli} run --size 64M --baseline-ms 300`,
        '/dev/null',
      ],
      {
        encoding: 'utf8',
        timeout: 120_000,
        env: { ...process.env, COLUMNS: '160', COWBENCH_TEST_SINK_DELAY_US: '100' },
      },
    );
    t.is(r.status, 0, r.stdout);
    for (const phase of ['prepare:', 'baseline:', 'verify:']) t.true(r.stdout.includes(phase), phase);
    t.regex(r.stdout, /copy \[[█░]+\] \d+%/);
  },
);
