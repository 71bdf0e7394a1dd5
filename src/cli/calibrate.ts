/** `cowbench calibrate`: memcpy, sink and page-fault figures of this machine. */
import { withValues } from '../argv.js';
import path from 'node:path';
import { CowbenchError, UsageError } from '../errors.js';
import { native } from '../native.js';
import { checkOutput } from '../output.js';
import { PAGE_SIZE } from '../page.js';
import { parseSize } from '../units.js';
import { handleSignals } from '../signals.js';
import { removeOwnTemporaries } from '../clean.js';
import type { CliPlugin } from './plugin.js';
import { quantity } from '../format.js';

export const calibrateCommand: CliPlugin = (y) =>
  y.command(
    'calibrate',
    'measure memcpy bandwidth, sink bandwidth and a plain page-fault cost on this machine',
    withValues((y) =>
      y
        .option('size', { type: 'string', default: '1G', describe: 'bytes written for the sink bandwidth' })
        .option('dir', { type: 'string', default: '.', describe: 'directory for the sink bandwidth file' })
        .option('json', { type: 'boolean', default: false }),
    ),
    async (args) => {
      const bytes = parseSize('--size', args.size);
      if (bytes === 0 || bytes % PAGE_SIZE !== 0)
        throw new UsageError('--size', 'must be a non-zero multiple of 4 KiB');
      checkOutput(path.join(String(args.dir), 'calibrate.img'), true, '--dir');
      // The native measurement cannot stop midway: a signal removes its temporary and exits.
      const signals = handleSignals({
        immediate: true,
        onForcedExit: () => removeOwnTemporaries(path.join(String(args.dir), 'calibrate.img')),
      });
      const c = await native
        .calibrate(bytes, String(args.dir))
        .catch((e: unknown) => {
          throw CowbenchError.fromNative(e);
        })
        .finally(() => signals.dispose());
      const out = {
        memcpy_MBps: c.memcpy_Bps / 1e6,
        page_fault_ns: c.page_fault_ns,
        sink_MBps: c.sink_Bps / 1e6,
        sink_bytes: c.sink_bytes,
      };
      process.stdout.write(
        args.json
          ? JSON.stringify(out) + '\n'
          : `memcpy ${quantity(out.memcpy_MBps, 'MB/s')}, sink ${quantity(out.sink_MBps, 'MB/s')}, page fault ${quantity(out.page_fault_ns, 'ns')}\n`,
      );
    },
  );
