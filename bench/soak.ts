/**
 * Bounded soak: back-to-back snapshots alternating backends under writers, in ONE process, to
 * show that nothing leaks: fd count, mapping count and RSS at start and end; every image verified.
 *   node --expose-gc dist/bench/soak.js [--count 200] [--size 32M] [--backends uffd,mprotect,...]
 */
import { readdirSync, readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { environment, rssBytes } from '../src/env.js';
import { DEFAULT_RUN_OPTIONS, runSnapshot } from '../src/orchestrator.js';
import { backendNames, isBackendName, type BackendName } from '../src/registry.js';
import { parseCount, parseSize } from '../src/units.js';
import { bytes } from '../src/format.js';
import { probeFor } from '../src/run-options.js';

function counts() {
  (globalThis as { gc?: () => void }).gc?.(); // with --expose-gc: count what is live, not garbage
  return {
    fds: readdirSync('/proc/self/fd').length,
    mappings: readFileSync('/proc/self/maps', 'utf8').trim().split('\n').length,
    threads: readdirSync('/proc/self/task').length,
    rss_bytes: rssBytes(),
  };
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      count: { type: 'string', default: '200' },
      size: { type: 'string', default: '32M' },
      backends: { type: 'string' },
    },
  });
  const count = parseCount('--count', values.count, 1, 100000);
  const sizeBytes = parseSize('--size', values.size);
  const asked = (values.backends?.split(',') ?? [...backendNames]) as BackendName[];
  const usable = asked.filter((b) => isBackendName(b) && probeFor({ backend: b }).ok);
  const env = environment();
  console.log(
    `soak: ${count} snapshots of ${bytes(sizeBytes)} alternating ${usable.join(', ')} on ${env.hostname} (Linux ${env.kernel})`,
  );
  // Warm-up runs, so process-lifetime state (signal handlers, malloc arenas of writer threads, the
  // JIT) exists before the start figures are taken.
  for (let i = 0; i < 10; i++)
    for (const backend of usable)
      await runSnapshot({
        ...DEFAULT_RUN_OPTIONS,
        backend,
        sizeBytes,
        bufferBytes: Math.min(sizeBytes, 8 << 20),
        baselineMs: 5,
      });
  const start = counts();
  let mid = start;
  let verified = 0;
  const failures: string[] = [];
  const t0 = performance.now();
  for (let i = 0; i < count; i++) {
    const backend = usable[i % usable.length]!;
    try {
      const r = await runSnapshot({
        ...DEFAULT_RUN_OPTIONS,
        backend,
        sizeBytes,
        bufferBytes: Math.min(sizeBytes, 8 << 20),
        baselineMs: 5,
        seed: i + 1,
      });
      if (r.verified) verified++;
      else failures.push(`#${i} ${backend}: ${r.verification.bad_pages} bad pages`);
    } catch (e) {
      failures.push(`#${i} ${backend}: ${(e as Error).message}`);
    }
    if (i + 1 === Math.floor(count / 2)) mid = counts();
    if ((i + 1) % 50 === 0) console.log(`  ${i + 1}/${count}: ${JSON.stringify(counts())}`);
  }
  const end = counts();
  console.log(
    JSON.stringify(
      {
        count,
        verified,
        failures,
        start,
        mid,
        end,
        seconds: (performance.now() - t0) / 1000,
        env: { kernel: env.kernel, host: env.hostname },
      },
      null,
      2,
    ),
  );
  // Allocators and the JavaScript heap settle over the first ~150 runs (seen: RSS +25 MiB, then
  // flat for the next 250), so growth is judged on the second half: any fd, mapping or thread,
  // or RSS beyond 8 MiB.
  const grew =
    end.fds > mid.fds ||
    end.mappings > mid.mappings ||
    end.threads > mid.threads ||
    end.rss_bytes > mid.rss_bytes + 8 * 2 ** 20;
  const trio = (k: 'fds' | 'mappings' | 'threads') => `${k} ${start[k]} -> ${mid[k]} -> ${end[k]}`;
  console.log(
    `start -> middle -> end: ${trio('fds')}, ${trio('mappings')}, ${trio('threads')}, ` +
      `RSS ${bytes(start.rss_bytes)} -> ${bytes(mid.rss_bytes)} -> ${bytes(end.rss_bytes)}; ` +
      `verified ${verified}/${count}; ${grew ? 'GROWTH in the second half' : 'no growth in the second half'}`,
  );
  return verified === count && !grew ? 0 : 1;
}

main().then((c) => (process.exitCode = c));
