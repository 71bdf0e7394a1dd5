/**
 * The copy buffers never hang: every buffer size (one slot, two, fewer slots than handlers,
 * plenty) × handler count × drain-wake mode × fault delivery (uffd handler threads, uffd SIGBUS,
 * mprotect's SIGSEGV) completes a verified snapshot within a bound. The cases run in child
 * processes (fixtures/stress-buffer-child) under a watchdog: a case that makes no progress for
 * CASE_TIMEOUT_MS is a failure naming its parameters, its child is killed and the rest go on.
 *
 * Also: a signal ends a stuck or slow copy phase (exit 130, no temporary image left).
 */
import { spawn } from 'node:child_process';
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { type RunOptions } from '../src/orchestrator.js';
import { packageRoot } from '../src/native.js';
import { flagsOf } from '../src/options.js';
import { configurations, tempDir } from './helpers.js';
import { testIf, testIfSupported } from './skip.js';
import { probeFor } from '../src/run-options.js';

const PAGE = 4096;
const CASE_TIMEOUT_MS = 10_000;
// Every case runs once (seed 1); further rounds with other writer seeds (a lost wake-up is a race:
// give it chances) start only while the grid is within GRID_BUDGET_MS.
const GRID_BUDGET_MS = 60_000;
const ROUNDS = 3;
const here = path.dirname(fileURLToPath(import.meta.url));
const child = path.join(here, 'fixtures', 'stress-buffer-child.js');
const preload = path.join(here, 'fixtures', 'slow-sink-preload.js');
const cli = path.join(packageRoot, 'bin', 'cowbench.js');

interface StressCase {
  name: string;
  options: Partial<RunOptions>;
}

function bufferSizes(handlers: number): { label: string; bytes: number }[] {
  const sizes = [
    { label: '1 page', bytes: PAGE },
    { label: '2 pages', bytes: 2 * PAGE },
    { label: `${Math.max(1, handlers - 1)} pages (< handlers)`, bytes: Math.max(1, handlers - 1) * PAGE },
    { label: '16 MiB', bytes: 16 * 1024 * 1024 },
  ];
  return sizes.filter((s, i) => sizes.findIndex((o) => o.bytes === s.bytes) === i);
}

function grid(): { cases: StressCase[]; skipped: string[] } {
  const cases: StressCase[] = [];
  const skipped: string[] = [];
  const drainWakes = ['early', 'late', 'batch'] as const;
  const add = (name: string, options: Partial<RunOptions>) => {
    const probe = probeFor({ ...options, backend: options.backend! });
    if (!probe.ok) {
      if (!skipped.includes(probe.reason)) skipped.push(probe.reason);
      return;
    }
    cases.push({ name, options });
  };
  // Without handler threads (SIGBUS, SIGSEGV) each faulting writer serves its own fault, so
  // there the writer count plays the handler count's part.
  for (const c of configurations({ capability: 'copyBuffer' })) {
    for (const n of [1, 2, 4]) {
      const threadDelivery = c.capabilities.handlerThreads;
      const writers = threadDelivery ? 2 : n;
      for (const size of bufferSizes(n)) {
        for (const drainWake of drainWakes) {
          const who = threadDelivery ? `handlers=${n} writers=2` : `writers=${n}`;
          add(`${c.label} ${who} buffer=${size.label} drain-wake=${drainWake}`, {
            ...c.options,
            ...(threadDelivery ? { handlers: n } : {}),
            writerKinds: Array<string>(writers).fill('cpu'),
            bufferBytes: size.bytes,
            drainWake,
          });
        }
      }
    }
  }
  return { cases, skipped };
}

interface Outcome {
  name: string;
  verdict: 'ok' | 'not verified' | 'error' | 'hung' | 'child died';
  detail?: string;
  ms?: number;
}

/** Runs `cases` in one child; resolves with the outcome of each case the child got to. */
function runChild(cases: StressCase[]): Promise<Outcome[]> {
  return new Promise((resolve) => {
    const proc = spawn(process.execPath, [child, JSON.stringify(cases)], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const outcomes: Outcome[] = [];
    let current: string | undefined;
    let stderr = '';
    let timer: NodeJS.Timeout | undefined;
    const arm = () => {
      clearTimeout(timer);
      timer = setTimeout(() => {
        outcomes.push({
          name: current ?? '(start-up)',
          verdict: 'hung',
          detail: `no progress in ${CASE_TIMEOUT_MS} ms`,
        });
        current = undefined;
        proc.kill('SIGKILL');
      }, CASE_TIMEOUT_MS);
    };
    arm();
    proc.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    createInterface({ input: proc.stdout }).on('line', (line) => {
      const m = JSON.parse(line) as {
        event: string;
        name: string;
        verified?: boolean;
        error?: string;
        ms?: number;
      };
      if (m.event === 'start') {
        current = m.name;
        arm();
        return;
      }
      current = undefined;
      const verdict = m.error !== undefined ? 'error' : m.verified ? 'ok' : 'not verified';
      outcomes.push({ name: m.name, verdict, detail: m.error, ms: m.ms });
    });
    proc.on('close', (code, signal) => {
      clearTimeout(timer);
      if (current !== undefined)
        outcomes.push({
          name: current,
          verdict: 'child died',
          detail: `${code ?? signal}: ${stderr.trim()}`,
        });
      resolve(outcomes);
    });
  });
}

const { cases, skipped } = grid();
testIf(cases.length > 0, `no copy-buffer backend can run here (${skipped.join('; ')})`).serial(
  'copy buffers: no buffer size × handlers × drain-wake × delivery combination hangs',
  async (t) => {
    for (const reason of skipped) t.log(`skipped: ${reason}`);
    const t0 = performance.now();
    const outcomes: Outcome[] = [];
    const notRun: string[] = [];
    let rounds = 0;
    // Another round only if it should end within the budget, as long as the last ones took.
    const roomForAnother = () => {
      const elapsed = performance.now() - t0;
      return elapsed + elapsed / rounds < GRID_BUDGET_MS;
    };
    while (rounds < ROUNDS && (rounds === 0 || roomForAnother())) {
      const seed = ++rounds;
      const round = cases.map((c) => ({ name: `${c.name} seed=${seed}`, options: { ...c.options, seed } }));
      let rest = round;
      while (rest.length > 0) {
        const got = await runChild(rest);
        outcomes.push(...got);
        const seen = new Set(got.map((o) => o.name));
        const next = rest.filter((c) => !seen.has(c.name));
        if (next.length === rest.length) break; // the child could not start: reported below
        rest = next;
      }
      notRun.push(...rest.map((c) => `${c.name}: not run`));
    }
    const elapsedMs = performance.now() - t0;
    const slowest = outcomes.reduce((a, o) => Math.max(a, o.ms ?? 0), 0);
    t.log(
      `${cases.length} cases × ${rounds} round(s): ${outcomes.length} runs in ${(elapsedMs / 1000).toFixed(1)} s (slowest ${slowest.toFixed(0)} ms)`,
    );
    const bad = outcomes
      .filter((o) => o.verdict !== 'ok')
      .map((o) => `${o.name}: ${o.verdict} ${o.detail ?? ''}`);
    t.deepEqual([...bad, ...notRun], []);
  },
);

// A copy phase stuck behind a sink that takes 30 s per buffered page (test-only knob, cut short
// by cancellation like a stuck write) and a one-page buffer: one signal must end it at once.
const stuck = configurations({ capability: 'copyBuffer' }).map((c) => {
  const options = { ...c.options, ...(c.capabilities.handlerThreads ? { handlers: 2 } : {}) };
  return {
    name: `${c.label}${c.capabilities.handlerThreads ? ', 2 handlers' : ''}`,
    args: flagsOf(options),
    test: testIfSupported(probeFor(options)),
  };
});
const signals = [
  { signals: ['SIGINT'], code: 130 },
  { signals: ['SIGTERM'], code: 143 },
  { signals: ['SIGINT', 'SIGINT'], code: 130 },
] as const;

for (const c of stuck) {
  for (const s of signals) {
    c.test.serial(
      `${c.name}: ${s.signals.join(' + ')} during a stuck copy phase exits ${s.code}`,
      async (t) => {
        const dir = tempDir(t);
        const args = [
          cli,
          'run',
          ...c.args,
          '--size',
          '64M',
          '--buffer',
          '4k',
          '--baseline-ms',
          '0',
          '--verbose',
        ];
        const r = await new Promise<{
          code: number | null;
          signal: string | null;
          stderr: string;
          ms: number;
        }>((resolve) => {
          const proc = spawn(
            process.execPath,
            ['--import', preload, ...args, '--out', path.join(dir, 'snap.img')],
            {
              env: { ...process.env, COWBENCH_TEST_SINK_DELAY_US: '30000000' },
              stdio: ['ignore', 'ignore', 'pipe'],
            },
          );
          let stderr = '';
          let sentAt = 0;
          const killer = setTimeout(() => proc.kill('SIGKILL'), 20_000);
          proc.stderr.on('data', (d: Buffer) => {
            stderr += d.toString();
            if (sentAt || !stderr.includes('cowbench: copy')) return;
            sentAt = performance.now() + 300;
            s.signals.forEach((sig, i) => setTimeout(() => proc.kill(sig), 300 + 50 * i));
          });
          proc.on('close', (code, signal) => {
            clearTimeout(killer);
            resolve({ code, signal, stderr, ms: sentAt ? performance.now() - sentAt : -1 });
          });
        });
        t.log(`exit ${r.code ?? r.signal} ${r.ms.toFixed(0)} ms after the first signal`);
        t.not(r.signal, 'SIGKILL', `hung until the watchdog's SIGKILL: ${r.stderr}`);
        if (s.signals.length === 1) {
          t.is(r.signal, null, r.stderr);
          t.is(r.code, s.code, r.stderr);
        } else {
          // The second signal may land after the CLI has put back the default action while exiting.
          t.true(r.code === s.code || r.signal === s.signals[1], `exit ${r.code ?? r.signal}: ${r.stderr}`);
        }
        t.true(r.stderr.includes('cowbench: copy'), r.stderr);
        // A second signal exits at once "without cleanup"; one signal leaves nothing behind.
        if (s.signals.length === 1) t.deepEqual(readdirSync(dir), [], 'the temporary image is removed');
      },
    );
  }
}
