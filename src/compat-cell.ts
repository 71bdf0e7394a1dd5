/**
 * One cell of `cowbench compat`, run in a fresh child process (signal handlers, userfaultfd
 * registrations and helper processes are process-wide): argv[2] is the JSON of
 * {options: RunOptions, writer}. Prints one JSON line: the writer probe, then the run's result
 * or its error.
 */
import { CowbenchError } from './errors.js';
import { native } from './native.js';
import { runSnapshot, type RunOptions } from './orchestrator.js';
import type { RunResult } from './result.js';

export type CellOutcome =
  | { kind: 'writer-unsupported'; code: string; detail: string }
  | { kind: 'result'; result: RunResult }
  | { kind: 'error'; code: string; message: string };

async function cell(options: RunOptions, writer: string): Promise<CellOutcome> {
  // The writer alone, without a snapshot: a failure here is the machine's, not the backend's.
  const probe = await native.probeWriter(writer);
  if (!probe.ok)
    return { kind: 'writer-unsupported', code: probe.code ?? 'ESYS', detail: probe.detail ?? '' };
  try {
    return { kind: 'result', result: await runSnapshot(options) };
  } catch (e) {
    const err = CowbenchError.fromNative(e);
    return { kind: 'error', code: err.code, message: err.message };
  }
}

const input = JSON.parse(process.argv[2] ?? '{}') as { options: RunOptions; writer: string };
const outcome = await cell(input.options, input.writer);
process.stdout.write(JSON.stringify(outcome) + '\n');
