/** Readable tables for report.html: chosen columns (≤ 10), human units, median (min…max) in one cell. */
import { figure } from '../../src/format.js';
import { type Cell, type Row } from './data.js';

/** [column key, heading]; a key names a plain column or the X of X_median/_min/_max. */
type Column = [string, string];

/** The columns key, in a split table, of the rows that have no value in the split column. */
const UNSPLIT = '';

interface TableSpec {
  /** Rows split into one table each by this column's value (e.g. latency's part). */
  splitBy?: string;
  columns: Record<string, Column[]> | Column[];
}

const TABLES: Record<string, TableSpec> = {
  vma: {
    columns: [
      ['backend', 'backend'],
      ['region_bytes', 'region'],
      ['outcome', 'outcome'],
      ['vma_count_peak', 'mappings, peak'],
      ['enomem', 'ENOMEM'],
    ],
  },
  compat: {
    columns: [
      ['backend', 'backend'],
      ['writer', 'writer'],
      ['status', 'status'],
      ['failed_writes', 'failed writes'],
      ['kvm_mmio_exits', 'KVM MMIO exits'],
    ],
  },
  latency: {
    splitBy: 'part',
    columns: {
      fault: [
        ['mode', 'variant'],
        ['backend', 'backend'],
        ['pages', 'faults per trial'],
        ['fault_us', 'round trip µs'],
        ['fault_p99_us', 'p99 µs'],
        ['ratio_to_mprotect', '÷ mprotect'],
        ['ratio_to_mprotect_same_drain', '÷ mprotect, same drain'],
      ],
      run: [
        ['mode', 'run'],
        ['stall_p50_us', 'stall p50 µs'],
        ['stall_p99_us', 'stall p99 µs'],
        ['stall_p999_us', 'stall p99.9 µs'],
        ['faults', 'faults'],
        ['total_ms', 'snapshot ms'],
        ['writer_throughput_ratio', 'writers during ÷ before'],
      ],
    },
  },
  memory: {
    columns: [
      ['backend', 'backend'],
      ['buffer_bytes', 'buffer'],
      ['rate', 'rate'],
      ['extra_memory_peak_bytes', 'extra memory'],
      ['extra_fraction_of_region', 'of region'],
      ['buffer_peak_bytes', 'buffer peak'],
      ['throttled_ms', 'throttled ms'],
      ['stall_p99_us', 'stall p99 µs'],
      ['writer_throughput_ratio', 'writers ÷ before'],
      ['extra_within_buffer_plus_1MiB', '≤ buffer + 1 MiB'],
    ],
  },
  thp: {
    columns: [
      ['backend', 'backend'],
      ['granularity', 'granularity'],
      ['region_bytes', 'region'],
      ['copied_bytes_per_write', 'copied per write'],
      ['stall_p50_us', 'stall p50 µs'],
      ['stall_p99_us', 'stall p99 µs'],
      ['extra_memory_peak_bytes', 'extra memory'],
    ],
  },
  consistency: {
    columns: [
      ['backend', 'backend'],
      ['consistency_point', 'consistency point'],
      ['verified_runs', 'verified runs'],
      ['failed_runs', 'failed runs'],
      ['pages_differing_from_start', 'pages newer than start'],
      ['final_pause_us', 'final pause µs'],
    ],
  },
  scale: {
    columns: [
      ['backend', 'backend'],
      ['region_bytes', 'region'],
      ['thp', 'THP'],
      ['pause_us', 'pause µs'],
      ['total_ms', 'snapshot ms'],
      ['throughput_MBps', 'MB/s'],
      ['writer_throughput_ratio', 'writers ÷ before'],
      ['stall_p99_us', 'stall p99 µs'],
      ['failures', 'failed runs'],
    ],
  },
  bandwidth: {
    columns: [
      ['region_bytes', 'region'],
      ['plain_write_MBps', 'plain write MB/s'],
      ['uffd_snapshot_MBps', 'uffd snapshot MB/s'],
      ['ratio', 'ratio'],
      ['target', 'target'],
      ['met', 'met'],
    ],
  },
  writers: {
    splitBy: 'part',
    columns: {
      [UNSPLIT]: [
        ['writer', 'writer'],
        ['backend', 'backend'],
        ['no_snapshot_p50_us', 'p50 µs, no snapshot'],
        ['stall_p50_us', 'p50 µs, snapshot'],
        ['stall_p99_us', 'p99 µs, snapshot'],
        ['no_snapshot_writes_per_s', 'writes/s, no snapshot'],
        ['snapshot_writes_per_s', 'writes/s, snapshot'],
        ['writer_throughput_ratio', 'ratio'],
        ['wp_faults', 'faults'],
      ],
      'paced kvm guest': [
        ['rate', 'asked, writes/s'],
        ['granularity', 'granule (2m: THP)'],
        ['stall_p50_us', 'p50 µs, snapshot'],
        ['stall_p99_us', 'p99 µs, snapshot'],
        ['no_snapshot_writes_per_s', 'writes/s, no snapshot'],
        ['snapshot_writes_per_s', 'writes/s, snapshot'],
        ['writer_throughput_ratio', 'ratio'],
        ['throughput_MBps', 'image MB/s'],
        ['throttled_ms', 'throttled ms'],
      ],
    },
  },
  scan: {
    splitBy: 'case',
    columns: {
      pass: [
        ['engine', 'engine'],
        ['region', 'region'],
        ['dirty_pct', '% written'],
        ['pass_ms', 'pass ms'],
        ['ns_per_region_page', 'ns per page'],
        ['dirtied_pages', 'pages written'],
        ['reported_pages', 'pages reported'],
        ['exact', 'exact'],
      ],
      micro: [
        ['operation', 'operation'],
        ['op_us', 'µs'],
        ['op_us_p99', 'p99 µs'],
        ['op_rme_pct', '± %'],
      ],
    },
  },
};

/** One value in the unit its column name carries (src/format.ts: the terminal's tables use it too). */
export const formatCell = (key: string, v: Cell | undefined): string => figure(key, v);

/** One cell as text: median (min…max) when the row has the spread, else the value. */
function textOf(r: Row, key: string): { value: string; spread: string | null } {
  if (key in r) return { value: formatCell(key, r[key]), spread: null };
  const med = r[`${key}_median`];
  if (med === undefined) return { value: '–', spread: null };
  const lo = r[`${key}_min`];
  const hi = r[`${key}_max`];
  const m = formatCell(key, med);
  if (typeof lo === 'number' && typeof hi === 'number' && lo !== hi && m !== '–')
    return { value: m, spread: `${formatCell(key, lo)}…${formatCell(key, hi)}` };
  return { value: m, spread: null };
}

/** HTML of one cell: median (min…max) when the row has the spread, else the value. */
function cellOf(r: Row, key: string): string {
  const { value, spread } = textOf(r, key);
  return spread === null ? esc(value) : `${esc(value)} <span class="spread">(${esc(spread)})</span>`;
}

export const esc = (s: string) => s.replaceAll('&', '&amp;').replaceAll('<', '&lt;').replaceAll('>', '&gt;');

export interface HtmlTable {
  caption: string | null;
  html: string;
}

/** The readable tables of a suite: at most 10 columns each, chosen per suite (detail stays in the CSV). */
function tableParts(suite: string, rows: Row[]): [string | null, Row[], Column[]][] {
  if (rows.length === 0) return [];
  const spec = TABLES[suite];
  const generic: Column[] = [...new Set(rows.flatMap((r) => Object.keys(r)))]
    .filter((k) => !/_(min|max|n)$/.test(k) && !['error', 'detail', 'failure', 'note'].includes(k))
    .map((k) => k.replace(/_median$/, ''))
    .slice(0, 10)
    .map((k) => [k, k.replaceAll('_', ' ')]);
  const parts: [string | null, Row[], Column[]][] = [];
  if (spec?.splitBy && !Array.isArray(spec.columns)) {
    const by = spec.splitBy;
    const partOf = (r: Row) => (r[by] === undefined || r[by] === null ? UNSPLIT : String(r[by]));
    for (const part of [...new Set(rows.map(partOf))]) {
      const cols = spec.columns[part] ?? generic;
      parts.push([part === UNSPLIT ? null : part, rows.filter((r) => partOf(r) === part), cols]);
    }
  } else parts.push([null, rows, Array.isArray(spec?.columns) ? spec.columns : generic]);
  return parts.map(([caption, rs, cols]) => [
    caption,
    rs,
    cols.filter(([k]) => rs.some((r) => k in r || `${k}_median` in r)).slice(0, 10),
  ]);
}

/** A suite's rows as one or more HTML tables (cells escaped, spreads marked up). */
export function suiteTables(suite: string, rows: Row[]): HtmlTable[] {
  return tableParts(suite, rows).map(([caption, rs, present]) => {
    const head = `<tr>${present.map(([, h]) => `<th>${esc(h)}</th>`).join('')}</tr>`;
    const body = rs
      .map(
        (r) =>
          `<tr>${present
            .map(([k]) => {
              const html = cellOf(r, k);
              const numeric = /^[-–\d.,]/.test(html);
              return `<td${numeric ? ' class="num"' : ''}>${html}</td>`;
            })
            .join('')}</tr>`,
      )
      .join('\n');
    return { caption, html: `<table>\n<thead>${head}</thead>\n<tbody>\n${body}\n</tbody>\n</table>` };
  });
}

/** The same tables in Markdown (REPORT.md): human units, median (min…max), ≤ 10 columns. */
export function suiteMarkdownTables(suite: string, rows: Row[]): string {
  const cell = (t: string) => t.replaceAll('|', '\\|');
  return tableParts(suite, rows)
    .map(([caption, rs, cols]) => {
      const lines = [
        ...(caption ? [`**${caption}**`, ''] : []),
        `| ${cols.map(([, h]) => cell(h)).join(' | ')} |`,
        `|${cols.map(() => '---').join('|')}|`,
        ...rs.map(
          (r) =>
            `| ${cols
              .map(([k]) => {
                const { value, spread } = textOf(r, k);
                return cell(spread === null ? value : `${value} (${spread})`);
              })
              .join(' | ')} |`,
        ),
      ];
      return lines.join('\n') + '\n';
    })
    .join('\n');
}
