/**
 * `cowbench history list|add|changes|gate`: the results history in a database (store.ts), its
 * runs (runs.ts) and the change points of its series (changes.ts). The database code is
 * imported when a history command runs, never by `run` or the library.
 */
import type { Argv } from 'yargs';
import type { CliPlugin } from '../../src/cli/main.js';
import { withValues } from '../../src/argv.js';
import { columns } from '../../src/table.js';
import { parseThresholds } from '../compare.js';
import { badInput } from '../results.js';
import { CHANGE_DEFAULTS, CHANGE_FORMATS, type ChangeOptions } from './changes.js';

/** --db's default: $COWBENCH_HISTORY_DB or the embedded store under results/. */
export const defaultDb = () => process.env['COWBENCH_HISTORY_DB'] ?? 'results/history.pglite';

const dbOption = <T>(y: Argv<T>) =>
  y.option('db', {
    type: 'string',
    describe:
      'history database: a directory (embedded PostgreSQL) or postgres://… [default: $COWBENCH_HISTORY_DB or results/history.pglite]',
  });

const subjectOption = <T>(y: Argv<T>) =>
  y.option('subject', {
    type: 'string',
    default: 'commit',
    describe:
      "what was under test: commit (the run's git commit), kernel (its kernel release), dir (its directory's name) or any text",
  });

const seriesOptions = <T>(y: Argv<T>) =>
  y
    .option('metric', {
      type: 'string',
      array: true,
      describe: 'only metrics whose key contains this (repeatable)',
    })
    .option('since', { type: 'string', describe: 'only runs from this time (ISO date) or subject on' })
    .option('across-machines', {
      type: 'boolean',
      default: false,
      describe: 'one series per metric over every machine class (default: never mix classes)',
    })
    .option('alpha', {
      type: 'string',
      default: String(CHANGE_DEFAULTS.alpha),
      describe: 'significance level of the permutation test',
    })
    .option('min-segment', {
      type: 'string',
      default: String(CHANGE_DEFAULTS.minSegment),
      describe: 'least runs on each side of a change point',
    })
    .option('permutations', {
      type: 'string',
      default: String(CHANGE_DEFAULTS.permutations),
      describe: 'most permutations per test',
    })
    .option('threshold', {
      type: 'string',
      array: true,
      describe: "least change to report, overriding the metric's registry threshold: KEY=PCT (as compare)",
    })
    .option('format', { type: 'string', default: 'table', describe: `output: ${CHANGE_FORMATS.join(', ')}` });

type Args = Record<string, unknown>;

const list = (v: unknown): string[] => (v === undefined ? [] : (Array.isArray(v) ? v : [v]).map(String));

function intIn(flag: string, v: unknown, lo: number, hi: number): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < lo || n > hi)
    throw badInput(`${flag}: '${String(v)}' is not an integer in [${lo}, ${hi}]`);
  return n;
}

function changeOptions(a: Args): ChangeOptions {
  const alpha = Number(a['alpha']);
  if (!(alpha > 0 && alpha < 1)) throw badInput(`--alpha: '${String(a['alpha'])}' is not within (0, 1)`);
  return {
    alpha,
    minSegment: intIn('--min-segment', a['min-segment'], 2, 1000),
    permutations: intIn('--permutations', a['permutations'], 19, 100_000),
    thresholds: parseThresholds(list(a['threshold'])),
  };
}

const dbOf = (a: Args) => (typeof a['db'] === 'string' && a['db'] !== '' ? a['db'] : defaultDb());

/** Records results directories; every one is read and checked before anything is written. */
export async function addRuns(
  db: string,
  dirs: string[],
  subject: string,
  write: (s: string) => void,
): Promise<{ added: number; present: number; skipped: number }> {
  const { readRun, recordRun, isSkipped } = await import('./runs.js');
  const runs = dirs.map((d) => readRun(d, subject));
  const { openStore } = await import('./store.js');
  const store = await openStore(db);
  const counts = { added: 0, present: 0, skipped: 0 };
  try {
    for (const r of runs) {
      if (isSkipped(r)) {
        counts.skipped++;
        write(`skipped ${r.source}: ${r.reason}\n`);
        continue;
      }
      const added = await recordRun(store, r);
      counts[added ? 'added' : 'present']++;
      write(
        `${added ? 'recorded' : 'already recorded'} ${r.source}: ${r.subject} (${r.subjectKind}), ${r.time}, ${r.metrics.length} metrics\n`,
      );
    }
  } finally {
    await store.close();
  }
  write(
    `${store.where}: ${counts.added} recorded, ${counts.present} already there, ${counts.skipped} skipped\n`,
  );
  return counts;
}

async function analyse(a: Args) {
  const { parseFormat, findChanges } = await import('./changes.js');
  const format = parseFormat(String(a['format']));
  const options = changeOptions(a);
  const { openStore } = await import('./store.js');
  const { loadSeries, listRuns } = await import('./runs.js');
  const store = await openStore(dbOf(a));
  try {
    let since: number | undefined;
    if (typeof a['since'] === 'string') {
      const t = Date.parse(a['since']);
      if (!Number.isNaN(t)) since = t;
      else {
        const first = (await listRuns(store)).find(
          (r) => r.subject === a['since'] || r.subject.startsWith(String(a['since'])),
        );
        if (!first) throw badInput(`--since: '${a['since']}' is neither a time nor a recorded subject`);
        since = first.time_ms;
      }
    }
    const { runs, series } = await loadSeries(store, {
      metric: list(a['metric']),
      ...(since === undefined ? {} : { since }),
      acrossMachines: a['across-machines'] === true,
      // The change points need the medians only; the spread is for the charts.
      spread: false,
    });
    return { format, options, runs, results: findChanges(series, runs, options) };
  } finally {
    await store.close();
  }
}

const setExit = (code: number) => {
  process.exitCode = code;
};

export const historyCommands: CliPlugin = (y) =>
  y.command('history <command>', 'the results history in a database: list, add, changes, gate', (h) =>
    h
      .command(
        'list',
        'runs in the history with their subjects and machines',
        withValues((a) => dbOption(a)),
        async (a) => {
          const { openStore } = await import('./store.js');
          const { listRuns } = await import('./runs.js');
          const store = await openStore(dbOf(a));
          try {
            const runs = await listRuns(store);
            process.stdout.write(
              (runs.length
                ? columns(
                    runs.map((r) => [
                      String(r.id),
                      new Date(r.time_ms).toISOString().slice(0, 19) + 'Z',
                      `${r.subject} (${r.subject_kind})`,
                      `${r.metrics} metrics, ${r.samples} samples`,
                      r.machine_class,
                    ]),
                    { head: ['run', 'time', 'subject', 'figures', 'machine class'], rule: true },
                  )
                : '') + `${runs.length} runs in ${store.where}\n`,
            );
          } finally {
            await store.close();
          }
          setExit(0);
        },
      )
      .command(
        'add <dirs..>',
        'record bench results directories (schema-1 directories, which have no raw samples, are skipped with the reason)',
        withValues((a) =>
          subjectOption(dbOption(a.positional('dirs', { type: 'string', array: true, demandOption: true }))),
        ),
        async (a) => {
          await addRuns(dbOf(a), list(a['dirs']), String(a['subject']), (s) => process.stdout.write(s));
          setExit(0);
        },
      )
      .command(
        'changes',
        'change points of every series (E-divisive means), regressions first',
        withValues((a) => seriesOptions(dbOption(a))),
        async (a) => {
          const { renderChanges } = await import('./changes.js');
          const { format, options, results } = await analyse(a);
          process.stdout.write(renderChanges(results, format, options));
          setExit(0);
        },
      )
      .command(
        'gate',
        'the CI gate on the history: --fail-on-regression exits 1 when a regression change point is among the newest N runs',
        withValues((a) =>
          seriesOptions(dbOption(a))
            .option('newest', {
              type: 'string',
              default: '5',
              describe: 'runs at the end of each series the gate looks at',
            })
            .option('fail-on-regression', {
              type: 'boolean',
              default: false,
              describe: 'exit 1 on a recent regression',
            }),
        ),
        async (a) => {
          const newest = intIn('--newest', a['newest'], 1, 1_000_000);
          const { renderChanges, recentRegressions, sortedChanges } = await import('./changes.js');
          const { format, options, results } = await analyse(a);
          const failing = recentRegressions(sortedChanges(results), newest);
          process.stdout.write(renderChanges(results, format, options, failing));
          if (format === 'table' || format === 'markdown')
            process.stdout.write(
              failing.length
                ? `gate: ${failing.length} regression${failing.length === 1 ? '' : 's'} among the newest ${newest} runs: ${failing.map((c) => `${c.metric} at ${c.subject}`).join('; ')}\n`
                : `gate: no regression among the newest ${newest} runs\n`,
            );
          setExit(a['fail-on-regression'] === true && failing.length > 0 ? 1 : 0);
        },
      )
      .demandCommand(1, 'name a history command: list, add, changes, gate'),
  );
