#!/usr/bin/env node
import { main } from '../dist/src/cli.js';

// `cowbench probe | head`: a closed pipe ends output quietly, not with a stack trace.
process.stdout.on('error', (err) => {
  if (err.code === 'EPIPE') process.exit(process.exitCode ?? 0);
  throw err;
});

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err) => {
    process.stderr.write(`cowbench: internal error: ${err && err.stack ? err.stack : err}\n`);
    process.exitCode = 1;
  },
);
