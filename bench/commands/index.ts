/**
 * The bench's commands, registered on the CLI through one call (`benchCommands(y)`), one module
 * each like src/cli/: `bench`, `report`, `compare`, and the hidden per-trial child commands the
 * suites spawn (fault-latency, scan-trial, scan-micro). The CLI core never imports the harness
 * otherwise.
 *
 * A handler's exit code goes to process.exitCode (the CLI's main returns it when its own
 * commands set none); errors are thrown and become one line with their exit code.
 */
import type { CliPlugin } from '../../src/cli/plugin.js';
import { historyCommands } from '../history/command.js';
import { benchCommand } from './bench.js';
import { compareCliCommand } from './compare.js';
import { faultLatencyCommand } from './fault-latency.js';
import { reportCliCommand } from './report.js';
import { scanMicroCommand } from './scan-micro.js';
import { scanTrialCommand } from './scan-trial.js';

/** In help order; the hidden children last. */
const commands: readonly CliPlugin[] = [
  benchCommand,
  reportCliCommand,
  compareCliCommand,
  historyCommands,
  scanTrialCommand,
  scanMicroCommand,
  faultLatencyCommand,
];

export const benchCommands: CliPlugin = (y) => commands.reduce((parser, add) => add(parser), y);
