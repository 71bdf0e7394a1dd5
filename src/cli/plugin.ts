/** What the CLI's command modules and its plugins (the bench's) are: one call that adds commands. */
import type { Argv } from 'yargs';

/** A set of commands registered on the parser: one module per command (src/cli/, bench/commands/). */
export type CliPlugin = (y: Argv) => Argv;
