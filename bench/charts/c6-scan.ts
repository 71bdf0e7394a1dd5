/** C6: dirty-tracking pass cost vs dirty fraction per engine and region size (log scales). */
import { num, rows, str, type Machine, severalMachines } from './data.js';
import { WIDTH, type ChartDef } from './chart.js';

export const c6Scan: ChartDef = {
  id: 'c6-scan',
  claims: ['C6'],
  suite: 'scan',
  title: 'Cost of one dirty-tracking pass vs the fraction of the region written',
  build(machines: Machine[]) {
    const points = machines.flatMap((m) =>
      rows(m, 'scan')
        .filter((r) => r['case'] === 'pass' && num(r, 'pass_ms_median') !== null)
        .map((r) => ({
          machine: m.label,
          engine: str(r, 'engine'),
          region: str(r, 'region'),
          // 0% written has no place on a log axis: drawn at 0.01% and labelled "0".
          dirty: Math.max(num(r, 'dirty_pct') ?? 0, 0.01),
          dirty_pct: num(r, 'dirty_pct'),
          ms: num(r, 'pass_ms_median'),
          min: num(r, 'pass_ms_min') ?? num(r, 'pass_ms_median'),
          max: num(r, 'pass_ms_max') ?? num(r, 'pass_ms_median'),
          series: `${str(r, 'engine')} ${str(r, 'region')} ${m.label}`,
        })),
    );
    if (points.length === 0)
      return { missing: 'no PAGEMAP_SCAN / clear-refs passes (scan suite) in these results' };
    const x = {
      field: 'dirty',
      type: 'quantitative' as const,
      title: 'pages written since the last pass (% of the region)',
      scale: { type: 'log' as const },
      axis: { values: [0.01, 0.1, 1, 10, 50], labelExpr: "datum.value <= 0.01 ? '0' : datum.value + '%'" },
    };
    const y = {
      field: 'ms',
      type: 'quantitative' as const,
      title: 'one pass (ms, median)',
      scale: { type: 'log' as const },
    };
    const color = {
      field: 'engine',
      type: 'nominal' as const,
      title: 'engine',
      scale: {
        domain: ['wp-async', 'clear-refs', 'clear-refs-unchecked'],
        range: ['#1f77b4', '#9467bd', '#c5b0d5'],
      },
    };
    const dash = {
      field: 'region',
      type: 'nominal' as const,
      title: 'region',
      scale: {
        domain: ['256M', '1G', '4G'],
        range: [
          [2, 2],
          [6, 3],
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
          subtitle: 'log scales; wp-async = userfaultfd async WP + PAGEMAP_SCAN; clear-refs = soft-dirty',
        },
        data: { values: points },
        layer: [
          {
            mark: { type: 'line' },
            encoding: { x, y, color, strokeDash: dash, detail: { field: 'series' } },
          },
          {
            mark: { type: 'rule' },
            encoding: { x, y: { field: 'min', type: 'quantitative' }, y2: { field: 'max' }, color },
          },
          {
            mark: { type: 'point', filled: true, size: 40 },
            encoding: {
              x,
              y,
              color,
              ...(severalMachines(points) ? { shape: { field: 'machine', type: 'nominal' as const } } : {}),
              tooltip: [
                { field: 'engine' },
                { field: 'region' },
                { field: 'dirty_pct', title: '% written' },
                { field: 'ms' },
              ],
            },
          },
        ],
      },
    };
  },
};
