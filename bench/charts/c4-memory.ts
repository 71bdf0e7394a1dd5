/** C4 (and target e): extra memory vs write rate, forkcow against uffd with its buffer bound drawn. */
import { backendColor, MiB, machineShape, num, rows, str, type Machine } from './data.js';
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
        .map((r) => {
          const buffer = num(r, 'buffer_bytes');
          const rate = str(r, 'rate') ?? '';
          const backend = str(r, 'backend');
          return {
            machine: m.label,
            backend,
            rate: rate === 'max' ? 'unthrottled' : `${Number(rate).toLocaleString('en-US')} pages/s`,
            config: buffer === null ? String(backend) : `${backend}, buffer ${buffer / MiB} MiB`,
            buffer_mib: buffer,
            extra: (num(r, 'extra_memory_peak_bytes_median') ?? 0) / MiB,
            min:
              (num(r, 'extra_memory_peak_bytes_min') ?? num(r, 'extra_memory_peak_bytes_median') ?? 0) / MiB,
            max:
              (num(r, 'extra_memory_peak_bytes_max') ?? num(r, 'extra_memory_peak_bytes_median') ?? 0) / MiB,
            // target e's bound: the buffer + 1 MiB of bookkeeping.
            bound: buffer === null ? null : buffer / MiB + 1,
            region: (num(r, 'region_bytes') ?? 0) / MiB,
          };
        }),
    );
    if (points.length === 0) return { missing: 'no memory suite in these results' };
    const regions = [...new Set(points.map((p) => p.region))].map((region) => ({
      region,
      label: `region ${region >= 1024 ? `${region / 1024} GiB` : `${region} MiB`} (fork's worst case: 100%)`,
    }));
    const x = {
      field: 'rate',
      type: 'nominal' as const,
      title: 'write rate (2 writer threads, random pages)',
      sort: 'descending' as const,
      axis: { labelAngle: 0 },
    };
    const xOffset = { xOffset: { field: 'config', type: 'nominal' as const, sort: null } };
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
          subtitle:
            'log scale; dots: median with min…max; dashes: uffd buffer + 1 MiB (the bound of target e)',
        },
        layer: [
          {
            data: { values: regions },
            mark: { type: 'rule', color: '#888', strokeDash: [4, 4] },
            encoding: { y: { field: 'region', type: 'quantitative' } },
          },
          {
            data: { values: regions },
            mark: { type: 'text', color: '#666', align: 'left', x: 4, dy: -7 },
            encoding: { y: { field: 'region', type: 'quantitative' }, text: { field: 'label' } },
          },
          {
            data: { values: points },
            layer: [
              {
                transform: [{ filter: 'datum.bound !== null' }],
                mark: { type: 'tick', color: '#1f77b4', thickness: 2, strokeDash: [3, 2], size: 14 },
                encoding: { x, ...xOffset, y: { field: 'bound', type: 'quantitative' } },
              },
              {
                mark: { type: 'rule' },
                encoding: {
                  x,
                  ...xOffset,
                  y: { ...y, field: 'min' },
                  y2: { field: 'max' },
                  color: backendColor(),
                },
              },
              {
                mark: { type: 'point', filled: true, size: 70 },
                encoding: {
                  x,
                  ...xOffset,
                  y,
                  color: backendColor(),
                  ...machineShape(machines),
                  tooltip: [
                    { field: 'config' },
                    { field: 'rate' },
                    { field: 'extra', title: 'MiB' },
                    { field: 'bound' },
                  ],
                },
              },
              {
                mark: { type: 'text', dx: 0, dy: -12, fontSize: 9, color: '#444' },
                encoding: {
                  x,
                  ...xOffset,
                  y,
                  text: {
                    condition: { test: 'datum.buffer_mib !== null', field: 'buffer_mib' },
                    value: 'fork',
                  },
                },
              },
            ],
          },
        ],
      },
      note: 'Labels above the dots: the uffd buffer size in MiB.',
    };
  },
};
