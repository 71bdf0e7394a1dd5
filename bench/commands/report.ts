/** `cowbench report <dirs..>`: REPORT.md, charts and report.html from bench results. */
import type { CliPlugin } from '../../src/cli/plugin.js';
import { withValues } from '../../src/argv.js';
import { reportCommand } from '../html.js';

const setExit = (code: number) => {
  process.exitCode = code;
};

export const reportCliCommand: CliPlugin = (y) =>
  y.command(
    'report <dirs..>',
    'write REPORT.md, charts/*.svg and report.html from bench results directories (several: claims × machines)',
    withValues((a) =>
      a.positional('dirs', { type: 'string', array: true, demandOption: true }).option('out', {
        type: 'string',
        describe: 'output directory [default: the one DIR; for several, report-<names> beside the first]',
      }),
    ),
    async (args) => {
      process.stdout.write(
        await reportCommand(
          (args.dirs as string[]).map(String),
          typeof args.out === 'string' ? args.out : null,
        ),
      );
      setExit(0);
    },
  );
