/** Target 4a: uffd snapshot of an idle region to a file vs a plain sequential write of it, same run. */
import { execFileSync } from 'node:child_process';
import {
  GiB,
  MiB,
  runCowbenchChild,
  runSnapshotChild,
  scratch,
  spread,
  summarize,
  type Suite,
} from '../runner.js';
import { judgeRatio, smallerThanNamed } from '../verdicts.js';

export const bandwidthSuite: Suite = {
  name: 'bandwidth',
  claim: 'target a',
  description: 'uffd snapshot of an idle region to a file vs plain sequential write of the same bytes',
  plannedRuns: (c) => c.repeat * 2,
  async run(ctx) {
    if (!ctx.backends.includes('uffd')) return { rows: [], skipped: 'uffd backend not selected' };
    const size = ctx.quick ? 256 * MiB : GiB;
    const plain: number[] = [];
    const uffd: number[] = [];
    const image = scratch(ctx, 'bandwidth.img');
    for (let i = 0; i < ctx.repeat; i++) {
      // Alternate the order and flush dirty pages first, so neither side inherits writeback.
      const order = i % 2 === 0 ? ['plain', 'uffd'] : ['uffd', 'plain'];
      for (const which of order) {
        execFileSync('sync');
        if (which === 'plain') {
          const r = await runCowbenchChild([
            'calibrate',
            '--json',
            '--size',
            String(size),
            '--dir',
            ctx.scratchDir,
          ]);
          ctx.tick(`plain write #${i + 1}`);
          if (r.code === 0) plain.push((JSON.parse(r.stdout) as { sink_MBps: number }).sink_MBps);
        } else {
          const o = await runSnapshotChild(
            ctx,
            {
              backend: 'uffd',
              sizeBytes: size,
              writerKinds: ['cpu'],
              ratePagesPerSec: 1,
              out: image,
              force: true,
            },
            `uffd idle #${i + 1}`,
          );
          if (o.ok && o.result) uffd.push(o.result.throughput_MBps);
        }
      }
    }
    const p = summarize(plain);
    const u = summarize(uffd);
    const ratio = u.median / p.median;
    return {
      rows: [
        {
          region_bytes: size,
          ...spread('plain_write_MBps', p, 1),
          ...spread('uffd_snapshot_MBps', u, 1),
          ratio: Number(ratio.toFixed(3)),
          target: '>= 0.8',
        },
      ],
      verdicts: [
        judgeRatio({
          claim: 'target a',
          what: 'uffd idle snapshot MB/s ÷ plain sequential write MB/s',
          den: plain,
          num: uffd,
          bound: 0.8,
          good: 'above',
          kind: 'target',
          smallerThanNamed: smallerThanNamed(size, GiB),
          context: `${(size / GiB).toFixed(2)} GiB: uffd ${u.median.toFixed(0)} MB/s (${u.min.toFixed(0)}–${u.max.toFixed(0)}) vs plain ${p.median.toFixed(0)} MB/s (${p.min.toFixed(0)}–${p.max.toFixed(0)})`,
        }),
      ],
      findings: [
        `uffd idle snapshot ${u.median.toFixed(0)} MB/s vs plain write ${p.median.toFixed(0)} MB/s: ratio ${ratio.toFixed(2)} of medians (target >= 0.8; the verdict reads its CI)`,
      ],
      raw: { plain, uffd },
    };
  },
};
