/**
 * Leftovers of runs that could not clean up (SIGKILL, power loss, a crash): the hidden
 * temporary images and manifests beside an --out (`.NAME.cowbench-PID-RAND.tmp`, see
 * native/common/sink.cc), manifests whose image is gone, and the private scratch directories of
 * runs without --out (`$TMPDIR/cowbench-PID-XXXXXX`). A temporary is a leftover when the process
 * named in it is gone, or is alive but does not hold the file open and started after the file was
 * created (its PID was reused); never an image. A scratch directory is one only when the caller
 * owns it and it holds nothing but the files a run writes there.
 */
import { lstatSync, readdirSync, readFileSync, rmSync, statSync, type Stats } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fsError } from './files.js';
import { isOrphanManifest, manifestPathFor } from './output.js';

export type LeftoverKind = 'temporary' | 'manifest' | 'scratch';

export interface Leftover {
  path: string;
  kind: LeftoverKind;
  /** Why it is a leftover, e.g. "temporary of pid 4242, which is not running". */
  reason: string;
}

export const TEMP_NAME = /^\.(.+)\.cowbench-(\d+)-(\d+)\.tmp$/;
const SCRATCH_NAME = /^cowbench-(\d+)-[A-Za-z0-9]{6}$/;

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Whether process `pid` has the file `st` describes open; undefined when its descriptors cannot be
 * read. Compared by (st_dev, st_ino), never by path: /proc/PID/fd links are resolved paths, and
 * the directory may have been named through a symlink.
 */
function holdsOpen(pid: number, st: Stats): boolean | undefined {
  const fdDir = `/proc/${pid}/fd`;
  let fds: string[];
  try {
    fds = readdirSync(fdDir);
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EACCES' ? undefined : false;
  }
  for (const fd of fds) {
    try {
      const target = statSync(path.join(fdDir, fd)); // stat follows the fd link to the open file
      if (target.ino === st.ino && target.dev === st.dev) return true;
    } catch {
      /* closed meanwhile */
    }
  }
  return false;
}

/** When process `pid` started (ms since the epoch, within a second: /proc/stat's btime is whole seconds). */
function processStartMs(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Field 22, starttime in clock ticks since boot; comm (field 2) may hold spaces: count from its ')'.
    const ticks = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19]);
    const btime = Number(/^btime (\d+)$/m.exec(readFileSync('/proc/stat', 'utf8'))?.[1]);
    if (!Number.isFinite(ticks) || !Number.isFinite(btime)) return undefined;
    return btime * 1000 + (ticks * 1000) / CLOCK_TICKS_PER_SEC;
  } catch {
    return undefined;
  }
}
/** USER_HZ: the unit of /proc/PID/stat times, 100 on every Linux architecture node runs on. */
const CLOCK_TICKS_PER_SEC = 100;

function isCowbenchProcess(pid: number): boolean {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('cowbench');
  } catch {
    return false;
  }
}

/**
 * Whether live process `pid` is a later process with the PID of the one that wrote the file: it
 * started after the file was created (by more than the second btime's rounding may hide). Where
 * the file system keeps no birth time, a process that is not cowbench is taken for PID reuse (a
 * library user's process between closing and renaming its temporary would then look reused).
 */
function pidReused(pid: number, st: Stats): boolean {
  const started = processStartMs(pid);
  if (st.birthtimeMs > 0 && started !== undefined) return started > st.birthtimeMs + 1000;
  return !isCowbenchProcess(pid);
}

/** Why the temporary `file` written by `pid` is a leftover, or null while it may be in use. */
function leftoverReason(pid: number, st: Stats): string | null {
  if (pid === process.pid) return null;
  if (!isAlive(pid)) return `temporary of pid ${pid}, which is not running`;
  if (holdsOpen(pid, st) !== false) return null;
  // Between closing and renaming, a live run holds its temporary open no longer.
  if (!pidReused(pid, st)) return null;
  return `temporary of pid ${pid}, now another program that does not hold it open`;
}

/** The entries of `dir`; none when it does not exist. Any other failure is an error naming it. */
function namesIn(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    if (err.code === 'ENOENT') return [];
    throw fsError(`cannot read ${dir}`, err);
  }
}

/** Leftover scratch directories may sit in an unreadable $TMPDIR: then there are none to find. */
function namesInTmpdir(dir: string): string[] {
  try {
    return namesIn(dir);
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
    let st: Stats;
    try {
      st = lstatSync(file);
    } catch {
      continue;
    }
    if (!st.isFile()) continue; // never follow or remove anything but a file
    const reason = leftoverReason(Number(m[2]), st);
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

/** The files a run writes in its scratch directory (src/output.ts scratchImagePath): its image and their temporaries. */
const SCRATCH_FILE = /^(image(\.json)?|\.image(\.json)?\.cowbench-\d+-\d+\.tmp)$/;

/**
 * Whether `dir` is a run's scratch directory to remove: a real directory the caller owns, holding
 * only regular files named as a run names them. Anything else (a user's `thesis.tex`, another
 * user's directory, a subdirectory, a symlink) keeps it.
 */
function isOwnScratch(dir: string): boolean {
  try {
    const st = lstatSync(dir);
    if (!st.isDirectory() || st.uid !== process.getuid?.()) return false;
    return readdirSync(dir).every(
      (name) => SCRATCH_FILE.test(name) && lstatSync(path.join(dir, name)).isFile(),
    );
  } catch {
    return false;
  }
}

/** Scratch directories in $TMPDIR of runs (without --out) whose process is gone. */
function scratchDirs(): Leftover[] {
  const tmp = os.tmpdir();
  const names = namesInTmpdir(tmp);
  const found: Leftover[] = [];
  for (const name of names) {
    const m = SCRATCH_NAME.exec(name);
    if (!m) continue;
    const pid = Number(m[1]);
    const dir = path.join(tmp, name);
    // Only a dead PID: a live run's scratch directory is empty until its image is opened.
    if (pid === process.pid || isAlive(pid)) continue;
    if (!isOwnScratch(dir)) continue;
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
  let beside: Leftover[] = [];
  try {
    if (out !== null && out !== '/dev/null') beside = leftoversFor(out).filter((l) => l.kind === 'temporary');
  } catch {
    /* a directory that can be written but not listed: nothing to sweep, the run goes on */
  }
  const list = [...beside, ...scratchDirs()];
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
    for (const name of namesInTmpdir(dir))
      if (own(name) && (TEMP_NAME.test(name) || SCRATCH_NAME.test(name)))
        rmSync(path.join(dir, name), { recursive: SCRATCH_NAME.test(name), force: true });
  }
}
