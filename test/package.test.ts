/** The packed tarball holds what runs, and installs into a fresh prefix without a compiler. */
import test from 'ava';
import { execFileSync, spawnSync } from 'node:child_process';
import { cpSync, existsSync } from 'node:fs';
import path from 'node:path';
import { packageRoot } from '../src/native.js';
import { tempDir } from './helpers.js';

interface PackEntry {
  files: { path: string }[];
  filename: string;
  size: number;
}

test.serial('npm pack ships the CLI, library, addon and sources, and no tests or results', (t) => {
  const dir = tempDir(t);
  const out = execFileSync('npm', ['pack', '--json', '--pack-destination', dir], {
    cwd: packageRoot,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const [pack] = JSON.parse(out) as PackEntry[];
  const files = pack!.files.map((f) => f.path);
  t.log(`${files.length} files, ${pack!.size} bytes packed`);
  for (const needed of ['bin/cowbench.js', 'dist/src/native.js', 'scripts/install.js', 'binding.gyp'])
    t.true(files.includes(needed), `${needed} is packed`);
  t.true(files.includes(`prebuilt/linux-${process.arch}/cowbench.node`), 'the prebuilt addon is packed');
  const stray = files.filter((f) => /^(test|dist\/test|results)\/|\.map$|\.test\.|^build\//.test(f));
  t.deepEqual(stray, [], 'no tests, compiled tests, source maps, results or build tree');
  t.deepEqual(
    files.filter((f) => f.startsWith('dist/bench/') && f.endsWith('.d.ts')),
    [],
    'bench is the CLI plugin, not API: no declarations',
  );
  t.true(files.includes('LICENSE'));
  t.false(existsSync(path.join(packageRoot, 'prebuilt')), 'postpack leaves no prebuilt/ in the checkout');

  // Installed globally into a fresh prefix: npm 11 runs no install scripts there, so this is the
  // prebuilt addon's path.
  const prefix = path.join(dir, 'prefix');
  const install = spawnSync(
    'npm',
    [
      'install',
      '-g',
      '--prefix',
      prefix,
      '--prefer-offline',
      '--no-audit',
      '--no-fund',
      path.join(dir, pack!.filename),
    ],
    { encoding: 'utf8' },
  );
  t.is(install.status, 0, install.stderr);
  const probe = spawnSync(path.join(prefix, 'bin', 'cowbench'), ['probe', '--json'], { encoding: 'utf8' });
  t.is(probe.status, 0, probe.stderr);
  t.true(Array.isArray((JSON.parse(probe.stdout) as { probes: unknown[] }).probes));

  // vega and vega-lite are optional peers: not installed for a user who only takes snapshots, and
  // a report without them says what to install, in one line.
  const installed = path.join(prefix, 'lib', 'node_modules', 'cowbench');
  t.false(existsSync(path.join(installed, 'node_modules', 'vega')), 'vega is not installed');
  t.false(existsSync(path.join(installed, 'node_modules', 'vega-lite')), 'vega-lite is not installed');
  // So are the history database's drivers, and `history` names what to install.
  t.false(
    existsSync(path.join(installed, 'node_modules', '@electric-sql', 'pglite')),
    'pglite is not installed',
  );
  t.false(existsSync(path.join(installed, 'node_modules', 'pg')), 'pg is not installed');
  {
    const list = spawnSync(
      path.join(prefix, 'bin', 'cowbench'),
      ['history', 'list', '--db', path.join(dir, 'h')],
      {
        encoding: 'utf8',
      },
    );
    t.is(list.status, 2, list.stderr);
    t.regex(
      list.stderr,
      /optional package @electric-sql\/pglite, which is not installed: run `npm install @electric-sql\/pglite@0.6`/,
    );
  }
  // A copy: report writes beside its input.
  const input = path.join(dir, 'results-in');
  cpSync(path.join(packageRoot, 'results', '2026-12-01-vm-quick'), input, { recursive: true });
  {
    const report = spawnSync(
      path.join(prefix, 'bin', 'cowbench'),
      ['report', input, '--out', path.join(dir, 'report')],
      {
        encoding: 'utf8',
      },
    );
    t.not(report.status, 0);
    t.regex(
      report.stderr,
      /optional packages vega and vega-lite, which are not installed: run `npm install vega@6 vega-lite@6`/,
    );
  }
});
