/**
 * Issue 21 item 11: the library validates exactly like the CLI. The CLI's bad-input table
 * (test/bad-inputs.ts) through snapshot(): each row is refused before any work with a
 * CowbenchError, code EINVAL, exit code 2, and the CLI's message naming the option key.
 */
import test from 'ava';
import { CowbenchError, InvalidOptionError, snapshot, type SnapshotOptions } from '../src/index.js';
import { flagOf } from '../src/preflight.js';
import { DEFAULT_RUN_OPTIONS } from '../src/run-options.js';
import { badInputs } from './bad-inputs.js';

const keys = [...Object.keys(DEFAULT_RUN_OPTIONS)];

/** The CLI row's message with its leading `--flag:` replaced by the option key. */
function libraryMessage(flag: RegExp): RegExp {
  const m = /^(--[a-z-]+):/.exec(flag.source);
  if (!m) return flag;
  const key = keys.find((k) => flagOf(k) === m[1]);
  if (!key) throw new Error(`no option key has the flag ${m[1]}`);
  return new RegExp(`^${key}:${flag.source.slice(m[1]!.length + 1)}`);
}

async function refused(options: unknown) {
  try {
    await snapshot(options as SnapshotOptions);
  } catch (e) {
    return e as CowbenchError;
  }
  throw new Error(`snapshot(${JSON.stringify(options)}) was not refused`);
}

for (const row of badInputs) {
  const lib = row.library;
  if (!lib) continue;
  const expected = lib.message ?? libraryMessage(row.flag);
  test(`library: like \`cowbench ${row.args.join(' ')}\`, snapshot() refuses ${expected.source}`, async (t) => {
    const err = await refused(lib.options);
    t.true(err instanceof CowbenchError, String(err));
    t.true(err instanceof InvalidOptionError, `${err.name}: ${err.message}`);
    t.is(err.code, 'EINVAL', err.message);
    t.is(err.exitCode, 2);
    t.regex(err.message, expected);
    t.is(err.message.split('\n').length, 1);
  });
}

// The values issue 21 item 11 found accepted (or failing late, or as a raw TypeError).
const accepted: { options: unknown; message: RegExp }[] = [
  {
    options: { pattern: 'zigzag' },
    message: /^pattern: 'zigzag' is not one of: sequential, random, hotset$/,
  },
  { options: { fill: 'bogus' }, message: /^fill: 'bogus' is not one of: all, none, half$/ },
  { options: { bufferPolicy: 'maybe' }, message: /^bufferPolicy: 'maybe' is not one of: block, fail$/ },
  { options: { ratePagesPerSec: -5 }, message: /^ratePagesPerSec: '-5' is not a rate/ },
  { options: { ratePagesPerSec: NaN }, message: /^ratePagesPerSec: 'NaN' is not a rate/ },
  { options: { ratePagesPerSec: Infinity }, message: /^ratePagesPerSec: 'Infinity' is out of range/ },
  { options: { baselineMs: NaN }, message: /^baselineMs: 'NaN' is not a whole number/ },
  { options: { bufferBytes: 'x' }, message: /^bufferBytes: 'x' is not a size/ },
  { options: { bufferBytes: NaN }, message: /^bufferBytes: 'NaN' is not a size/ },
  {
    options: { sizeBytes: 16 * 2 ** 20, bufferBytes: 4096.5 },
    message: /^bufferBytes: '4096.5' is not a size/,
  },
  {
    options: { backend: 'forkcow', drainWake: 'late' },
    message: /^drainWake: the forkcow backend has no such option/,
  },
  { options: { hugepage: 'yes' }, message: /^hugepage: 'yes' is not true or false$/ },
  { options: null, message: /^options: is not an object$/ },
  { options: 'uffd', message: /^options: is not an object$/ },
];

for (const c of accepted) {
  test(`library: snapshot(${String(JSON.stringify(c.options))}) is refused: ${c.message.source}`, async (t) => {
    const err = await refused(c.options);
    t.true(err instanceof CowbenchError, String(err));
    t.is(err.code, 'EINVAL');
    t.is(err.exitCode, 2);
    t.regex(err.message, c.message);
  });
}
