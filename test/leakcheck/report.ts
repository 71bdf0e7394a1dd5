/**
 * Reads the AddressSanitizer / LeakSanitizer logs of a leak-check run (scripts/leakcheck.sh);
 * exit 1 on a direct leak with a frame in cowbench's native code, or on any memory error.
 *
 *   node dist/test/leakcheck/report.js LOG_DIR
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';

interface LeakTotals {
  files: number;
  ownDirect: number;
  ownIndirect: number;
  ownBytes: number;
  otherLeaks: number;
  memoryErrors: number;
}

/** Reads LeakSanitizer/ASan logs; a leak is cowbench's when a frame is in its native code. */
export function report(dir: string): number {
  const totals: LeakTotals = {
    files: 0,
    ownDirect: 0,
    ownIndirect: 0,
    ownBytes: 0,
    otherLeaks: 0,
    memoryErrors: 0,
  };
  const own = /cowbench\.node|\/native\/|cowbench::/;
  for (const name of readdirSync(dir).sort()) {
    const text = readFileSync(path.join(dir, name), 'utf8');
    totals.files++;
    if (/ERROR: AddressSanitizer/.test(text)) {
      totals.memoryErrors++;
      process.stdout.write(`${name}: memory error:\n${text}\n`);
    }
    // One leak record: a header line, then its stack up to the blank line.
    for (const block of text.split(/\n\s*\n/)) {
      const m = /(Direct|Indirect) leak of (\d+) byte\(s\) in (\d+) object/.exec(block);
      if (!m) continue;
      if (!own.test(block)) {
        totals.otherLeaks++;
        continue;
      }
      if (m[1] === 'Direct') totals.ownDirect++;
      else totals.ownIndirect++;
      totals.ownBytes += Number(m[2]);
      process.stdout.write(`${name}:\n${block.trim()}\n\n`);
    }
  }
  process.stdout.write(
    `leakcheck: ${totals.files} sanitizer report(s); cowbench leaks: ${totals.ownDirect} direct, ${totals.ownIndirect} indirect ` +
      `(${totals.ownBytes} bytes); leaks without a cowbench frame (node/V8, ignored): ${totals.otherLeaks}; memory errors: ${totals.memoryErrors}\n`,
  );
  return totals.ownDirect > 0 || totals.memoryErrors > 0 ? 1 : 0;
}

process.exitCode = report(process.argv[2] ?? '.');
