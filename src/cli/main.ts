/**
 * The `cowbench` command line (yargs): the core commands, one module each, plus the plugins the
 * caller passes (bin/cowbench.js passes the bench's). Every error is one line on stderr and an
 * exit code; a command's handler sets process.exitCode.
 */
import yargs from 'yargs';
import { environment } from '../env.js';
import { parseFailure, refuseRepeatedFlags } from '../argv.js';
import { cliError, CowbenchError } from '../errors.js';
import { afterStdout, writeStderr, writeStdout, type WriteOutcome } from '../stdout.js';
import { calibrateCommand } from './calibrate.js';
import { cleanCommand } from './clean.js';
import { compatCommand } from './compat.js';
import { probeCommand } from './probe.js';
import { runCommand } from './run.js';
import { vmCommand } from './vm.js';
import type { CliPlugin } from './plugin.js';

export type { CliPlugin };

/** The core commands, in help order. */
export const coreCommands: readonly CliPlugin[] = [
  cleanCommand,
  runCommand,
  probeCommand,
  compatCommand,
  calibrateCommand,
  vmCommand,
];

/** Thrown once the command line parsed, in parse-only mode. */
class ParsedOnly extends Error {}

/** Runs the CLI; resolves with the exit code. */
export async function main(argv: string[], plugins: CliPlugin[] = []): Promise<number> {
  process.exitCode = undefined;
  // An array option takes one value per flag: `--threshold K=5 BASE NEW` keeps BASE and NEW.
  let parser = yargs(argv)
    .scriptName('cowbench')
    .usage('$0 <command> [options]')
    .parserConfiguration({ 'greedy-arrays': false });
  for (const add of [...coreCommands, ...plugins]) parser = add(parser);
  // The README's examples: `cowbench` is ./bin/cowbench.js in a checkout.
  parser = parser
    .example('$0 run --backend uffd', 'one verified snapshot of a 256 MiB region under live random writers')
    .example('$0 run --backend mprotect --size 1G --rate 2000 --json', 'the result object')
    .example('$0 run --backend uffd --runs 5 --out /dev/null', 'repeated runs: mean ± σ, min … max')
    .example('$0 probe', 'which kernel features this machine has, tested by behaviour')
    .epilogue('In a checkout, cowbench is ./bin/cowbench.js (npm link puts it on the PATH).')
    .option('quiet', {
      alias: 'q',
      type: 'boolean',
      global: true,
      default: false,
      describe:
        'no progress or informational lines on stderr; results, warnings, errors and --json unchanged',
    })
    // Help and --version return here (not process.exit) so a failed write of them is an exit code.
    .exitProcess(false)
    .demandCommand(1, 'name a command: run, probe, compat, bench, report, compare, calibrate, clean, vm')
    .strict()
    .completion('completion', 'print a bash/zsh completion script (cowbench completion >> ~/.bashrc)')
    .help()
    .version(environment().cowbench_version)
    // yargs passes itself as the middleware's second argument (missing from its types).
    .middleware(refuseRepeatedFlags as unknown as (a: Record<string, unknown>) => void, true)
    .fail((msg, err) => {
      throw parseFailure(msg, err, argv);
    });
  // COWBENCH_PARSE_ONLY=1 (the docs test): the command, its flags and their arity are checked as
  // for a real run, then nothing runs. Middleware runs after yargs' validation, before the handler.
  if (process.env['COWBENCH_PARSE_ONLY'] === '1')
    parser = parser.middleware(() => {
      throw new ParsedOnly('parsed');
    });
  // yargs prints help and --version through console.log, which drops write errors: route it
  // through writeStdout so `run --help > /dev/full` fails like any result that cannot be written.
  const log = console.log;
  let unwritten: WriteOutcome | undefined;
  console.log = (...parts: unknown[]) => {
    const printed = writeStdout(parts.map(String).join(' ') + '\n');
    if (!printed.ok && printed.code !== 'EPIPE') unwritten ??= printed;
  };
  try {
    await parser.parseAsync();
    if (unwritten) return afterStdout(unwritten, Number(process.exitCode ?? 0));
    return Number(process.exitCode ?? 0);
  } catch (thrown) {
    if (thrown instanceof ParsedOnly) return 0;
    // A refused option names its flag here, its key in the library.
    const e = cliError(thrown);
    const err = e instanceof CowbenchError ? e : CowbenchError.fromNative(e);
    if (err.code === 'EINTERNAL') {
      writeStderr(`cowbench: internal error: ${(e as Error)?.stack ?? String(e)}\n`);
      return 1;
    }
    writeStderr(`cowbench: ${err.message}\n`);
    return err.exitCode;
  } finally {
    console.log = log;
  }
}
