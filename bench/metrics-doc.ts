/**
 * Writes docs/metrics.md from the metric registry (bench/metrics.ts):
 *   node dist/bench/metrics-doc.js          # rewrite the file
 *   node dist/bench/metrics-doc.js --check  # exit 1 when the committed file differs
 */
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { renderMetricsDoc } from './metrics.js';

// dist/bench/metrics-doc.js → the package root (no native addon needed to write docs).
const METRICS_DOC = path.resolve(
  path.dirname(fileURLToPath(import.meta.url)),
  '..',
  '..',
  'docs',
  'metrics.md',
);

const want = renderMetricsDoc();
if (process.argv.includes('--check')) {
  let have = '';
  try {
    have = readFileSync(METRICS_DOC, 'utf8');
  } catch {
    /* missing: differs */
  }
  if (have !== want) {
    process.stderr.write(`${METRICS_DOC} is out of date: run node dist/bench/metrics-doc.js\n`);
    process.exitCode = 1;
  }
} else {
  writeFileSync(METRICS_DOC, want);
  process.stdout.write(`${METRICS_DOC}\n`);
}
