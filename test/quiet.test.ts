/**
 * The global `--quiet` (issue 24 item 4): no progress or informational line on stderr from any
 * command; results, errors and --json are what they are without it. Progress is drawn only on a
 * terminal, so those cases run under script(1)'s pseudo-terminal.
 */
import test from 'ava';
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { packageRoot } from '../src/native.js';
import { runCli, tempDir } from './helpers.js';
import { testIf } from './skip.js';

const SCRIPT = '/usr/bin/script';

/** Runs cowbench on a pseudo-terminal (stdout and stderr both go to it); its whole output. */
function onTerminal(args: string[]): { code: number | null; output: string } {
  const command = [process.execPath, path.join(packageRoot, 'bin', 'cowbench.js'), ...args]
    .map((a) => `'${a.replaceAll("'", "'\\''")}'`)
    .join(' ');
  const r = spawnSync(SCRIPT, ['-qec', command, '/dev/null'], { encoding: 'utf8', timeout: 600_000 });
  return { code: r.status, output: r.stdout };
}

test('every command takes --quiet (and -q)', async (t) => {
  const commands = [
    ['run'],
    ['probe'],
    ['compat'],
    ['calibrate'],
    ['clean', '--dry-run'],
    ['vm', '--kernel', 'x', '--', 'probe'],
    ['bench', '--ci'],
    ['report', 'results/x'],
    ['compare', 'a', 'b'],
    ['history', 'list'],
  ];
  for (const c of commands)
    for (const flag of ['--quiet', '-q']) {
      const r = await runCli([...c, flag], { env: { COWBENCH_PARSE_ONLY: '1' } });
      t.is(r.code, 0, `${c.join(' ')} ${flag}: ${r.stderr}`);
    }
});

test('run --runs 2 --json: each run is a line on stderr, none with --quiet; stdout the same object', async (t) => {
  const args = ['run', '--size', '8M', '--baseline-ms', '10', '--runs', '2', '--json'];
  const loud = await runCli(args);
  const quiet = await runCli([...args, '--quiet']);
  t.is(loud.code, 0, loud.stderr);
  t.is(quiet.code, 0, quiet.stderr);
  t.regex(loud.stderr, /^run 1\/2: verified yes .*\nrun 2\/2: verified yes /);
  t.is(quiet.stderr, '');
  const keys = (s: string) => Object.keys(JSON.parse(s) as object);
  t.deepEqual(keys(quiet.stdout), keys(loud.stdout));
  t.is((JSON.parse(quiet.stdout) as { runs: unknown[] }).runs.length, 2);
});

test('run: the leftover it removes is named on stderr, not with --quiet (removed all the same)', async (t) => {
  const dir = tempDir(t);
  const out = path.join(dir, 'snap.img');
  const gone = spawnSync('true').pid; // a pid that is not running any more
  for (const quiet of [false, true]) {
    const leftover = path.join(dir, `.snap.img.cowbench-${gone}-1.tmp`);
    writeFileSync(leftover, 'x');
    const r = await runCli([
      'run',
      '--size',
      '8M',
      '--baseline-ms',
      '10',
      '--out',
      out,
      '--force',
      ...(quiet ? ['-q'] : []),
    ]);
    t.is(r.code, 0, r.stderr);
    if (quiet) t.is(r.stderr, '');
    else t.regex(r.stderr, /^cowbench: removed .*\.snap\.img\.cowbench-\d+-1\.tmp \(temporary of pid/);
    t.false(existsSync(leftover));
    t.regex(r.stdout, /^verified +yes/m);
  }
  t.deepEqual(readdirSync(dir).sort(), ['snap.img', 'snap.img.json']);
});

test('run --verbose --quiet is refused in one line, exit 2', async (t) => {
  const r = await runCli(['run', '--verbose', '--quiet']);
  t.is(r.code, 2);
  t.is(
    r.stderr,
    'cowbench: --quiet: conflicts with --verbose (which names each step on stderr): give one of them\n',
  );
});

testIf(existsSync(SCRIPT), `no ${SCRIPT} (util-linux) for a pseudo-terminal`)(
  'compat on a terminal: a progress line per cell, none with --quiet; the matrix the same',
  (t) => {
    const args = ['compat', '--size', '4M', '--backends', 'forkcow', '--writers', 'cpu'];
    const loud = onTerminal(args);
    const quiet = onTerminal([...args, '--quiet']);
    t.is(loud.code, 0, loud.output);
    t.is(quiet.code, 0, quiet.output);
    const progress = /^ {2}forkcow × cpu: ok\r?$/m;
    t.regex(loud.output, progress);
    t.notRegex(quiet.output, progress);
    for (const o of [loud.output, quiet.output]) t.regex(o, /^forkcow × cpu: ok: verified; /m);
  },
);

testIf(existsSync(SCRIPT), `no ${SCRIPT} (util-linux) for a pseudo-terminal`)(
  'run on a terminal: the progress line, none with --quiet',
  (t) => {
    const args = ['run', '--size', '64M', '--baseline-ms', '10'];
    const loud = onTerminal(args);
    const quiet = onTerminal([...args, '--quiet']);
    t.is(loud.code, 0, loud.output);
    t.is(quiet.code, 0, quiet.output);
    // The first phase's line, drawn on the terminal then cleared.
    t.regex(loud.output, /prepare: allocating and filling the region/);
    t.notRegex(quiet.output, /prepare: allocating|…/);
    t.regex(quiet.output, /^verified +yes/m);
  },
);

testIf(existsSync(SCRIPT), `no ${SCRIPT} (util-linux) for a pseudo-terminal`).serial(
  'bench on a terminal: the progress bar, none with --quiet; the results the same',
  (t) => {
    const dir = tempDir(t);
    const args = (out: string) => [
      'bench',
      'consistency',
      '--quick',
      '--backends',
      'forkcow',
      '--repeat',
      '1',
      '--out',
      path.join(dir, out),
    ];
    const loud = onTerminal(args('loud'));
    const quiet = onTerminal([...args('quiet'), '--quiet']);
    t.is(loud.code, 0, loud.output);
    t.is(quiet.code, 0, quiet.output);
    const bar = /\d+\/\d+ runs \| /;
    t.regex(loud.output, bar);
    t.notRegex(quiet.output, bar);
    for (const o of [loud.output, quiet.output]) t.regex(o, /== consistency \(C7\)/);
    for (const out of ['loud', 'quiet']) t.true(existsSync(path.join(dir, out, 'results.json')), out);
  },
);
