/**
 * Issue 12 item 2: the package imports by name from a separate project, as a user's would
 * (node_modules/cowbench linked to this checkout), in JavaScript and type-checked TypeScript.
 */
import test from 'ava';
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
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
