/**
 * `cowbench compat`: which backend can snapshot memory that which writer kind writes. Rows are
 * the registered backends (one per variant where a backend lists variants), columns the writer
 * kinds; each cell is one small snapshot with that kind as the only writer, run in a fresh child
 * process, and ends `ok` (verified, every write landed), `incompatible` (with the evidence: failed
 * writes by errno, unusual vCPU exits, pages that did not verify), `unsupported` (the machine
 * lacks what the backend or the writer needs, and why) or `failed` (the cell itself broke).
 */
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { childJson, killAllChildren, killedBy, runChild } from './child.js';
import type { ProbeOptions } from './backend.js';
import type { CellOutcome } from './compat-cell.js';
import { environment, type Environment } from './env.js';
import { count } from './format.js';
import { packageRoot } from './native.js';
import { WRITER_KINDS } from './options.js';
import { DEFAULT_RUN_OPTIONS, type RunOptions } from './orchestrator.js';
import { backendNames, backends, type BackendName } from './registry.js';
import { columns } from './table.js';

export const COMPAT_SCHEMA = 'cowbench.compat/1';

/** What each writer kind is, for column headers and the legend. */
export const WRITER_LABELS: Record<string, string> = {
  cpu: 'cpu',
  read: 'read(2)',
  io_uring: 'io_uring',
  pvm: 'process_vm_writev',
  kvm: 'kvm',
};

export type CellStatus = 'ok' | 'incompatible' | 'unsupported' | 'failed';

export interface CompatCell {
  writer: string;
  status: CellStatus;
  /** One line: why this status. */
  detail: string;
  /** Failed writes by errno (failed_writes_EFAULT) and unusual vCPU exits (kvm_exit_mmio). */
  evidence: Record<string, number>;
  /** Writes by this kind that landed / failed during the snapshot. */
  writes: number;
  failed_writes: number;
  exit_reasons: Record<string, number>;
  verified: boolean | null;
  bad_pages: number | null;
  region_writable_after: boolean | null;
  duration_ms: number;
}

export interface CompatRow {
  /** `backend` or `backend/variant`. */
  label: string;
  backend: BackendName;
  variant: string | null;
  cells: CompatCell[];
}

export interface CompatResult {
  schema: typeof COMPAT_SCHEMA;
  writers: string[];
  size_bytes: number;
  rows: CompatRow[];
  env: Environment;
}

export interface CompatOptions {
  /** Region size per cell. */
  sizeBytes: number;
  /** Rows to run (backend names); default every registered backend. */
  backends?: readonly string[];
  /** Columns to run; default every writer kind. */
  writers?: readonly string[];
  /** Per-cell limit before the child is killed and the cell marked failed. */
  cellTimeoutMs?: number;
  onCell?: (row: CompatRow, cell: CompatCell) => void;
}

interface RowPlan {
  label: string;
  backend: BackendName;
  variant: string | null;
  /** Named like the RunOptions fields they set (engine, delivery, …). */
  options: Partial<ProbeOptions>;
}

/** One row per backend, or per variant where the backend lists its variants. */
export function compatRows(only?: readonly string[]): RowPlan[] {
  const rows: RowPlan[] = [];
  for (const name of backendNames) {
    if (only && !only.includes(name)) continue;
    const variants = backends[name].variants;
    if (!variants || variants.length === 0) {
      rows.push({ label: name, backend: name, variant: null, options: {} });
      continue;
    }
    for (const v of variants)
      rows.push({ label: `${name}/${v.name}`, backend: name, variant: v.name, options: v.options });
  }
  return rows;
}

/** The snapshot one cell runs: the writer kind alone, unthrottled, a small region. */
export function cellOptions(row: RowPlan, writer: string, sizeBytes: number): RunOptions {
  return {
    ...DEFAULT_RUN_OPTIONS,
    ...row.options,
    backend: row.backend,
    sizeBytes,
    bufferBytes: Math.min(DEFAULT_RUN_OPTIONS.bufferBytes, sizeBytes),
    writerKinds: [writer],
    pattern: 'random',
    baselineMs: 100,
    out: null,
  };
}

/** Exit codes for a signal that ends compat itself (the CLI's convention). */
const SIGNAL_EXIT: Record<string, number> = { SIGHUP: 129, SIGINT: 130, SIGQUIT: 131, SIGTERM: 143 };

/**
 * One cell in a child process whose temporary files (its scratch image) go into `scratch`
 * (TMPDIR): whatever happens to the child, compat removes what it left there.
 */
async function runCellChild(
  options: RunOptions,
  writer: string,
  timeoutMs: number,
  scratch: string,
): Promise<CellOutcome> {
  const r = await runChild({
    script: path.join(packageRoot, 'dist', 'src', 'compat-cell.js'),
    args: [JSON.stringify({ options, writer })],
    timeoutMs,
    // A cell's child has had its chance to clean up on SIGTERM; a stuck one is killed soon.
    killGraceMs: 2_000,
    env: { TMPDIR: scratch },
  });
  const outcome = childJson<CellOutcome>(r);
  if (outcome && typeof outcome === 'object' && 'kind' in outcome) return outcome;
  const why = r.timedOut
    ? `timed out after ${timeoutMs} ms`
    : r.signal
      ? killedBy(r.signal)
      : `exited ${r.code}`;
  return { kind: 'error', code: 'ECELL', message: `cell process ${why}: ${r.stderr.trim().slice(-400)}` };
}

/** Removes everything a cell left in the scratch directory (a killed cell's image). */
function emptyDir(dir: string): void {
  for (const name of readdirSync(dir)) rmSync(path.join(dir, name), { recursive: true, force: true });
}

const plural = (n: number, what: string) => `${count(n)} ${what}${n === 1 ? '' : 's'}`;

/** Classifies one cell's outcome. */
export function classify(writer: string, outcome: CellOutcome, durationMs: number): CompatCell {
  const base = {
    writer,
    evidence: {},
    writes: 0,
    failed_writes: 0,
    exit_reasons: {},
    verified: null,
    bad_pages: null,
    region_writable_after: null,
    duration_ms: durationMs,
  };
  if (outcome.kind === 'writer-unsupported')
    return {
      ...base,
      status: outcome.code === 'EUNSUPPORTED' ? 'unsupported' : 'failed',
      detail: `writer ${writer} does not work here: ${outcome.detail}`,
    };
  if (outcome.kind === 'error') {
    const refusal = outcome.code === 'EUNSUPPORTED' || outcome.code === 'EPERM';
    return {
      ...base,
      status: refusal ? 'unsupported' : 'failed',
      detail: `${outcome.code}: ${outcome.message}`,
    };
  }
  const r = outcome.result;
  const writes = r.writers.writes_by_kind[writer] ?? 0;
  const failed = r.writers.failed_by_kind[writer] ?? 0;
  const evidence = Object.fromEntries(Object.entries(r.incompatibilities).filter(([, n]) => n > 0));
  const cell: CompatCell = {
    ...base,
    status: 'ok',
    detail: '',
    evidence,
    writes,
    failed_writes: failed,
    exit_reasons: r.writers.exit_reasons,
    verified: r.verified,
    bad_pages: r.verification.bad_pages,
    region_writable_after: r.region_writable_after.ok,
  };
  const problems: string[] = [];
  if (failed > 0)
    problems.push(
      `${plural(failed, 'write')} of ${count(writes + failed)} failed (${Object.entries(
        r.writers.failed_by_errno,
      )
        .map(([e, n]) => `${e} ×${count(n)}`)
        .join(', ')})`,
    );
  const exits = Object.entries(evidence).filter(([k]) => k.startsWith('kvm_exit_'));
  if (exits.length)
    problems.push(`vCPU exits: ${exits.map(([k, n]) => `${k.slice(9)} ×${count(n)}`).join(', ')}`);
  if (!r.verified) problems.push(`image did not verify: ${plural(r.verification.bad_pages, 'bad page')}`);
  if (!r.region_writable_after.ok)
    problems.push(`region not writable after the run: ${r.region_writable_after.detail}`);
  if (problems.length) {
    cell.status = 'incompatible';
    cell.detail = problems.join('; ');
  } else if (writes === 0) {
    cell.status = 'failed';
    cell.detail = `no ${writer} write happened during the snapshot: nothing was tested (raise --size)`;
  } else {
    cell.detail = `verified; ${plural(writes, 'write')} during the snapshot, ${count(r.pages_copied_before_write)} copied before write`;
  }
  return cell;
}

/**
 * Runs the matrix, one child process per cell, in row order. Every cell's temporary files go to
 * one private scratch directory, emptied after each cell and removed on every way out: success,
 * a thrown error, a cell killed on its timeout, and SIGINT/SIGTERM/SIGHUP/SIGQUIT of compat itself
 * (the running cell is killed, the directory removed, then compat exits 128+signal).
 */
export async function runCompat(o: CompatOptions): Promise<CompatResult> {
  const writers = [...(o.writers ?? WRITER_KINDS)];
  const rows: CompatRow[] = [];
  const scratch = mkdtempSync(path.join(os.tmpdir(), 'cowbench-compat-'));
  const removeScratch = () => rmSync(scratch, { recursive: true, force: true });
  const onSignal = (sig: NodeJS.Signals) => {
    for (const s of Object.keys(SIGNAL_EXIT)) process.off(s, onSignal);
    void killAllChildren().finally(() => {
      removeScratch();
      process.stderr.write(`cowbench: compat: ${sig}: cell stopped, scratch directory removed\n`);
      process.exit(SIGNAL_EXIT[sig] ?? 1);
    });
  };
  for (const s of Object.keys(SIGNAL_EXIT)) process.on(s, onSignal);
  try {
    for (const plan of compatRows(o.backends)) {
      const row: CompatRow = { label: plan.label, backend: plan.backend, variant: plan.variant, cells: [] };
      rows.push(row);
      for (const writer of writers) {
        const t0 = performance.now();
        const outcome = await runCellChild(
          cellOptions(plan, writer, o.sizeBytes),
          writer,
          o.cellTimeoutMs ?? 180_000,
          scratch,
        );
        emptyDir(scratch);
        const cell = classify(writer, outcome, performance.now() - t0);
        row.cells.push(cell);
        o.onCell?.(row, cell);
      }
    }
  } finally {
    for (const s of Object.keys(SIGNAL_EXIT)) process.off(s, onSignal);
    removeScratch();
  }
  return { schema: COMPAT_SCHEMA, writers, size_bytes: o.sizeBytes, rows, env: environment() };
}

/** The matrix as a table, then one line per cell that is not ok. */
export function renderCompat(c: CompatResult): string {
  const headers = ['backend', ...c.writers.map((w) => WRITER_LABELS[w] ?? w)];
  const table = c.rows.map((row) => [row.label, ...row.cells.map((cell) => cell.status)]);
  const out = [columns(table, { head: headers, rule: true }).trimEnd(), ''];
  for (const row of c.rows) {
    // A row refused as a whole (the backend is unavailable) is one line, not one per column.
    const first = row.cells[0];
    if (
      first &&
      row.cells.length > 1 &&
      row.cells.every((x) => x.status === first.status && x.detail === first.detail)
    ) {
      out.push(`${row.label} × every writer: ${first.status}: ${first.detail}`);
      continue;
    }
    for (const cell of row.cells)
      out.push(`${row.label} × ${WRITER_LABELS[cell.writer] ?? cell.writer}: ${cell.status}: ${cell.detail}`);
  }
  out.push('', `machine: ${c.env.hostname}, Linux ${c.env.kernel}, ${c.env.cores} × ${c.env.cpu_model}`);
  return out.join('\n') + '\n';
}
