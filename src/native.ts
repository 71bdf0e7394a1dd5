/** Typed view of the native addon (native/addon.cc registers what native/glue/ defines). */
import { existsSync } from 'node:fs';
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
  /** [percentile, ns] pairs from p50 to p99.999 (the histogram's percentile curve). */
  curve?: [number, number][];
}

export interface PhaseStats {
  writes: number;
  failed_writes: number;
  failed_by_errno: Record<string, number>;
  /** Landed / failed writes per writer kind. */
  writes_by_kind: Record<string, number>;
  failed_by_kind: Record<string, number>;
  /** Why vCPUs left the guest (kvm writers): budget (the guest spent its budget), intr, mmio, efault, … */
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
  /** Stops an init() in progress (it then rejects with EABORTED, nothing mapped). */
  cancelInit(): void;
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
  /** A named moment on the writer-throughput timeline. */
  mark(name: string): void;
  timeline(): NativeTimeline;
}

/** Writes per bucket since the workload started, all writers summed, and the marks on it. */
export interface NativeTimeline {
  bucket_ns: number;
  first_bucket: number;
  writes: number[];
  /** pause_start / pause_end (each quiesce and resume) and the orchestrator's marks; ns since start. */
  marks: { name: string; ns: number }[];
}

export interface NativeSink {
  commit(force: boolean): void;
  discard(): void;
  readonly tempPath: string;
  readonly isNull: boolean;
  readonly bytesWritten: number;
}

/**
 * The options every native backend shares, as the native SessionOptions struct reads them
 * (native/common/backend.h), test hooks included. The library's public SnapshotOptions
 * (src/index.ts) is another thing.
 */
export type NativeSessionOptions = {
  bufferBytes: number;
  bufferPolicy: 'block' | 'fail';
  granularityBytes: number;
  /** Test-only hooks; left out, all off. */
  inject?: Inject;
};

/**
 * Test-only fault injection and delays, all off by default. The glue converts it once into the
 * native `struct Inject` (native/common/backend.h).
 */
export interface Inject {
  /** Break the snapshot on purpose, so a test sees verification catch it. */
  fault?: InjectFault;
  /** The sink writer sleeps this long before each buffered write. */
  sinkDelayUs?: number;
  /** forkcow's child sleeps this long before writing (so it can be killed mid-way). */
  childDelayMs?: number;
  /** The copier (uffd, mprotect) sleeps this long before it starts. */
  copierDelayUs?: number;
  /** Snapshot prepare throws this C++ exception on its worker thread. */
  throw?: InjectThrow;
}

/**
 * Test-only faults, in order: un-protect faulting pages without copying them first; fault-around
 * leaves one page of each run uncopied (still un-protected); the arm pause ignores the log of pages
 * written since the expected state was copied (native/common/backend.h, InjectFault).
 */
export const INJECT_FAULTS = [
  'skip-copy-before-write',
  'skip-fault-around-page',
  'skip-expected-log',
] as const;
export type InjectFault = (typeof INJECT_FAULTS)[number];

/**
 * One backend's own options by key, as its native factory converts them (native/<backend>/
 * <backend>_options.h): an unknown key or a bad value is EINVAL.
 */
export type NativeOwnOptions = Record<string, string | number | boolean>;

/** Test-only C++ exceptions the glue can throw inside a native step. */
export type InjectThrow = 'bad_alloc' | 'system_error' | 'exception';

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
    options: NativeSessionOptions,
    ownOptions: NativeOwnOptions,
  ) => NativeSnapshot;
  verifyImage(path: string, expected: Uint32Array): Promise<VerifyOutcome>;
  probe(): ProbeEntry[];
  /** Each native backend's option keys (its options struct), for the registry check. */
  backendOptionKeys(): Record<string, string[]>;
  /** After a snapshot: no VMA of the region read-only, no page still uffd write-protected. */
  regionWritable(region: NativeRegion): { ok: boolean; detail: string };
  /** Runs one writer kind alone on a scratch region; EUNSUPPORTED names what is missing. */
  probeWriter(kind: string): Promise<{ ok: boolean; code?: string; detail?: string }>;
  plainCopy(region: NativeRegion, sink: NativeSink): Promise<void>;
  /** flock(fd, LOCK_EX|LOCK_NB): true when taken, false while another process holds it. */
  tryLockExclusive(fd: number): boolean;
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
  /**
   * --fault-around auto's policy judging a simulated paced writer against a simulated in-order
   * copier, the runs claimed by the fault path's own claim code (native/common/fault_around_trial.h):
   * its counts, independent of the machine's load. first_claims: pages claimed by each of the first
   * 64 faults, in order.
   */
  faultAroundTrial(options: {
    extents: number;
    writesPerSec: number;
    /** ns each fault holds the writer back (its round trip; default 0: a writer at its own pace). */
    faultCostNs?: number;
    sequential: boolean;
    /** With sequential: writers taking turns, each on every writers-th page, 100 of its pages apart (1..8; default 1); writesPerSec is theirs together. */
    writers?: number;
    copierExtentsPerSec: number;
    seed: number;
    /** false: the policy without its region rule (default true). */
    region?: boolean;
    /** false: the region rule judges to the end, not only while half the region is left (default true). */
    regionUntilHalf?: boolean;
    /** false: the policy without its sequential rule (default true). */
    sequentialRule?: boolean;
  }): {
    writes: number;
    faults: number;
    dense_faults: number;
    dense_extents: number;
    /** Of the dense faults, those the region rule sent (the region faulted above its bar). */
    region_hot_faults: number;
    /** Of the dense faults, those the sequential rule sent (the second fault in a row continuing one of the extent's two tracked runs). */
    sequential_faults: number;
    fault_path_pages: number;
    first_claims: number[];
  };
  /** One timed first write per page through a backend's fault path, without its copier. */
  measureFaultLatency(
    backend: string,
    region: NativeRegion,
    sink: NativeSink,
    options: NativeSessionOptions,
    ownOptions: NativeOwnOptions,
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

/** The addon built here (a checkout, or an install that compiled), else the one packed with the tarball. */
function addonPath(): string {
  const built = path.join(packageRoot, 'build', 'Release', 'cowbench.node');
  const prebuilt = path.join(packageRoot, 'prebuilt', `linux-${process.arch}`, 'cowbench.node');
  return existsSync(built) || !existsSync(prebuilt) ? built : prebuilt;
}

export const native: NativeAddon = createRequire(import.meta.url)(addonPath()) as NativeAddon;
