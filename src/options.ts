/** From CLI flags to RunOptions: every check names its flag and exits 2 (UsageError). */
import { UsageError } from './errors.js';
import {
  DEFAULT_RUN_OPTIONS,
  HUGE_PAGE_SIZE,
  NULL_SINK,
  PAGE_SIZE,
  type RunOptions,
} from './orchestrator.js';
import { backendNames, isBackendName } from './registry.js';
import { parseCount, parseRate, parseSize } from './units.js';

export const PATTERNS = ['sequential', 'random', 'hotset'] as const;
export const FILLS = ['all', 'none', 'half'] as const;
export const BUFFER_POLICIES = ['block', 'fail'] as const;
export const GRANULARITIES = { '4k': PAGE_SIZE, '2m': HUGE_PAGE_SIZE } as const;
export const HANDLER_WAITS = ['poll', 'spin'] as const;
export const HANDLER_CPUS = ['any', 'same', 'other'] as const;
export const DRAIN_WAKES = ['early', 'late', 'batch'] as const;
export const DELIVERIES = ['thread', 'sigbus'] as const;
export const COPY_ORDERS = ['sequential', 'hot'] as const;
export const ENGINES = ['auto', 'clear-refs', 'wp-async'] as const;
/** Writer kinds the native layer knows (native/common/page_writers.cc). */
export const WRITER_KINDS = ['cpu', 'read', 'io_uring', 'pvm', 'kvm'] as const;

export interface RunFlags {
  backend?: unknown;
  size?: unknown;
  hugepage?: unknown;
  fill?: unknown;
  writers?: unknown;
  pattern?: unknown;
  rate?: unknown;
  seed?: unknown;
  buffer?: unknown;
  bufferPolicy?: unknown;
  handlers?: unknown;
  granularity?: unknown;
  delivery?: unknown;
  engine?: unknown;
  finalDirty?: unknown;
  maxPasses?: unknown;
  armThreads?: unknown;
  prearm?: unknown;
  handlerWait?: unknown;
  handlerCpu?: unknown;
  handlerBatch?: unknown;
  drainWake?: unknown;
  faultAround?: unknown;
  copyOrder?: unknown;
  out?: unknown;
  force?: unknown;
  baselineMs?: unknown;
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
  const o: RunOptions = {
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
    handlers: f.handlers === undefined ? d.handlers : parseCount('--handlers', f.handlers, 1, 64),
    granularityBytes,
    delivery: oneOf('--delivery', f.delivery ?? d.delivery, DELIVERIES),
    engine: oneOf('--engine', f.engine ?? d.engine, ENGINES),
    finalDirtyPages:
      f.finalDirty === undefined ? d.finalDirtyPages : parseCount('--final-dirty', f.finalDirty, 0, 2 ** 40),
    maxPasses: f.maxPasses === undefined ? d.maxPasses : parseCount('--max-passes', f.maxPasses, 1, 1000),
    armThreads: f.armThreads === undefined ? d.armThreads : parseCount('--arm-threads', f.armThreads, 1, 64),
    prearm: f.prearm !== false,
    handlerWait: oneOf('--handler-wait', f.handlerWait ?? d.handlerWait, HANDLER_WAITS),
    handlerCpu: oneOf('--handler-cpu', f.handlerCpu ?? d.handlerCpu, HANDLER_CPUS),
    handlerBatch: f.handlerBatch === true,
    drainWake: oneOf('--drain-wake', f.drainWake ?? d.drainWake, DRAIN_WAKES),
    faultAroundPages:
      f.faultAround === undefined ? d.faultAroundPages : parseCount('--fault-around', f.faultAround, 0, 512),
    copyOrder: oneOf('--copy-order', f.copyOrder ?? d.copyOrder, COPY_ORDERS),
    out,
    force: f.force === true,
    baselineMs:
      f.baselineMs === undefined ? d.baselineMs : parseCount('--baseline-ms', f.baselineMs, 0, 600000),
  };
  if (o.out === NULL_SINK && o.force) throw new UsageError('--force', 'has no meaning with --out /dev/null');
  return o;
}
