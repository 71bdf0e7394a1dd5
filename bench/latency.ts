/**
 * Per-fault round trip of the copy-before-write fault paths (claim C3): uffd with handler-thread
 * delivery, uffd with SIGBUS delivery, mprotect's SIGSEGV, and — for reference — forkcow's kernel
 * COW fault. Each trial of each mode runs in a fresh child process (signal handlers, uffd
 * registrations and fork are process-wide) and times one first write per page of a 64 MiB region
 * through the backend's real fault path (copy into its buffer, un-protect, return), without the
 * background copier. Modes are interleaved across trials; we report the median of the per-trial
 * medians with min–max, and ratios against mprotect.
 *
 *   node dist/bench/latency.js [--trials 7] [--pages 16384] [--out results/latency.json]
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { environment } from '../src/env.js';
import { native } from '../src/native.js';
import { backendOptions, DEFAULT_RUN_OPTIONS, type RunOptions } from '../src/orchestrator.js';
import { backends } from '../src/registry.js';
import { fmt, summarize, type Summary } from './stats.js';

interface Mode {
  name: string;
  backend: RunOptions['backend'];
  delivery: 'thread' | 'sigbus';
}
const MODES: Mode[] = [
  { name: 'uffd (handler thread)', backend: 'uffd', delivery: 'thread' },
  { name: 'uffd (SIGBUS)', backend: 'uffd', delivery: 'sigbus' },
  { name: 'mprotect (SIGSEGV)', backend: 'mprotect', delivery: 'thread' },
  { name: 'forkcow (kernel COW)', backend: 'forkcow', delivery: 'thread' },
];

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(name);
  return i >= 0 && process.argv[i + 1] !== undefined ? process.argv[i + 1]! : fallback;
}

async function child(modeIndex: number, pages: number): Promise<void> {
  const mode = MODES[modeIndex]!;
  const options: RunOptions = {
    ...DEFAULT_RUN_OPTIONS,
    backend: mode.backend,
    delivery: mode.delivery,
    sizeBytes: pages * 4096,
    // A small buffer recycles warm slots, as a steady-state snapshot does (no first-touch faults).
    bufferBytes: 1024 * 1024,
  };
  const support = backends[mode.backend].probe(backendOptions(options));
  if (!support.ok) {
    process.stdout.write(JSON.stringify({ skipped: support.reason }) + '\n');
    return;
  }
  const region = new native.Region({ bytes: options.sizeBytes, hugepage: false, fill: 'all' });
  await region.init();
  const sink = new native.Sink('/dev/null');
  const r = await native.measureFaultLatency(mode.backend, region, sink, backendOptions(options));
  const us = Array.from(r.samples_ns, (ns) => ns / 1000);
  process.stdout.write(
    JSON.stringify({ summary: summarize(us), wp_faults: r.wp_faults, copied: r.pages_copied_before_write }) +
      '\n',
  );
}

interface Trial {
  summary?: Summary;
  wp_faults?: number;
  skipped?: string;
  error?: string;
}

function main(): void {
  const trials = Number(arg('--trials', '7'));
  const pages = Number(arg('--pages', '16384'));
  const out = arg('--out', 'results/latency.json');
  const self = fileURLToPath(import.meta.url);
  const env = environment();
  process.stderr.write(
    `latency: ${trials} trials × ${MODES.length} modes, ${pages} faults each; ${env.kernel}, ${env.cpu_model}, ${env.cores} cores\n`,
  );
  const results: Record<string, Trial[]> = Object.fromEntries(MODES.map((m) => [m.name, []]));
  const save = () => {
    mkdirSync(path.dirname(out), { recursive: true });
    writeFileSync(out, JSON.stringify({ bench: 'latency', pages, trials, env, results }, null, 2) + '\n');
  };
  for (let t = 0; t < trials; t++) {
    for (let m = 0; m < MODES.length; m++) {
      const name = MODES[m]!.name;
      const run = spawnSync(process.execPath, [self, '--child', String(m), '--pages', String(pages)], {
        encoding: 'utf8',
        timeout: 120000,
      });
      let trial: Trial;
      try {
        trial = JSON.parse(run.stdout.trim().split('\n').at(-1) ?? '') as Trial;
      } catch {
        trial = { error: `exit ${run.status ?? run.signal}: ${run.stderr.trim().split('\n').at(-1) ?? ''}` };
        process.stderr.write(`warning: ${name} trial ${t + 1} failed: ${trial.error}\n`);
      }
      results[name]!.push(trial);
      save(); // a crash keeps what was measured
    }
  }

  const medians: Record<string, number[]> = {};
  console.log(
    `\nper-fault round trip (µs), ${pages} first writes per trial, ${trials} trials, fresh process each`,
  );
  console.log(
    'mode                     median of medians  (min … max)        p99 (median)  all-sample min … max',
  );
  for (const m of MODES) {
    const ok = results[m.name]!.filter((r) => r.summary);
    const skipped = results[m.name]!.find((r) => r.skipped)?.skipped;
    if (ok.length === 0) {
      console.log(`${m.name.padEnd(25)}${skipped ? `skipped: ${skipped}` : 'failed'}`);
      continue;
    }
    medians[m.name] = ok.map((r) => r.summary!.median);
    const s = summarize(medians[m.name]!);
    const p99 = summarize(ok.map((r) => r.summary!.p99)).median;
    const lo = Math.min(...ok.map((r) => r.summary!.min));
    const hi = Math.max(...ok.map((r) => r.summary!.max));
    console.log(
      `${m.name.padEnd(25)}${fmt(s.median).padStart(8)}           (${fmt(s.min)} … ${fmt(s.max)})`.padEnd(
        68,
      ) + `${fmt(p99).padStart(8)}      ${fmt(lo)} … ${fmt(hi)}  N=${ok.length}`,
    );
  }
  const base = medians['mprotect (SIGSEGV)'];
  if (base) {
    console.log('\nratios to mprotect (per-trial medians paired by trial; median, min … max)');
    for (const m of MODES) {
      const mine = medians[m.name];
      if (!mine || m.backend === 'mprotect') continue;
      const ratios = mine.map((v, i) => v / (base[i] ?? base[0]!));
      const s = summarize(ratios);
      console.log(`  ${m.name} / mprotect = ${fmt(s.median)}× (${fmt(s.min)} … ${fmt(s.max)})`);
    }
  }
  console.log(`\nraw per-trial summaries: ${out}`);
}

if (process.argv.includes('--child')) {
  await child(Number(arg('--child', '0')), Number(arg('--pages', '16384')));
} else {
  main();
}
