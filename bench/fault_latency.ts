/**
 * One fault-latency trial, run by the hidden `cowbench fault-latency --json` command in a fresh
 * process (signal handlers, uffd registrations and fork are process-wide). The native side arms
 * the backend over a region of `pages` pages and, without its copier, times one first write per
 * page from a thread pinned to its CPU: each sample is one full fault round trip (delivery, copy
 * into the backend's buffer, un-protect, return). The timing is native, per fault: a
 * sub-microsecond event cannot be timed from JavaScript, nor repeated on the same page (a page
 * faults once), so this is not a tinybench loop.
 */
import { CowbenchError } from '../src/errors.js';
import { native } from '../src/native.js';
import { checkOptions } from '../src/preflight.js';
import { ownOptionsOf, probeOptions, type RunOptions } from '../src/run-options.js';
import { summarize, type Summary } from './stats.js';

export interface FaultLatencyTrial {
  backend: string;
  delivery: string;
  handler_wait: string;
  handler_cpu: string;
  handler_batch: boolean;
  drain_wake: string;
  pages: number;
  /** Per-fault round trip in µs over the trial's pages. */
  fault_us?: Summary;
  wp_faults?: number;
  pages_copied_before_write?: number;
  extra?: Record<string, number>;
  skipped?: string;
}

export async function faultLatencyTrial(options: RunOptions): Promise<FaultLatencyTrial> {
  const pages = options.sizeBytes / 4096;
  const base: FaultLatencyTrial = {
    backend: options.backend,
    delivery: options.delivery,
    handler_wait: options.handlerWait,
    handler_cpu: options.handlerCpu,
    handler_batch: options.handlerBatch,
    drain_wake: options.drainWake,
    pages,
  };
  // The same rules as a run's preflight; the backend resolved and its options built once.
  const backend = checkOptions(options);
  const sessionOptions = probeOptions(options);
  const support = backend.probe(sessionOptions);
  if (!support.ok) return { ...base, skipped: support.reason };
  const region = new native.Region({ bytes: options.sizeBytes, hugepage: false, fill: 'all' });
  await region.init();
  const sink = new native.Sink('/dev/null');
  const r = await native
    .measureFaultLatency(options.backend, region, sink, sessionOptions, ownOptionsOf(options))
    .catch((e: unknown) => {
      throw CowbenchError.fromNative(e);
    });
  return {
    ...base,
    fault_us: summarize(
      Array.from(r.samples_ns, (ns) => ns / 1000),
      { keepSamples: false },
    ),
    wp_faults: r.wp_faults,
    pages_copied_before_write: r.pages_copied_before_write,
    extra: r.extra,
  };
}
