/** C3 (and target c): fault round trip per backend and delivery variant, median with min…max. */
import { backendColor, num, rows, str, type Machine, severalMachines } from './data.js';
import { WIDTH, type ChartDef } from './chart.js';

export const c3Fault: ChartDef = {
  id: 'c3-fault',
  claims: ['C3', 'target c'],
  suite: 'latency',
  title: 'Write-fault round trip per backend and delivery variant',
  build(machines: Machine[]) {
    const points = machines.flatMap((m) =>
      rows(m, 'latency')
        .filter((r) => r['part'] === 'fault' && num(r, 'fault_us_median') !== null)
        .map((r) => ({
          machine: m.label,
          backend: str(r, 'backend'),
          variant: str(r, 'mode'),
          median: num(r, 'fault_us_median'),
          min: num(r, 'fault_us_min') ?? num(r, 'fault_us_median'),
          max: num(r, 'fault_us_max') ?? num(r, 'fault_us_median'),
          n: num(r, 'fault_us_n'),
        })),
    );
    if (points.length === 0) return { missing: 'no fault-latency rows (latency suite) in these results' };
    const y = {
      field: 'variant',
      type: 'nominal' as const,
      title: null,
      sort: { field: 'median', op: 'min' as const, order: 'ascending' as const },
      axis: { labelLimit: 320 },
    };
    const yOffset = severalMachines(points)
      ? { yOffset: { field: 'machine', type: 'nominal' as const } }
      : {};
    const shape = severalMachines(points)
      ? { shape: { field: 'machine', type: 'nominal' as const, title: 'machine' } }
      : {};
    return {
      spec: {
        width: WIDTH - 140,
        height: { step: severalMachines(points) ? 24 : 17 },
        title: {
          text: this.title,
          subtitle: 'µs per fault, median of the trials with min…max; fresh process per trial',
        },
        data: { values: points },
        layer: [
          {
            mark: { type: 'rule', strokeWidth: 2 },
            encoding: {
              y,
              ...yOffset,
              x: {
                field: 'min',
                type: 'quantitative',
                title: 'fault round trip (µs)',
                scale: { zero: true },
              },
              x2: { field: 'max' },
              color: backendColor(points),
            },
          },
          {
            mark: { type: 'point', filled: true, size: 60 },
            encoding: {
              y,
              ...yOffset,
              x: { field: 'median', type: 'quantitative' },
              color: backendColor(points),
              ...shape,
              tooltip: [
                { field: 'variant' },
                { field: 'median', title: 'median µs' },
                { field: 'min' },
                { field: 'max' },
                { field: 'n' },
                { field: 'machine' },
              ],
            },
          },
        ],
      },
    };
  },
};
