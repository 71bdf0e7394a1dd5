#!/usr/bin/env node
import { benchCommands } from '../dist/bench/commands/index.js';
import { main } from '../dist/src/cli/main.js';
import { runEntry } from '../dist/src/cli/entry.js';
import { onStdoutError } from '../dist/src/stdout.js';

// `cowbench probe | head` ends quietly; `> /dev/full` with one line on stderr, not a stack trace.
process.stdout.on('error', onStdoutError);

runEntry(() => main(process.argv.slice(2), [benchCommands]));
