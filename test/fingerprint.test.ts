/** The host fingerprint: cowbench's own commit only from the top of a checkout, kernel config bits. */
import test from 'ava';
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { commitFor, environment, gitCommitOf, KERNEL_CONFIG_KEYS } from '../src/env.js';
import { tempDir } from './helpers.js';

const git = (cwd: string, ...args: string[]) =>
  execFileSync('git', ['-c', 'user.name=t', '-c', 'user.email=t@t', ...args], { cwd, stdio: 'pipe' })
    .toString()
    .trim();

test("a copy inside another repository reports no commit, never that repository's", (t) => {
  const repo = tempDir(t);
  git(repo, 'init', '-q');
  writeFileSync(path.join(repo, 'f'), 'x');
  git(repo, 'add', 'f');
  git(repo, 'commit', '-qm', 'x');
  const head = git(repo, 'rev-parse', 'HEAD');
  const nested = path.join(repo, 'node_modules', 'cowbench');
  mkdirSync(nested, { recursive: true });
  t.is(gitCommitOf(nested), 'not a git checkout');
  t.is(gitCommitOf(repo), head);
  writeFileSync(path.join(repo, 'f'), 'y');
  t.is(gitCommitOf(repo), `${head}-dirty`);
  t.is(gitCommitOf(tempDir(t)), 'not a git checkout');
});

test('the fingerprint records the kernel config bits and the THP mode', (t) => {
  const env = environment();
  const keys = Object.keys(env.kernel_config);
  t.true(keys.length === 0 || KERNEL_CONFIG_KEYS.every((k) => keys.includes(k)));
  t.regex(env.thp_mode, /^(always|madvise|never|unavailable)$/);
  t.true(env.cores >= 1);
});

test('without a checkout the commit comes from the CI (GITHUB_SHA, CI_COMMIT_SHA), marked as such', (t) => {
  const plain = tempDir(t);
  const sha = 'a'.repeat(40);
  t.is(commitFor(plain, {}), 'not a git checkout');
  t.is(commitFor(plain, { GITHUB_SHA: sha }), `${sha} (from GITHUB_SHA)`);
  t.is(commitFor(plain, { CI_COMMIT_SHA: sha }), `${sha} (from CI_COMMIT_SHA)`);
  t.is(commitFor(plain, { GITHUB_SHA: 'not a sha; rm -rf' }), 'not a git checkout');
});

test('the fingerprint records the userfaultfd mode, probed', (t) => {
  const env = environment();
  t.regex(env.uffd_mode, /^(full|user-mode-only|unavailable)$/);
  // As root here the probe opens a full userfaultfd; unprivileged it would be user-mode-only.
  if (process.getuid?.() === 0) t.not(env.uffd_mode, 'user-mode-only');
});
