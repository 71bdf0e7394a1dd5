/**
 * Issue 10 item 1: a C++ exception inside a native async step rejects its promise with a named
 * error (it used to leave the promise pending forever), and the CLI entry never exits 0 when the
 * event loop empties before the command's result.
 */
import test from 'ava';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { CowbenchError } from '../src/errors.js';
import { packageRoot } from '../src/native.js';
import { runSnapshot } from '../src/orchestrator.js';
import { MiB, testOptions } from './helpers.js';

const thrown = [
  {
    injectThrow: 'bad_alloc',
    code: 'ENOMEM',
    message: /ENOMEM: out of memory \(in the snapshot prepare step\)/,
  },
  { injectThrow: 'system_error', code: 'EAGAIN', message: /snapshot prepare: .*could not start a thread/ },
  { injectThrow: 'exception', code: 'EEXCEPTION', message: /snapshot prepare: injected exception/ },
] as const;

for (const c of thrown) {
  test(`a ${c.injectThrow} thrown inside a native step rejects with ${c.code}`, async (t) => {
    const err = await t.throwsAsync(
      runSnapshot(
        testOptions({ sizeBytes: 4 * MiB, bufferBytes: 1 * MiB, inject: { throw: c.injectThrow } }),
      ),
    );
    t.true(err instanceof CowbenchError);
    t.is((err as CowbenchError).code, c.code);
    t.regex(err!.message, c.message);
    t.not((err as CowbenchError).exitCode, 0);
  });
}

function entry(body: string) {
  const url = pathToFileURL(path.join(packageRoot, 'dist', 'src', 'cli', 'entry.js')).href;
  return spawnSync(
    process.execPath,
    ['--input-type=module', '-e', `import { runEntry } from ${JSON.stringify(url)}; ${body}`],
    { encoding: 'utf8', timeout: 20_000 },
  );
}

test('the CLI entry exits 1 with a message when the command never settles', (t) => {
  const r = entry('runEntry(() => new Promise(() => {}));');
  t.is(r.status, 1);
  t.regex(r.stderr, /^cowbench: internal error: the command ended without a result/);
});

test("the CLI entry exits with main()'s code when it settles", (t) => {
  const r = entry('runEntry(async () => 0);');
  t.is(r.status, 0);
  t.is(r.stderr, '');
  t.is(entry('runEntry(async () => 2);').status, 2);
});
