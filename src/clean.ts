/**
 * Leftovers of runs that could not clean up (SIGKILL, power loss, a crash): the hidden
 * temporary images and manifests beside an --out (`.NAME.cowbench-PID-RAND.tmp`, see
 * native/common/sink.cc), manifests whose image is gone, and the private scratch directories of
 * runs without --out (`$TMPDIR/cowbench-PID-XXXXXX`). A temporary is a leftover when the process
 * named in it is gone, or is alive but neither holds the file open nor is a cowbench process
 * (its PID was reused); never an image.
 */
import { lstatSync, readdirSync, readFileSync, readlinkSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { isOrphanManifest, manifestPathFor } from './output.js';

export type LeftoverKind = 'temporary' | 'manifest' | 'scratch';

export interface Leftover {
  path: string;
  kind: LeftoverKind;
  /** Why it is a leftover, e.g. "temporary of pid 4242, which is not running". */
  reason: string;
}

const TEMP_NAME = /^\.(.+)\.cowbench-(\d+)-(\d+)\.tmp$/;
const SCRATCH_NAME = /^cowbench-(\d+)-[A-Za-z0-9]{6}$/;

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Whether process `pid` has `file` open; undefined when its descriptors cannot be read. */
function holdsOpen(pid: number, file: string): boolean | undefined {
  const fdDir = `/proc/${pid}/fd`;
  let fds: string[];
  try {
    fds = readdirSync(fdDir);
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EACCES' ? undefined : false;
  }
  for (const fd of fds) {
    try {
      if (readlinkSync(path.join(fdDir, fd)) === file) return true;
    } catch {
      /* closed meanwhile */
    }
  }
  return false;
}

function isCowbenchProcess(pid: number): boolean {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('cowbench');
  } catch {
    return false;
  }
}

/** Why the temporary `file` written by `pid` is a leftover, or null while it may be in use. */
function leftoverReason(pid: number, file: string): string | null {
  if (pid === process.pid) return null;
  if (!isAlive(pid)) return `temporary of pid ${pid}, which is not running`;
  const open = holdsOpen(pid, file);
  if (open !== false) return null;
  // Between closing and renaming, a live cowbench holds its temporary open no longer.
  if (isCowbenchProcess(pid)) return null;
  return `temporary of pid ${pid}, now another program that does not hold it open`;
}

/** The entries of `dir`, or none when it cannot be read (gone, or not ours to read). */
function namesIn(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}

function temporariesIn(dir: string, base?: string): Leftover[] {
  const names = namesIn(dir);
  const found: Leftover[] = [];
  for (const name of names) {
    const m = TEMP_NAME.exec(name);
    if (!m) continue;
    if (base !== undefined && m[1] !== base && m[1] !== `${base}.json`) continue;
    const file = path.resolve(dir, name);
    try {
      if (!lstatSync(file).isFile()) continue; // never follow or remove anything but a file
    } catch {
      continue;
    }
    const reason = leftoverReason(Number(m[2]), file);
    if (reason) found.push({ path: file, kind: 'temporary', reason });
  }
  return found;
}

function orphanManifestsIn(dir: string): Leftover[] {
  const names = namesIn(dir);
  const found: Leftover[] = [];
  for (const name of names) {
    if (!name.endsWith('.json') || name === '.json') continue;
    const manifest = path.resolve(dir, name);
    const image = manifest.slice(0, -'.json'.length);
    // In a directory, only a manifest that says it is one (an empty foo.json may be anything).
    if (isOrphanManifest(manifest, image) && lstatSync(manifest).size > 0)
      found.push({
        path: manifest,
        kind: 'manifest',
        reason: `manifest whose image ${path.basename(image)} is gone`,
      });
  }
  return found;
}

/** Scratch directories in $TMPDIR of runs (without --out) whose process is gone. */
function scratchDirs(): Leftover[] {
  const tmp = os.tmpdir();
  const names = namesIn(tmp);
  const found: Leftover[] = [];
  for (const name of names) {
    const m = SCRATCH_NAME.exec(name);
    if (!m) continue;
    const pid = Number(m[1]);
    const dir = path.join(tmp, name);
    // Only a dead PID: a live run's scratch directory is empty until its image is opened.
    if (pid === process.pid || isAlive(pid)) continue;
    try {
      if (!lstatSync(dir).isDirectory()) continue;
    } catch {
      continue;
    }
    found.push({
      path: dir,
      kind: 'scratch',
      reason: `scratch directory of pid ${pid}, which is not running`,
    });
  }
  return found;
}

/** Leftovers of earlier runs with this --out: its temporaries and, if its image is gone, its manifest. */
export function leftoversFor(out: string): Leftover[] {
  const file = path.resolve(out);
  const found = temporariesIn(path.dirname(file), path.basename(file));
  const manifest = manifestPathFor(file);
  if (isOrphanManifest(manifest, file))
    found.push({
      path: manifest,
      kind: 'manifest',
      reason: `manifest whose image ${path.basename(file)} is gone`,
    });
  return found;
}

/** Leftovers in `dir` (every cowbench temporary and orphan manifest), and scratch directories. */
export function leftoversIn(dir: string): Leftover[] {
  return [...temporariesIn(path.resolve(dir)), ...orphanManifestsIn(path.resolve(dir)), ...scratchDirs()];
}

/** Removes each leftover; returns the ones that could not be removed, with the error. */
export function removeLeftovers(list: Leftover[]): { leftover: Leftover; error: string }[] {
  const failed: { leftover: Leftover; error: string }[] = [];
  for (const l of list) {
    try {
      rmSync(l.path, { recursive: l.kind === 'scratch', force: true });
    } catch (e) {
      failed.push({ leftover: l, error: (e as Error).message });
    }
  }
  return failed;
}

/** At the start of a run: removes the temporaries an earlier, killed run left beside `out`. */
export function sweepBefore(out: string | null): Leftover[] {
  const list = [
    ...(out === null || out === '/dev/null' ? [] : leftoversFor(out).filter((l) => l.kind === 'temporary')),
    ...scratchDirs(),
  ];
  const failed = new Set(removeLeftovers(list).map((f) => f.leftover));
  return list.filter((l) => !failed.has(l));
}

/** On a forced exit: removes this process's own temporaries beside `out` and scratch directories. */
export function removeOwnTemporaries(out: string | null): void {
  const own = (name: string) =>
    name.includes(`.cowbench-${process.pid}-`) || name.startsWith(`cowbench-${process.pid}-`);
  const dirs = [
    os.tmpdir(),
    ...(out === null || out === '/dev/null' ? [] : [path.dirname(path.resolve(out))]),
  ];
  for (const dir of dirs) {
    for (const name of namesIn(dir))
      if (own(name) && (TEMP_NAME.test(name) || SCRATCH_NAME.test(name)))
        rmSync(path.join(dir, name), { recursive: SCRATCH_NAME.test(name), force: true });
  }
}
