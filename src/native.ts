/** Typed view of the native addon (native/addon.cc). */
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import path from 'node:path';

export interface LatencySummary {
  count: number;
  p50_ns: number;
  p90_ns: number;
  p99_ns: number;
  p999_ns: number;
  max_ns: number;
}

export interface PhaseStats {
  writes: number;
  failed_writes: number;
  failed_by_errno: Record<string, number>;
  /** Landed / failed writes per writer kind. */
  writes_by_kind: Record<string, number>;
  failed_by_kind: Record<string, number>;
  /** Why vCPUs left the guest (kvm writers): hlt (budget spent), intr, mmio, efault, … */
  exit_reasons: Record<string, number>;
  elapsed_ns: number;
  latency: LatencySummary;
}

export interface NativeMetrics {
  pauses_ns: number[];
  quiesces_ns: number[];
  wp_faults: number;
  pages_copied_before_write: number;
  buffer_peak_bytes: number;
  throttled_ns: number;
  vma_count_peak: number;
  extra_memory_peak_bytes: number;
  bytes_copied: number;
  extra: Record<string, number>;
  series: Record<string, number[]>;
  error?: Error & { code?: string };
}

export interface VerifyOutcome {
  checked_pages: number;
  bad_pages: number;
  first_bad: { page: number; expected: number; found: number }[];
  checksum: string;
}

export interface ProbeEntry {
  name: string;
  ok: boolean;
  detail: string;
}

export type FillMode = 'all' | 'none' | 'half';

export interface NativeRegion {
  init(): Promise<void>;
  /** Unmaps now; only after the workload is stopped and the snapshot released. */
  release(): void;
  readonly bytes: number;
  readonly pages: number;
}

export interface WriterStart {
  kinds: string[];
  pattern: 'sequential' | 'random' | 'hotset';
  rate: number;
  seed: number;
}

export interface NativeWorkload {
  start(config: WriterStart): void;
  stop(): Promise<void>;
  quiesce(): number;
  resume(): void;
  beginPhase(): void;
  phaseStats(): PhaseStats;
  versions(): Uint32Array;
}

export interface NativeSink {
  commit(force: boolean): void;
  discard(): void;
  readonly tempPath: string;
  readonly isNull: boolean;
  readonly bytesWritten: number;
}

/** Options the native SnapshotOptions struct understands (native/common/backend.h). */
export interface NativeSnapshotOptions {
  bufferBytes: number;
  bufferPolicy: 'block' | 'fail';
  handlers: number;
  granularityBytes: number;
  delivery: string;
  engine: string;
  finalDirtyPages: number;
  maxPasses: number;
  armThreads: number;
  prearm: boolean;
  handlerWait: 'poll' | 'spin';
  handlerCpu: 'any' | 'same' | 'other';
  handlerBatch: boolean;
  drainWake: 'early' | 'late' | 'batch';
  faultAroundPages: number;
  copyOrder: 'sequential' | 'hot';
  injectSkipCopyBeforeWrite: boolean;
  injectSkipFaultAroundPage: boolean;
  injectSinkDelayUs: number;
  /** Test-only: forkcow's child sleeps this long before writing. */
  injectChildDelayMs?: number;
  /** Test-only: the copier sleeps this long before it starts. */
  injectCopierDelayUs?: number;
}

export interface NativeSnapshot {
  prepare(): Promise<void>;
  arm(): Promise<void>;
  copy(): Promise<void>;
  release(): Promise<NativeMetrics>;
  abort(reason?: string): void;
  progress(): number;
  expected(): Uint32Array;
}

export interface ScanTrialOptions {
  /** 'clear-refs-unchecked' (bench only) times clear-refs without its behaviour check. */
  engine?: 'wp-async' | 'clear-refs' | 'clear-refs-unchecked';
  pages: number;
  /** 'alternate': every other page (discontiguous runs); 'fraction': random pages. */
  dirty: 'alternate' | 'fraction';
  fraction?: number;
  seed?: number;
  /** page_region entries per PAGEMAP_SCAN call; 0 = the engine's default. */
  vecLen?: number;
  reps?: number;
}

export interface ScanTrialRep {
  dirtied: number;
  reported: number;
  duplicates: number;
  missed: number;
  spurious: number;
  runs: number;
  scan_ns: number;
  calls: number;
  regions: number;
  walk_end_short: number;
}

/** Single dirty-tracking operations for tinybench (bench/suites/scan.ts); one per process. */
export interface NativeScanMicro {
  /** One UFFDIO_WRITEPROTECT protecting, and one un-protecting, 4 KiB page `page`. */
  writeProtectPair(page: number): void;
  /** Writes the first `count` pages of the wp-async region (setup for the next scan). */
  touch(count: number): void;
  /** One PAGEMAP_SCAN fetch-and-reprotect over the region; returns the pages it reported. */
  pagemapScan(): number;
  /** One clear-refs pass (pagemap read of the region + clear_refs); returns pages reported. */
  clearRefsPass(): number;
  close(): void;
}

export interface NativeAddon {
  Region: new (opts: { bytes: number; hugepage: boolean; fill: FillMode }) => NativeRegion;
  Workload: new (region: NativeRegion) => NativeWorkload;
  /** testTempName (tests only): the first temporary name tried, beside finalPath. */
  Sink: new (finalPath: string, testOnly?: { testTempName?: string }) => NativeSink;
  Snapshot: new (
    backend: string,
    region: NativeRegion,
    workload: NativeWorkload,
    sink: NativeSink,
    options: NativeSnapshotOptions,
  ) => NativeSnapshot;
  verifyImage(path: string, expected: Uint32Array): Promise<VerifyOutcome>;
  probe(): ProbeEntry[];
  /** Runs one writer kind alone on a scratch region; EUNSUPPORTED names what is missing. */
  /** After a snapshot: no VMA of the region read-only, no page still uffd write-protected. */
  regionWritable(region: NativeRegion): { ok: boolean; detail: string };
  probeWriter(kind: string): Promise<{ ok: boolean; code?: string; detail?: string }>;
  plainCopy(region: NativeRegion, sink: NativeSink): Promise<void>;
  calibrate(
    bytes: number,
    dir: string,
  ): Promise<{ memcpy_Bps: number; page_fault_ns: number; sink_Bps: number; sink_bytes: number }>;
  /** softdirty backend internals, for tests and bench/scan.ts. */
  softdirty: {
    scanTrial(options: ScanTrialOptions): Promise<ScanTrialRep[]>;
    decodePagemap(entries: BigUint64Array, firstPage: number): [number, number][];
    ScanMicro: new (opts: { pages: number }) => NativeScanMicro;
  };
  /** One timed first write per page through a backend's fault path, without its copier. */
  measureFaultLatency(
    backend: string,
    region: NativeRegion,
    sink: NativeSink,
    options: NativeSnapshotOptions,
  ): Promise<{
    samples_ns: Float64Array;
    wp_faults: number;
    pages_copied_before_write: number;
    extra: Record<string, number>;
  }>;
}

const here = path.dirname(fileURLToPath(import.meta.url));
/** The package root (dist/src/ -> ../..). */
export const packageRoot = path.resolve(here, '..', '..');

export const native: NativeAddon = createRequire(import.meta.url)(
  path.join(packageRoot, 'build', 'Release', 'cowbench.node'),
) as NativeAddon;
