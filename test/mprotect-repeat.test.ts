/**
 * Many mprotect snapshots in one process: successive regions are mapped at the same address, so
 * several retired fault ranges cover it; a writer's late write fault around release must still
 * be retried (it used to be chained to Node's handler when the oldest matching range's grace
 * had expired, killing the process with SIGSEGV).
 */
import { spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { testIfSupported } from './skip.js';
import { probeFor } from '../src/run-options.js';

const child = path.join(path.dirname(fileURLToPath(import.meta.url)), 'fixtures', 'mprotect-repeat-child.js');
const support = probeFor({ backend: 'mprotect' });

testIfSupported(support).serial(
  'mprotect: 25 snapshots in one process, writers busy: the process exits 0',
  async (t) => {
    t.timeout(60_000);
    const proc = spawn(process.execPath, [child, '25', '3'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    proc.stdout.on('data', (d: Buffer) => (out += d.toString()));
    proc.stderr.on('data', (d: Buffer) => (err += d.toString()));
    const killer = setTimeout(() => proc.kill('SIGKILL'), 45_000);
    const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((resolve) =>
      proc.on('close', (c, s) => resolve([c, s])),
    );
    clearTimeout(killer);
    t.is(signal, null, `child killed by ${signal}; stderr: ${err.slice(-2000)}`);
    t.is(code, 0, `stdout: ${out} stderr: ${err.slice(-2000)}`);
  },
);
