/** The one figure per claim and machine that a claims × machines matrix cell shows. */
import { GiB, num, rows, str, type Machine, type Row } from './data.js';
import { bytes } from '../../src/format.js';

const find = (rs: Row[], mode: string) => rs.find((r) => r['mode'] === mode);
const f = (x: number | null, digits = 2) => (x === null ? '–' : String(Number(x.toFixed(digits))));

const HEADLINES: Record<string, (m: Machine) => string | null> = {
  C1(m) {
    const rs = rows(m, 'vma');
    const first = rs
      .filter((r) => r['backend'] === 'mprotect' && r['enomem'] === true)
      .map((r) => num(r, 'region_bytes') ?? Infinity)
      .sort((a, b) => a - b)[0];
    const uffdPeak = Math.max(
      ...rs.filter((r) => r['backend'] === 'uffd').map((r) => num(r, 'vma_count_peak') ?? 0),
    );
    if (rs.length === 0) return null;
    return `mprotect ENOMEM ${first === undefined ? 'never' : `from ${bytes(first)}`}; uffd ≤ ${uffdPeak} mappings`;
  },
  C2(m) {
    const rs = rows(m, 'compat').filter((r) => r['writer'] !== 'cpu');
    if (rs.length === 0) return null;
    const of = (b: string, status: string) =>
      `${rs.filter((r) => r['backend'] === b && r['status'] === status).length}/${rs.filter((r) => r['backend'] === b).length}`;
    return `kernel/KVM writers: mprotect ${of('mprotect', 'incompatible')} incompatible, uffd ${of('uffd', 'ok')} ok`;
  },
  C3(m) {
    const rs = rows(m, 'latency');
    const thread = find(rs, 'uffd thread (poll, any cpu)');
    const sigbus = find(rs, 'uffd SIGBUS');
    if (!thread) return null;
    return `uffd thread ${f(num(thread, 'fault_us_median'))} µs = ${f(num(thread, 'ratio_to_mprotect_median'))}× mprotect; SIGBUS ${f(sigbus ? num(sigbus, 'ratio_to_mprotect_median') : null)}×`;
  },
  C4(m) {
    const rs = rows(m, 'memory');
    const fork = Math.max(
      ...rs.filter((r) => r['backend'] === 'forkcow').map((r) => num(r, 'extra_fraction_of_region') ?? 0),
    );
    const uffd = Math.max(
      ...rs.filter((r) => r['backend'] === 'uffd').map((r) => num(r, 'extra_memory_peak_bytes_median') ?? 0),
    );
    if (rs.length === 0) return null;
    return `fork +${Math.round(fork * 100)}% of the region; uffd ≤ ${bytes(uffd)}`;
  },
  C5(m) {
    const rs = rows(m, 'thp');
    if (rs.length === 0) return null;
    return (
      'copied per write: ' +
      rs
        .map(
          (r) =>
            `${str(r, 'backend')} ${str(r, 'granularity')} ${bytes(num(r, 'copied_bytes_per_write_median') ?? NaN)}`,
        )
        .join(', ')
    );
  },
  C6(m) {
    const rs = rows(m, 'scan').filter((r) => r['case'] === 'pass');
    const big = [...new Set(rs.map((r) => str(r, 'region')))].pop();
    const at = (engine: RegExp) =>
      rs.find((r) => engine.test(String(r['engine'])) && r['region'] === big && r['dirty_pct'] === 0.1);
    const wp = at(/^wp-async$/);
    const cr = at(/^clear-refs/);
    // A kernel with one engine (6.1: soft-dirty, no PAGEMAP_SCAN): that engine's pass, and whether
    // it reported exactly the written pages.
    const one = wp ?? cr;
    if (one && !(wp && cr))
      return `${String(one['engine'])} only (the other engine is missing here): ${big}, 0.1% written: ${f(num(one, 'pass_ms_median'), 2)} ms per pass, ${one['exact'] === true ? 'exactly the written pages' : 'not exact'}`;
    if (!wp || !cr) return null;
    return `${big}, 0.1% written: ${String(cr['engine'])} ${f(num(cr, 'pass_ms_median'), 1)} ms vs PAGEMAP_SCAN ${f(num(wp, 'pass_ms_median'), 2)} ms`;
  },
  C7(m) {
    const rs = rows(m, 'consistency');
    const sd = rs.find((r) => r['backend'] === 'softdirty');
    if (!sd) return null;
    return `softdirty image: ${(num(sd, 'pages_differing_from_start') ?? 0).toLocaleString('en-US')} pages newer than the start (point: ${str(sd, 'consistency_point')})`;
  },
  C8(m) {
    const rs = rows(m, 'latency');
    const v = [1, 2, 4].map((h) => find(rs, `uffd ${h} handlers`));
    if (v.every((r) => !r)) return null;
    return `writers ÷ before with 1/2/4 handlers: ${v.map((r) => f(r ? num(r, 'writer_throughput_ratio_median') : null, 3)).join(' / ')}`;
  },
  'target b'(m) {
    const rs = rows(m, 'scale').filter((r) => num(r, 'region_bytes') === GiB && r['thp'] === false);
    const u = rs.find((r) => r['backend'] === 'uffd');
    const k = rs.find((r) => r['backend'] === 'forkcow');
    if (!u || !k) return null;
    return `1 GiB pause: uffd ${f((num(u, 'pause_us_median') ?? NaN) / 1000)} ms vs fork ${f((num(k, 'pause_us_median') ?? NaN) / 1000, 1)} ms`;
  },
};

/** The headline of `claim` on `m`: a figure from its rows, else the start of its verdict's evidence. */
export function headline(claim: string, m: Machine, evidence: string | null): string | null {
  const h = HEADLINES[claim]?.(m) ?? null;
  if (h) return h;
  if (!evidence) return null;
  return evidence.length > 90 ? `${evidence.slice(0, 88).replace(/\s+\S*$/, '')} …` : evidence;
}
