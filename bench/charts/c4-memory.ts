/** C4 (and target e): extra memory vs write rate, forkcow against uffd with its buffer bound drawn. */
import { backendColor, MiB, machineShape, num, rows, severalMachines, str, type Machine } from './data.js';
import { bytes } from '../../src/format.js';
import { WIDTH, type ChartDef } from './chart.js';

export const c4Memory: ChartDef = {
  id: 'c4-memory',
  claims: ['C4', 'target e'],
  suite: 'memory',
  title: 'Extra memory during the snapshot vs write rate: fork against uffd with its buffer',
  build(machines: Machine[]) {
    const points = machines.flatMap((m) =>
      rows(m, 'memory')
        .filter((r) => num(r, 'extra_memory_peak_bytes_median') !== null)
        .map((r, i) => {
          const buffer = num(r, 'buffer_bytes');
          const rate = str(r, 'rate') ?? '';
          const backend = str(r, 'backend');
          const rateLabel = rate === 'max' ? 'unthrottled' : `${Number(rate).toLocaleString('en-US')}/s`;
          const median = num(r, 'extra_memory_peak_bytes_median') ?? 0;
          return {
            machine: m.label,
            backend,
            order: i,
            // Axis labels in lines: backend | buffer | rate.
            config: `${backend === 'forkcow' ? 'fork' : backend}|${buffer === null ? 'no buffer' : `${bytes(buffer)} buffer`}|${rateLabel}`,
            extra: median / MiB,
            min: (num(r, 'extra_memory_peak_bytes_min') ?? median) / MiB,
            max: (num(r, 'extra_memory_peak_bytes_max') ?? median) / MiB,
            label: bytes(median),
            // target e's bound: the buffer + 1 MiB of bookkeeping.
            bound: buffer === null ? null : buffer / MiB + 1,
            region: (num(r, 'region_bytes') ?? 0) / MiB,
          };
        }),
    );
    if (points.length === 0) return { missing: 'no memory suite in these results' };
    const regions = [...new Set(points.map((p) => p.region))].map((region) => ({
      region,
      label: `the region, ${bytes(region * MiB)}: fork's worst case (+100%)`,
    }));
    const x = {
      field: 'config',
      type: 'nominal' as const,
      title: 'backend, uffd buffer, write rate (2 writer threads, random pages)',
      sort: { field: 'order', op: 'min' as const },
      axis: { labelAngle: 0, labelExpr: "split(datum.label, '|')", labelFontSize: 10 },
    };
    const xOffset = severalMachines(points)
      ? { xOffset: { field: 'machine', type: 'nominal' as const } }
      : {};
    const y = {
      field: 'extra',
      type: 'quantitative' as const,
      title: 'extra memory, peak (MiB)',
      scale: { type: 'log' as const },
    };
    return {
      spec: {
        width: WIDTH,
        height: 300,
        title: {
          text: this.title,
          subtitle: 'log scale; dots: median with min…max; blue bars: uffd buffer + 1 MiB (target e’s bound)',
        },
        layer: [
          {
            data: { values: regions },
            mark: { type: 'rule', color: '#888', strokeDash: [4, 4] },
            encoding: { y: { field: 'region', type: 'quantitative' } },
          },
          {
            data: { values: regions },
            mark: { type: 'text', color: '#555', align: 'right', x: WIDTH - 4, dy: -8 },
            encoding: { y: { field: 'region', type: 'quantitative' }, text: { field: 'label' } },
          },
          {
            data: { values: points },
            layer: [
              {
                transform: [{ filter: 'datum.bound !== null' }],
                mark: { type: 'tick', color: '#1f77b4', thickness: 2, size: 28, strokeDash: [4, 2] },
                encoding: { x, ...xOffset, y: { field: 'bound', type: 'quantitative' } },
              },
              {
                mark: { type: 'rule' },
                encoding: {
                  x,
                  ...xOffset,
                  y: { ...y, field: 'min' },
                  y2: { field: 'max' },
                  color: backendColor(points),
                },
              },
              {
                mark: { type: 'point', filled: true, size: 70 },
                encoding: {
                  x,
                  ...xOffset,
                  y,
                  color: backendColor(points),
                  ...machineShape(points),
                  tooltip: [
                    { field: 'config' },
                    { field: 'label', title: 'extra memory' },
                    { field: 'bound', title: 'bound MiB' },
                  ],
                },
              },
              {
                mark: { type: 'text', align: 'left', dx: 7, fontSize: 10, color: '#333' },
                encoding: { x, ...xOffset, y, text: { field: 'label' } },
              },
            ],
          },
        ],
      },
    };
  },
};
