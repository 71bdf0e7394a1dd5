/**
 * Plain aligned columns for terminal output (no borders): every table cowbench prints goes
 * through here, so widths count what the terminal shows (cli-table3's string-width) and
 * trailing blanks are never printed.
 */
import Table from 'cli-table3';

const NO_BORDER = {
  top: '',
  'top-mid': '',
  'top-left': '',
  'top-right': '',
  bottom: '',
  'bottom-mid': '',
  'bottom-left': '',
  'bottom-right': '',
  left: '',
  'left-mid': '',
  mid: '',
  'mid-mid': '',
  right: '',
  'right-mid': '',
  middle: '  ',
};

/** `rows` in columns two blanks apart; `head` above them, underlined with dashes when `rule`. */
export function columns(
  rows: string[][],
  opts: { head?: string[]; rule?: boolean; indent?: string } = {},
): string {
  const table = new Table({
    chars: NO_BORDER,
    style: { head: [], border: [], 'padding-left': 0, 'padding-right': 0 },
  });
  const body = opts.head ? [opts.head, ...rows] : rows;
  table.push(...body);
  const lines = table
    .toString()
    .split('\n')
    .map((l) => l.trimEnd());
  if (opts.head && opts.rule) {
    const widths = body[0]!.map((_, i) => Math.max(...body.map((r) => (r[i] ?? '').length)));
    lines.splice(1, 0, widths.map((w) => '-'.repeat(w)).join('  '));
  }
  return lines.map((l) => (opts.indent ?? '') + l).join('\n') + '\n';
}
