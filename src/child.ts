/**
 * The one child-process runner of cowbench (compat cells, bench runs, every suite's trials):
 * spawn node on a script (bin/cowbench.js by default) with arguments and environment, collect
 * stdout and stderr, and end it on a timeout or on request with one kill policy: SIGTERM first
 * (a cowbench child releases its writers and removes its temporary image), SIGKILL when it is
 * still there after a grace period. Every live child is tracked so a parent that is itself
 * interrupted can end them all (`killAllChildren`) before it cleans up and exits.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { packageRoot } from './native.js';

export interface ChildOptions {
  /** Arguments after the script. */
  args: string[];
  /** Script run by node; default bin/cowbench.js of this package. */
  script?: string;
  /** After this long: SIGTERM, then SIGKILL after `killGraceMs`. Default 10 minutes. */
  timeoutMs?: number;
  /** Between SIGTERM and SIGKILL. Default 15 s. */
  killGraceMs?: number;
  /** Added to (and overriding) this process's environment. */
  env?: NodeJS.ProcessEnv;
  /** Aborting ends the child with the same kill policy. */
  signal?: AbortSignal;
}

export interface ChildResult {
  code: number | null;
  /** The signal that ended the child, if one did. */
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  /** Ended by the timeout. */
  timedOut: boolean;
  durationMs: number;
}

export const DEFAULT_CHILD_TIMEOUT_MS = 600_000;
export const DEFAULT_KILL_GRACE_MS = 15_000;

const live = new Set<ChildProcess>();
/** Set by stopAllChildren: the process is ending, no new child may start. */
let stopping = false;

/** SIGTERM now, SIGKILL after the grace period if the child is still running. */
export function terminate(child: ChildProcess, graceMs = DEFAULT_KILL_GRACE_MS): void {
  if (child.exitCode !== null || child.signalCode !== null) return;
  child.kill('SIGTERM');
  const timer = setTimeout(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  }, graceMs);
  timer.unref();
  child.once('exit', () => clearTimeout(timer));
}

/** Runs one child; resolves when it has exited and its pipes closed (never rejects on exit codes). */
export function runChild(o: ChildOptions): Promise<ChildResult> {
  // The process is stopping on a signal: a caller that goes on to its next child waits for the exit.
  if (stopping) return new Promise(() => {});
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      [o.script ?? path.join(packageRoot, 'bin', 'cowbench.js'), ...o.args],
      {
        stdio: ['ignore', 'pipe', 'pipe'],
        env: o.env ? { ...process.env, ...o.env } : process.env,
      },
    );
    live.add(child);
    let stdout = '';
    let stderr = '';
    let timedOut = false;
    const grace = o.killGraceMs ?? DEFAULT_KILL_GRACE_MS;
    const timer = setTimeout(() => {
      timedOut = true;
      terminate(child, grace);
    }, o.timeoutMs ?? DEFAULT_CHILD_TIMEOUT_MS);
    const onAbort = () => terminate(child, grace);
    o.signal?.addEventListener('abort', onAbort, { once: true });
    if (o.signal?.aborted) onAbort();
    child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', (e) => {
      clearTimeout(timer);
      live.delete(child);
      reject(e);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      live.delete(child);
      o.signal?.removeEventListener('abort', onAbort);
      resolve({ code, signal, stdout, stderr, timedOut, durationMs: performance.now() - started });
    });
  });
}

/** The JSON object a child printed: all of stdout, or else its last non-empty line. */
export function childJson<T>(r: Pick<ChildResult, 'stdout'>): T | undefined {
  const text = r.stdout.trim();
  if (text === '') return undefined;
  try {
    return JSON.parse(text) as T;
  } catch {
    const last = text.split('\n').pop() ?? '';
    try {
      return JSON.parse(last) as T;
    } catch {
      return undefined;
    }
  }
}

/** How a signal ended a child, in words (a SIGKILL nobody sent on purpose is usually the OOM killer). */
export function killedBy(signal: NodeJS.Signals): string {
  return `killed by ${signal}${signal === 'SIGKILL' ? " (out of memory? the kernel's OOM killer sends SIGKILL)" : ''}`;
}

/** Why a child failed, in one line: its `cowbench:` line, an Error line, or how it ended. */
export function childFailure(r: ChildResult, timeoutMs?: number): string {
  if (r.timedOut) return `timed out after ${timeoutMs ?? 'its'} ms`;
  const lines = r.stderr
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '' && !/^Node\.js v/.test(l));
  return (
    lines.find((l) => l.startsWith('cowbench:')) ??
    lines.find((l) => /Error\b/.test(l)) ??
    lines[lines.length - 1] ??
    (r.signal ? killedBy(r.signal) : `exited ${r.code}`)
  );
}

/** Ends every live child now (SIGKILL) and resolves once all have exited. */
export function killAllChildren(): Promise<void> {
  const waits = [...live].map(
    (c) =>
      new Promise<void>((resolve) => {
        if (c.exitCode !== null || c.signalCode !== null) return resolve();
        c.once('exit', () => resolve());
        c.kill('SIGKILL');
      }),
  );
  return Promise.all(waits).then(() => undefined);
}

/**
 * Ends every live child with the kill policy (SIGTERM, SIGKILL after `graceMs`) and resolves once
 * all have exited: a cowbench child removes its own temporaries on SIGTERM, and one that runs
 * children itself (compat) ends them first. No child starts after this call: runChild's promise
 * then never settles (the caller is about to exit).
 */
export function stopAllChildren(graceMs = DEFAULT_KILL_GRACE_MS): Promise<void> {
  stopping = true;
  const waits = [...live].map(
    (c) =>
      new Promise<void>((resolve) => {
        if (c.exitCode !== null || c.signalCode !== null) return resolve();
        c.once('exit', () => resolve());
        terminate(c, graceMs);
      }),
  );
  return Promise.all(waits).then(() => undefined);
}

/** SIGKILL to every live child, now (for a process about to exit). */
export function killAllChildrenNow(): void {
  for (const c of live) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
}

export function liveChildren(): number {
  return live.size;
}
