/**
 * `cowbench vm --kernel IMAGE [options] -- <cowbench command>`: the command on another kernel,
 * inside QEMU (src/vm/). `--script FILE` runs several commands in one boot; `--fetch
 * debian-6.1` puts a Debian kernel into the cache for `--kernel debian-6.1`.
 */
import { lstatSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { withValues } from '../argv.js';
import { CowbenchError, UsageError } from '../errors.js';
import { environment } from '../env.js';
import { checkOutput, NULL_SINK } from '../output.js';
import { handleSignals } from '../signals.js';
import { writeStderr } from '../stdout.js';
import { parseSize } from '../units.js';
import { cachedKernel, fetchKernel, isCachedKernelName } from '../vm/fetch.js';
import type { CarriedFile } from '../vm/guest.js';
import { identifyKernel } from '../vm/kernel.js';
import { requireQemu, runVm, writeTranscript, type Accel, type VmOptions } from '../vm/runner.js';
import type { CliPlugin } from './plugin.js';

const ACCELS: readonly Accel[] = ['auto', 'kvm', 'tcg'];

/** `90`, `90s`, `10m`, `1h` -> seconds. */
export function parseDuration(flag: string, value: unknown): number {
  const m = /^(\d+(?:\.\d+)?)(s|m|h)?$/.exec(String(value).trim());
  if (!m) throw new UsageError(flag, `'${String(value)}' is not a duration (90, 90s, 10m, 1h)`);
  const s = Number(m[1]) * (m[2] === 'h' ? 3600 : m[2] === 'm' ? 60 : 1);
  if (!(s > 0)) throw new UsageError(flag, 'must be more than 0');
  return s;
}

/** One command line of a --script: words, with '…' and "…" quoting and \ escapes, as sh splits them. */
export function splitWords(line: string): string[] {
  const words: string[] = [];
  let word: string | null = null;
  let quote: '"' | "'" | null = null;
  for (let i = 0; i < line.length; i++) {
    const c = line[i]!;
    if (quote === "'") {
      if (c === "'") quote = null;
      else word += c;
    } else if (quote === '"') {
      if (c === '"') quote = null;
      else if (c === '\\' && i + 1 < line.length && '"\\$`'.includes(line[i + 1]!))
        word = (word ?? '') + line[++i]!;
      else word += c;
    } else if (c === "'" || c === '"') {
      quote = c;
      word ??= '';
    } else if (c === '\\' && i + 1 < line.length) {
      word = (word ?? '') + line[++i]!;
    } else if (/\s/.test(c)) {
      if (word !== null) words.push(word);
      word = null;
    } else if (c === '#' && word === null) {
      break;
    } else word = (word ?? '') + c;
  }
  if (quote) throw new Error(`unclosed ${quote}`);
  if (word !== null) words.push(word);
  return words;
}

/** The commands of a --script file: one cowbench command line each; blank lines and # comments skipped. */
export function readScript(file: string): string[][] {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new UsageError('--script', `${file}: ${(e as NodeJS.ErrnoException).code ?? e}`);
  }
  const commands: string[][] = [];
  for (const [i, line] of text.split('\n').entries()) {
    let words: string[];
    try {
      words = splitWords(line);
    } catch (e) {
      throw new UsageError('--script', `${file}:${i + 1}: ${(e as Error).message}`);
    }
    if (words[0] === 'cowbench') words.shift();
    if (words.length) commands.push(words);
  }
  if (commands.length === 0) throw new UsageError('--script', `${file} holds no command`);
  return commands;
}

/** The values of --out / -o in one command's argv. */
function outsOf(argv: string[]): string[] {
  const outs: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const m = /^(?:--out|-o)=(.*)$/.exec(a);
    if (m) outs.push(m[1]!);
    else if ((a === '--out' || a === '-o') && i + 1 < argv.length) outs.push(argv[++i]!);
  }
  return outs;
}

const NOT_FILES = /^\/(dev|proc|sys)(\/|$)/;

/** The largest earlier results.json carried into the guest (bench refuses larger ones too). */
const MAX_CARRIED_BYTES = 64 * 2 ** 20;

/** `DIR/results.json` when it is a regular file a guest bench can add its suites to; else null. */
function earlierResults(dir: string): CarriedFile | null {
  const file = path.join(dir, 'results.json');
  try {
    const st = lstatSync(file);
    return st.isFile() && st.size <= MAX_CARRIED_BYTES ? { path: file, size: st.size, mode: st.mode } : null;
  } catch {
    return null;
  }
}

/**
 * Where the commands write (the working directory, and each --out's directory), checked on the
 * host as the inner command would check them: the guest cannot see that a `run --out` image is
 * already here. `carry`: each `bench --out DIR`'s existing results.json, copied into the guest so
 * that bench there keeps the suites measured earlier, as it does on the host (it comes back whole).
 */
export function outputRoots(
  commands: string[][],
  cwd: string,
): { dirs: string[]; roots: string[]; carry: CarriedFile[] } {
  const roots = new Set<string>([cwd]);
  const carry = new Map<string, CarriedFile>();
  for (const argv of commands) {
    const command = argv.find((a) => !a.startsWith('-'));
    for (const out of outsOf(argv)) {
      if (out === NULL_SINK) continue;
      const abs = path.resolve(cwd, out);
      if (command === 'run') checkOutput(abs, argv.includes('--force'));
      const earlier = command === 'bench' ? earlierResults(abs) : null;
      if (earlier) carry.set(earlier.path, earlier);
      const dir = path.dirname(abs);
      if (!NOT_FILES.test(dir)) roots.add(dir);
    }
  }
  // Each exists in the guest as on the host; a root inside another is walked with it.
  const dirs = [...roots];
  return {
    dirs,
    roots: dirs.filter(
      (r) => !dirs.some((o) => o !== r && (r + '/').startsWith(o.endsWith('/') ? o : o + '/')),
    ),
    carry: [...carry.values()],
  };
}

export const vmCommand: CliPlugin = (y) =>
  y.command(
    'vm [command..]',
    'run a cowbench command on another kernel, inside QEMU: cowbench vm --kernel IMAGE -- run --backend softdirty',
    withValues((a) =>
      a
        .positional('command', { type: 'string', array: true, describe: 'the cowbench command, after --' })
        .option('kernel', {
          type: 'string',
          describe:
            'a bzImage/vmlinuz (or a vmlinux with the PVH entry), or a fetched name: debian-6.1, debian-6.12',
        })
        .option('accel', {
          type: 'string',
          default: 'auto',
          describe:
            'auto (KVM when it can boot the kernel, else TCG), kvm, tcg (emulated CPU: times not comparable)',
        })
        .option('cpus', { type: 'string', default: '2', describe: "the guest's CPUs" })
        .option('memory', { type: 'string', default: '4G', describe: "the guest's memory" })
        .option('timeout', { type: 'string', describe: 'stop the VM after this long (90, 90s, 10m): exit 1' })
        .option('append', { type: 'string', describe: 'more kernel command line' })
        .option('keep', {
          type: 'boolean',
          default: false,
          describe:
            'keep the generated initramfs in the cache and reuse it while node, the package and the kernel are unchanged',
        })
        .option('script', {
          type: 'string',
          describe: 'a file of cowbench command lines, all run in one boot',
        })
        .option('transcript', {
          type: 'string',
          describe:
            "write a JSON record of the run here: each command's exit code, output and files, and the timings",
        })
        .option('fetch', {
          type: 'string',
          describe:
            'fetch a Debian kernel into the cache (debian-6.1, debian-6.12) with apt-get download; verified, not installed',
        })
        .option('verbose', {
          type: 'boolean',
          default: false,
          describe: 'show the QEMU command line and the kernel console',
        })
        .parserConfiguration({ 'populate--': true }),
    ),
    async (args) => {
      process.exitCode = await vmHandler(args as unknown as VmFlags);
    },
  );

interface VmFlags {
  command?: string[];
  '--'?: string[];
  kernel?: string;
  accel: string;
  cpus: string;
  memory: string;
  timeout?: string;
  append?: string;
  keep: boolean;
  script?: string;
  transcript?: string;
  fetch?: string;
  verbose: boolean;
  quiet: boolean;
}

async function vmHandler(f: VmFlags): Promise<number> {
  if (f.verbose && f.quiet)
    throw new UsageError(
      '--quiet',
      'conflicts with --verbose (the QEMU command line and console): give one of them',
    );
  // vm's own lines (what it fetched, booted, ran); the guest command's output is not vm's to quiet.
  const say = (line: string) => {
    if (!f.quiet) writeStderr(`cowbench vm: ${line}\n`);
  };
  const inner = [...(f.command ?? []), ...(f['--'] ?? [])].map(String);
  if (f.fetch !== undefined) {
    if (inner.length || f.script !== undefined)
      throw new UsageError('--fetch', 'fetches a kernel; run commands in a separate call');
    const k = fetchKernel(f.fetch, say);
    say(`boot it with: cowbench vm --kernel ${k.name} -- probe   (image ${k.image})`);
    return 0;
  }
  if (f.kernel === undefined)
    throw new UsageError('--kernel', 'name the kernel to boot (an image, or debian-6.1 after --fetch)');
  if (!ACCELS.includes(f.accel as Accel))
    throw new UsageError('--accel', `'${f.accel}' is not one of ${ACCELS.join(', ')}`);
  const cpus = Number(f.cpus);
  if (!Number.isInteger(cpus) || cpus < 1 || cpus > 64)
    throw new UsageError('--cpus', `'${f.cpus}' is not a count from 1 to 64`);
  const memoryBytes = parseSize('--memory', f.memory);
  if (memoryBytes < 512 * 2 ** 20)
    throw new UsageError('--memory', 'the guest needs at least 512M (node and the package live in its RAM)');
  const timeoutS = f.timeout === undefined ? null : parseDuration('--timeout', f.timeout);
  let commands: string[][];
  if (f.script !== undefined) {
    if (inner.length)
      throw new UsageError('--script', 'runs the commands in the file; give no command after --');
    commands = readScript(f.script);
  } else {
    if (inner.length === 0)
      throw new UsageError(
        'vm',
        'name the cowbench command to run after --, e.g. cowbench vm --kernel IMAGE -- probe',
      );
    commands = [inner[0] === 'cowbench' ? inner.slice(1) : inner];
  }
  for (const c of commands)
    if (c[0] === 'vm') throw new UsageError('vm', 'a command inside the VM cannot itself be vm');
  const cwd = process.cwd();
  const { dirs, roots, carry } = outputRoots(commands, cwd);
  requireQemu();
  const cached = isCachedKernelName(f.kernel) ? cachedKernel(f.kernel) : null;
  const kernel = identifyKernel(cached ? cached.image : f.kernel);
  const options: VmOptions = {
    kernel,
    kernelName: cached ? `${cached.name} (${cached.package} ${cached.version})` : path.basename(kernel.image),
    accel: f.accel as Accel,
    cpus,
    memoryMiB: Math.floor(memoryBytes / 2 ** 20),
    timeoutS,
    append: f.append ?? '',
    keep: f.keep,
    commands,
    roots,
    dirs,
    carry,
    cwd,
    verbose: f.verbose,
    gitCommit: environment().git_commit,
  };
  const script = commands.length > 1 || f.script !== undefined;
  const signals = handleSignals({ stopping: 'stopping the VM…' });
  try {
    const out = await runVm(
      options,
      {
        stdout: (b) => process.stdout.write(b),
        stderr: (b) => process.stderr.write(b),
        note: say,
        onStart: script
          ? (i, argv) => say(`[${i + 1}/${commands.length}] cowbench ${argv.join(' ')}`)
          : undefined,
        onExit: script
          ? (i, code, s) => say(`[${i + 1}/${commands.length}] exit ${code} (${s.toFixed(1)} s)`)
          : undefined,
      },
      signals.signal,
    );
    if (f.transcript !== undefined) writeTranscript(f.transcript, options, out);
    if (out.error !== null) {
      const lines = out.consoleTail.filter((l) => l.trim() !== '');
      // A panic: the lines that led to it, not its call trace.
      const at = lines.findIndex((l) => /Kernel panic - not syncing/.test(l));
      const tail = at >= 0 ? lines.slice(Math.max(0, at - 10), at + 2) : lines.slice(-15);
      writeStderr(
        `cowbench: vm: ${out.error}\n` +
          (tail.length && out.exitCode < 128
            ? `last console lines:\n${tail.map((l) => `  | ${l}`).join('\n')}\n`
            : ''),
      );
    }
    return out.exitCode;
  } catch (e) {
    if (e instanceof CowbenchError) throw e;
    throw CowbenchError.fromNative(e);
  } finally {
    signals.dispose();
  }
}
