/**
 * How cowbench prints a number for a person. One module, so run, bench, compare and compat show
 * a figure the same way; JSON and CSV keep the raw number and never come here.
 *
 *   count(67108864)           "67,108,864"   whole things: pages, writes, faults (exact, grouped)
 *   bytes(67108864)           "64 MiB"       binary units, 3 significant digits: "9.62 MiB", "512 B"
 *   value(2278.3)             "2,278"        a measured figure: integers exact, others 4
 *                                            significant digits ("3.553", "0.07918"), no exponent
 *   fixed(8166.94, 1)         "8,166.9"      a figure with a set number of decimals
 *   quantity(2278.3, 'µs')    "2,278 µs"     a figure in its unit: durations, rates ("MB/s");
 *                                            bytes ('B') through bytes(), '1' (a count) bare
 *   duration(0.0123)          "12.3 ms"      seconds, in the unit that reads best (µs, ms, s)
 *   percent(12.04)            "+12.0%"       a change; percent(0.5, { sign: false }) "0.5%"
 *   change(0.123)             "+12%"         a relative change given as a fraction (1 decimal below 10%)
 *   pValue(0.0004)            "<0.001"       a test's p; pValue(0.0123, 'p') "p=0.012" in running text
 *   figure('region_bytes', x)                a value in the unit its name carries (bench tables)
 *
 * Anything not finite prints as "n/a".
 */

const NA = 'n/a';

const grouped = new Intl.NumberFormat('en-US', { maximumFractionDigits: 0 });
const significant = new Intl.NumberFormat('en-US', { maximumSignificantDigits: 4 });
const withDecimals = new Map<number, Intl.NumberFormat>();

/** A whole number, digit-grouped: 1869 → "1,869" (rounded if it is not whole). */
export function count(n: number): string {
  return Number.isFinite(n) ? grouped.format(n) : NA;
}

/** `digits` decimals, digit-grouped: fixed(8166.94, 1) → "8,166.9". */
export function fixed(n: number, digits: number): string {
  if (!Number.isFinite(n)) return NA;
  if (digits === 0) return grouped.format(n);
  let f = withDecimals.get(digits);
  if (!f) {
    f = new Intl.NumberFormat('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
    withDecimals.set(digits, f);
  }
  return f.format(n);
}

/** A measured figure: an integer exactly, 1000 and over to the unit, else 4 significant digits. */
export function value(n: number): string {
  if (!Number.isFinite(n)) return NA;
  if (Number.isInteger(n) || Math.abs(n) >= 1000) return grouped.format(n);
  return significant.format(n);
}

const BYTE_UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];

/** Bytes in binary units, 3 significant digits, whole numbers without decimals: "64 MiB", "9.62 MiB". */
export function bytes(n: number): string {
  if (!Number.isFinite(n)) return NA;
  let v = n;
  let i = 0;
  while (Math.abs(v) >= 1024 && i < BYTE_UNITS.length - 1) {
    v /= 1024;
    i++;
  }
  if (i === 0) return `${grouped.format(v)} B`;
  const a = Math.abs(v);
  return `${Number(v.toFixed(a >= 100 ? 0 : a >= 10 ? 1 : 2))} ${BYTE_UNITS[i]}`;
}

/** A figure in its unit (a metric registry unit): bytes in binary units, '1' or none bare. */
export function quantity(n: number, unit: string | null | undefined): string {
  if (unit === 'B') return bytes(n);
  if (!Number.isFinite(n)) return NA;
  return unit && unit !== '1' ? `${value(n)} ${unit}` : value(n);
}

/** Seconds in µs, ms or s, whichever keeps the figure at 1 or more. */
export function duration(seconds: number): string {
  if (!Number.isFinite(seconds)) return NA;
  const a = Math.abs(seconds);
  if (a !== 0 && a < 1e-3) return quantity(seconds * 1e6, 'µs');
  if (a !== 0 && a < 1) return quantity(seconds * 1e3, 'ms');
  return quantity(seconds, 's');
}

/** A percentage, signed by default (a change): "+12.0%", "-3.1%"; `digits` decimals (1). */
export function percent(p: number, opts: { sign?: boolean; digits?: number } = {}): string {
  if (!Number.isFinite(p)) return NA;
  const text = `${fixed(p, opts.digits ?? 1)}%`;
  return opts.sign !== false && p >= 0 ? `+${text}` : text;
}

/** A relative change given as a fraction, signed: change(1.234) "+123%", change(-0.043) "-4.3%". */
export function change(fraction: number): string {
  return percent(fraction * 100, { digits: Math.abs(fraction) < 0.1 ? 1 : 0 });
}

/**
 * A test's p-value to 3 decimals, "<0.001" below that. With a `name` ('p'), running text:
 * "p=0.012", "p<0.001" (never "p=<0.001").
 */
export function pValue(p: number, name?: string): string {
  if (!Number.isFinite(p)) return NA;
  const small = p < 0.001;
  if (name === undefined) return small ? '<0.001' : fixed(p, 3);
  return small ? `${name}<0.001` : `${name}=${fixed(p, 3)}`;
}

/**
 * A table cell in the unit its column name carries, as JSON keys and CSV columns name it, for the
 * terminal tables and REPORT.md alike: `*bytes` in binary units, `*fraction` as a percentage,
 * `*ratio` to 3 decimals with ×, a number otherwise; a missing or non-finite value "–", a boolean
 * yes/no.
 */
export function figure(key: string, v: unknown): string {
  if (v === null || v === undefined || v === '') return '–';
  if (typeof v === 'boolean') return v ? 'yes' : 'no';
  if (typeof v !== 'number') return String(v);
  if (!Number.isFinite(v)) return '–';
  // The unit is the end of the name (a statistic may follow): `extra_memory_peak_bytes_median`
  // is bytes, its run count `…_bytes_n` and `bytes_written_per_region` (a multiple) are not.
  const stat = '(_(median|min|max|mean|p\\d+))?$';
  if (new RegExp(`bytes(_per_[a-z]+)?${stat}`).test(key)) return bytes(v);
  if (new RegExp(`fraction${stat}`).test(key))
    return percent(v * 100, { sign: false, digits: v < 0.1 ? 1 : 0 });
  if (new RegExp(`ratio${stat}`).test(key)) return `${fixed(v, 3)}×`;
  return value(v);
}
