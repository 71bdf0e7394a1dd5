/** Targets b and d: arm pause vs region size per backend (and with THP). */
import { backendColor, GiB, num, rows, str, type Machine } from './data.js';
import { WIDTH, type ChartDef } from './chart.js';

export const scalePause: ChartDef = {
  id: 'scale-pause',
  claims: ['target b', 'target g'],
  suite: 'scale',
  title: 'Arm pause (writers held) vs region size',
  build(machines: Machine[]) {
    const points = machines.flatMap((m) =>
      rows(m, 'scale')
        .filter((r) => num(r, 'pause_us_median') !== null)
        .map((r) => ({
          machine: m.label,
          backend: str(r, 'backend'),
          pages: r['thp'] === true ? '2 MiB THP' : '4 KiB',
          series: `${str(r, 'backend')} ${r['thp'] === true ? 'THP' : '4K'} ${m.label}`,
          gib: (num(r, 'region_bytes') ?? 0) / GiB,
          ms: (num(r, 'pause_us_median') ?? 0) / 1000,
          min: (num(r, 'pause_us_min') ?? num(r, 'pause_us_median') ?? 0) / 1000,
          max: (num(r, 'pause_us_max') ?? num(r, 'pause_us_median') ?? 0) / 1000,
        })),
    );
    if (points.length === 0) return { missing: 'no scale suite in these results' };
    const x = {
      field: 'gib',
      type: 'quantitative' as const,
      title: 'region (GiB)',
      scale: { type: 'log' as const, base: 2 },
      axis: { values: [0.25, 0.5, 1, 2, 4, 8, 16], format: '~g' },
    };
    const y = {
      field: 'ms',
      type: 'quantitative' as const,
      title: 'arm pause (ms, median)',
      scale: { type: 'log' as const },
    };
    return {
      spec: {
        width: WIDTH,
        height: 280,
        title: {
          text: this.title,
          subtitle:
            'log scales; 65,536 random writes/s; median, min…max; mprotect > 1 GiB: ENOMEM; 16 GiB: image to /dev/null',
        },
        data: { values: points },
        layer: [
          {
            mark: { type: 'line' },
            encoding: { x, y, color: backendColor(points), detail: { field: 'series' } },
          },
          {
            mark: { type: 'rule' },
            encoding: {
              x,
              y: { field: 'min', type: 'quantitative' },
              y2: { field: 'max' },
              color: backendColor(points),
            },
          },
          {
            mark: { type: 'point', filled: true, size: 60 },
            encoding: {
              x,
              y,
              color: backendColor(points),
              shape: { field: 'pages', type: 'nominal', title: 'pages' },
              tooltip: [
                { field: 'backend' },
                { field: 'gib' },
                { field: 'pages' },
                { field: 'ms' },
                { field: 'machine' },
              ],
            },
          },
        ],
      },
    };
  },
};
