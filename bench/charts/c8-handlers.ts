/** C8: writer throughput during a uffd snapshot with 1, 2 and 4 handler threads. */
import { num, rows, type Machine, severalMachines } from './data.js';
import { WIDTH, type ChartDef } from './chart.js';

export const c8Handlers: ChartDef = {
  id: 'c8-handlers',
  claims: ['C8'],
  suite: 'latency',
  title: 'Writer throughput during a uffd snapshot vs handler threads',
  build(machines: Machine[]) {
    const points = machines.flatMap((m) =>
      rows(m, 'latency')
        .filter((r) => r['part'] === 'run' && /^uffd \d+ handlers$/.test(String(r['mode'])))
        .map((r) => ({
          machine: m.label,
          handlers: num(r, 'handlers'),
          ratio: num(r, 'writer_throughput_ratio_median'),
          min: num(r, 'writer_throughput_ratio_min') ?? num(r, 'writer_throughput_ratio_median'),
          max: num(r, 'writer_throughput_ratio_max') ?? num(r, 'writer_throughput_ratio_median'),
          p99: num(r, 'stall_p99_us_median'),
        }))
        .filter((p) => p.ratio !== null),
    );
    if (points.length === 0)
      return { missing: 'no uffd handler-count runs (latency suite) in these results' };
    const x = {
      field: 'handlers',
      type: 'ordinal' as const,
      title: 'uffd handler threads',
      axis: { labelAngle: 0 },
    };
    const xOffset = severalMachines(points)
      ? { xOffset: { field: 'machine', type: 'nominal' as const } }
      : {};
    const color = severalMachines(points)
      ? { color: { field: 'machine', type: 'nominal' as const, title: 'machine' } }
      : { color: { value: '#1f77b4' } };
    return {
      spec: {
        width: WIDTH - 140,
        height: 260,
        title: {
          text: this.title,
          subtitle: 'writes/s during ÷ before, unthrottled writers; median with min…max',
        },
        data: { values: points },
        layer: [
          {
            mark: { type: 'rule', strokeWidth: 2 },
            encoding: {
              x,
              ...xOffset,
              y: {
                field: 'min',
                type: 'quantitative',
                title: 'writer throughput during ÷ before',
                scale: { zero: true },
              },
              y2: { field: 'max' },
              ...color,
            },
          },
          {
            mark: { type: 'point', filled: true, size: 80 },
            encoding: {
              x,
              ...xOffset,
              y: { field: 'ratio', type: 'quantitative' },
              ...color,
              tooltip: [
                { field: 'handlers' },
                { field: 'ratio' },
                { field: 'min' },
                { field: 'max' },
                { field: 'p99', title: 'stall p99 µs' },
              ],
            },
          },
        ],
      },
    };
  },
};
