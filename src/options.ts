/** From CLI flags to RunOptions: every check names its flag and exits 2 (UsageError). */
import type { Argv } from 'yargs';
import { UsageError } from './errors.js';
import {
  DEFAULT_RUN_OPTIONS,
  HUGE_PAGE_SIZE,
  NULL_SINK,
  PAGE_SIZE,
  type RunOptions,
  type SharedRunOptions,
} from './orchestrator.js';
import type { BackendOption } from './backend.js';
import {
  backendNames,
  backendOptionSpecs,
  isBackendName,
  optionOwners,
  type BackendName,
  type BackendOptionValues,
} from './registry.js';
import { parseCount, parseRate, parseSize } from './units.js';

export const PATTERNS = ['sequential', 'random', 'hotset'] as const;
export const FILLS = ['all', 'none', 'half'] as const;
export const BUFFER_POLICIES = ['block', 'fail'] as const;
export const GRANULARITIES = { '4k': PAGE_SIZE, '2m': HUGE_PAGE_SIZE } as const;
/** Writer kinds the native layer knows (native/writers/writer_kinds.cc). */
export const WRITER_KINDS = ['cpu', 'read', 'io_uring', 'pvm', 'kvm'] as const;

/** Flags as yargs parses them (camelCase keys); unknown values are checked here. */
export type RunFlags = Record<string, unknown>;

/** The yargs key of a flag: `handler-wait` -> `handlerWait`. */
export function flagKey(flag: string): string {
  return flag.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());
}

function oneOf<T extends string>(flag: string, value: unknown, allowed: readonly T[]): T {
  const text = String(value);
  if (!(allowed as readonly string[]).includes(text))
    throw new UsageError(flag, `'${text}' is not one of: ${allowed.join(', ')}`);
  return text as T;
}

/** "4" → four cpu writers; "cpu:2,kernel-read:1" → a mix. */
export function parseWriters(value: unknown): string[] {
  const text = String(value).trim();
  if (/^\d+$/.test(text)) return Array<string>(parseCount('--writers', text, 1, 256)).fill('cpu');
  const kinds: string[] = [];
  for (const part of text.split(',')) {
    const m = /^([a-z][a-z0-9_-]*)(?::(\d+))?$/.exec(part.trim());
    if (!m)
      throw new UsageError('--writers', `'${part}' is not KIND[:COUNT] (kinds: ${WRITER_KINDS.join(', ')})`);
    const kind = oneOf('--writers', m[1], WRITER_KINDS);
    const count = m[2] === undefined ? 1 : parseCount('--writers', m[2], 1, 256);
    for (let i = 0; i < count; i++) kinds.push(kind);
  }
  if (kinds.length > 256) throw new UsageError('--writers', `${kinds.length} writers is more than 256`);
  return kinds;
}

export function runOptionsFromFlags(f: RunFlags): RunOptions {
  const d = DEFAULT_RUN_OPTIONS;
  const backend = String(f.backend ?? d.backend);
  if (!isBackendName(backend))
    throw new UsageError('--backend', `unknown backend '${backend}' (known: ${backendNames.join(', ')})`);
  const hugepage = f.hugepage === true;
  const sizeBytes = f.size === undefined ? d.sizeBytes : parseSize('--size', f.size);
  if (sizeBytes === 0) throw new UsageError('--size', 'must be larger than 0');
  const granule = hugepage ? HUGE_PAGE_SIZE : PAGE_SIZE;
  if (sizeBytes % granule !== 0)
    throw new UsageError('--size', `must be a multiple of ${hugepage ? '2 MiB (--hugepage)' : '4 KiB'}`);
  if (sizeBytes > 2 ** 44) throw new UsageError('--size', 'is larger than 16 TiB');
  const granularity = oneOf(
    '--granularity',
    f.granularity ?? '4k',
    Object.keys(GRANULARITIES) as ('4k' | '2m')[],
  );
  const granularityBytes = GRANULARITIES[granularity];
  if (granularityBytes === HUGE_PAGE_SIZE && !hugepage)
    throw new UsageError('--granularity', '2m needs a hugepage region (add --hugepage)');
  const bufferBytes =
    f.buffer === undefined ? Math.min(d.bufferBytes, sizeBytes) : parseSize('--buffer', f.buffer);
  if (bufferBytes < granularityBytes)
    throw new UsageError(
      '--buffer',
      `must hold at least one ${granularity} page (${granularityBytes} bytes)`,
    );
  if (bufferBytes > sizeBytes) throw new UsageError('--buffer', 'is larger than the region (--size)');
  const out = f.out === undefined || f.out === null ? null : String(f.out);
  if (out === '') throw new UsageError('--out', 'is empty');
  const shared: SharedRunOptions = {
    backend,
    sizeBytes,
    hugepage,
    fill: oneOf('--fill', f.fill ?? d.fill, FILLS),
    writerKinds: f.writers === undefined ? d.writerKinds : parseWriters(f.writers),
    pattern: oneOf('--pattern', f.pattern ?? d.pattern, PATTERNS),
    ratePagesPerSec: f.rate === undefined ? d.ratePagesPerSec : parseRate('--rate', f.rate),
    seed: f.seed === undefined ? d.seed : parseCount('--seed', f.seed, 0, 2 ** 31),
    bufferBytes,
    bufferPolicy: oneOf('--buffer-policy', f.bufferPolicy ?? d.bufferPolicy, BUFFER_POLICIES),
    granularityBytes,
    out,
    force: f.force === true,
    baselineMs:
      f.baselineMs === undefined ? d.baselineMs : parseCount('--baseline-ms', f.baselineMs, 0, 600000),
  };
  const o: RunOptions = { ...shared, ...backendOptionsFromFlags(backend, f) };
  if (o.out === NULL_SINK && o.force) throw new UsageError('--force', 'has no meaning with --out /dev/null');
  return o;
}

/** One declared option's value from its flag (the declared default when unset). */
function parseBackendOption(spec: BackendOption, value: unknown): string | number | boolean {
  const flag = `--${spec.flag}`;
  if (value === undefined) return spec.default;
  switch (spec.type) {
    case 'choice':
      return oneOf(flag, value, spec.choices);
    case 'count':
      if (spec.word !== undefined && value === spec.word) return value;
      return parseCount(flag, value, spec.min, spec.max, spec.word);
    case 'boolean':
      if (typeof value !== 'boolean') throw new UsageError(flag, `'${String(value)}' is not true or false`);
      return value;
  }
}

/**
 * Every backend option from its flag: each value checked against its declaration, then a flag set
 * for a backend that does not declare it is refused, naming the backends that have it.
 */
export function backendOptionsFromFlags(backend: BackendName, f: RunFlags): BackendOptionValues {
  const values: Record<string, string | number | boolean> = {};
  for (const spec of backendOptionSpecs) values[spec.key] = parseBackendOption(spec, f[flagKey(spec.flag)]);
  for (const spec of backendOptionSpecs) {
    if (f[flagKey(spec.flag)] === undefined) continue;
    const owners = optionOwners(spec.key);
    if (!owners.includes(backend))
      throw new UsageError(
        `--${spec.flag}`,
        `the ${backend} backend has no such option (only ${owners.join(', ')} ${owners.length > 1 ? 'have' : 'has'} it)`,
      );
  }
  return values as BackendOptionValues;
}

/** The help group a backend option is listed under: the backends that have it. */
function groupOf(spec: BackendOption): string {
  return `${optionOwners(spec.key).join(', ')} options:`;
}

/** The `run` flags: the shared ones, then each backend's declared options (grouped by backend). */
export function withRunOptions(y: Argv): Argv {
  let out = y
    .option('backend', {
      alias: 'b',
      type: 'string',
      default: 'uffd',
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
  const groups = new Map<string, string[]>();
  for (const spec of backendOptionSpecs) {
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
  const rows = backendOptionSpecs.map((spec) => {
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
