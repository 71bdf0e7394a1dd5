/** What is specific to the mprotect backend: VMA exhaustion (ENOMEM), its mapping count. */
import test from 'ava';
import { spawn } from 'node:child_process';
import { accessSync, constants, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { packageRoot } from '../src/native.js';
import { runSnapshot } from '../src/orchestrator.js';
import { tempDir, testOptions } from './helpers.js';
import { isRoot, testIf } from './skip.js';

const MAX_MAP_COUNT = '/proc/sys/vm/max_map_count';

/** The most mappings any process on the machine holds right now. */
function busiestProcessMappings(): number {
  let most = 0;
  for (const pid of readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
    try {
      most = Math.max(most, readFileSync(`/proc/${pid}/maps`, 'utf8').split('\n').length);
    } catch {
      /* gone, or not ours to read */
    }
  }
  return most;
}

test.serial('mprotect reports the peak mapping count its page splits reached', async (t) => {
  const result = await runSnapshot(testOptions({ backend: 'mprotect', writerKinds: ['cpu', 'cpu'] }));
  t.true(result.verified);
  t.true(result.wp_faults > 0);
  // Every page re-enabled ahead of the copier is its own mapping: the count rose above the baseline.
  t.true(result.vma_count_peak > 0);
  t.is(result.backend_metrics.max_map_count, Number(readFileSync(MAX_MAP_COUNT, 'utf8').trim()));
});

interface Outcome {
  native: {
    failed: boolean;
    error: { code?: string; message: string } | null;
    wp_faults: number;
    vma_count_peak: number;
    vma_limit_hit: number;
    writes_during: number;
    writes_after: number;
    failed_writes_after: number;
    files_left: string[];
  };
  orchestrator: { failed: boolean; error?: { code?: string; message: string }; files_left?: string[] };
  uffd: { failed: boolean; verified?: boolean; error?: { message: string }; vma_count_peak?: number };
}

/** The limit must stay above the busiest process on the machine; decided at registration. */
const busiest = busiestProcessMappings();
const mapCountWritable = (() => {
  try {
    accessSync(MAX_MAP_COUNT, constants.W_OK);
    return isRoot;
  } catch {
    return false;
  }
})();

testIf(
  mapCountWritable && busiest + 2048 <= 16384,
  mapCountWritable
    ? `a process on this machine holds ${busiest} mappings; lowering vm.max_map_count below it would endanger it`
    : `cannot write ${MAX_MAP_COUNT}; needs root`,
).serial(
  'mprotect at a lowered vm.max_map_count: ENOMEM named, region writable, writers continue; uffd succeeds',
  async (t) => {
    const original = readFileSync(MAX_MAP_COUNT, 'utf8').trim();
    const restore = () => writeFileSync(MAX_MAP_COUNT, original);
    t.teardown(restore);
    const dir = tempDir(t);
    const child = spawn(
      process.execPath,
      [path.join(packageRoot, 'dist', 'test', 'fixtures', 'mprotect-enomem.js'), dir],
      { stdio: ['pipe', 'pipe', 'pipe'] },
    );
    t.teardown(() => child.kill('SIGKILL'));
    let stderr = '';
    let limit = 0;
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const lines: string[] = [];
    let buffered = '';
    const outcome = await new Promise<Outcome>((resolve, reject) => {
      child.on('error', reject);
      child.on('close', (code, signal) => reject(new Error(`fixture exited ${code ?? signal}: ${stderr}`)));
      child.stdout.on('data', (d: Buffer) => {
        buffered += d.toString();
        let nl;
        while ((nl = buffered.indexOf('\n')) >= 0) {
          lines.push(buffered.slice(0, nl));
          buffered = buffered.slice(nl + 1);
          const msg = JSON.parse(lines.at(-1)!) as { mappings?: number } & Partial<Outcome>;
          if (msg.mappings !== undefined) {
            // The limit is machine-wide: leave room above the busiest process on the machine
            // (node, V8 and this test's own parent grow their mappings too), not just the fixture.
            limit = Math.max(msg.mappings, busiestProcessMappings()) + 2048;
            if (limit > 16384) {
              // Checked at registration; a process grew its mappings since. Do not endanger it.
              child.kill('SIGKILL');
              reject(
                new Error(`a process now holds ${limit - 2048} mappings; not lowering vm.max_map_count`),
              );
              return;
            }
            writeFileSync(MAX_MAP_COUNT, String(limit));
            child.stdin.write('go\n');
          } else {
            restore();
            child.stdin.end();
            resolve(msg as Outcome);
          }
        }
      });
    });
    t.log(`limit ${limit}: ${JSON.stringify(outcome)}`);

    const n = outcome.native;
    t.true(n.failed, 'the snapshot failed');
    t.is(n.error?.code, 'ESYS');
    t.regex(n.error!.message, /ENOMEM/);
    t.regex(n.error!.message, /vm\.max_map_count=\d+/);
    t.regex(n.error!.message, /writable again and writers continue/);
    t.is(n.vma_limit_hit, 1);
    t.true(n.writes_during > 0);
    // Writers kept writing random pages of the whole region after the failure, none refused.
    t.true(n.writes_after > 1000, `${n.writes_after} writes after the failure`);
    t.is(n.failed_writes_after, 0);
    t.deepEqual(n.files_left, [], 'no image left behind');

    t.true(outcome.orchestrator.failed);
    t.regex(outcome.orchestrator.error!.message, /ENOMEM.*vm\.max_map_count/);
    t.deepEqual(outcome.orchestrator.files_left, [], 'no image or temporary left behind');

    t.false(outcome.uffd.failed, outcome.uffd.error?.message ?? '');
    t.true(outcome.uffd.verified);
  },
);
