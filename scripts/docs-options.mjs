// Rewrites README.md's backend options table from the backends' declarations (src/backends/*.ts),
// and its error-code table from ERROR_CODES (src/errors.ts).
// `--check`: exit 1 if the README is out of date instead of writing it.
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { backendOptionsMarkdown, readmeWithBackendOptions } from '../dist/src/options.js';
import { readmeWithErrorCodes } from '../dist/src/errors.js';

const readme = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'README.md');
const before = readFileSync(readme, 'utf8');
const after = readmeWithErrorCodes(readmeWithBackendOptions(before, backendOptionsMarkdown()));
if (process.argv.includes('--check')) {
  if (after !== before) {
    process.stderr.write(
      'README.md: the backend options or error-code table is out of date; run npm run docs:options\n',
    );
    process.exit(1);
  }
} else if (after !== before) {
  writeFileSync(readme, after);
  process.stdout.write('README.md: backend options and error-code tables updated\n');
}
