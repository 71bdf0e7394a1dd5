/**
 * The snapshot protocol of DESIGN.md, identical for every backend: prepare, arm (the only
 * stop-the-world step), copy, finish, verify. Nothing here knows which backend it runs.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { BackendOption, BackendOptions } from './backend.js';
import { existsSync } from 'node:fs';
import { environment, mappingCount, memAvailableBytes, rssBytes } from './env.js';
import { CowbenchError, UsageError } from './errors.js';
import {
  native,
  type NativeRegion,
  type NativeMetrics,
  type NativeSink,
  type NativeSnapshot,
  type PhaseStats,
  type InjectThrow,
  type NativeBackendOptions,
} from './native.js';
import { checkOutput, commitWithManifest, manifestPathFor, NULL_SINK, scratchImagePath } from './output.js';
import { sweepBefore } from './clean.js';
import {
  backendOptionDefaults,
  backendOptionSpecs,
  backends,
  getBackend,
  type BackendName,
  type BackendOptionKey,
  type BackendOptionValues,
} from './registry.js';
import {
  incompatibilitiesOf,
  lostWritesOf,
  RESULT_SCHEMA,
  stallFromLatency,
  type RunResult,
  type Verification,
} from './result.js';
import { formatBytes } from './units.js';
import { availableMemory } from './cgroup.js';
import { timelineFromNative, type WriterTimeline } from './timeline.js';

import { HUGE_PAGE_SIZE, PAGE_SIZE } from './page.js';
/** How long writers keep running after the snapshot, for the writer-throughput timeline. */
const AFTER_MS = 100;

export { HUGE_PAGE_SIZE, PAGE_SIZE };

/** The options every backend shares; a backend's own come from its declarations (registry.ts). */
export interface SharedRunOptions {
  backend: BackendName;
  sizeBytes: number;
  hugepage: boolean;
  fill: 'all' | 'none' | 'half';
  /** One entry per writer thread: 'cpu', or a kernel/kvm kind. */
  writerKinds: string[];
  pattern: 'sequential' | 'random' | 'hotset';
  /** Total pages written per second; 0 = unthrottled. */
  ratePagesPerSec: number;
  seed: number;
  bufferBytes: number;
  bufferPolicy: 'block' | 'fail';
  granularityBytes: number;
  /** Image path; null keeps no image (verified in a private scratch file, then removed). */
  out: string | null;
  force: boolean;
  /** How long writers run before the snapshot to measure their undisturbed rate. */
  baselineMs: number;
  /** Test-only fault injection. */
  injectFault?: 'skip-copy-before-write' | 'skip-fault-around-page' | 'skip-expected-log';
  /** Test-only: the sink writer sleeps this long before each buffered write. */
  injectSinkDelayUs?: number;
  /** Test-only: forkcow's child sleeps this long before writing (so it can be killed mid-way). */
  injectChildDelayMs?: number;
  /** Test-only: the copier (uffd, mprotect) sleeps this long before it starts. */
  injectCopierDelayUs?: number;
  /** Test-only: snapshot prepare throws this C++ exception natively. */
  injectThrow?: InjectThrow;
}

/** Shared options plus every backend option by key (the chosen backend reads its own). */
export type RunOptions = SharedRunOptions & BackendOptionValues;

export const DEFAULT_RUN_OPTIONS: RunOptions = {
  backend: 'uffd',
  sizeBytes: 256 * 1024 * 1024,
  hugepage: false,
  fill: 'all',
  writerKinds: ['cpu', 'cpu'],
  pattern: 'random',
  ratePagesPerSec: 0,
  seed: 1,
  bufferBytes: 64 * 1024 * 1024,
  bufferPolicy: 'block',
  granularityBytes: PAGE_SIZE,
  out: null,
  force: false,
  baselineMs: 300,
  ...backendOptionDefaults,
};

export interface RunHooks {
  /** Aborting disarms tracking, releases writers and removes the temporary image. */
  signal?: AbortSignal;
  onProgress?: (copiedBytes: number, totalBytes: number) => void;
  /** Said to the user: e.g. a leftover temporary of a killed earlier run that was removed. */
  onNotice?: (message: string) => void;
  /** Called as each protocol step starts. */
  onPhase?: (phase: 'prepare' | 'baseline' | 'arm' | 'copy' | 'finish' | 'verify') => void;
}

/** The protocol steps, with the checks before them and the commit after. */
export type RunPhase = 'preflight' | 'prepare' | 'baseline' | 'arm' | 'copy' | 'finish' | 'verify' | 'commit';

/** The shared native options plus every backend option by key: what probe() and validate() see. */
export function backendOptions(o: RunOptions): BackendOptions {
  const values: Record<string, string | number | boolean> = {};
  for (const spec of backendOptionSpecs) values[spec.key] = o[spec.key as BackendOptionKey];
  return {
    ...values,
    bufferBytes: o.bufferBytes,
    bufferPolicy: o.bufferPolicy,
    granularityBytes: o.granularityBytes,
    injectSkipCopyBeforeWrite: o.injectFault === 'skip-copy-before-write',
    injectSkipFaultAroundPage: o.injectFault === 'skip-fault-around-page',
    injectSkipExpectedLog: o.injectFault === 'skip-expected-log',
    injectSinkDelayUs: o.injectSinkDelayUs ?? 0,
    injectChildDelayMs: o.injectChildDelayMs ?? 0,
    injectCopierDelayUs: o.injectCopierDelayUs ?? 0,
    ...(o.injectThrow ? { injectThrow: o.injectThrow } : {}),
  };
}

/** The chosen backend's own options, by key: what its native factory converts. */
export function ownBackendOptions(o: RunOptions): NativeBackendOptions {
  const own: NativeBackendOptions = {};
  for (const spec of backends[o.backend].options as readonly BackendOption[])
    own[spec.key] = o[spec.key as BackendOptionKey];
  return own;
}

/** Checks that need the machine: backend support, memory, output path. Throws before any work. */
export function preflight(o: RunOptions): void {
  const backend = getBackend(o.backend);
  if (!backend) throw new UsageError('--backend', `unknown backend '${o.backend}'`);
  const granule = o.hugepage ? HUGE_PAGE_SIZE : PAGE_SIZE;
  if (o.sizeBytes <= 0 || o.sizeBytes % granule !== 0)
    throw new UsageError('--size', `must be a positive multiple of ${formatBytes(granule)}`);
  if (!backend.capabilities.granularities.includes(o.granularityBytes))
    throw new UsageError(
      '--granularity',
      `${formatBytes(o.granularityBytes)} is not supported by ${backend.name}`,
    );
  const message = backend.validate?.(backendOptions(o), { bytes: o.sizeBytes, hugepage: o.hugepage });
  if (message) {
    const [flag, ...rest] = message.split(': ');
    throw new UsageError(flag ?? '--backend', rest.join(': '));
  }
  if (o.bufferBytes < o.granularityBytes)
    throw new UsageError(
      '--buffer',
      `must hold at least one ${formatBytes(o.granularityBytes)} copy granule`,
    );
  if (o.bufferBytes > o.sizeBytes)
    throw new UsageError(
      '--buffer',
      `${formatBytes(o.bufferBytes)} is larger than the region (${formatBytes(o.sizeBytes)})`,
    );
  const available = availableMemory(memAvailableBytes());
  const [extra, what] = backend.capabilities.kernelCopies
    ? [o.sizeBytes, 'copy-on-write copies']
    : [o.bufferBytes, 'buffer'];
  if (o.sizeBytes + extra > available.bytes)
    throw new UsageError(
      '--size',
      `${formatBytes(o.sizeBytes)} region + ${formatBytes(extra)} ${what} exceed available memory (${available.source})`,
    );
  if (o.out !== null) checkOutput(o.out, o.force);
  const support = backend.probe(backendOptions(o));
  if (!support.ok)
    throw new CowbenchError(
      'EUNSUPPORTED',
      `${backend.name}: not available on this machine: ${support.reason}`,
      {
        exitCode: 2,
      },
    );
}

/** Where a run was when it failed, and what it had made that cleanup must remove. */
interface RunTrack {
  phase: RunPhase;
  tempPath: string | null;
  writersStarted: boolean;
}

/**
 * Runs one snapshot end to end. Rejects with CowbenchError carrying the phase that failed and
 * what was cleaned up (`cleanup`); the region is always left writable.
 */
export async function runSnapshot(o: RunOptions, hooks: RunHooks = {}): Promise<RunResult> {
  const track: RunTrack = { phase: 'preflight', tempPath: null, writersStarted: false };
  try {
    return await runSteps(o, hooks, track);
  } catch (e) {
    // runSteps' finally has run: writers joined, region released, temporary unlinked.
    const err = CowbenchError.fromNative(e);
    err.phase ??= track.phase;
    err.cleanup = {
      writers_released: track.writersStarted,
      tracking_disarmed: track.phase !== 'preflight' && track.phase !== 'prepare' ? true : null,
      temporary_removed: track.tempPath !== null && !existsSync(track.tempPath) ? track.tempPath : null,
      image_kept: false,
    };
    throw err;
  }
}

async function runSteps(o: RunOptions, hooks: RunHooks, track: RunTrack): Promise<RunResult> {
  const enter = (phase: Exclude<RunPhase, 'preflight' | 'commit'>) => {
    track.phase = phase;
    hooks.onPhase?.(phase);
  };
  preflight(o);
  track.phase = 'prepare';
  // A leftover beside --out is the user's business and named; a dead run's scratch directory in
  // $TMPDIR is removed quietly (`cowbench clean --dry-run` lists them).
  for (const l of sweepBefore(o.out))
    if (l.kind !== 'scratch') hooks.onNotice?.(`removed ${l.path} (${l.reason})`);
  const backend = getBackend(o.backend)!;
  let scratch: ReturnType<typeof scratchImagePath> | null = null;
  let region: NativeRegion | undefined;
  let workload: ReturnType<typeof newWorkload> | undefined;
  let sink: NativeSink | undefined;
  let snapshot: NativeSnapshot | undefined;
  let metrics: NativeMetrics | undefined;
  let copyError: unknown;
  const onAbort = () => snapshot?.abort(`interrupted (${String(hooks.signal?.reason ?? 'aborted')})`);
  hooks.signal?.addEventListener('abort', onAbort);
  try {
    scratch = o.out === null ? scratchImagePath() : null;
    const imagePath = o.out ?? scratch!.file;
    region = new native.Region({ bytes: o.sizeBytes, hugepage: o.hugepage, fill: o.fill });
    await region.init().catch((e: unknown) => {
      throw CowbenchError.fromNative(e);
    });
    throwIfAborted(hooks.signal);
    workload = newWorkload(region);
    try {
      workload.start({ kinds: o.writerKinds, pattern: o.pattern, rate: o.ratePagesPerSec, seed: o.seed });
      track.writersStarted = true;
      sink = new native.Sink(imagePath);
      snapshot = new native.Snapshot(
        o.backend,
        region,
        workload,
        sink,
        backendOptions(o),
        ownBackendOptions(o),
      );
    } catch (e) {
      throw CowbenchError.fromNative(e);
    }
    const snap = snapshot;
    track.tempPath = sink.isNull ? null : sink.tempPath;
    let failedPhase: RunPhase = 'copy';

    let armStart = 0;
    let copyEnd = 0;
    let baseline: PhaseStats | undefined;
    let rssBefore = 0;
    let rssPeak = 0;
    let mapsPeak = mappingCount();
    try {
      enter('prepare');
      await snap.prepare();
      throwIfAborted(hooks.signal);
      // Undisturbed writer rate first, then the snapshot phase.
      enter('baseline');
      workload.beginPhase();
      workload.mark('baseline_start');
      await sleep(o.baselineMs);
      baseline = workload.phaseStats();
      workload.beginPhase();
      rssBefore = rssBytes();
      rssPeak = rssBefore;
      throwIfAborted(hooks.signal);
      enter('arm');
      armStart = performance.now();
      await snap.arm();
      enter('copy');
      workload.mark('copy_start');
      let ticks = 0;
      const ticker = setInterval(() => {
        rssPeak = Math.max(rssPeak, rssBytes());
        if (ticks++ % 5 === 0) mapsPeak = Math.max(mapsPeak, mappingCount());
        hooks.onProgress?.(snap.progress(), o.sizeBytes);
      }, 50);
      try {
        await snap.copy();
      } finally {
        clearInterval(ticker);
        copyEnd = performance.now();
        workload.mark('copy_end');
        rssPeak = Math.max(rssPeak, rssBytes());
      }
    } catch (e) {
      copyError = e;
      failedPhase = track.phase;
    } finally {
      enter('finish');
      metrics = await snap.release();
    }
    const during = workload.phaseStats();
    // Writers run on a little after the snapshot, so the timeline shows them recover.
    let timeline: WriterTimeline | null = null;
    if (copyError === undefined && !metrics.error) {
      workload.mark('after_start');
      await sleep(AFTER_MS);
      workload.mark('after_end');
      timeline = timelineFromNative(workload.timeline());
    }
    await workload.stop();
    const regionWritable = native.regionWritable(region);
    if (copyError !== undefined || metrics.error) {
      const err = CowbenchError.fromNative(copyError ?? metrics.error);
      err.phase = copyError !== undefined ? failedPhase : 'copy';
      throw err;
    }
    hooks.onProgress?.(o.sizeBytes, o.sizeBytes);

    enter('verify');
    const expected = snap.expected();
    let verification: Verification;
    if (sink.isNull) {
      verification = {
        checked_pages: 0,
        bad_pages: 0,
        first_bad: [],
        checksum: null,
        skipped: 'sink is /dev/null',
      };
    } else {
      const v = await native.verifyImage(sink.tempPath, expected).catch((e: unknown) => {
        throw CowbenchError.fromNative(e);
      });
      verification = { ...v, skipped: null };
    }
    const verified = verification.skipped === null && verification.bad_pages === 0;

    const totalMs = copyEnd - armStart;
    const result: RunResult = {
      schema: RESULT_SCHEMA,
      backend: backend.name,
      options: { ...o, out: o.out },
      region_bytes: o.sizeBytes,
      page_size: PAGE_SIZE,
      granularity_bytes: o.granularityBytes,
      hugepage: o.hugepage,
      consistency_point: backend.capabilities.consistencyPoint,
      verified,
      verification,
      pause_us: Math.max(0, ...metrics.pauses_ns) / 1000,
      pauses_us: metrics.pauses_ns.map((n) => n / 1000),
      quiesce_us: Math.max(0, ...metrics.quiesces_ns) / 1000,
      total_ms: totalMs,
      throughput_MBps: o.sizeBytes / 1e6 / (totalMs / 1000),
      wp_faults: metrics.wp_faults,
      pages_copied_before_write: metrics.pages_copied_before_write,
      bytes_written: sink.bytesWritten,
      buffer_peak_bytes: metrics.buffer_peak_bytes,
      extra_memory_peak_bytes:
        metrics.extra_memory_peak_bytes >= 0
          ? metrics.extra_memory_peak_bytes
          : Math.max(0, rssPeak - rssBefore),
      extra_memory_source:
        metrics.extra_memory_peak_bytes >= 0
          ? 'backend'
          : 'process RSS growth (/proc/self/statm, sampled every 50 ms)',
      throttled_ms: metrics.throttled_ns / 1e6,
      // The process's mappings (what vm.max_map_count limits): the backend's own count where it
      // keeps one, else sampled from /proc/self/maps every 250 ms.
      vma_count_peak: Math.max(metrics.vma_count_peak, mapsPeak),
      write_stall: stallFromLatency(during.latency),
      writers: writerFigures(o, baseline!, during),
      writer_timeline: timeline,
      incompatibilities: incompatibilitiesOf(during),
      lost_writes: lostWritesOf(during),
      region_writable_after: regionWritable,
      backend_metrics: metrics.extra,
      backend_series: metrics.series,
      output: null,
      manifest: null,
      env: environment(),
    };

    // Interrupted during verification: keep nothing.
    throwIfAborted(hooks.signal);
    // A run that lost writes failed for its workload: its image is not kept either.
    if (verified && result.lost_writes === null && o.out !== null && !sink.isNull) {
      track.phase = 'commit';
      result.output = o.out;
      result.manifest = manifestPathFor(o.out);
      const commitSink = sink;
      commitWithManifest(o.out, JSON.stringify(manifestOf(result), null, 2) + '\n', o.force, () => {
        try {
          commitSink.commit(o.force);
        } catch (e) {
          throw CowbenchError.fromNative(e);
        }
      });
    } else {
      sink.discard();
    }
    return result;
  } finally {
    hooks.signal?.removeEventListener('abort', onAbort);
    if (workload) await workload.stop();
    // Writers joined and the backend released (above): nothing touches the region any more.
    region?.release();
    sink?.discard(); // no-op once committed
    scratch?.cleanup();
  }
}

function newWorkload(region: InstanceType<typeof native.Region>) {
  return new native.Workload(region);
}

function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted)
    throw new CowbenchError('EABORTED', `interrupted (${String(signal.reason ?? 'aborted')})`);
}

function writerFigures(o: RunOptions, baseline: PhaseStats, during: PhaseStats): RunResult['writers'] {
  const perSec = (s: PhaseStats) => (s.elapsed_ns > 0 ? s.writes / (s.elapsed_ns / 1e9) : 0);
  const base = perSec(baseline);
  const snap = perSec(during);
  return {
    kinds: o.writerKinds,
    pattern: o.pattern,
    rate_pages_per_s: o.ratePagesPerSec > 0 ? o.ratePagesPerSec : 'unthrottled',
    baseline_writes_per_s: base,
    snapshot_writes_per_s: snap,
    throughput_ratio: base > 0 ? snap / base : null,
    baseline_write_stall: stallFromLatency(baseline.latency),
    failed_writes: during.failed_writes,
    failed_by_errno: during.failed_by_errno,
    writes_by_kind: during.writes_by_kind,
    baseline_writes_by_kind: baseline.writes_by_kind,
    failed_by_kind: during.failed_by_kind,
    exit_reasons: during.exit_reasons,
  };
}

/** The small JSON written beside a kept image. */
export function manifestOf(r: RunResult) {
  return {
    format: 'cowbench.image/1',
    image: r.output,
    backend: r.backend,
    region_bytes: r.region_bytes,
    page_size: r.page_size,
    pages: r.region_bytes / r.page_size,
    granularity_bytes: r.granularity_bytes,
    layout: 'the region bytes in page order',
    consistency_point: r.consistency_point,
    checksum: r.verification.checksum,
    verified: r.verified,
    created: new Date().toISOString(),
    kernel: r.env.kernel,
    hostname: r.env.hostname,
    cowbench_version: r.env.cowbench_version,
  };
}

export { NULL_SINK };
