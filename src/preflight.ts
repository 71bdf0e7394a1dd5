/**
 * The checks before a run, one place for the CLI and the library alike. Every rule on the
 * options lives here once, with its one message (options.ts only parses flags into values):
 * first the rules on the values, then what needs the machine (memory, the output path, the
 * backend's probe). A refused option is an InvalidOptionError naming its key; the CLI names
 * the flag instead (errors.ts cliError).
 */
import type { BackendOption, CowBackend, ProbeOptions } from './backend.js';
import { availableMemory } from './cgroup.js';
import { memAvailableBytes } from './env.js';
import { CowbenchError, InvalidOptionError, UsageError, type OptionProblem } from './errors.js';
import type { NativeOwnOptions } from './native.js';
import { checkOutput, NULL_SINK } from './output.js';
import { HUGE_PAGE_SIZE, PAGE_SIZE } from './page.js';
import {
  backendNames,
  backends,
  declaredOptions,
  isBackendName,
  optionOwners,
  type DeclaredOptionKey,
} from './registry.js';
import {
  BUFFER_POLICIES,
  DEFAULT_RUN_OPTIONS,
  FILLS,
  GRANULARITIES,
  ownOptionsOf,
  PATTERNS,
  probeOptions,
  WRITER_KINDS,
  type RunOptions,
  type SharedRunOptions,
} from './run-options.js';
import { bytes as formatBytes } from './format.js';

/** The command-line flag of each shared option. */
const SHARED_FLAGS: Record<keyof SharedRunOptions, string> = {
  backend: '--backend',
  sizeBytes: '--size',
  hugepage: '--hugepage',
  fill: '--fill',
  writerKinds: '--writers',
  pattern: '--pattern',
  ratePagesPerSec: '--rate',
  seed: '--seed',
  bufferBytes: '--buffer',
  bufferPolicy: '--buffer-policy',
  granularityBytes: '--granularity',
  out: '--out',
  force: '--force',
  baselineMs: '--baseline-ms',
  inject: '--inject',
};

const MAX_REGION_BYTES = 2 ** 44;
const MAX_WRITERS = 256;
const MAX_RATE = 1e9;

/** The flag of option `key`: a shared one's, or `--` and its declaration's flag. */
export function flagOf(key: string): string {
  if (key in SHARED_FLAGS) return SHARED_FLAGS[key as keyof SharedRunOptions];
  const spec = declaredOptions.find((s) => s.key === key);
  return spec ? `--${spec.flag}` : key;
}

const problem = (key: string, message: string): OptionProblem => ({ key, flag: flagOf(key), message });

function oneOf(key: string, value: unknown, allowed: readonly string[]): OptionProblem | undefined {
  if (typeof value === 'string' && allowed.includes(value)) return undefined;
  return problem(key, `'${String(value)}' is not one of: ${allowed.join(', ')}`);
}

function count(key: string, value: unknown, min: number, max: number): OptionProblem | undefined {
  if (typeof value !== 'number' || !Number.isInteger(value))
    return problem(key, `'${String(value)}' is not a whole number`);
  if (value < min || value > max) return problem(key, `${value} is out of range (${min}..${max})`);
  return undefined;
}

function bool(key: string, value: unknown): OptionProblem | undefined {
  return typeof value === 'boolean' ? undefined : problem(key, `'${String(value)}' is not true or false`);
}

/** A whole number of bytes (what a size flag parses to). */
function bytes(key: string, value: unknown): OptionProblem | undefined {
  if (typeof value === 'number' && Number.isSafeInteger(value) && value >= 0) return undefined;
  return problem(key, `'${String(value)}' is not a size (a whole number of bytes)`);
}

/** One declared backend option's value against its declaration. */
function declared(spec: BackendOption, value: unknown): OptionProblem | undefined {
  switch (spec.type) {
    case 'choice':
      return oneOf(spec.key, value, spec.choices);
    case 'count':
      if (spec.word !== undefined && value === spec.word) return undefined;
      return count(spec.key, value, spec.min, spec.max);
    case 'boolean':
      return bool(spec.key, value);
  }
}

function writers(kinds: unknown): OptionProblem | undefined {
  if (!Array.isArray(kinds)) return problem('writerKinds', 'is not a list of writer kinds');
  for (const kind of kinds as unknown[]) {
    const bad = oneOf('writerKinds', kind, WRITER_KINDS);
    if (bad) return bad;
  }
  // No writer at all is the idle reference case (the copy cost alone): allowed for every backend.
  if (kinds.length > MAX_WRITERS)
    return problem('writerKinds', `${kinds.length} is out of range (0..${MAX_WRITERS})`);
  return undefined;
}

/** The first rule `o` breaks, in the order the CLI has always reported them; undefined if none. */
export function optionProblem(o: RunOptions): OptionProblem | undefined {
  if (typeof o.backend !== 'string' || !isBackendName(o.backend))
    return problem('backend', `unknown backend '${String(o.backend)}' (known: ${backendNames.join(', ')})`);
  const backend = backends[o.backend] as CowBackend;
  const hugepage = bool('hugepage', o.hugepage);
  if (hugepage) return hugepage;
  const size = bytes('sizeBytes', o.sizeBytes);
  if (size) return size;
  if (o.sizeBytes === 0) return problem('sizeBytes', 'must be larger than 0');
  if (o.sizeBytes % (o.hugepage ? HUGE_PAGE_SIZE : PAGE_SIZE) !== 0)
    return problem('sizeBytes', `must be a multiple of ${o.hugepage ? '2 MiB (--hugepage)' : '4 KiB'}`);
  if (o.sizeBytes > MAX_REGION_BYTES) return problem('sizeBytes', 'is larger than 16 TiB');
  const granularity = Object.entries(GRANULARITIES).find(([, b]) => b === o.granularityBytes)?.[0];
  if (granularity === undefined)
    return problem(
      'granularityBytes',
      `'${String(o.granularityBytes)}' is not one of: ${Object.values(GRANULARITIES).join(', ')}`,
    );
  if (o.granularityBytes === HUGE_PAGE_SIZE && !o.hugepage)
    return problem('granularityBytes', '2m needs a hugepage region (add --hugepage)');
  if (!backend.capabilities.granularities.includes(o.granularityBytes))
    return problem(
      'granularityBytes',
      `${formatBytes(o.granularityBytes)} is not supported by ${backend.name}`,
    );
  const buffer = bytes('bufferBytes', o.bufferBytes);
  if (buffer) return buffer;
  if (o.bufferBytes < o.granularityBytes)
    return problem('bufferBytes', `must hold at least one ${granularity} page (${o.granularityBytes} bytes)`);
  if (o.bufferBytes > o.sizeBytes) return problem('bufferBytes', 'is larger than the region (--size)');
  if (o.out !== null && typeof o.out !== 'string') return problem('out', 'is not a path or null');
  if (o.out === '') return problem('out', 'is empty');
  const rate = o.ratePagesPerSec;
  const p =
    oneOf('fill', o.fill, FILLS) ??
    writers(o.writerKinds) ??
    oneOf('pattern', o.pattern, PATTERNS) ??
    (typeof rate !== 'number' || !(rate >= 0)
      ? problem(
          'ratePagesPerSec',
          `'${String(rate)}' is not a rate (pages per second, e.g. 65536, 64k, or max)`,
        )
      : rate > MAX_RATE
        ? problem('ratePagesPerSec', `'${rate}' is out of range`)
        : undefined) ??
    count('seed', o.seed, 0, 2 ** 31) ??
    oneOf('bufferPolicy', o.bufferPolicy, BUFFER_POLICIES) ??
    bool('force', o.force) ??
    count('baselineMs', o.baselineMs, 0, 600_000);
  if (p) return p;
  for (const spec of declaredOptions) {
    const bad = declared(spec, o[spec.key as DeclaredOptionKey]);
    if (bad) return bad;
  }
  if (o.out === NULL_SINK && o.force) return problem('force', 'has no meaning with --out /dev/null');
  return backend.validate?.(probeOptions(o), { bytes: o.sizeBytes, hugepage: o.hugepage });
}

const KNOWN_KEYS = new Set<string>([...Object.keys(SHARED_FLAGS), ...Object.keys(DEFAULT_RUN_OPTIONS)]);

/**
 * RunOptions from what a caller gave (the CLI's flags, the library's object): the defaults for
 * what it left out, and a backend option set for a backend that lacks it refused, naming the
 * backends that have it. The buffer defaults to 64 MiB, or the region if that is smaller.
 */
export function resolveRunOptions(given: Partial<RunOptions>): RunOptions {
  if (given === null || typeof given !== 'object' || Array.isArray(given))
    throw new InvalidOptionError({ key: 'options', flag: 'options', message: 'is not an object' }, 'options');
  for (const key of Object.keys(given))
    if (!KNOWN_KEYS.has(key))
      throw new InvalidOptionError(
        problem(key, `is not an option (known: ${[...KNOWN_KEYS].filter((k) => k !== 'inject').join(', ')})`),
        'options',
      );
  // An unknown backend is refused by the rules (optionProblem), with the rest.
  const backend = String(given.backend ?? DEFAULT_RUN_OPTIONS.backend);
  for (const spec of declaredOptions) {
    const value = given[spec.key as DeclaredOptionKey];
    if (value === undefined || !isBackendName(backend)) continue;
    // A bad value is named before a misplaced option.
    const bad = declared(spec, value);
    if (bad) throw new InvalidOptionError(bad, 'options');
    const owners = optionOwners(spec.key);
    if (!owners.includes(backend))
      throw new InvalidOptionError(
        problem(
          spec.key,
          `the ${backend} backend has no such option (only ${owners.join(', ')} ${owners.length > 1 ? 'have' : 'has'} it)`,
        ),
        'options',
      );
  }
  const defined = Object.fromEntries(Object.entries(given).filter(([, v]) => v !== undefined));
  const sizeBytes = given.sizeBytes ?? DEFAULT_RUN_OPTIONS.sizeBytes;
  return {
    ...DEFAULT_RUN_OPTIONS,
    bufferBytes: typeof sizeBytes === 'number' ? Math.min(DEFAULT_RUN_OPTIONS.bufferBytes, sizeBytes) : NaN,
    ...defined,
  } as RunOptions;
}

/** What the steps after the preflight use: the backend, resolved once, and its two option objects. */
export interface RunPlan {
  backend: CowBackend;
  /** What probe() saw and the native session is given (probeOptions). */
  probeOptions: ProbeOptions;
  /** The backend's own options, for its native factory (ownOptionsOf). */
  ownOptions: NativeOwnOptions;
}

/** Refuses options no rule allows (InvalidOptionError); the backend they name otherwise. */
export function checkOptions(o: RunOptions): CowBackend {
  const bad = optionProblem(o);
  if (bad) throw new InvalidOptionError(bad, 'options');
  return backends[o.backend];
}

/**
 * Every check before a run, in order: the options, available memory, the output path, and the
 * backend's probe on this kernel. Throws before any work; returns the plan the steps run.
 */
export function preflight(o: RunOptions): RunPlan {
  const backend = checkOptions(o);
  const available = availableMemory(memAvailableBytes());
  const [extra, what] = backend.capabilities.kernelCopies
    ? [o.sizeBytes, 'copy-on-write copies']
    : [o.bufferBytes, 'buffer'];
  if (o.sizeBytes + extra > available.bytes)
    throw new InvalidOptionError(
      problem(
        'sizeBytes',
        `${formatBytes(o.sizeBytes)} region + ${formatBytes(extra)} ${what} exceed available memory (${available.source})`,
      ),
    );
  if (o.out !== null) {
    try {
      checkOutput(o.out, o.force);
    } catch (e) {
      throw e instanceof UsageError ? new InvalidOptionError(problem('out', e.problem)) : e;
    }
  }
  const plan: RunPlan = { backend, probeOptions: probeOptions(o), ownOptions: ownOptionsOf(o) };
  const support = backend.probe(plan.probeOptions);
  if (!support.ok)
    throw new CowbenchError(
      'EUNSUPPORTED',
      `${backend.name}: not available on this machine: ${support.reason}`,
      {
        exitCode: 2,
      },
    );
  return plan;
}
