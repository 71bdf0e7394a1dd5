/**
 * From CLI flags to RunOptions. Only parsing is done here: words to numbers (sizes, rates,
 * counts), to booleans and to writer lists, each failure naming its flag (UsageError, exit 2).
 * Every rule on the values (choices, ranges, relations) is the preflight's (preflight.ts), the
 * same for the library.
 */
import type { Argv } from 'yargs';
import { UsageError } from './errors.js';
import type { BackendOption } from './backend.js';
import { resolveRunOptions } from './preflight.js';
import { backendNames, declaredOptions, optionOwners } from './registry.js';
import {
  BUFFER_POLICIES,
  DEFAULT_RUN_OPTIONS,
  FILLS,
  GRANULARITIES,
  PATTERNS,
  WRITER_KINDS,
  type RunOptions,
  type SharedRunOptions,
} from './run-options.js';
import { parseRate, parseSize, parseWholeNumber } from './units.js';

export { BUFFER_POLICIES, FILLS, GRANULARITIES, PATTERNS, WRITER_KINDS };

/** Flags as yargs parses them (camelCase keys); unknown values are checked here. */
export type RunFlags = Record<string, unknown>;

/** The yargs key of a flag: `handler-wait` -> `handlerWait`. */
export function flagKey(flag: string): string {
  return flag.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());
}

/** "4" → four cpu writers ("0": none, an idle region); "cpu:2,kernel-read:1" → a mix (the kinds are checked by the preflight). */
export function parseWriters(value: unknown): string[] {
  const text = String(value).trim();
  if (/^\d+$/.test(text)) return Array<string>(parseCount('--writers', text, 0, 256)).fill('cpu');
  const kinds: string[] = [];
  for (const part of text.split(',')) {
    const m = /^([a-z][a-z0-9_-]*)(?::(\d+))?$/.exec(part.trim());
    if (!m)
      throw new UsageError('--writers', `'${part}' is not KIND[:COUNT] (kinds: ${WRITER_KINDS.join(', ')})`);
    const count = m[2] === undefined ? 1 : parseCount('--writers', m[2], 1, 256);
    for (let i = 0; i < count; i++) kinds.push(m[1]!);
  }
  return kinds;
}

/** A KIND:COUNT count: part of the --writers syntax, so checked while parsing it. */
function parseCount(flag: string, value: string, min: number, max: number): number {
  const n = parseWholeNumber(flag, value);
  if (n < min || n > max) throw new UsageError(flag, `${n} is out of range (${min}..${max})`);
  return n;
}

/** A word of a choice flag, or the bytes it names (--granularity 4k | 2m). */
function parseGranularity(value: unknown): number {
  const text = String(value);
  const bytes = (GRANULARITIES as Record<string, number>)[text];
  if (bytes === undefined)
    throw new UsageError(
      `--granularity`,
      `'${text}' is not one of: ${Object.keys(GRANULARITIES).join(', ')}`,
    );
  return bytes;
}

/** How each shared flag's word becomes its RunOptions value (the flag named on failure). */
const SHARED_PARSERS: { [K in keyof SharedRunOptions]?: { flag: string; parse: (v: unknown) => unknown } } = {
  backend: { flag: 'backend', parse: String },
  sizeBytes: { flag: 'size', parse: (v) => parseSize('--size', v) },
  hugepage: { flag: 'hugepage', parse: (v) => v === true },
  fill: { flag: 'fill', parse: String },
  writerKinds: { flag: 'writers', parse: parseWriters },
  pattern: { flag: 'pattern', parse: String },
  ratePagesPerSec: { flag: 'rate', parse: (v) => parseRate('--rate', v) },
  seed: { flag: 'seed', parse: (v) => parseWholeNumber('--seed', v) },
  bufferBytes: { flag: 'buffer', parse: (v) => parseSize('--buffer', v) },
  bufferPolicy: { flag: 'buffer-policy', parse: String },
  granularityBytes: { flag: 'granularity', parse: parseGranularity },
  out: { flag: 'out', parse: (v) => (v === null ? null : String(v)) },
  force: { flag: 'force', parse: (v) => v === true },
  baselineMs: { flag: 'baseline-ms', parse: (v) => parseWholeNumber('--baseline-ms', v) },
};

/** One declared option's value from its flag's word. */
function parseDeclared(spec: BackendOption, value: unknown): string | number | boolean {
  const flag = `--${spec.flag}`;
  switch (spec.type) {
    case 'choice':
      return String(value);
    case 'count':
      if (spec.word !== undefined && value === spec.word) return value;
      return parseWholeNumber(flag, value, spec.word);
    case 'boolean':
      if (typeof value !== 'boolean') throw new UsageError(flag, `'${String(value)}' is not true or false`);
      return value;
  }
}

/**
 * RunOptions from the flags the user gave: each parsed, the rest the defaults (resolveRunOptions).
 * The rules on the values are checked by the preflight of the run.
 */
export function runOptionsFromFlags(f: RunFlags): RunOptions {
  const given: Record<string, unknown> = {};
  for (const [key, p] of Object.entries(SHARED_PARSERS)) {
    const value = f[flagKey(p.flag)];
    if (value !== undefined) given[key] = p.parse(value);
  }
  for (const spec of declaredOptions) {
    const value = f[flagKey(spec.flag)];
    if (value !== undefined) given[spec.key] = parseDeclared(spec, value);
  }
  return resolveRunOptions(given as Partial<RunOptions>);
}

/** The `--writers` word for a list of kinds: `2`, or `cpu:2,read:1`. */
function writersFlag(kinds: readonly string[]): string {
  if (kinds.every((k) => k === 'cpu')) return String(kinds.length);
  const runs: [string, number][] = [];
  for (const k of kinds) {
    const last = runs.at(-1);
    if (last?.[0] === k) last[1]++;
    else runs.push([k, 1]);
  }
  return runs.map(([k, n]) => `${k}:${n}`).join(',');
}

/** A boolean flag as argv: `--flag` or `--no-flag`. */
const booleanFlag = (flag: string, on: unknown) => [on === true ? `--${flag}` : `--no-${flag}`];

/** How each shared option's value is written as `cowbench run` flags (SHARED_PARSERS read them back). */
const SHARED_WRITERS: { [K in keyof SharedRunOptions]-?: (v: NonNullable<SharedRunOptions[K]>) => string[] } =
  {
    backend: (v) => ['--backend', v],
    sizeBytes: (v) => ['--size', String(v)],
    hugepage: (v) => booleanFlag('hugepage', v),
    fill: (v) => ['--fill', v],
    writerKinds: (v) => ['--writers', writersFlag(v)],
    pattern: (v) => ['--pattern', v],
    ratePagesPerSec: (v) => ['--rate', v === 0 ? 'max' : String(v)],
    seed: (v) => ['--seed', String(v)],
    bufferBytes: (v) => ['--buffer', String(v)],
    bufferPolicy: (v) => ['--buffer-policy', v],
    granularityBytes: (v) => [
      '--granularity',
      Object.entries(GRANULARITIES).find(([, b]) => b === v)?.[0] ?? String(v),
    ],
    out: (v) => ['--out', v],
    force: (v) => (v ? ['--force'] : []),
    baselineMs: (v) => ['--baseline-ms', String(v)],
    inject: () => {
      throw new Error('the test hooks (inject) have no command-line flags');
    },
  };

/**
 * The `cowbench run` argv that asks for `o`: each option given, as its flag (the backend
 * options' from their declarations). runOptionsFromFlags(parsed flagsOf(o)) gives `o` back.
 */
export function flagsOf(o: Partial<RunOptions>): string[] {
  const argv: string[] = [];
  for (const [key, value] of Object.entries(o)) {
    if (value === undefined || (key === 'out' && value === null)) continue;
    const shared = SHARED_WRITERS[key as keyof SharedRunOptions] as ((v: unknown) => string[]) | undefined;
    if (shared) {
      argv.push(...shared(value));
      continue;
    }
    const spec = declaredOptions.find((s) => s.key === key);
    if (!spec) throw new Error(`'${key}' is not a run option`);
    argv.push(
      ...(spec.type === 'boolean' ? booleanFlag(spec.flag, value) : [`--${spec.flag}`, String(value)]),
    );
  }
  return argv;
}

/** The help group a backend option is listed under: the backends that have it. */
function groupOf(spec: BackendOption): string {
  return `${optionOwners(spec.key).join(', ')} options:`;
}

/** The `run` flags: the shared ones, then each backend's declared options (grouped by backend). */
export function withRunOptions(y: Argv): Argv {
  const out = y
    .option('backend', {
      alias: 'b',
      type: 'string',
      default: DEFAULT_RUN_OPTIONS.backend,
      describe: `one of: ${backendNames.join(', ')}`,
    })
    .option('size', {
      alias: 's',
      type: 'string',
      default: '256M',
      describe: 'region size (4k, 256M, 1G, …)',
    })
    .option('hugepage', {
      type: 'boolean',
      default: false,
      describe: 'back the region with THP (MADV_HUGEPAGE)',
    })
    .option('fill', {
      type: 'string',
      default: 'all',
      describe: `pages touched before the snapshot: ${FILLS.join(', ')}`,
    })
    .option('writers', {
      alias: 'w',
      type: 'string',
      default: '2',
      describe: `writer threads: N cpu writers, or KIND:N,… (kinds: ${WRITER_KINDS.join(', ')})`,
    })
    .option('pattern', { type: 'string', default: 'random', describe: PATTERNS.join(', ') })
    .option('rate', {
      type: 'string',
      default: 'max',
      describe: 'total page writes per second (e.g. 65536, 64k) or max',
    })
    .option('seed', { type: 'string', default: '1', describe: 'writer random seed' })
    .option('buffer', {
      type: 'string',
      describe: 'copy buffer for pages copied before a write [default: 64M, or the region if smaller]',
    })
    .option('buffer-policy', {
      type: 'string',
      default: 'block',
      describe: `when the buffer is full: ${BUFFER_POLICIES.join(' (throttle writers) | ')} (fail the snapshot)`,
    })
    .option('granularity', {
      type: 'string',
      default: '4k',
      describe: 'copy unit: 4k or 2m (2m needs --hugepage)',
    })
    .option('baseline-ms', {
      type: 'string',
      default: '300',
      describe: 'writer warm-up measured as the no-snapshot baseline',
    })
    .option('out', {
      alias: 'o',
      type: 'string',
      describe: 'keep the image here (0600; /dev/null for overhead runs)',
    })
    .option('force', { type: 'boolean', default: false, describe: 'replace an existing --out file' });
  return withDeclaredOptions(out);
}

/**
 * Every backend option's flag, from the declarations, grouped by the backends that have it (for
 * `run` and the bench's fault-latency child alike).
 */
export function withDeclaredOptions(y: Argv): Argv {
  let out = y;
  const groups = new Map<string, string[]>();
  for (const spec of declaredOptions) {
    // No yargs default: an unset flag stays undefined, so only a flag the user gave is refused.
    out = out.option(spec.flag, {
      type: spec.type === 'boolean' ? 'boolean' : 'string',
      describe:
        spec.type === 'choice' ? `${spec.description} [${spec.choices.join(', ')}]` : spec.description,
      defaultDescription: String(spec.default),
    });
    const group = groupOf(spec);
    groups.set(group, [...(groups.get(group) ?? []), spec.flag]);
  }
  for (const [group, flags] of groups) out = out.group(flags, group);
  return out;
}

/** The README's backend options table, generated from the declarations (npm run docs:options). */
export function backendOptionsMarkdown(): string {
  const rows = declaredOptions.map((spec) => {
    const flag =
      spec.type === 'boolean' && spec.default === true
        ? `--${spec.flag}\` / \`--no-${spec.flag}`
        : `--${spec.flag}`;
    const values = spec.type === 'choice' ? ` (${spec.choices.map((c) => `\`${c}\``).join(', ')})` : '';
    return `| \`${flag}\` [${String(spec.default)}] | ${optionOwners(spec.key).join(', ')} | ${spec.description}${values} |`;
  });
  return ['| option | backends | meaning |', '|---|---|---|', ...rows].join('\n') + '\n';
}

const TABLE_BEGIN = '<!-- backend-options:begin -->';
const TABLE_END = '<!-- backend-options:end -->';

/** `readme` with the text between its backend-options markers replaced by `table`. */
export function readmeWithBackendOptions(readme: string, table: string): string {
  const begin = readme.indexOf(TABLE_BEGIN);
  const end = readme.indexOf(TABLE_END);
  if (begin < 0 || end < begin) throw new Error(`README.md lacks the ${TABLE_BEGIN} … ${TABLE_END} markers`);
  return readme.slice(0, begin + TABLE_BEGIN.length) + '\n' + table + readme.slice(end);
}
