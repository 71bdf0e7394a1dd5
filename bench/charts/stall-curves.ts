/** Write-stall percentile curves per backend, before vs during the snapshot (HdrHistogram-style axis). */
import { backendColor, num, rows, str, type Machine, severalMachines } from './data.js';
import { WIDTH, type ChartDef } from './chart.js';
import { tracesOf } from './traces-of.js';

/** x = log10(1 / (1 − p)): 50% → 0.3, 90% → 1, 99% → 2, 99.9% → 3, 99.99% → 4. */
const nines = (percentile: number) => -Math.log10(1 - percentile / 100);

export const stallCurves: ChartDef = {
  id: 'stall-curves',
  claims: ['C8', 'target d'],
  suite: 'latency',
  title: 'Write stall by percentile, before and during the snapshot',
  build(machines: Machine[]) {
    type P = { machine: string; backend: string; phase: string; percentile: number; x: number; us: number };
    const points: P[] = [];
    let fromRows = false;
    for (const m of machines) {
      const traces = tracesOf(m);
      if (Object.keys(traces).length > 0) {
        for (const [backend, t] of Object.entries(traces))
          for (const [phase, curve] of [
            ['before', t.stall_curve_before],
            ['during', t.stall_curve_during],
          ] as const)
            for (const [p, us] of curve ?? [])
              if (p <= 99.99 && us > 0)
                points.push({ machine: m.label, backend, phase, percentile: p, x: nines(p), us });
        continue;
      }
      // Older results keep only p50, p99 and p99.9 during the snapshot: draw those.
      for (const r of rows(m, 'latency').filter(
        (r) => r['part'] === 'run' && / stall$/.test(String(r['mode'])),
      )) {
        fromRows = true;
        for (const [p, key] of [
          [50, 'stall_p50_us_median'],
          [99, 'stall_p99_us_median'],
          [99.9, 'stall_p999_us_median'],
        ] as const) {
          const us = num(r, key);
          if (us !== null && us > 0)
            points.push({
              machine: m.label,
              backend: str(r, 'backend') ?? '',
              phase: 'during',
              percentile: p,
              x: nines(p),
              us,
            });
        }
      }
    }
    if (points.length === 0)
      return { missing: 'no whole-snapshot stall runs (latency suite) in these results' };
    const x = {
      field: 'x',
      type: 'quantitative' as const,
      title: 'percentile (log scale of 1 / (1 − p))',
      scale: { domain: [0.3, 4] },
      axis: {
        values: [nines(50), nines(90), 2, 3, 4],
        labelExpr: "format(100 - 100 * pow(10, -datum.value), '.4~f') + '%'",
        grid: true,
      },
    };
    const y = {
      field: 'us',
      type: 'quantitative' as const,
      title: 'write latency (µs)',
      scale: { type: 'log' as const },
    };
    const dash = {
      field: 'phase',
      type: 'nominal' as const,
      title: 'phase',
      scale: {
        domain: ['before', 'during'],
        range: [
          [4, 3],
          [1, 0],
        ],
      },
    };
    return {
      spec: {
        width: WIDTH,
        height: 300,
        title: {
          text: this.title,
          subtitle: '512 MiB (quick: 128 MiB), 2 unthrottled writers; one representative run per backend',
        },
        data: { values: points },
        layer: [
          {
            mark: { type: 'line' },
            encoding: { x, y, color: backendColor(points), strokeDash: dash, detail: { field: 'machine' } },
          },
          {
            mark: { type: 'point', filled: true, size: 24 },
            encoding: {
              x,
              y,
              color: backendColor(points),
              ...(severalMachines(points)
                ? { shape: { field: 'machine', type: 'nominal' as const, title: 'machine' } }
                : {}),
              tooltip: [
                { field: 'backend' },
                { field: 'phase' },
                { field: 'percentile' },
                { field: 'us', title: 'µs' },
              ],
            },
          },
        ],
      },
      ...(fromRows
        ? {
            note: 'Drawn from p50, p99 and p99.9 during the snapshot only: these results predate the recorded percentile curves (before and during).',
          }
        : {}),
    };
  },
};
