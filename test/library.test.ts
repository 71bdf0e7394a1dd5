/**
 * Issue 12 item 2: the package imports by name from a separate project, as a user's would
 * (node_modules/cowbench linked to this checkout), in JavaScript and type-checked TypeScript.
 */
import test from 'ava';
import { spawnSync } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { packageRoot } from '../src/native.js';
import { tempDir } from './helpers.js';

function userProject(t: Parameters<typeof tempDir>[0]): string {
  const dir = tempDir(t);
  mkdirSync(path.join(dir, 'node_modules'));
  symlinkSync(packageRoot, path.join(dir, 'node_modules', 'cowbench'), 'dir');
  writeFileSync(
    path.join(dir, 'package.json'),
    JSON.stringify({ name: 'user', type: 'module', private: true }),
  );
  return dir;
}

test("import('cowbench') from another directory gives the documented API", (t) => {
  const dir = userProject(t);
  writeFileSync(
    path.join(dir, 'use.mjs'),
    `import { snapshot, probe, compat, listBackends, backendNames, CowbenchError, defaults } from 'cowbench';
const p = probe();
const r = await snapshot({ backend: 'forkcow', sizeBytes: 4 << 20, baselineMs: 20 });
let refused = null;
try { await snapshot({ backend: 'nope' }); } catch (e) { refused = e instanceof CowbenchError ? e.code : String(e); }
let deep = null;
try { await import('cowbench/dist/src/cli/main.js'); } catch (e) { deep = e.code; }
console.log(JSON.stringify({
  names: backendNames, listed: listBackends().map((b) => b.name), kernel: p.kernel.length > 0,
  forkcow: p.backends.forkcow.ok, verified: r.verified, backend: r.backend, refused, deep,
  compat: typeof compat, size: defaults.sizeBytes,
}));`,
  );
  const r = spawnSync(process.execPath, ['use.mjs'], { cwd: dir, encoding: 'utf8', timeout: 60_000 });
  t.is(r.status, 0, r.stderr);
  const out = JSON.parse(r.stdout) as Record<string, unknown>;
  t.deepEqual(out.names, ['uffd', 'mprotect', 'forkcow', 'softdirty']);
  t.deepEqual(out.listed, out.names);
  t.true(out.kernel);
  t.true(out.forkcow);
  t.true(out.verified);
  t.is(out.backend, 'forkcow');
  t.is(out.refused, 'EINVAL');
  t.is(out.deep, 'ERR_PACKAGE_PATH_NOT_EXPORTED');
  t.is(out.compat, 'function');
  t.is(out.size, 256 << 20);
});

test('a TypeScript project type-checks against the published types', (t) => {
  const dir = userProject(t);
  writeFileSync(
    path.join(dir, 'tsconfig.json'),
    JSON.stringify({
      compilerOptions: {
        module: 'NodeNext',
        moduleResolution: 'NodeNext',
        strict: true,
        noEmit: true,
        skipLibCheck: true,
        types: [],
      },
      files: ['use.ts', 'readme-example.ts'],
    }),
  );
  writeFileSync(
    path.join(dir, 'use.ts'),
    `import { snapshot, type RunResult, type BackendName, CowbenchError } from 'cowbench';
const backend: BackendName = 'uffd';
export const run: Promise<RunResult> = snapshot({ backend, sizeBytes: 64 << 20 });
export const code = (e: unknown): string | undefined => (e instanceof CowbenchError ? e.code : undefined);
// @ts-expect-error an unknown backend name is a type error
snapshot({ backend: 'zram' });
`,
  );
  // The README's library example, as written.
  const readme = readFileSync(path.join(packageRoot, 'README.md'), 'utf8');
  const example = /## As a library[\s\S]*?```ts\n([\s\S]*?)```/.exec(readme)?.[1];
  t.truthy(example);
  writeFileSync(path.join(dir, 'readme-example.ts'), `${example}export {};\n`);
  const tsc = path.join(packageRoot, 'node_modules', 'typescript', 'bin', 'tsc');
  const r = spawnSync(process.execPath, [tsc, '-p', dir], { cwd: dir, encoding: 'utf8', timeout: 120_000 });
  t.is(r.status, 0, r.stdout + r.stderr);
});

test.serial("the README's library example runs: a verified snapshot, then one aborted by its signal", (t) => {
  const dir = userProject(t);
  const readme = readFileSync(path.join(packageRoot, 'README.md'), 'utf8');
  const example = /## As a library[\s\S]*?```ts\n([\s\S]*?)```/.exec(readme)?.[1] ?? '';
  t.regex(example, /signal: AbortSignal\.timeout/);
  // Compiled by TypeScript as a user would, then run.
  writeFileSync(path.join(dir, 'readme-example.ts'), `${example}export {};\n`);
  writeFileSync(
    path.join(dir, 'tsconfig.json'),
    JSON.stringify({
      compilerOptions: {
        module: 'NodeNext',
        moduleResolution: 'NodeNext',
        target: 'ES2022',
        strict: true,
        skipLibCheck: true,
        types: [],
      },
      files: ['readme-example.ts'],
    }),
  );
  const tsc = path.join(packageRoot, 'node_modules', 'typescript', 'bin', 'tsc');
  const built = spawnSync(process.execPath, [tsc, '-p', dir], {
    cwd: dir,
    encoding: 'utf8',
    timeout: 120_000,
  });
  t.is(built.status, 0, built.stdout + built.stderr);
  const r = spawnSync(process.execPath, ['readme-example.js'], {
    cwd: dir,
    encoding: 'utf8',
    timeout: 120_000,
  });
  t.is(r.status, 0, r.stderr);
  const lines = r.stdout.trim().split('\n');
  // uffd where this kernel has it (then a line starting "true"), and always the abort.
  t.regex(lines.at(-1) ?? '', /^aborted during (baseline|prepare|arm|copy|finish|verify)$/);
});

test.serial(
  'snapshot({signal}): an abort rejects with an AbortError (name, cause, code EABORTED) and keeps nothing',
  async (t) => {
    const { snapshot, AbortError, CowbenchError } = await import('../src/index.js');
    const controller = new AbortController();
    const reason = new Error('test abort');
    setTimeout(() => controller.abort(reason), 50);
    const dir = tempDir(t);
    const e = await t.throwsAsync(
      snapshot({
        backend: 'forkcow',
        sizeBytes: 16 << 20,
        baselineMs: 2000,
        out: path.join(dir, 'img'),
        signal: controller.signal,
      }),
    );
    t.true(e instanceof AbortError);
    t.true(e instanceof CowbenchError);
    t.is(e?.name, 'AbortError');
    t.is((e as InstanceType<typeof AbortError>).code, 'EABORTED');
    t.is(e?.cause, reason);
    t.deepEqual(readdirSync(dir), [], 'nothing kept');
    // Already aborted: rejected before anything starts.
    const pre = await t.throwsAsync(snapshot({ backend: 'forkcow', signal: AbortSignal.abort('no') }));
    t.is(pre?.name, 'AbortError');
    // The test hooks are not public options.
    // @ts-expect-error inject is not part of SnapshotOptions
    const hidden: import('../src/index.js').SnapshotOptions = { inject: { fault: 'skip-copy-before-write' } };
    t.truthy(hidden);
  },
);
