/** C1: mapping count vs region size per backend; vm.max_map_count drawn, the ENOMEM points marked. */
import { backendColor, GiB, machineDash, num, rows, str, type Machine } from './data.js';
import { WIDTH, type ChartDef } from './chart.js';

export const c1Vma: ChartDef = {
  id: 'c1-vma',
  claims: ['C1'],
  suite: 'vma',
  title: 'Memory mappings at the peak of the snapshot vs region size',
  build(machines: Machine[]) {
    const points = machines.flatMap((m) => {
      const limit = num({ v: m.results.env['vm_max_map_count'] as number }, 'v');
      return rows(m, 'vma').map((r) => {
        const enomem = r['enomem'] === true;
        return {
          machine: m.label,
          backend: str(r, 'backend'),
          region_gib: (num(r, 'region_bytes') ?? 0) / GiB,
          // A run that failed with ENOMEM reached vm.max_map_count (the kernel's refusal says so).
          mappings: num(r, 'vma_count_peak') ?? (enomem ? limit : null),
          outcome: enomem ? 'ENOMEM' : (str(r, 'outcome') ?? ''),
        };
      });
    });
    if (points.length === 0) return { missing: 'no vma suite in these results' };
    const limits = machines.map((m) => ({
      machine: m.label,
      limit: Number(m.results.env['vm_max_map_count']),
      label: `vm.max_map_count ${Number(m.results.env['vm_max_map_count']).toLocaleString('en-US')}`,
    }));
    const x = {
      field: 'region_gib',
      type: 'quantitative' as const,
      title: 'region (GiB)',
      scale: { type: 'log' as const, base: 2 },
      axis: { values: [0.25, 0.5, 1, 2, 4, 8, 16], format: '~g' },
    };
    return {
      spec: {
        width: WIDTH,
        height: 280,
        title: { text: this.title, subtitle: 'log scales; × = mprotect failed with ENOMEM at the limit' },
        layer: [
          {
            data: { values: limits },
            mark: { type: 'rule', color: '#c00', strokeDash: [6, 3] },
            encoding: { y: { field: 'limit', type: 'quantitative' } },
          },
          {
            data: { values: limits },
            mark: { type: 'text', color: '#c00', align: 'left', dx: 4, dy: -7, x: 0 },
            encoding: { y: { field: 'limit', type: 'quantitative' }, text: { field: 'label' } },
          },
          {
            data: { values: points.filter((p) => p.mappings !== null) },
            layer: [
              {
                mark: { type: 'line', point: false },
                encoding: {
                  x,
                  y: {
                    field: 'mappings',
                    type: 'quantitative',
                    title: 'memory mappings (VMAs), peak',
                    scale: { type: 'log' },
                  },
                  color: backendColor(),
                  detail: { field: 'machine' },
                  ...machineDash(machines),
                },
              },
              {
                mark: { type: 'point', filled: true, size: 70 },
                encoding: {
                  x,
                  y: { field: 'mappings', type: 'quantitative' },
                  color: backendColor(),
                  shape: {
                    field: 'outcome',
                    type: 'nominal',
                    title: 'outcome',
                    scale: {
                      domain: ['verified', 'ENOMEM', 'failed'],
                      range: ['circle', 'cross', 'triangle'],
                    },
                  },
                  tooltip: [
                    { field: 'backend' },
                    { field: 'region_gib' },
                    { field: 'mappings' },
                    { field: 'outcome' },
                  ],
                },
              },
              {
                transform: [{ filter: "datum.outcome === 'ENOMEM'" }],
                mark: { type: 'text', dy: 14, fontWeight: 'bold', color: '#c00' },
                encoding: { x, y: { field: 'mappings', type: 'quantitative' }, text: { value: 'ENOMEM' } },
              },
            ],
          },
        ],
      },
    };
  },
};
