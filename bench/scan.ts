/**
 * C6 and the softdirty final pause, measured:
 *  1. scan: one dirty-tracking collect over a 1 GiB region with 0.1%, 1%, 10% and 50% of its
 *     pages written (random pages), per engine (wp-async: PAGEMAP_SCAN fetch-and-reprotect;
 *     clear-refs: full pagemap read + clear_refs, where the kernel has CONFIG_MEM_SOFT_DIRTY).
 *  2. pause: `cowbench run --backend softdirty --size 1G` at three write rates; the final
 *     stop-and-copy pause, passes and bytes re-copied.
 * Every case runs in a fresh child process (uffd registrations and clear_refs are process-wide);
 * a failed case is recorded and the suite goes on. Figures: median with min…max over N reps.
 *
 *   node dist/bench/scan.js [--reps 7] [--pause-reps 3] [--size-mib 1024] [--out results/scan.json]
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { environment } from '../src/env.js';
import { native, packageRoot, type ScanTrialRep } from '../src/native.js';

const FRACTIONS = [0.001, 0.01, 0.1, 0.5];
const ENGINES = ['wp-async', 'clear-refs'] as const;
type Engine = (typeof ENGINES)[number] | 'clear-refs-unchecked';
const RATES: { label: string; flag: string }[] = [
  { label: '10k pages/s', flag: '10k' },
  { label: '100k pages/s', flag: '100k' },
  { label: 'unthrottled', flag: 'max' },
];

interface Summary {
  n: number;
  median: number;
  min: number;
  max: number;
}

function summarize(xs: number[]): Summary {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  const median = s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
  return { n: s.length, median, min: s[0]!, max: s[s.length - 1]! };
}

const fmt = (s: Summary, digits = 2) =>
  `${s.median.toFixed(digits)} (${s.min.toFixed(digits)} … ${s.max.toFixed(digits)}, n=${s.n})`;

function arg(name: string, def: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : def;
}
function argText(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

/** Child mode: one engine × fraction; prints the raw reps as JSON. */
async function scanChild(): Promise<void> {
  const reps = await native.softdirty.scanTrial({
    engine: argText('engine') as Engine,
    pages: arg('pages', 262144),
    dirty: 'fraction',
    fraction: arg('fraction', 0.01),
    seed: 1,
    reps: arg('reps', 7) + 1,
  });
  process.stdout.write(JSON.stringify(reps) + '\n');
}

interface ChildOutcome<T> {
  ok: boolean;
  value?: T;
  error?: string;
}

function runChild<T>(args: string[]): ChildOutcome<T> {
  const r = spawnSync(process.execPath, args, { cwd: packageRoot, encoding: 'utf8', maxBuffer: 64 << 20 });
  if (r.status !== 0) {
    const msg = (r.stderr || r.stdout || `exit ${r.status}`).trim().split('\n').pop() ?? '';
    return { ok: false, error: msg };
  }
  const lastLine = r.stdout.trim().split('\n').pop() ?? '';
  try {
    return { ok: true, value: JSON.parse(r.stdout.trim().startsWith('{') ? r.stdout : lastLine) as T };
  } catch (e) {
    return { ok: false, error: `unparsable child output: ${String(e)}` };
  }
}

async function main(): Promise<void> {
  if (process.argv.includes('--child-scan')) return scanChild();
  const reps = arg('reps', 7);
  const pauseReps = arg('pause-reps', 3);
  const sizeMiB = arg('size-mib', 1024);
  const pages = (sizeMiB * 1024 * 1024) / 4096;
  const outPath = argText('out');
  const env = environment();
  const self = path.join(packageRoot, 'dist', 'bench', 'scan.js');
  process.stdout.write(
    `cowbench bench/scan on ${env.hostname}: Linux ${env.kernel}, ${env.cores} × ${env.cpu_model}, ` +
      `THP ${env.thp_mode}, node ${env.node_version}, cowbench ${env.cowbench_version} (${env.git_commit})\n` +
      'Other jobs may share this machine: medians with min … max.\n\n',
  );

  // 1. scan duration
  process.stdout.write(
    `1. One collect over ${sizeMiB} MiB (${pages} pages), random dirty pages; ms per scan:\n`,
  );
  const scanResults: Record<string, unknown>[] = [];
  const engines: Engine[] = [...ENGINES];
  for (let e = 0; e < engines.length; e++) {
    const engine = engines[e]!;
    for (const fraction of FRACTIONS) {
      const label = `${engine.padEnd(20)} ${`${(fraction * 100).toString()}%`.padStart(5)} dirty`;
      const out = runChild<ScanTrialRep[]>([
        self,
        '--child-scan',
        '--engine',
        engine,
        '--fraction',
        String(fraction),
        '--pages',
        String(pages),
        '--reps',
        String(reps),
      ]);
      if (!out.ok) {
        process.stdout.write(`  ${label}: not measurable here: ${out.error}\n`);
        scanResults.push({ engine, fraction, error: out.error });
        if (/EUNSUPPORTED/.test(out.error ?? '')) {
          // Same cause for every fraction. For clear-refs, still time its mechanics (the full
          // pagemap read + clear_refs), which run even where the soft-dirty bits never set.
          if (engine === 'clear-refs') engines.push('clear-refs-unchecked');
          break;
        }
        continue;
      }
      const measured = out.value!.slice(1); // the first collect is warm-up
      const exact = measured.every(
        (r) => r.reported === r.dirtied && r.missed + r.duplicates + r.spurious === 0,
      );
      const missed = measured.reduce((a, r) => a + r.missed, 0);
      const dirtied = measured.reduce((a, r) => a + r.dirtied, 0);
      const ms = summarize(measured.map((r) => r.scan_ns / 1e6));
      const calls = summarize(measured.map((r) => r.calls));
      const regions = summarize(measured.map((r) => r.regions));
      process.stdout.write(
        `  ${label}: ${fmt(ms, 3)} ms; ${regions.median.toFixed(0)} regions in ${calls.median.toFixed(0)} ${engine === 'wp-async' ? 'PAGEMAP_SCAN ioctls' : 'pagemap preads'}; ` +
          `${exact ? 'every written page reported once' : `${missed} of ${dirtied} written pages MISSED${engine === 'clear-refs-unchecked' ? ' (no CONFIG_MEM_SOFT_DIRTY: the silent failure the probe refuses; time is a lower bound, clear_refs writes no PTE)' : ''}`}\n`,
      );
      scanResults.push({
        engine,
        fraction,
        scan_ms: ms,
        calls,
        regions,
        exact,
        missed,
        dirtied,
        raw: out.value,
      });
    }
  }
  const wp = scanResults.filter((r) => r.engine === 'wp-async' && r.scan_ms) as {
    fraction: number;
    scan_ms: Summary;
  }[];
  if (wp.length >= 2) {
    const lo = wp[0]!;
    const hi = wp[wp.length - 1]!;
    process.stdout.write(
      `  wp-async at ${hi.fraction * 100}% dirty took ${(hi.scan_ms.median / lo.scan_ms.median).toFixed(1)}× as long as at ${lo.fraction * 100}%: the scan cost follows the written pages.\n`,
    );
  }

  // 2. final pause at three write rates
  process.stdout.write(
    `\n2. cowbench run --backend softdirty --size ${sizeMiB}M, 2 random cpu writers; final pause:\n`,
  );
  const pauseResults: Record<string, unknown>[] = [];
  for (const rate of pauseReps > 0 ? RATES : []) {
    const runs: Record<string, unknown>[] = [];
    let error: string | undefined;
    for (let i = 0; i < pauseReps; i++) {
      const out = runChild<{
        verified: boolean;
        pauses_us: number[];
        total_ms: number;
        bytes_written: number;
        backend_metrics: Record<string, number>;
        backend_series: Record<string, number[]>;
        writers: { snapshot_writes_per_s: number };
      }>([
        path.join(packageRoot, 'bin', 'cowbench.js'),
        'run',
        '--backend',
        'softdirty',
        '--size',
        `${sizeMiB}M`,
        '--rate',
        rate.flag,
        '--seed',
        String(i + 1),
        '--json',
        '--no-progress',
      ]);
      if (!out.ok) {
        error = out.error;
        break;
      }
      const r = out.value!;
      runs.push({
        verified: r.verified,
        final_pause_us: r.backend_metrics.final_pause_us,
        arm_pause_us: r.pauses_us[0],
        passes: r.backend_metrics.passes,
        converged: r.backend_metrics.converged,
        final_dirty_pages: r.backend_metrics.final_dirty_pages,
        bytes_written: r.bytes_written,
        total_ms: r.total_ms,
        writes_per_s: r.writers.snapshot_writes_per_s,
        pages_per_pass: r.backend_series.pages_per_pass,
      });
    }
    if (error !== undefined) {
      process.stdout.write(`  ${rate.label}: failed: ${error}\n`);
      pauseResults.push({ rate: rate.label, error, runs });
      continue;
    }
    const col = (k: string) => runs.map((r) => r[k] as number);
    const pause = summarize(col('final_pause_us').map((us) => us / 1000));
    const armPause = summarize(col('arm_pause_us').map((us) => us / 1000));
    const finalPages = summarize(col('final_dirty_pages'));
    const passes = summarize(col('passes'));
    const rewritten = summarize(col('bytes_written').map((b) => b / (sizeMiB * 1024 * 1024)));
    const converged = col('converged').filter((c) => c === 1).length;
    const verified = runs.filter((r) => r.verified === true).length;
    process.stdout.write(
      `  ${rate.label.padEnd(13)} final pause ${fmt(pause)} ms; final dirty ${finalPages.median.toFixed(0)} pages ` +
        `(${finalPages.min}…${finalPages.max}); passes ${passes.median}; converged ${converged}/${runs.length}; ` +
        `bytes written ${rewritten.median.toFixed(2)}× region; verified ${verified}/${runs.length}; ` +
        `(arm pause ${fmt(armPause)} ms)\n`,
    );
    pauseResults.push({
      rate: rate.label,
      final_pause_ms: pause,
      final_dirty_pages: finalPages,
      passes,
      runs,
    });
  }

  if (outPath) {
    mkdirSync(path.dirname(path.resolve(outPath)), { recursive: true });
    writeFileSync(
      outPath,
      JSON.stringify(
        { bench: 'scan', env, size_mib: sizeMiB, scan: scanResults, pause: pauseResults },
        null,
        2,
      ) + '\n',
    );
    process.stdout.write(`\nraw samples: ${outPath}\n`);
  }
}

main().catch((e: unknown) => {
  const err = e as { code?: string; message?: string; stack?: string };
  process.stderr.write(
    err?.code ? `${err.code}: ${err.message}\n` : `bench/scan: ${err?.stack ?? String(e)}\n`,
  );
  process.exitCode = 1;
});
