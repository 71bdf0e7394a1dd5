#!/usr/bin/env node
import { main } from '../dist/src/cli.js';
import { onStdoutError } from '../dist/src/stdout.js';

// `cowbench probe | head` ends quietly; `> /dev/full` with one line on stderr, not a stack trace.
process.stdout.on('error', onStdoutError);

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err) => {
    process.stderr.write(`cowbench: internal error: ${err && err.stack ? err.stack : err}\n`);
    process.exitCode = 1;
  },
);
