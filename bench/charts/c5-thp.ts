/** C5: bytes copied per write on a THP region, uffd at 4K and 2M against fork. */
import { backendColor, num, rows, severalMachines, str, type Machine } from './data.js';
import { bytes } from '../../src/format.js';
import { WIDTH, type ChartDef } from './chart.js';

export const c5Thp: ChartDef = {
  id: 'c5-thp',
  claims: ['C5'],
  suite: 'thp',
  title: 'Bytes copied per write on a transparent-huge-page region',
  build(machines: Machine[]) {
    const points = machines.flatMap((m) =>
      rows(m, 'thp')
        .filter((r) => num(r, 'copied_bytes_per_write_median') !== null)
        .map((r) => ({
          machine: m.label,
          backend: str(r, 'backend'),
          config: `${str(r, 'backend')} ${str(r, 'granularity')}`,
          bytes: num(r, 'copied_bytes_per_write_median'),
          label: bytes(num(r, 'copied_bytes_per_write_median') ?? NaN),
          min: num(r, 'copied_bytes_per_write_min') ?? num(r, 'copied_bytes_per_write_median'),
          max: num(r, 'copied_bytes_per_write_max') ?? num(r, 'copied_bytes_per_write_median'),
        })),
    );
    if (points.length === 0) return { missing: 'no thp suite in these results' };
    const refs = [
      { bytes: 4096, label: '4 KiB page' },
      { bytes: 2097152, label: '2 MiB huge page' },
    ];
    const x = { field: 'config', type: 'nominal' as const, title: null, sort: null, axis: { labelAngle: 0 } };
    const y = {
      field: 'bytes',
      type: 'quantitative' as const,
      title: 'bytes copied per write (median)',
      scale: { type: 'log' as const, domain: [512, 4194304] },
      axis: {
        values: [1024, 4096, 16384, 65536, 262144, 1048576, 4194304],
        labelExpr: "datum.value >= 1048576 ? datum.value / 1048576 + ' MiB' : datum.value / 1024 + ' KiB'",
      },
    };
    const xOffset = severalMachines(points)
      ? { xOffset: { field: 'machine', type: 'nominal' as const } }
      : {};
    return {
      spec: {
        width: WIDTH - 80,
        height: 280,
        title: {
          text: this.title,
          subtitle: 'log scale, median with min…max; grey lines: one 4 KiB page and one 2 MiB huge page',
        },
        layer: [
          {
            data: { values: refs },
            mark: { type: 'rule', color: '#999', strokeDash: [4, 4] },
            encoding: { y: { field: 'bytes', type: 'quantitative' } },
          },
          {
            data: { values: refs },
            mark: { type: 'text', color: '#666', align: 'left', x: 4, dy: -7 },
            encoding: { y: { field: 'bytes', type: 'quantitative' }, text: { field: 'label' } },
          },
          {
            data: { values: points },
            layer: [
              {
                mark: { type: 'bar', width: { band: 0.5 }, opacity: 0.85 },
                encoding: { x, ...xOffset, y, y2: { datum: 512 }, color: backendColor(points) },
              },
              {
                mark: { type: 'rule' },
                encoding: { x, ...xOffset, y: { field: 'min', type: 'quantitative' }, y2: { field: 'max' } },
              },
              {
                mark: { type: 'text', align: 'left', dx: 6, dy: -8 },
                encoding: {
                  x,
                  ...xOffset,
                  y: { field: 'bytes', type: 'quantitative' },
                  text: { field: 'label' },
                },
              },
            ],
          },
        ],
      },
    };
  },
};
