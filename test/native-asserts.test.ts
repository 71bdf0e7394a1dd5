/**
 * Issue 22: the relational rules of the options ("2m needs --hugepage", --buffer against the copy
 * granule) are the TypeScript preflight's, with its user-facing message. Natively they are
 * internal EINVAL asserts, in one place (common/fault_path.cc, common/copy_buffer.cc): a caller
 * that skips the preflight (the native module used directly) gets an "internal:" EINVAL from
 * prepare, and the region is left writable.
 */
import { native, type NativeSessionOptions } from '../src/native.js';
import { ownOptionsOf, probeFor } from '../src/run-options.js';
import { configurations, testOptions } from './helpers.js';
import { testIfSupported } from './skip.js';

/** Every configuration with the copy-before-write fault path, and its backend's own options. */
const deliveries = configurations({ capability: 'copyBeforeWrite' }).map((c) => ({
  ...c,
  own: ownOptionsOf(testOptions(c.options)),
}));

const broken: { rule: string; hugepage: boolean; options: Partial<NativeSessionOptions> }[] = [
  {
    rule: '2m granules over a region without hugepages',
    hugepage: false,
    options: { granularityBytes: 2 << 20 },
  },
  { rule: 'a granularity other than 4k or 2m', hugepage: false, options: { granularityBytes: 8192 } },
  { rule: 'a buffer smaller than one granule', hugepage: false, options: { bufferBytes: 1024 } },
];

for (const d of deliveries) {
  for (const b of broken)
    testIfSupported(probeFor(d.options)).serial(
      `${d.label}: ${b.rule}, past the preflight, is an internal EINVAL from prepare`,
      async (t) => {
        const region = new native.Region({ bytes: 4 << 20, hugepage: b.hugepage, fill: 'all' });
        await region.init();
        const workload = new native.Workload(region);
        const sink = new native.Sink('/dev/null');
        const options: NativeSessionOptions = {
          bufferBytes: 1 << 20,
          bufferPolicy: 'block',
          granularityBytes: 4096,
          ...b.options,
        };
        const snapshot = new native.Snapshot(d.backend, region, workload, sink, options, { ...d.own });
        try {
          await t.throwsAsync(snapshot.prepare(), { code: 'EINVAL', message: /^internal: / });
        } finally {
          await snapshot.release();
          const writable = native.regionWritable(region);
          t.true(writable.ok, writable.detail);
          region.release();
        }
      },
    );
}
