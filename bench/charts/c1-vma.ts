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
      const limit = Number(m.results.env['vm_max_map_count']);
      return rows(m, 'vma').map((r) => {
        const enomem = r['enomem'] === true;
        return {
          machine: m.label,
          backend: str(r, 'backend'),
          region_gib: (num(r, 'region_bytes') ?? 0) / GiB,
          // A run that failed with ENOMEM reached vm.max_map_count (the kernel's refusal says so).
          mappings: num(r, 'vma_count_peak') ?? (enomem && Number.isFinite(limit) ? limit : null),
          outcome: enomem ? 'ENOMEM' : (str(r, 'outcome') ?? ''),
        };
      });
    });
    const drawn = points.filter((p) => p.mappings !== null);
    if (drawn.length === 0) return { missing: 'no vma suite in these results' };
    const limits = machines
      .filter((m) => rows(m, 'vma').length > 0)
      .map((m) => ({
        machine: m.label,
        limit: Number(m.results.env['vm_max_map_count']),
        label: `vm.max_map_count = ${Number(m.results.env['vm_max_map_count']).toLocaleString('en-US')}`,
      }));
    const x = {
      field: 'region_gib',
      type: 'quantitative' as const,
      title: 'region (GiB)',
      scale: { type: 'log' as const, base: 2, padding: 16 },
      axis: { values: [0.25, 0.5, 1, 2, 4, 8, 16], format: '~g' },
    };
    const y = {
      field: 'mappings',
      type: 'quantitative' as const,
      title: 'memory mappings (VMAs), peak',
      scale: { type: 'log' as const, domain: [100, 200000], nice: false },
    };
    return {
      spec: {
        width: WIDTH,
        height: 280,
        title: {
          text: this.title,
          subtitle:
            'log scales; unthrottled random writers; ✕ = the snapshot failed with ENOMEM at the limit',
        },
        layer: [
          {
            data: { values: limits },
            mark: { type: 'rule', color: '#c00', strokeDash: [6, 3] },
            encoding: { y: { field: 'limit', type: 'quantitative' } },
          },
          {
            data: { values: limits },
            mark: { type: 'text', color: '#c00', align: 'left', dx: 4, dy: -8, x: 0 },
            encoding: { y: { field: 'limit', type: 'quantitative' }, text: { field: 'label' } },
          },
          {
            data: { values: drawn },
            layer: [
              {
                // Lines join the measured peaks only; a failed run has none.
                transform: [{ filter: "datum.outcome !== 'ENOMEM'" }],
                mark: { type: 'line' },
                encoding: {
                  x,
                  y,
                  color: backendColor(drawn),
                  detail: { field: 'machine' },
                  ...machineDash(drawn),
                },
              },
              {
                transform: [{ filter: "datum.outcome !== 'ENOMEM'" }],
                mark: { type: 'point', filled: true, size: 60 },
                encoding: {
                  x,
                  y,
                  color: backendColor(drawn),
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
                mark: { type: 'point', shape: 'cross', angle: 45, filled: true, size: 220, color: '#c00' },
                encoding: {
                  x,
                  y,
                  tooltip: [{ field: 'backend' }, { field: 'region_gib' }, { field: 'outcome' }],
                },
              },
              {
                transform: [{ filter: "datum.outcome === 'ENOMEM'" }],
                mark: { type: 'text', dy: 18, fontWeight: 'bold', color: '#c00', fontSize: 11 },
                encoding: { x, y, text: { value: 'ENOMEM' } },
              },
            ],
          },
        ],
      },
    };
  },
};
