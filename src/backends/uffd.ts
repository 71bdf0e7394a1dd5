import type { CowBackend } from '../backend.js';
import { probeRow } from '../probe.js';

const MIB2 = 2 * 1024 * 1024;

export const uffdBackend: CowBackend = {
  name: 'uffd',
  description: 'userfaultfd write-protect: faults block in the kernel until a handler copies the page',
  capabilities: { consistencyPoint: 'start', granularities: [4096, MIB2] },
  probe(options) {
    const uffd = probeRow('userfaultfd');
    if (!uffd?.ok) return { ok: false, reason: uffd?.detail ?? 'userfaultfd unavailable' };
    const wp = probeRow('uffd.wp');
    if (!wp?.ok) return { ok: false, reason: 'the kernel lacks UFFD_FEATURE_PAGEFAULT_FLAG_WP (Linux 5.7+)' };
    const behaviour = probeRow('uffd.wp_behaviour');
    if (!behaviour?.ok) return { ok: false, reason: behaviour?.detail ?? 'write-protect does not work' };
    if (options.delivery === 'sigbus' && !probeRow('uffd.sigbus')?.ok)
      return {
        ok: false,
        reason: 'the kernel lacks UFFD_FEATURE_SIGBUS (Linux 4.14+) for --delivery sigbus',
      };
    return { ok: true };
  },
  validate(options, region) {
    if (options.granularityBytes === MIB2 && !region.hugepage)
      return '--granularity: 2m needs a hugepage region (add --hugepage)';
    return undefined;
  },
};
