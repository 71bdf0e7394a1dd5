/**
 * The writer-throughput timeline: every backend's run carries writes per 10 ms with its phases in
 * order, the workload's counts and the timeline's agree, and the one-line summary reads the dip.
 */
import test from 'ava';
import { native } from '../src/native.js';
import { runSnapshot } from '../src/orchestrator.js';
import { probeFor } from '../src/run-options.js';
import { summarizeTimeline, timelineLine, type WriterTimeline } from '../src/timeline.js';
import { configurations, MiB, runCli, testOptions } from './helpers.js';
import { testIfSupported } from './skip.js';

for (const c of configurations()) {
  testIfSupported(probeFor(c.options)).serial(
    `${c.label}: run carries the writer timeline with its phases in order`,
    async (t) => {
      const r = await runSnapshot(
        // Small enough that mprotect's mappings stay under a vm.max_map_count other tests lower briefly.
        testOptions({ ...c.options, baselineMs: 200, sizeBytes: 4 * MiB, bufferBytes: 1 * MiB }),
      );
      const tl = r.writer_timeline;
      if (!tl) return t.fail('no writer_timeline');
      t.is(tl.bucket_ms, 10);
      const p = tl.phases;
      const order = [
        p.baseline_start_ms,
        p.pause_start_ms,
        p.pause_end_ms,
        p.copy_start_ms,
        p.copy_end_ms,
        p.after_start_ms,
        p.after_end_ms,
      ];
      for (const v of order) t.not(v, null);
      for (let i = 1; i < order.length; i++)
        t.true(order[i]! >= order[i - 1]!, `phase ${i} after phase ${i - 1}`);
      t.true(tl.pauses_ms.length >= 1);
      // The array covers the run up to the read, one bucket per 10 ms.
      t.true(tl.start_ms + tl.writes.length * tl.bucket_ms >= p.after_end_ms!);
      const s = summarizeTimeline(tl);
      // Whole buckets before and after (counts may be 0 on a loaded 2-core machine; a 4 MiB copy may
      // be shorter than a bucket).
      t.not(s.before, null);
      t.not(s.after, null);
      t.true(tl.writes.reduce((a, b) => a + b, 0) > 0, 'writers wrote');
      t.regex(
        timelineLine(tl),
        /^writes\/10ms: before [\d,]+ · pause [\d,–]+ \([\d.]+ ms held\) · copy [\d,–]+/,
      );
    },
  );
}

test.serial('the timeline counts every landed write once (workload alone)', async (t) => {
  const region = new native.Region({ bytes: 16 * 1024 * 1024, hugepage: false, fill: 'all' });
  await region.init();
  const w = new native.Workload(region);
  // start() begins the phase: phaseStats() then counts the writes since the start, as the timeline does.
  w.start({ kinds: ['cpu', 'cpu'], pattern: 'random', rate: 0, seed: 1 });
  await new Promise((r) => setTimeout(r, 120));
  w.quiesce();
  const counted = w.phaseStats().writes;
  const tl = w.timeline();
  w.resume();
  await w.stop();
  region.release();
  // Quiesced: every writer parked, both counts final. The timeline starts as the threads are
  // created, the phase just after they started: the timeline may hold those first few writes more.
  const total = tl.writes.reduce((a, b) => a + b, 0);
  t.true(counted > 0);
  t.true(total >= counted, `timeline ${total} ≥ phase ${counted}`);
  t.true(total - counted <= counted * 0.02 + 5000, `timeline ${total} ≈ phase ${counted}`);
  t.deepEqual(
    tl.marks.map((m) => m.name),
    ['pause_start'],
  );
});

test('the summary line: before, the bucket under the pause, copy and after with their share', (t) => {
  const tl: WriterTimeline = {
    bucket_ms: 10,
    start_ms: 0,
    // 0–100 baseline at 1000, pause at 100–101, copy 110–200 at 400, after 210–300 at 1200.
    writes: [...Array(10).fill(1000), 50, ...Array(9).fill(400), 900, ...Array(9).fill(1200)],
    phases: {
      baseline_start_ms: 0,
      pause_start_ms: 100,
      pause_end_ms: 101.2,
      copy_start_ms: 110,
      copy_end_ms: 200,
      after_start_ms: 210,
      after_end_ms: 300,
    },
    pauses_ms: [[100, 101.2]],
  };
  t.is(
    timelineLine(tl),
    'writes/10ms: before 1,000 · pause 50 (1.2 ms held) · copy 400 (40%) · after 1,200 (120%)',
  );
});

test.serial('run --json carries the timeline; the terminal summary shows the dip in one line', async (t) => {
  const json = await runCli(['run', '--backend', 'uffd', '--size', '16m', '--json', '--no-progress']);
  t.is(json.code, 0, json.stderr);
  const r = JSON.parse(json.stdout) as { writer_timeline: WriterTimeline };
  t.true(r.writer_timeline.writes.length > 0);
  t.not(r.writer_timeline.phases.copy_end_ms, null);
  const text = await runCli(['run', '--backend', 'uffd', '--size', '16m', '--no-progress']);
  t.is(text.code, 0, text.stderr);
  t.regex(text.stdout, /^writer_timeline +writes\/10ms: before [\d,]+ · pause .* · copy .* · after .*$/m);
});
