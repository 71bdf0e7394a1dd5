#!/usr/bin/env node
import { benchCommands } from '../dist/bench/commands.js';
import { main } from '../dist/src/cli/main.js';
import { runEntry } from '../dist/src/cli/entry.js';

// `cowbench probe | head`: a closed pipe ends output quietly, not with a stack trace.
process.stdout.on('error', (err) => {
  if (err.code === 'EPIPE') process.exit(process.exitCode ?? 0);
  throw err;
});

runEntry(() => main(process.argv.slice(2), [benchCommands]));
