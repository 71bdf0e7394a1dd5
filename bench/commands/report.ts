/** `cowbench report [dirs..] [--db DB]`: REPORT.md, charts and report.html from bench results, and the history. */
import type { CliPlugin } from '../../src/cli/plugin.js';
import { withValues } from '../../src/argv.js';
import { UsageError } from '../../src/errors.js';
import { CSS, reportCommand, reportDir } from '../html.js';

const setExit = (code: number) => {
  process.exitCode = code;
};

export const reportCliCommand: CliPlugin = (y) =>
  y.command(
    'report [dirs..]',
    'write REPORT.md, charts/*.svg and report.html from bench results directories (several: claims × machines); --db adds the history',
    withValues((a) =>
      a
        .positional('dirs', { type: 'string', array: true })
        .option('out', {
          type: 'string',
          describe:
            'output directory [default: the one DIR; for several, report-<names> beside the first; history only: results/history-report]',
        })
        .option('db', {
          type: 'string',
          describe:
            'add a history section: trend charts and change points of this history database (as history --db)',
        }),
    ),
    async (args) => {
      const dirs = ((args.dirs as string[] | undefined) ?? []).map(String);
      const db = typeof args.db === 'string' ? args.db : null;
      if (dirs.length === 0 && db === null)
        throw new UsageError('report', 'name results directories, or --db');
      const out = typeof args.out === 'string' ? args.out : null;
      if (dirs.length > 0) process.stdout.write(await reportCommand(dirs, out));
      if (db !== null) {
        const { writeHistoryReport } = await import('../history/report.js');
        const files = await writeHistoryReport(
          out ?? (dirs.length ? reportDir(dirs) : 'results/history-report'),
          db,
          CSS,
        );
        process.stdout.write(
          `history: ${files.slice(0, 2).join(', ')} and ${files.length - 2} trend charts\n`,
        );
      }
      setExit(0);
    },
  );
