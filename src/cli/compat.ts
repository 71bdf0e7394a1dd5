/** `cowbench compat`: which backend can snapshot memory written by which writer kind. */
import { withValues } from '../argv.js';
import { renderCompat, runCompat, WRITER_LABELS } from '../compat.js';
import { UsageError } from '../errors.js';
import { WRITER_KINDS } from '../options.js';
import { backendNames } from '../registry.js';
import { PAGE_SIZE } from '../page.js';
import { parseSize } from '../units.js';
import type { CliPlugin } from './plugin.js';

interface CompatFlags {
  json?: boolean;
  quiet?: boolean;
  size?: unknown;
  backends?: unknown;
  writers?: unknown;
}

function listFlag(flag: string, value: unknown, known: readonly string[]): string[] | undefined {
  if (value === undefined) return undefined;
  const items = String(value)
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  for (const item of items)
    if (!known.includes(item)) throw new UsageError(flag, `'${item}' is not one of: ${known.join(', ')}`);
  if (items.length === 0) throw new UsageError(flag, 'is empty');
  return items;
}

/** Exit 0 when every cell reached a verdict (ok, incompatible, unsupported); 1 if a cell broke. */
async function compatFromFlags(flags: CompatFlags): Promise<number> {
  const sizeBytes = parseSize('--size', flags.size ?? '64M');
  if (sizeBytes === 0 || sizeBytes % PAGE_SIZE !== 0)
    throw new UsageError('--size', 'must be a non-zero multiple of 4 KiB');
  const live = !flags.json && !flags.quiet && process.stderr.isTTY === true;
  const result = await runCompat({
    sizeBytes,
    backends: listFlag('--backends', flags.backends, backendNames),
    writers: listFlag('--writers', flags.writers, WRITER_KINDS),
    onCell: (row, cell) => {
      if (live)
        process.stderr.write(
          `  ${row.label} × ${WRITER_LABELS[cell.writer] ?? cell.writer}: ${cell.status}\n`,
        );
    },
  });
  process.stdout.write(flags.json ? JSON.stringify(result, null, 2) + '\n' : renderCompat(result));
  return result.rows.some((r) => r.cells.some((c) => c.status === 'failed')) ? 1 : 0;
}

/** Runs the CLI; resolves with the exit code. */
export const compatCommand: CliPlugin = (y) =>
  y.command(
    'compat',
    'which backend can snapshot memory written by which writer kind (cpu, kernel, kvm)',
    withValues((y) =>
      y
        .option('json', { type: 'boolean', default: false, describe: 'print the matrix as JSON' })
        .option('size', { type: 'string', default: '64M', describe: 'region size of each cell' })
        .option('backends', {
          type: 'string',
          describe: `rows to run, comma-separated [default: all: ${backendNames.join(', ')}]`,
        })
        .option('writers', {
          type: 'string',
          describe: `columns to run, comma-separated [default: all: ${WRITER_KINDS.join(', ')}]`,
        }),
    ),
    async (args) => {
      process.exitCode = await compatFromFlags(args as CompatFlags);
    },
  );
