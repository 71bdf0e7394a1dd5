/** C7: which moment each backend's verified image shows: pages newer than the requested point. */
import { backendColor, num, rows, str, type Machine, severalMachines } from './data.js';
import { WIDTH, type ChartDef } from './chart.js';

export const c7Consistency: ChartDef = {
  id: 'c7-consistency',
  claims: ['C7'],
  suite: 'consistency',
  title: 'Pages in the verified image newer than at the requested (start) point',
  build(machines: Machine[]) {
    const bars = machines.flatMap((m) =>
      rows(m, 'consistency').map((r) => ({
        machine: m.label,
        backend: str(r, 'backend'),
        point: str(r, 'consistency_point'),
        pages: num(r, 'pages_differing_from_start') ?? 0,
        // null: the image verified against the start state itself (nothing newer by construction).
        label:
          num(r, 'pages_differing_from_start') === null
            ? `verified = the start state (${str(r, 'consistency_point')})`
            : `${(num(r, 'pages_differing_from_start') ?? 0).toLocaleString('en-US')} pages newer (${str(r, 'consistency_point')})`,
      })),
    );
    if (bars.length === 0) return { missing: 'no consistency suite in these results' };
    const y = { field: 'backend', type: 'nominal' as const, title: null, sort: null };
    const yOffset = severalMachines(bars) ? { yOffset: { field: 'machine', type: 'nominal' as const } } : {};
    return {
      spec: {
        width: WIDTH - 140,
        height: { step: 28 },
        title: {
          text: this.title,
          subtitle: 'unthrottled writers; 0 = the image is the state at the arm, as requested',
        },
        data: { values: bars },
        layer: [
          {
            mark: { type: 'bar', height: { band: 0.6 } },
            encoding: {
              y,
              ...yOffset,
              x: { field: 'pages', type: 'quantitative', title: 'pages differing from the start state' },
              color: backendColor(bars),
            },
          },
          {
            mark: { type: 'text', align: 'left', dx: 4 },
            encoding: {
              y,
              ...yOffset,
              x: { field: 'pages', type: 'quantitative' },
              text: { field: 'label' },
            },
          },
        ],
      },
    };
  },
};
