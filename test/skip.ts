/**
 * Tests that cannot run here are registered as skipped, with the reason in their title, so ava's
 * summary counts them (never a t.pass() that reports "passed" for nothing). Everything here is
 * decided synchronously at registration. Only test files import this (it imports ava).
 */
import test, { type ExecutionContext } from 'ava';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

type Implementation = (t: ExecutionContext) => unknown;

/**
 * `test` (or `.serial`) when the test can run here, else `test.skip` with the reason in its
 * title: decided at registration, so ava's summary counts it as skipped, never as passed.
 */
export function testIf(runnable: boolean, reason: string) {
  const register = (serial: boolean) => (title: string, fn: Implementation) => {
    if (!runnable) test.skip(`${title} [skipped: ${reason}]`, fn);
    else if (serial) test.serial(title, fn);
    else test(title, fn);
  };
  return Object.assign(register(false), { serial: register(true) });
}

/** testIf from a probe outcome ({ ok } or { ok: false, reason }). */
export function testIfSupported(p: { ok: true } | { ok: false; reason: string }) {
  return testIf(p.ok, p.ok ? '' : p.reason);
}

export const isRoot = process.getuid?.() === 0;

/** Whether a small tmpfs can be mounted here (root with CAP_SYS_ADMIN): tried once. */
export const canMountTmpfs: boolean = (() => {
  if (!isRoot) return false;
  const dir = mkdtempSync(path.join(os.tmpdir(), 'cowbench-mount-probe-'));
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', dir], { stdio: 'ignore' });
    execFileSync('umount', [dir], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
})();
export const NO_TMPFS = 'cannot mount a small tmpfs here (needs root / CAP_SYS_ADMIN)';

/** Whether an unprivileged user may open a userfaultfd here (sysctl, or a world-usable /dev node). */
export const unprivilegedUserfaultfd: boolean = (() => {
  try {
    if (readFileSync('/proc/sys/vm/unprivileged_userfaultfd', 'utf8').trim() === '1') return true;
  } catch {
    /* no sysctl: fall through */
  }
  try {
    return (statSync('/dev/userfaultfd').mode & 0o006) === 0o006;
  } catch {
    return false;
  }
})();
