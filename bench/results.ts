/**
 * results.json: the versioned shape bench writes (schema/results.schema.json is the contract,
 * validated by the tests with ajv), the move of each row's raw samples into `metrics` under
 * suite/case/metric keys, and a loader for report and compare that turns any damaged or
 * mis-shaped file into one line naming the file and what is wrong (exit 2).
 */
import { underAccelerator } from './verdicts.js';
import { statSync } from 'node:fs';
import path from 'node:path';
import { CowbenchError } from '../src/errors.js';
import { fsError, readRegularFile, UnreadableFile } from '../src/files.js';
import type { Environment } from '../src/env.js';
import { caseOfRow, metricDef, metricKey } from './metrics.js';
import { SAMPLES_SUFFIX, type Calibration, type ClaimVerdict, type Row } from './runner.js';

export const BENCH_SCHEMA = 'cowbench.bench/2';

/** The largest results.json report and compare read (a full bench with every raw sample is under 1 MiB). */
export const MAX_RESULTS_BYTES = 64 * 1024 * 1024;

/** Bad input to report or compare: one line, exit 2. */
export function badInput(message: string): CowbenchError {
  return new CowbenchError('EUSAGE', message, { exitCode: 2 });
}

export interface MetricSamples {
  samples: number[];
  unit: string | null;
}

export interface SuiteReport {
  claim: string;
  description: string;
  seconds: number;
  date?: string;
  git_commit?: string;
  calibration?: Calibration;
  rows: Row[];
  skipped?: string;
  findings?: string[];
  verdicts?: ClaimVerdict[];
  raw?: unknown;
}

export interface BenchResults {
  schema: typeof BENCH_SCHEMA;
  env: Environment;
  calibration: Calibration;
  calibrations: Calibration[];
  calibration_spread?: Record<string, number | null>;
  noise?: { warning: string | null };
  options: Record<string, unknown>;
  backends: string[];
  skipped_backends: Row[];
  suites: Record<string, SuiteReport>;
  metrics: Record<string, MetricSamples>;
  /** Set when bench was interrupted by a signal: `suites` holds the finished ones only. */
  incomplete?: Incomplete;
}

export interface Incomplete {
  signal: string;
  exit_code: number;
  date?: string;
  interrupted_suite: string | null;
  not_run: string[];
}

/**
 * Moves `<metric>_samples` columns out of a suite's rows into metrics (suite/case/metric), and
 * records a registered scalar column (a count such as vma_count_peak) as a one-sample metric.
 */
export function extractMetrics(
  suite: string,
  rows: Row[],
): { rows: Row[]; metrics: Record<string, MetricSamples> } {
  const metrics: Record<string, MetricSamples> = {};
  const cleaned: Row[] = [];
  for (const row of rows) {
    const caseName = caseOfRow(row);
    const out: Row = {};
    for (const [col, value] of Object.entries(row)) {
      if (col.endsWith(SAMPLES_SUFFIX)) {
        const metric = col.slice(0, -SAMPLES_SUFFIX.length);
        const samples = Array.isArray(value) ? value.filter((x) => Number.isFinite(x)) : [];
        if (samples.length > 0)
          add(metrics, metricKey(suite, caseName, metric), samples, metricDef(suite, metric)?.unit);
        continue;
      }
      out[col] = value;
      const def = metricDef(suite, col);
      if (def && typeof value === 'number' && Number.isFinite(value) && !(`${col}${SAMPLES_SUFFIX}` in row))
        add(metrics, metricKey(suite, caseName, col), [value], def.unit);
    }
    cleaned.push(out);
  }
  return { rows: cleaned, metrics };
}

function add(into: Record<string, MetricSamples>, key: string, samples: number[], unit: string | undefined) {
  // Two rows of one case (a suite repeating a configuration) pool their samples.
  const prev = into[key];
  if (prev) prev.samples.push(...samples);
  else into[key] = { samples: [...samples], unit: unit ?? null };
}

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/** The verdicts a claim may have (schema definitions/verdict). */
const VERDICTS = ['confirmed', 'refuted', 'partly confirmed', 'not measurable here', 'met', 'missed'];

const describe = (v: unknown) => (v === null ? 'null' : Array.isArray(v) ? 'an array' : typeof v);

/**
 * What is wrong with a parsed results.json, in a few words, or null when its shape is one
 * report and compare can read. A runtime mirror of the schema's required structure (the full
 * schema is checked by the tests); `needMetrics` for compare, which needs the samples.
 */
export function shapeProblem(data: unknown, needMetrics: boolean): string | null {
  if (!isObject(data)) return `is ${describe(data)}, not a results object`;
  if (typeof data['schema'] !== 'string') return "has no 'schema' field (not a cowbench bench results file)";
  const schema = data['schema'];
  if (!schema.startsWith('cowbench.bench/'))
    return `has schema '${schema}', not a cowbench bench results file`;
  if (needMetrics && schema !== BENCH_SCHEMA)
    return `has schema '${schema}'; compare needs '${BENCH_SCHEMA}' (raw samples): re-run cowbench bench`;
  if (!isObject(data['env'])) return "has no 'env' object (the host fingerprint)";
  if (!isObject(data['calibration'])) return "has no 'calibration' object";
  if (!isObject(data['suites'])) return `'suites' is ${describe(data['suites'])}, not an object of suites`;
  for (const [name, s] of Object.entries(data['suites'])) {
    if (!isObject(s)) return `suite '${name}' is ${describe(s)}, not an object`;
    if (!Array.isArray(s['rows'])) return `suite '${name}' has no 'rows' array`;
    if (s['rows'].some((r) => !isObject(r))) return `suite '${name}' has a row that is not an object`;
    if (typeof s['claim'] !== 'string' || typeof s['description'] !== 'string')
      return `suite '${name}' lacks its 'claim' or 'description'`;
    if (typeof s['seconds'] !== 'number') return `suite '${name}' has no 'seconds' number`;
    if (s['verdicts'] !== undefined && !Array.isArray(s['verdicts']))
      return `suite '${name}': 'verdicts' is not an array`;
    if (s['findings'] !== undefined && !Array.isArray(s['findings']))
      return `suite '${name}': 'findings' is not an array`;
    // Every element of every array, as the schema has it (definitions/verdict, findings: strings).
    const badVerdict = ((s['verdicts'] ?? []) as unknown[]).findIndex(
      (v) =>
        !isObject(v) ||
        typeof v['claim'] !== 'string' ||
        typeof v['evidence'] !== 'string' ||
        !VERDICTS.includes(v['verdict'] as string),
    );
    if (badVerdict >= 0)
      return `suite '${name}': verdicts[${badVerdict}] is ${describe((s['verdicts'] as unknown[])[badVerdict])}, not a verdict {claim, verdict (${VERDICTS.join(', ')}), evidence}`;
    const badFinding = ((s['findings'] ?? []) as unknown[]).findIndex((f) => typeof f !== 'string');
    if (badFinding >= 0)
      return `suite '${name}': findings[${badFinding}] is ${describe((s['findings'] as unknown[])[badFinding])}, not a string`;
    for (const key of ['skipped', 'date', 'git_commit'])
      if (s[key] !== undefined && typeof s[key] !== 'string')
        return `suite '${name}': '${key}' is not a string`;
  }
  if (!Array.isArray(data['backends'])) return "has no 'backends' array";
  const badBackend = data['backends'].findIndex((b) => typeof b !== 'string');
  if (badBackend >= 0)
    return `backends[${badBackend}] is ${describe(data['backends'][badBackend])}, not a string`;
  if (!Array.isArray(data['skipped_backends'])) return "has no 'skipped_backends' array";
  const badSkip = data['skipped_backends'].findIndex((b) => !isObject(b));
  if (badSkip >= 0)
    return `skipped_backends[${badSkip}] is ${describe(data['skipped_backends'][badSkip])}, not an object`;
  if (data['calibrations'] !== undefined) {
    if (!Array.isArray(data['calibrations'])) return "'calibrations' is not an array";
    const badCal = data['calibrations'].findIndex((c) => !isObject(c));
    if (badCal >= 0)
      return `calibrations[${badCal}] is ${describe(data['calibrations'][badCal])}, not an object`;
  }
  if (schema === BENCH_SCHEMA || needMetrics) {
    if (!isObject(data['metrics'])) return "has no 'metrics' object (raw samples)";
    for (const [key, m] of Object.entries(data['metrics'])) {
      if (!isObject(m) || !Array.isArray(m['samples']) || m['samples'].some((x) => typeof x !== 'number'))
        return `metric '${key}' has no numeric 'samples' array`;
    }
  }
  return null;
}

/** results.json of a directory or the file itself. */
export function resultsFileOf(arg: string): string {
  let isDir: boolean;
  try {
    isDir = statSync(arg).isDirectory();
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    if (err.code === 'ENOENT') throw badInput(`${arg}: no such file or directory`);
    throw fsError(`cannot reach ${arg}`, err);
  }
  return isDir ? path.join(arg, 'results.json') : arg;
}

/** Whether `file` exists; a failure other than ENOENT (EACCES) is an error naming it. */
function exists(file: string): boolean {
  try {
    statSync(file);
    return true;
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    if (err.code === 'ENOENT') return false;
    throw fsError(`cannot reach ${file}`, err);
  }
}

/** Reads and checks a results file; every problem is a UsageError of one line (exit 2). */
export function loadResults(arg: string, opts: { needMetrics?: boolean } = {}): BenchResults {
  const file = resultsFileOf(arg);
  if (!exists(file)) throw badInput(`${arg} holds no results.json (run cowbench bench first)`);
  let text: string;
  try {
    text = readRegularFile(file, MAX_RESULTS_BYTES, 'a results file');
  } catch (e) {
    throw e instanceof UnreadableFile ? badInput(e.message) : e;
  }
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (e) {
    const why = text.trim() === '' ? 'is empty' : `is not valid JSON (${(e as Error).message})`;
    throw badInput(`${file} ${why}: truncated or damaged? re-run cowbench bench`);
  }
  const problem = shapeProblem(data, opts.needMetrics ?? false);
  if (problem) throw badInput(`${file} ${problem}`);
  const r = data as BenchResults;
  if (!isObject(r.metrics)) r.metrics = {};
  // Timing verdicts of a run under an emulated CPU (cowbench vm --accel tcg) are not measurable.
  for (const s of Object.values(r.suites))
    if (s.verdicts) s.verdicts = s.verdicts.map((v) => underAccelerator(v, r.env?.accel));
  return r;
}
