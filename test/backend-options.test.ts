/**
 * Issue 12 item 1: each backend declares its options once; flags, help, validation, the README
 * table and the refusal of a flag the chosen backend lacks all come from the declarations, and
 * the native registry reads the same keys.
 */
import test from 'ava';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { BackendOption } from '../src/backend.js';
import { native, packageRoot, type NativeSessionOptions } from '../src/native.js';
import { backendOptionsMarkdown, readmeWithBackendOptions } from '../src/options.js';
import { backendNames, declaredOptions, backends, registryMismatch } from '../src/registry.js';
import { runCli } from './helpers.js';
import { ERROR_CODES, readmeWithErrorCodes } from '../src/errors.js';

test('the README backend options table is what the declarations generate', (t) => {
  const readme = readFileSync(path.join(packageRoot, 'README.md'), 'utf8');
  t.is(readmeWithBackendOptions(readme, backendOptionsMarkdown()), readme, 'run npm run docs:options');
});

test('the native registry reads exactly the declared option keys of each backend', (t) => {
  const keys = native.backendOptionKeys();
  t.deepEqual(Object.keys(keys).sort(), [...backendNames].sort());
  t.is(registryMismatch(keys), undefined);
  for (const name of backendNames)
    t.deepEqual(
      [...keys[name]!].sort(),
      (backends[name].options as readonly BackendOption[]).map((s) => s.key).sort(),
    );
});

test('a registry mismatch is named (a knob added on one side only)', (t) => {
  const keys = native.backendOptionKeys();
  t.regex(
    registryMismatch({ ...keys, uffd: [...keys.uffd!, 'faultAround'] }) ?? '',
    /uffd: read natively only: faultAround/,
  );
  t.regex(
    registryMismatch({ ...keys, softdirty: keys.softdirty!.filter((k) => k !== 'engine') }) ?? '',
    /softdirty: declared in TypeScript only: engine/,
  );
  t.regex(registryMismatch({ ...keys, zram: [] }) ?? '', /native backend 'zram' is not in src\/registry.ts/);
});

test('a native backend refuses an unknown option key and a bad value when it is created', async (t) => {
  const region = new native.Region({ bytes: 1 << 20, hugepage: false, fill: 'all' });
  await region.init();
  const workload = new native.Workload(region);
  const sink = new native.Sink('/dev/null');
  const shared = {
    bufferBytes: 1 << 20,
    bufferPolicy: 'block',
    granularityBytes: 4096,
  } as const;
  try {
    const make = (name: string, own: Record<string, string | number | boolean>) => () =>
      new native.Snapshot(name, region, workload, sink, shared, own);
    t.throws(make('uffd', { engine: 'wp-async' }), {
      code: 'EINVAL',
      message: /uffd: unknown option 'engine'/,
    });
    t.throws(make('uffd', { delivery: 'pigeon' }), {
      code: 'EINVAL',
      message: /option 'delivery' must be one of: thread, sigbus/,
    });
    t.throws(make('uffd', { handlers: 0 }), {
      code: 'EINVAL',
      message: /option 'handlers' must be a whole number in \[1, 64\]/,
    });
    t.throws(make('mprotect', { handlerWait: 'spin' }), {
      code: 'EINVAL',
      message: /mprotect: unknown option 'handlerWait'/,
    });
    t.throws(make('forkcow', { drainWake: 'late' }), {
      code: 'EINVAL',
      message: /forkcow: unknown option 'drainWake'/,
    });
    t.throws(make('softdirty', { maxPasses: true }), {
      code: 'EINVAL',
      message: /option 'maxPasses' must be a whole number/,
    });
    t.notThrows(make('softdirty', { engine: 'auto', maxPasses: 3, finalDirtyPages: 0 }));
    // The test hooks: a misspelt fault or exception is refused, not silently off.
    const hooked = (inject: Record<string, unknown>) => () =>
      new native.Snapshot(
        'forkcow',
        region,
        workload,
        sink,
        { ...shared, inject } as unknown as NativeSessionOptions,
        {},
      );
    t.throws(hooked({ fault: 'skip-copy' }), {
      code: 'EINVAL',
      message:
        /inject\.fault must be one of: skip-copy-before-write, skip-fault-around-page, skip-expected-log/,
    });
    t.throws(hooked({ throw: 'oom' }), {
      code: 'EINVAL',
      message: /inject\.throw must be one of: bad_alloc, system_error, exception/,
    });
    t.notThrows(hooked({ fault: 'skip-expected-log', sinkDelayUs: 1 }));
  } finally {
    region.release();
  }
});

/** Each declared flag given to a backend that lacks it; the value itself is valid for its owner. */
const validValue = (s: BackendOption) =>
  s.type === 'choice'
    ? [`--${s.flag}`, s.choices[s.choices.length - 1]!]
    : s.type === 'count'
      ? [`--${s.flag}`, String(s.max)]
      : [`--${s.flag}`];
const refusals = declaredOptions.flatMap((spec) =>
  backendNames
    .filter((b) => !(backends[b].options as readonly BackendOption[]).includes(spec))
    .map((b) => ({ backend: b, spec })),
);

test('every backend flag is in run --help, under the backends that have it', async (t) => {
  const r = await runCli(['run', '--help']);
  t.is(r.code, 0);
  for (const spec of declaredOptions) t.regex(r.stdout, new RegExp(`--${spec.flag}\\b`));
  t.regex(r.stdout, /uffd options:/);
  t.regex(r.stdout, /uffd, mprotect options:/);
  t.regex(r.stdout, /softdirty options:/);
});

for (const { backend, spec } of refusals)
  test(`run --backend ${backend} --${spec.flag} is refused (exit 2, names the flag and its backends)`, async (t) => {
    const r = await runCli(['run', '--size', '4M', '--backend', backend, ...validValue(spec)]);
    t.is(r.code, 2, r.stderr);
    t.regex(
      r.stderr,
      new RegExp(
        `^cowbench: --${spec.flag}: the ${backend} backend has no such option \\(only [a-z, ]+ ha(s|ve) it\\)\\n$`,
      ),
    );
    t.is(r.stdout, '');
  });

test("README's error-code table is the one made from ERROR_CODES", (t) => {
  const readme = readFileSync(path.join(packageRoot, 'README.md'), 'utf8');
  t.is(readmeWithErrorCodes(readme), readme, 'run npm run docs:options');
  for (const code of Object.keys(ERROR_CODES)) t.true(readme.includes(`| \`${code}\` |`), code);
});
