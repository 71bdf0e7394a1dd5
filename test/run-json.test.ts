/**
 * `run --json` prints exactly one JSON object on stdout, whatever happens (issue 21 items 7 and
 * 10): with `--runs N` (the per-run lines go to stderr), when the repeated run is interrupted
 * (the object keeps the finished runs and the error), and on a signal its `exit_code` is the real
 * exit code (128 + the signal), not 1.
 */
import test from 'ava';
import { runCli } from './helpers.js';

interface Failure {
  verified: boolean;
  interrupted_by: string | null;
  exit_code?: number;
  error: { code: string; exit_code: number } | null;
}

test('run --runs 2 --json: stdout is exactly one JSON object; the per-run lines go to stderr', async (t) => {
  const r = await runCli(['run', '--size', '16M', '--runs', '2', '--baseline-ms', '20', '--json']);
  t.is(r.code, 0, r.stderr);
  const out = JSON.parse(r.stdout) as { runs: { verified: boolean }[]; exit_code: number; error: null };
  t.is(out.runs.length, 2);
  t.is(out.exit_code, 0);
  t.is(out.error, null);
  t.is(r.stderr.match(/^run \d\/2: verified yes/gm)?.length, 2, r.stderr);
});

for (const [sig, code] of [
  ['SIGTERM', 143],
  ['SIGINT', 130],
] as const)
  test.serial(
    `run --runs 5 --json interrupted by ${sig} after a finished run: one object with the finished runs and the error, exit ${code}`,
    async (t) => {
      let sent = false;
      let seen = '';
      const r = await runCli(
        ['run', '--size', '16M', '--runs', '5', '--baseline-ms', '1500', '--json', '--verbose'],
        {
          onSpawn: (child) => {
            const watch = (d: Buffer) => {
              seen += d.toString();
              // The first run has finished; the second is in its 1.5 s baseline.
              if (!sent && /run 1\/5: verified yes[\s\S]*cowbench: baseline/.test(seen)) {
                sent = true;
                child.kill(sig);
              }
            };
            child.stdout?.on('data', watch);
            child.stderr?.on('data', watch);
          },
        },
      );
      t.true(sent, 'the signal arrived in the second run');
      t.is(r.code, code, r.stderr);
      const out = JSON.parse(r.stdout) as {
        runs: { verified: boolean }[];
        summary: { key: string; n: number }[];
        failed_run: number;
        exit_code: number;
      } & Failure;
      t.is(out.runs.length, 1);
      t.true(out.runs[0]!.verified);
      t.is(out.summary.find((f) => f.key === 'pause_us')?.n, 1);
      t.is(out.failed_run, 2);
      t.is(out.interrupted_by, sig);
      t.is(out.error?.code, 'EABORTED');
      t.is(out.error?.exit_code, code);
      t.is(out.exit_code, code);
    },
  );

for (const [sig, code] of [
  ['SIGINT', 130],
  ['SIGTERM', 143],
  ['SIGHUP', 129],
] as const)
  test.serial(
    `run --json interrupted by ${sig}: the object's exit_code is ${code}, the real one`,
    async (t) => {
      let sent = false;
      const r = await runCli(['run', '--size', '32M', '--json', '--verbose', '--baseline-ms', '1500'], {
        onSpawn: (child) => {
          child.stderr?.on('data', (d: Buffer) => {
            if (!sent && d.toString().includes('cowbench: baseline')) {
              sent = true;
              child.kill(sig);
            }
          });
        },
      });
      t.is(r.code, code, r.stderr);
      const j = JSON.parse(r.stdout) as Failure;
      t.is(j.interrupted_by, sig);
      t.is(j.error?.exit_code, code);
    },
  );
