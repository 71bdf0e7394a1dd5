/**
 * results.json: the versioned shape bench writes (schema/results.schema.json is the contract,
 * checked with its validator compiled at build time), the move of each row's raw samples into `metrics` under
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
import { VALIDATORS as COMPILED } from './generated/results-validators.js';

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

/** An ajv error of the compiled validators (the fields this module reads). */
interface SchemaError {
  instancePath: string;
  keyword: string;
  params: Record<string, unknown>;
  /** Set when the error is about a key (propertyNames), not a value. */
  propertyName?: string;
  message?: string;
}
type Validator = ((data: unknown) => boolean) & { errors?: SchemaError[] | null };

/**
 * Each results.json version report reads, with its schema compiled at build time
 * (scripts/compile-schema.mjs: schema/results-1.schema.json, schema/results.schema.json).
 */
const VALIDATORS = COMPILED as Record<string, Validator>;

const describe = (v: unknown) =>
  v === null
    ? 'null'
    : Array.isArray(v)
      ? 'an array'
      : typeof v === 'object'
        ? 'an object'
        : typeof v === 'string'
          ? `the string ${JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}…` : v)}`
          : typeof v === 'number' || typeof v === 'boolean'
            ? String(v)
            : typeof v;

const TYPE_WORDS: Record<string, string> = {
  object: 'an object',
  array: 'an array',
  string: 'a string',
  number: 'a number',
  integer: 'an integer',
  boolean: 'a boolean',
  null: 'null',
};

/** "a, b or c". */
const either = (words: string[]) =>
  words.length <= 1 ? (words[0] ?? '') : `${words.slice(0, -1).join(', ')} or ${words.at(-1)}`;

/** A JSON pointer's segments (`/metrics/a~1b` → ['metrics', 'a/b']). */
const segments = (pointer: string) =>
  pointer === ''
    ? []
    : pointer
        .slice(1)
        .split('/')
        .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'));

/** A JSON pointer as a jq path a user can paste: `.suites.vma.rows[3]`, `.metrics["ci/x/pause_us"]`. */
function jqPath(data: unknown, pointer: string): { path: string; value: unknown } {
  let path = '';
  let value = data;
  for (const seg of segments(pointer)) {
    if (Array.isArray(value)) {
      path += `[${seg}]`;
      value = value[Number(seg)];
    } else {
      path += /^[A-Za-z_][A-Za-z0-9_]*$/.test(seg) ? `.${seg}` : `[${JSON.stringify(seg)}]`;
      value = isObject(value) ? value[seg] : undefined;
    }
  }
  return { path: path.startsWith('[') ? `.${path}` : path, value };
}

/** A schema error in plain words: where (a jq path) and what is wrong there. */
function plainError(e: SchemaError, data: unknown): string {
  const { path, value } = jqPath(data, e.instancePath);
  const p = e.params;
  const what = (() => {
    switch (e.keyword) {
      case 'required':
        return `has no '${String(p['missingProperty'])}'`;
      case 'type': {
        const types = String(p['type']).split(',');
        return `is ${describe(value)}, not ${either(types.map((t) => TYPE_WORDS[t] ?? t))}`;
      }
      case 'const':
        return `is ${describe(value)}, not ${JSON.stringify(p['allowedValue'])}`;
      case 'enum':
        return `is ${describe(value)}, not one of ${((p['allowedValues'] as unknown[]) ?? []).map((v) => JSON.stringify(v)).join(', ')}`;
      case 'propertyNames':
        return `has a key ${JSON.stringify(p['propertyName'])} the schema does not allow`;
      case 'additionalProperties':
        return `has a property '${String(p['additionalProperty'])}' the schema does not allow`;
      case 'pattern':
        return e.propertyName !== undefined
          ? `has a key ${JSON.stringify(e.propertyName)} that does not match ${String(p['pattern'])}`
          : `is ${describe(value)}, which does not match ${String(p['pattern'])}`;
      case 'minimum':
        return `is ${describe(value)}, less than ${String(p['limit'])}`;
      case 'minItems':
        return `has ${Array.isArray(value) ? value.length : 0} items, fewer than ${String(p['limit'])}`;
      default:
        return e.message ?? `fails the schema's '${e.keyword}'`;
    }
  })();
  return path === '' ? what : `${path} ${what}`;
}

/**
 * What is wrong with a parsed results.json, in a few words, or null when it is a results file of
 * a version this cowbench reads and valid against that version's schema; `needMetrics` for
 * compare, which needs version 2's raw samples.
 */
export function resultsProblem(data: unknown, needMetrics: boolean): string | null {
  if (!isObject(data)) return `is ${describe(data)}, not a results object`;
  const schema = data['schema'];
  if (typeof schema !== 'string') return "has no 'schema' field (not a cowbench bench results file)";
  if (!schema.startsWith('cowbench.bench/'))
    return `has schema '${schema}', not a cowbench bench results file`;
  const validate = VALIDATORS[schema];
  if (!validate)
    return `has schema '${schema}'; this cowbench reads ${either(Object.keys(VALIDATORS))}: upgrade cowbench`;
  if (needMetrics && schema !== BENCH_SCHEMA)
    return `has schema '${schema}'; compare needs '${BENCH_SCHEMA}' (raw samples): re-run cowbench bench`;
  if (validate(data)) return null;
  const first = validate.errors?.[0];
  return first ? plainError(first, data) : `does not match the ${schema} schema`;
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
  const problem = resultsProblem(data, opts.needMetrics ?? false);
  if (problem) throw badInput(`${file}: ${problem}`);
  const r = data as BenchResults;
  if (!isObject(r.metrics)) r.metrics = {};
  // Timing verdicts of a run under an emulated CPU (cowbench vm --accel tcg) are not measurable.
  for (const s of Object.values(r.suites))
    if (s.verdicts) s.verdicts = s.verdicts.map((v) => underAccelerator(v, r.env?.accel));
  return r;
}
