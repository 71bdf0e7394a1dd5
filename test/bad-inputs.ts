/**
 * The bad-input table: each row a command line that must fail with one line naming the flag and
 * exit code 2 (test/cli.test.ts). A `run` row whose values the library can be given too has
 * `library`: the same options to snapshot(), which must reject with EINVAL and the same message
 * naming the option key (test/library-validation.test.ts).
 */
import { MiB } from '../src/page.js';

export interface BadInput {
  args: string[];
  flag: RegExp;
  library?: {
    /** What snapshot() is given (deliberately mistyped where the CLI's word is). */
    options: Record<string, unknown>;
    /** The message expected where it differs from `flag` with the flag replaced by the key. */
    message?: RegExp;
  };
}

export const badInputs: BadInput[] = [
  {
    args: ['run', '--backend', 'nope'],
    flag: /--backend: unknown backend 'nope'/,
    library: { options: { backend: 'nope' } },
  },
  {
    args: ['run', '--size', '12Q'],
    flag: /--size: '12Q' is not a size/,
    library: { options: { sizeBytes: '12Q' } },
  },
  {
    args: ['run', '--size', '0'],
    flag: /--size: must be larger than 0/,
    library: { options: { sizeBytes: 0 } },
  },
  {
    args: ['run', '--size=-1G'],
    flag: /--size: '-1G' is not a size/,
    library: { options: { sizeBytes: -(2 ** 30) }, message: /sizeBytes: '-1073741824' is not a size/ },
  },
  {
    args: ['run', '--size', '1000'],
    flag: /--size: must be a multiple of 4 KiB/,
    library: { options: { sizeBytes: 1000 } },
  },
  {
    args: ['run', '--size', '4T'],
    flag: /--size: .*exceed available memory/,
    library: { options: { sizeBytes: 4 * 2 ** 40 } },
  },
  {
    args: ['run', '--size', '64M', '--buffer', '128M'],
    flag: /--buffer: is larger than the region/,
    library: { options: { sizeBytes: 64 * MiB, bufferBytes: 128 * MiB } },
  },
  {
    args: ['run', '--size', '64M', '--buffer', '1k'],
    flag: /--buffer: must hold at least one/,
    library: { options: { sizeBytes: 64 * MiB, bufferBytes: 1024 } },
  },
  {
    args: ['run', '--buffer', 'lots'],
    flag: /--buffer: 'lots' is not a size/,
    library: { options: { bufferBytes: 'lots' } },
  },
  {
    args: ['run', '--out', '-'],
    flag: /--out: '-' \(stdout\) is not supported/,
    library: { options: { out: '-' } },
  },
  {
    args: ['run', '--buffer-policy', 'maybe'],
    flag: /--buffer-policy: 'maybe' is not one of/,
    library: { options: { bufferPolicy: 'maybe' } },
  },
  {
    args: ['run', '--writers', '257'],
    flag: /--writers: 257 is out of range/,
    library: { options: { writerKinds: Array<string>(257).fill('cpu') } },
  },
  {
    args: ['run', '--writers', 'gpu:2'],
    flag: /--writers: 'gpu' is not one of/,
    library: { options: { writerKinds: ['gpu', 'gpu'] } },
  },
  {
    args: ['run', '--writers', '999'],
    flag: /--writers: 999 is out of range/,
    library: { options: { writerKinds: Array<string>(999).fill('cpu') } },
  },
  {
    args: ['run', '--pattern', 'zigzag'],
    flag: /--pattern: 'zigzag' is not one of/,
    library: { options: { pattern: 'zigzag' } },
  },
  {
    args: ['run', '--rate', 'fast'],
    flag: /--rate: 'fast' is not a rate/,
    library: { options: { ratePagesPerSec: 'fast' } },
  },
  {
    args: ['run', '--rate', '-5'],
    flag: /--rate/,
    library: { options: { ratePagesPerSec: -5 }, message: /ratePagesPerSec: '-5' is not a rate/ },
  },
  {
    args: ['run', '--handlers', '0'],
    flag: /--handlers: 0 is out of range/,
    library: { options: { handlers: 0 } },
  },
  {
    args: ['run', '--handlers', 'two'],
    flag: /--handlers: 'two' is not a whole number/,
    library: { options: { handlers: 'two' } },
  },
  {
    args: ['run', '--granularity', '1m'],
    flag: /--granularity: '1m' is not one of/,
    library: {
      options: { granularityBytes: MiB },
      message: /granularityBytes: '1048576' is not one of: 4096, 2097152/,
    },
  },
  {
    args: ['run', '--granularity', '2m'],
    flag: /--granularity: 2m needs a hugepage region/,
    library: { options: { granularityBytes: 2 * MiB } },
  },
  {
    args: ['run', '--hugepage', '--size', '3M'],
    flag: /--size: must be a multiple of 2 MiB/,
    library: { options: { hugepage: true, sizeBytes: 3 * MiB } },
  },
  {
    args: ['run', '--engine', 'magic'],
    flag: /--engine: 'magic' is not one of/,
    library: { options: { engine: 'magic' } },
  },
  {
    args: ['run', '--delivery', 'pigeon'],
    flag: /--delivery: 'pigeon' is not one of/,
    library: { options: { delivery: 'pigeon' } },
  },
  {
    args: ['run', '--fill', 'some'],
    flag: /--fill: 'some' is not one of/,
    library: { options: { fill: 'some' } },
  },
  {
    args: ['run', '--out', '/nonexistent-dir/x.img'],
    flag: /--out: directory \/nonexistent-dir does not exist/,
    library: { options: { out: '/nonexistent-dir/x.img' } },
  },
  {
    args: ['run', '--no-such-flag'],
    flag: /Unknown argument/,
    library: { options: { noSuchFlag: true }, message: /noSuchFlag: is not an option/ },
  },
  { args: ['frobnicate'], flag: /Unknown argument|name a command/ },
  {
    args: ['run', '--final-dirty=-1'],
    flag: /--final-dirty: '-1' is not a whole number/,
    library: {
      options: { backend: 'softdirty', finalDirtyPages: -1 },
      message: /finalDirtyPages: -1 is out of range/,
    },
  },
  {
    args: ['run', '--handler-wait', 'nap'],
    flag: /--handler-wait: 'nap' is not one of/,
    library: { options: { handlerWait: 'nap' } },
  },
  {
    args: ['run', '--drain-wake', 'never'],
    flag: /--drain-wake: 'never' is not one of/,
    library: { options: { drainWake: 'never' } },
  },
  {
    args: ['run', '--handler-cpu', 'gpu'],
    flag: /--handler-cpu: 'gpu' is not one of/,
    library: { options: { handlerCpu: 'gpu' } },
  },
  {
    args: ['run', '--baseline-ms', 'x'],
    flag: /--baseline-ms: 'x' is not a whole number/,
    library: { options: { baselineMs: 'x' } },
  },
  {
    args: ['run', '--writers', 'kvm:0'],
    flag: /--writers: 0 is out of range/,
    // No library twin: writerKinds [] is the idle region (--writers 0), a valid snapshot.
  },
  {
    args: ['run', '--backend', 'softdirty', '--hugepage', '--size', '64M', '--granularity', '2m'],
    flag: /--granularity: .* not supported by softdirty/,
    library: {
      options: { backend: 'softdirty', hugepage: true, sizeBytes: 64 * MiB, granularityBytes: 2 * MiB },
    },
  },
  { args: ['compat', '--size', '0'], flag: /--size: must be a non-zero multiple of 4 KiB/ },
  { args: ['compat', '--writers', 'gpu'], flag: /--writers: 'gpu' is not one of/ },
  { args: ['compat', '--backends', 'nope'], flag: /--backends: 'nope' is not one of/ },
  { args: ['calibrate', '--size', '0'], flag: /--size: must be a non-zero multiple of 4 KiB/ },
  { args: ['report'], flag: /report: name results directories, or --db/ },
  { args: ['bench', 'nosuchsuite'], flag: /suite: unknown suite 'nosuchsuite'/ },
  { args: ['bench', '--backends', 'nope'], flag: /--backends: unknown backend 'nope'/ },
  { args: ['bench', '--repeat', '0'], flag: /--repeat: 0 is out of range/ },
  {
    args: ['run', '--out', '/dev/null', '--force'],
    flag: /--force: has no meaning with --out \/dev\/null/,
    library: { options: { out: '/dev/null', force: true } },
  },
  {
    args: ['run', '--max-passes', '0'],
    flag: /--max-passes: 0 is out of range/,
    library: { options: { maxPasses: 0 } },
  },
  {
    args: ['run', '--arm-threads', '100'],
    flag: /--arm-threads: 100 is out of range/,
    library: { options: { armThreads: 100 } },
  },
  {
    args: ['run', '--seed', 'x'],
    flag: /--seed: 'x' is not a whole number/,
    library: { options: { seed: 'x' } },
  },
  // A value that starts with '-' is the flag's value, not a group of short flags (issue 10 item 10).
  {
    args: ['run', '--buffer', '-1M'],
    flag: /--buffer: '-1M' is not a size/,
    library: { options: { bufferBytes: -MiB }, message: /bufferBytes: '-1048576' is not a size/ },
  },
  {
    args: ['run', '--size', '-5M'],
    flag: /--size: '-5M' is not a size/,
    library: { options: { sizeBytes: -5 * MiB }, message: /sizeBytes: '-5242880' is not a size/ },
  },
  { args: ['run', '-s', '-5M'], flag: /--size: '-5M' is not a size/ },
  { args: ['run', '--final-dirty', '-1k'], flag: /--final-dirty: '-1k' is not a whole number/ },
  {
    args: ['run', '--rate', '-2k'],
    flag: /--rate: '-2k' is not a rate/,
    library: { options: { ratePagesPerSec: -2000 }, message: /ratePagesPerSec: '-2000' is not a rate/ },
  },
  { args: ['run', '--buffer'], flag: /--buffer: needs a value/ },
  { args: ['compat', '--size', '-5M'], flag: /--size: '-5M' is not a size/ },
  { args: ['calibrate', '--size', '-1G'], flag: /--size: '-1G' is not a size/ },
  { args: ['bench', '--repeat', '-3x'], flag: /--repeat: '-3x' is not a whole number/ },
  { args: ['clean', '/nonexistent-dir'], flag: /dir: \/nonexistent-dir does not exist/ },
  { args: ['clean', '--out'], flag: /--out: needs a value/ },
  {
    args: ['calibrate', '--dir', '/nonexistent-dir'],
    flag: /--dir: directory \/nonexistent-dir does not exist/,
  },
];
