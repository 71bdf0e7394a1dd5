/**
 * The snapshot protocol, identical for every backend: prepare, arm (the only stop-the-world
 * step), copy, finish, verify (README "What a run does"). runSteps reads as that protocol:
 * preflight, open the run's resources, measure, verify, build the result, commit. Nothing here
 * knows which backend it runs.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { existsSync } from 'node:fs';
import { environment, mappingCount, rssBytes } from './env.js';
import { CowbenchError } from './errors.js';
import {
  native,
  type NativeRegion,
  type NativeMetrics,
  type NativeSink,
  type NativeSnapshot,
  type NativeWorkload,
  type PhaseStats,
} from './native.js';
import { commitWithManifest, manifestPathFor, NULL_SINK, scratchImagePath } from './output.js';
import { sweepBefore } from './clean.js';
import { preflight, type RunPlan } from './preflight.js';
import { DEFAULT_RUN_OPTIONS, probeFor, type RunOptions, type SharedRunOptions } from './run-options.js';
import {
  incompatibilitiesOf,
  lostWritesOf,
  RESULT_SCHEMA,
  stallFromLatency,
  type RunResult,
  type Verification,
} from './result.js';
import { timelineFromNative, type WriterTimeline } from './timeline.js';
import { HUGE_PAGE_SIZE, PAGE_SIZE } from './page.js';

/** How long writers keep running after the snapshot, for the writer-throughput timeline. */
const AFTER_MS = 100;

export { DEFAULT_RUN_OPTIONS, HUGE_PAGE_SIZE, PAGE_SIZE, preflight, probeFor };
export type { RunOptions, SharedRunOptions };

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

/** The protocol, step by step. */
async function runSteps(o: RunOptions, hooks: RunHooks, track: RunTrack): Promise<RunResult> {
  const plan = preflight(o);
  track.phase = 'prepare';
  // A leftover beside --out is the user's business and named; a dead run's scratch directory in
  // $TMPDIR is removed quietly (`cowbench clean --dry-run` lists them).
  for (const l of sweepBefore(o.out))
    if (l.kind !== 'scratch') hooks.onNotice?.(`removed ${l.path} (${l.reason})`);
  const run: OpenRun = {};
  const onAbort = () => run.snapshot?.abort(`interrupted (${String(hooks.signal?.reason ?? 'aborted')})`);
  hooks.signal?.addEventListener('abort', onAbort);
  try {
    const opened = await openRun(o, plan, run, hooks, track);
    const measured = await measure(o, opened, hooks, track);
    hooks.onProgress?.(o.sizeBytes, o.sizeBytes);
    track.phase = 'verify';
    hooks.onPhase?.('verify');
    const verification = await verify(opened);
    const result = buildResult(o, plan, opened, measured, verification);
    // Interrupted during verification: keep nothing.
    throwIfAborted(hooks.signal);
    commit(o, result, opened.sink, track);
    return result;
  } finally {
    hooks.signal?.removeEventListener('abort', onAbort);
    await closeRun(run);
  }
}

/** What a run opens, in order; closeRun releases whatever of it was opened. */
interface OpenRun {
  scratch?: ReturnType<typeof scratchImagePath>;
  region?: NativeRegion;
  workload?: NativeWorkload;
  sink?: NativeSink;
  snapshot?: NativeSnapshot;
}
type Opened = Required<Omit<OpenRun, 'scratch'>>;

/** The region (filled), its writers (started), the sink and the backend's native session. */
async function openRun(
  o: RunOptions,
  plan: RunPlan,
  run: OpenRun,
  hooks: RunHooks,
  track: RunTrack,
): Promise<Opened> {
  if (o.out === null) run.scratch = scratchImagePath();
  const imagePath = o.out ?? run.scratch!.file;
  const region = new native.Region({ bytes: o.sizeBytes, hugepage: o.hugepage, fill: o.fill });
  run.region = region;
  await region.init().catch((e: unknown) => {
    throw CowbenchError.fromNative(e);
  });
  throwIfAborted(hooks.signal);
  try {
    const workload = new native.Workload(region);
    run.workload = workload;
    workload.start({ kinds: o.writerKinds, pattern: o.pattern, rate: o.ratePagesPerSec, seed: o.seed });
    track.writersStarted = true;
    const sink = new native.Sink(imagePath);
    run.sink = sink;
    run.snapshot = new native.Snapshot(o.backend, region, workload, sink, plan.probeOptions, plan.ownOptions);
    track.tempPath = sink.isNull ? null : sink.tempPath;
    return { region, workload, sink, snapshot: run.snapshot };
  } catch (e) {
    throw CowbenchError.fromNative(e);
  }
}

/** Writers stopped, the backend released, the region unmapped, temporaries removed. */
async function closeRun(run: OpenRun): Promise<void> {
  if (run.workload) await run.workload.stop();
  // Writers joined and the backend released (measure): nothing touches the region any more.
  run.region?.release();
  run.sink?.discard(); // no-op once committed
  run.scratch?.cleanup();
}

/** What the measured steps hand on to the result. */
interface Measured {
  metrics: NativeMetrics;
  baseline: PhaseStats;
  during: PhaseStats;
  timeline: WriterTimeline | null;
  totalMs: number;
  rssGrowthBytes: number;
  mapsPeak: number;
  regionWritable: { ok: boolean; detail: string };
}

/**
 * prepare → baseline → arm → copy, then release (finish) whatever happened: the writers'
 * undisturbed rate, the snapshot under them, and the backend's metrics. Throws the first failure
 * with the step it happened in, after the release.
 */
async function measure(o: RunOptions, run: Opened, hooks: RunHooks, track: RunTrack): Promise<Measured> {
  const { snapshot: snap, workload } = run;
  const enter = (phase: Exclude<RunPhase, 'preflight' | 'commit'>) => {
    track.phase = phase;
    hooks.onPhase?.(phase);
  };
  let failedPhase: RunPhase = 'copy';
  let copyError: unknown;
  let armStart = 0;
  let copyEnd = 0;
  let baseline: PhaseStats | undefined;
  let rssBefore = 0;
  let rssPeak = 0;
  let mapsPeak = mappingCount();
  let metrics: NativeMetrics;
  try {
    enter('prepare');
    await snap.prepare();
    throwIfAborted(hooks.signal);
    // Undisturbed writer rate first, then the snapshot phase.
    enter('baseline');
    workload.beginPhase();
    workload.mark('baseline_start');
    // An abort ends the baseline at once (throwIfAborted below says so).
    await sleep(o.baselineMs, undefined, { signal: hooks.signal }).catch(() => {});
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
  const regionWritable = native.regionWritable(run.region);
  if (copyError !== undefined || metrics.error) {
    const err = CowbenchError.fromNative(copyError ?? metrics.error);
    err.phase = copyError !== undefined ? failedPhase : 'copy';
    throw err;
  }
  return {
    metrics,
    baseline: baseline!,
    during,
    timeline,
    totalMs: copyEnd - armStart,
    rssGrowthBytes: Math.max(0, rssPeak - rssBefore),
    mapsPeak,
    regionWritable,
  };
}

/** Every page of the image against the version it held at the consistency point. */
async function verify(run: Opened): Promise<Verification> {
  const { sink, snapshot } = run;
  const expected = snapshot.expected();
  if (sink.isNull)
    return { checked_pages: 0, bad_pages: 0, first_bad: [], checksum: null, skipped: 'sink is /dev/null' };
  const v = await native.verifyImage(sink.tempPath, expected).catch((e: unknown) => {
    throw CowbenchError.fromNative(e);
  });
  return { ...v, skipped: null };
}

function buildResult(
  o: RunOptions,
  plan: RunPlan,
  run: Opened,
  m: Measured,
  verification: Verification,
): RunResult {
  const { metrics } = m;
  const backendMeasured = metrics.extra_memory_peak_bytes >= 0;
  return {
    schema: RESULT_SCHEMA,
    backend: o.backend,
    options: { ...o, out: o.out },
    region_bytes: o.sizeBytes,
    page_size: PAGE_SIZE,
    granularity_bytes: o.granularityBytes,
    hugepage: o.hugepage,
    consistency_point: plan.backend.capabilities.consistencyPoint,
    verified: verification.skipped === null && verification.bad_pages === 0,
    verification,
    pause_us: Math.max(0, ...metrics.pauses_ns) / 1000,
    pauses_us: metrics.pauses_ns.map((n) => n / 1000),
    quiesce_us: Math.max(0, ...metrics.quiesces_ns) / 1000,
    total_ms: m.totalMs,
    throughput_MBps: o.sizeBytes / 1e6 / (m.totalMs / 1000),
    wp_faults: metrics.wp_faults,
    pages_copied_before_write: metrics.pages_copied_before_write,
    bytes_written: run.sink.bytesWritten,
    buffer_peak_bytes: metrics.buffer_peak_bytes,
    extra_memory_peak_bytes: backendMeasured ? metrics.extra_memory_peak_bytes : m.rssGrowthBytes,
    extra_memory_source: backendMeasured
      ? 'backend'
      : 'process RSS growth (/proc/self/statm, sampled every 50 ms)',
    throttled_ms: metrics.throttled_ns / 1e6,
    // The process's mappings (what vm.max_map_count limits): the backend's own count where it
    // keeps one, else sampled from /proc/self/maps every 250 ms.
    vma_count_peak: Math.max(metrics.vma_count_peak, m.mapsPeak),
    write_stall: stallFromLatency(m.during.latency),
    writers: writerFigures(o, m.baseline, m.during),
    writer_timeline: m.timeline,
    incompatibilities: incompatibilitiesOf(m.during),
    lost_writes: lostWritesOf(m.during),
    region_writable_after: m.regionWritable,
    backend_metrics: metrics.extra,
    backend_series: metrics.series,
    output: null,
    manifest: null,
    env: environment(),
  };
}

/**
 * Keeps a verified image at --out with its manifest; anything else is discarded. A run that lost
 * writes failed for its workload: its image is not kept either.
 */
function commit(o: RunOptions, result: RunResult, sink: NativeSink, track: RunTrack): void {
  if (!result.verified || result.lost_writes !== null || o.out === null || sink.isNull) {
    sink.discard();
    return;
  }
  track.phase = 'commit';
  result.output = o.out;
  result.manifest = manifestPathFor(o.out);
  commitWithManifest(o.out, JSON.stringify(manifestOf(result), null, 2) + '\n', o.force, () => {
    try {
      sink.commit(o.force);
    } catch (e) {
      throw CowbenchError.fromNative(e);
    }
  });
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
