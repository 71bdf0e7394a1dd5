/**
 * The snapshot protocol of DESIGN.md, identical for every backend: prepare, arm (the only
 * stop-the-world step), copy, finish, verify. Nothing here knows which backend it runs.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { BackendOptions } from './backend.js';
import { rmSync } from 'node:fs';
import { environment, mappingCount, memAvailableBytes, rssBytes } from './env.js';
import { CowbenchError, UsageError } from './errors.js';
import {
  native,
  type NativeRegion,
  type NativeMetrics,
  type NativeSink,
  type NativeSnapshot,
  type PhaseStats,
} from './native.js';
import { checkOutput, manifestPathFor, NULL_SINK, scratchImagePath, writePrivateFile } from './output.js';
import { getBackend, type BackendName } from './registry.js';
import {
  incompatibilitiesOf,
  RESULT_SCHEMA,
  stallFromLatency,
  type RunResult,
  type Verification,
} from './result.js';
import { formatBytes } from './units.js';

export const PAGE_SIZE = 4096;
export const HUGE_PAGE_SIZE = 2 * 1024 * 1024;

export interface RunOptions {
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
  handlers: number;
  granularityBytes: number;
  delivery: string;
  engine: string;
  finalDirtyPages: number;
  maxPasses: number;
  armThreads: number;
  /** uffd: write-protect before the pause, re-protect in it only what was written meanwhile. */
  prearm: boolean;
  /** uffd: handler threads sleep in poll(2) or busy-read the userfaultfd. */
  handlerWait: 'poll' | 'spin';
  /** uffd: pin handler threads to the faulting thread's CPU (same), another CPU (other), or not (any). */
  handlerCpu: 'any' | 'same' | 'other';
  /** uffd: un-protect a batch of faults with DONTWAKE, then wake them with one UFFDIO_WAKE. */
  handlerBatch: boolean;
  /** uffd: a handler wakes the buffer's drain before its writer (early), after it (late), or once per 32 pages (batch). */
  drainWake: 'early' | 'late' | 'batch';
  /** uffd, mprotect: a write fault copies and un-protects up to this many unsaved pages of its 2 MiB extent (0: off). */
  faultAroundPages: number;
  /** uffd, mprotect: the background copier's order: in address order, or recently faulted extents first. */
  copyOrder: 'sequential' | 'hot';
  /** Image path; null keeps no image (verified in a private scratch file, then removed). */
  out: string | null;
  force: boolean;
  /** How long writers run before the snapshot to measure their undisturbed rate. */
  baselineMs: number;
  /** Test-only fault injection. */
  injectFault?: 'skip-copy-before-write' | 'skip-fault-around-page';
  /** Test-only: the sink writer sleeps this long before each buffered write. */
  injectSinkDelayUs?: number;
  /** Test-only: forkcow's child sleeps this long before writing (so it can be killed mid-way). */
  injectChildDelayMs?: number;
  /** Test-only: the copier (uffd, mprotect) sleeps this long before it starts. */
  injectCopierDelayUs?: number;
}

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
  handlers: 1,
  granularityBytes: PAGE_SIZE,
  delivery: 'thread',
  engine: 'auto',
  finalDirtyPages: 256,
  maxPasses: 8,
  armThreads: 1,
  prearm: true,
  handlerWait: 'poll',
  handlerCpu: 'any',
  handlerBatch: false,
  drainWake: 'batch',
  faultAroundPages: 512,
  copyOrder: 'sequential',
  out: null,
  force: false,
  baselineMs: 300,
};

export interface RunHooks {
  /** Aborting disarms tracking, releases writers and removes the temporary image. */
  signal?: AbortSignal;
  onProgress?: (copiedBytes: number, totalBytes: number) => void;
  /** Called as each protocol step starts. */
  onPhase?: (phase: 'prepare' | 'baseline' | 'arm' | 'copy' | 'finish' | 'verify') => void;
}

export function backendOptions(o: RunOptions): BackendOptions {
  return {
    bufferBytes: o.bufferBytes,
    bufferPolicy: o.bufferPolicy,
    handlers: o.handlers,
    granularityBytes: o.granularityBytes,
    delivery: o.delivery,
    engine: o.engine,
    finalDirtyPages: o.finalDirtyPages,
    maxPasses: o.maxPasses,
    armThreads: o.armThreads,
    prearm: o.prearm,
    handlerWait: o.handlerWait,
    handlerCpu: o.handlerCpu,
    handlerBatch: o.handlerBatch,
    drainWake: o.drainWake,
    faultAroundPages: o.faultAroundPages,
    copyOrder: o.copyOrder,
    injectSkipCopyBeforeWrite: o.injectFault === 'skip-copy-before-write',
    injectSkipFaultAroundPage: o.injectFault === 'skip-fault-around-page',
    injectSinkDelayUs: o.injectSinkDelayUs ?? 0,
    injectChildDelayMs: o.injectChildDelayMs ?? 0,
    injectCopierDelayUs: o.injectCopierDelayUs ?? 0,
  };
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
  const available = memAvailableBytes();
  if (o.sizeBytes + o.bufferBytes > available)
    throw new UsageError(
      '--size',
      `${formatBytes(o.sizeBytes)} region + ${formatBytes(o.bufferBytes)} buffer exceed available memory (MemAvailable ${formatBytes(available)})`,
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

/** Runs one snapshot end to end. Rejects with CowbenchError; the region is always left writable. */
export async function runSnapshot(o: RunOptions, hooks: RunHooks = {}): Promise<RunResult> {
  preflight(o);
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
      sink = new native.Sink(imagePath);
      snapshot = new native.Snapshot(o.backend, region, workload, sink, backendOptions(o));
    } catch (e) {
      throw CowbenchError.fromNative(e);
    }
    const snap = snapshot;

    let armStart = 0;
    let copyEnd = 0;
    let baseline: PhaseStats | undefined;
    let rssBefore = 0;
    let rssPeak = 0;
    let mapsPeak = mappingCount();
    try {
      hooks.onPhase?.('prepare');
      await snap.prepare();
      throwIfAborted(hooks.signal);
      // Undisturbed writer rate first, then the snapshot phase.
      hooks.onPhase?.('baseline');
      workload.beginPhase();
      await sleep(o.baselineMs);
      baseline = workload.phaseStats();
      workload.beginPhase();
      rssBefore = rssBytes();
      rssPeak = rssBefore;
      throwIfAborted(hooks.signal);
      hooks.onPhase?.('arm');
      armStart = performance.now();
      await snap.arm();
      hooks.onPhase?.('copy');
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
        rssPeak = Math.max(rssPeak, rssBytes());
      }
    } catch (e) {
      copyError = e;
    } finally {
      hooks.onPhase?.('finish');
      metrics = await snap.release();
    }
    const during = workload.phaseStats();
    await workload.stop();
    const regionWritable = native.regionWritable(region);
    if (copyError !== undefined || metrics.error) {
      const err = CowbenchError.fromNative(copyError ?? metrics.error);
      throw err;
    }
    hooks.onProgress?.(o.sizeBytes, o.sizeBytes);

    hooks.onPhase?.('verify');
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
      incompatibilities: incompatibilitiesOf(during),
      region_writable_after: regionWritable,
      backend_metrics: metrics.extra,
      backend_series: metrics.series,
      output: null,
      manifest: null,
      env: environment(),
    };

    // Interrupted during verification: keep nothing.
    throwIfAborted(hooks.signal);
    if (verified && o.out !== null && !sink.isNull) {
      try {
        sink.commit(o.force);
      } catch (e) {
        throw CowbenchError.fromNative(e);
      }
      result.output = o.out;
      result.manifest = manifestPathFor(o.out);
      try {
        writePrivateFile(result.manifest, JSON.stringify(manifestOf(result), null, 2) + '\n', o.force);
      } catch (e) {
        rmSync(o.out, { force: true }); // an image without its manifest does not pass for complete
        throw new CowbenchError('EMANIFEST', `could not write ${result.manifest}: ${(e as Error).message}`, {
          cause: e,
        });
      }
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
