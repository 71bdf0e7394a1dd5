/** C2: which backends serve kernel-side (read(2), io_uring, process_vm_writev) and KVM writers. */
import { runCowbenchChild, type ClaimVerdict, type Row, type Suite } from '../runner.js';

interface CompatCell {
  writer: string;
  status: 'ok' | 'incompatible' | 'unsupported' | 'failed';
  detail: string;
  failed_writes?: number;
  exit_reasons?: Record<string, number>;
}
interface CompatReport {
  rows: { label: string; backend: string; cells: CompatCell[] }[];
}

const KERNEL_WRITERS = ['read', 'io_uring', 'pvm'];

export const compatSuite: Suite = {
  name: 'compat',
  claim: 'C2',
  description: 'the backend × writer-kind matrix: ok (verified), incompatible (with evidence) or unsupported',
  plannedRuns: () => 1,
  async run(ctx) {
    const r = await runCowbenchChild(['compat', '--json', '--backends', ctx.backends.join(',')]);
    ctx.tick('compat matrix');
    if (r.code !== 0 && r.stdout.trim() === '')
      return { rows: [], skipped: `compat failed: ${r.stderr.trim().split('\n').pop()}` };
    const report = JSON.parse(r.stdout) as CompatReport;
    const rows: Row[] = [];
    for (const row of report.rows)
      for (const cell of row.cells)
        rows.push({
          backend: row.label,
          writer: cell.writer,
          status: cell.status,
          failed_writes: cell.failed_writes ?? null,
          kvm_mmio_exits: cell.exit_reasons?.['mmio'] ?? null,
          detail: cell.detail,
        });
    const cell = (backend: string, writer: string) =>
      rows.find((x) => x.backend === backend && x.writer === writer);
    const kernelCells = (backend: string) =>
      KERNEL_WRITERS.map((w) => cell(backend, w)).filter((x) => x !== undefined);
    const mprotectKernel = kernelCells('mprotect');
    const uffdKernel = kernelCells('uffd');
    const verdicts: ClaimVerdict[] = [];
    if (mprotectKernel.length > 0 && uffdKernel.length > 0) {
      const sigsegvMissed = mprotectKernel.filter((x) => x.status === 'incompatible');
      const uffdServed = [...uffdKernel, cell('uffd', 'kvm')].filter((x) => x?.status === 'ok');
      verdicts.push({
        claim: 'C2',
        verdict:
          sigsegvMissed.length === mprotectKernel.length &&
          uffdServed.length === uffdKernel.length + (cell('uffd', 'kvm') ? 1 : 0)
            ? 'confirmed'
            : sigsegvMissed.length > 0
              ? 'partly confirmed'
              : 'refuted',
        evidence:
          `mprotect: ${mprotectKernel.map((x) => `${x.writer} ${x.status} (${x.failed_writes ?? 0} EFAULT writes)`).join(', ')}` +
          (cell('mprotect', 'kvm')
            ? `, kvm ${cell('mprotect', 'kvm')!.status} (${cell('mprotect', 'kvm')!.kvm_mmio_exits ?? 0} MMIO exits)`
            : '') +
          `; uffd: ${[...uffdKernel, cell('uffd', 'kvm')]
            .filter((x) => x)
            .map((x) => `${x!.writer} ${x!.status}`)
            .join(', ')}`,
      });
    }
    return { rows, verdicts };
  },
};
