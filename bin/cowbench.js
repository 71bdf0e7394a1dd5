#!/usr/bin/env node
import { main } from '../dist/src/cli.js';
import { runEntry } from '../dist/src/cli/entry.js';

// `cowbench probe | head`: a closed pipe ends output quietly, not with a stack trace.
process.stdout.on('error', (err) => {
  if (err.code === 'EPIPE') process.exit(process.exitCode ?? 0);
  throw err;
});

runEntry(() => main(process.argv.slice(2)));
