/** Target f: the writers' throughput ratio per workload row and fault-around column (issue 23). */
import { num, rows, severalMachines, str, type Machine } from './data.js';
import { bytes } from '../../src/format.js';
import type { ChartDef } from './chart.js';

/** Fixed K in shades of one hue, the default apart, fork in grey. */
const COLUMN_COLOURS: [string, string][] = [
  ['K=0', '#c6dbef'],
  ['K=16', '#6baed6'],
  ['K=64', '#2171b5'],
  ['K=512', '#08306b'],
  ['auto', '#e6550d'],
  ['forkcow', '#969696'],
];

export const faultAroundChart: ChartDef = {
  id: 'fault-around',
  claims: ['target f'],
  suite: 'fault-around',
  title: "Writers' throughput during the snapshot ÷ before, per workload and fault-around",
  build(machines: Machine[]) {
    const points = machines.flatMap((m) =>
      rows(m, 'fault-around')
        .filter((r) => num(r, 'writer_throughput_ratio_median') !== null)
        .map((r, i) => {
          const median = num(r, 'writer_throughput_ratio_median')!;
          return {
            machine: m.label,
            order: i,
            // Axis labels in lines: "row 1 (tmpfs)" | "256 MiB" | "unthrottled random".
            part: `${(str(r, 'part') ?? '').split(':')[0]}|${bytes(num(r, 'region_bytes') ?? NaN)}|${str(r, 'workload') ?? ''}`,
            column: str(r, 'column') ?? '',
            columnMachine: `${str(r, 'column') ?? ''}|${m.label}`,
            ratio: median,
            lo: num(r, 'writer_throughput_ratio_lo') ?? median,
            hi: num(r, 'writer_throughput_ratio_hi') ?? median,
            n: num(r, 'writer_throughput_ratio_n'),
          };
        }),
    );
    if (points.length === 0) return { missing: 'no fault-around suite in these results' };
    const present = new Set(points.map((p) => p.column));
    const colours = COLUMN_COLOURS.filter(([c]) => present.has(c));
    const color = {
      field: 'column',
      type: 'nominal' as const,
      title: 'fault-around',
      scale: { domain: colours.map(([c]) => c), range: colours.map(([, c]) => c) },
      sort: colours.map(([c]) => c),
    };
    const x = {
      field: 'part',
      type: 'nominal' as const,
      title: null,
      sort: { field: 'order', op: 'min' as const },
      axis: { labelAngle: 0, labelExpr: "split(datum.label, '|')", labelFontSize: 9, labelLimit: 120 },
    };
    // One bar per column (and per machine when there are several): a shared offset would stack
    // the six columns' bars into one.
    const xOffset = {
      xOffset: severalMachines(points)
        ? { field: 'columnMachine', type: 'nominal' as const }
        : { field: 'column', type: 'nominal' as const, sort: colours.map(([c]) => c) },
    };
    // Intervals from a loaded machine can reach far above 1 (a baseline phase slowed by other
    // load): the axis stops a little above the highest median, and what lies beyond is clipped.
    const top = Math.max(1.1, ...points.map((p) => p.ratio * 1.15));
    const y = {
      field: 'ratio',
      type: 'quantitative' as const,
      title: 'writer throughput ratio (median)',
      scale: { domain: [0, top] },
    };
    const parts = new Set(points.map((p) => p.part)).size;
    return {
      spec: {
        width: Math.max(520, parts * 110),
        height: 300,
        title: {
          text: this.title,
          subtitle:
            'bars: median of n runs; black lines: 95% bootstrap interval of the median (clipped at the top); 1 = the writers kept their rate',
        },
        data: { values: points },
        layer: [
          {
            mark: { type: 'bar' },
            encoding: {
              x,
              ...xOffset,
              y,
              color,
              tooltip: [
                { field: 'part' },
                { field: 'column' },
                { field: 'ratio' },
                { field: 'lo' },
                { field: 'hi' },
                { field: 'n' },
                { field: 'machine' },
              ],
            },
          },
          {
            mark: { type: 'rule', color: '#000', clip: true },
            encoding: {
              x,
              ...xOffset,
              y: { field: 'lo', type: 'quantitative', scale: { domain: [0, top] } },
              y2: { field: 'hi' },
            },
          },
          {
            data: { values: [{ one: 1 }] },
            mark: { type: 'rule', color: '#555', strokeDash: [4, 4] },
            encoding: { y: { field: 'one', type: 'quantitative' } },
          },
        ],
      },
    };
  },
};
