/** C2: the backend × writer-kind matrix (ok, incompatible with its evidence, unsupported). */
import { num, rows, str, type Machine, severalMachines } from './data.js';
import type { ChartDef } from './chart.js';

export const c2Compat: ChartDef = {
  id: 'c2-compat',
  claims: ['C2'],
  suite: 'compat',
  title:
    'Which backend sees which writer: CPU stores, kernel writes (read, io_uring, process_vm_writev), a KVM vCPU',
  build(machines: Machine[]) {
    const cells = machines.flatMap((m) =>
      rows(m, 'compat').map((r) => {
        const status = str(r, 'status') ?? '';
        const failed = num(r, 'failed_writes') ?? 0;
        const mmio = num(r, 'kvm_mmio_exits');
        return {
          machine: m.label,
          backend: str(r, 'backend'),
          writer: str(r, 'writer') === 'pvm' ? 'process_vm_writev' : str(r, 'writer'),
          status,
          label:
            status === 'incompatible'
              ? mmio
                ? `${mmio} MMIO exits`
                : `${failed} EFAULT`
              : status === 'ok'
                ? 'verified'
                : status,
        };
      }),
    );
    if (cells.length === 0) return { missing: 'no compat suite in these results' };
    const layer = [
      {
        mark: { type: 'rect' as const, stroke: 'white', strokeWidth: 2 },
        encoding: {
          x: {
            field: 'writer',
            type: 'nominal' as const,
            title: 'writer',
            sort: null,
            axis: { labelAngle: 0 },
          },
          y: { field: 'backend', type: 'nominal' as const, title: null, sort: null },
          color: {
            field: 'status',
            type: 'nominal' as const,
            title: 'status',
            scale: { domain: ['ok', 'incompatible', 'unsupported'], range: ['#8fd19e', '#f4a3a3', '#ddd'] },
          },
          tooltip: [{ field: 'backend' }, { field: 'writer' }, { field: 'status' }, { field: 'label' }],
        },
      },
      {
        mark: { type: 'text' as const, fontSize: 11 },
        encoding: {
          x: { field: 'writer', type: 'nominal' as const, sort: null },
          y: { field: 'backend', type: 'nominal' as const, sort: null },
          text: { field: 'label' },
        },
      },
    ];
    return {
      spec: severalMachines(cells)
        ? {
            title: this.title,
            data: { values: cells },
            facet: { column: { field: 'machine', title: null } },
            spec: { width: 110 * 5, height: 200, layer },
          }
        : { title: this.title, data: { values: cells }, width: 110 * 5, height: 200, layer },
    };
  },
};
