/** Parsing of sizes and rates as users type them: 256M, 1G, 4k, 2m, 1.5G, 65536. */
import { UsageError } from './errors.js';

const SIZE_UNITS: Record<string, number> = {
  '': 1,
  b: 1,
  k: 1024,
  kb: 1024,
  kib: 1024,
  m: 1024 ** 2,
  mb: 1024 ** 2,
  mib: 1024 ** 2,
  g: 1024 ** 3,
  gb: 1024 ** 3,
  gib: 1024 ** 3,
  t: 1024 ** 4,
  tb: 1024 ** 4,
  tib: 1024 ** 4,
};

/** Bytes for a size like "256M"; throws UsageError naming `flag`. */
export function parseSize(flag: string, value: unknown): number {
  const text = String(value ?? '').trim();
  const m = /^(\d+(?:\.\d+)?)\s*([a-zA-Z]*)$/.exec(text);
  const unit = m ? SIZE_UNITS[(m[2] ?? '').toLowerCase()] : undefined;
  if (!m || unit === undefined) {
    throw new UsageError(flag, `'${text}' is not a size (use a number with an optional unit: 4k, 256M, 1G)`);
  }
  const bytes = Math.round(Number(m[1]) * unit);
  if (!Number.isSafeInteger(bytes)) throw new UsageError(flag, `'${text}' is too large`);
  return bytes;
}

/** Writes per second: a number with optional k/M suffix, or 0 / "max" / "unthrottled" for no limit. */
export function parseRate(flag: string, value: unknown): number {
  const text = String(value ?? '')
    .trim()
    .toLowerCase();
  if (text === 'max' || text === 'unthrottled' || text === 'unlimited') return 0;
  const m = /^(\d+(?:\.\d+)?)\s*([km]?)(?:\/s)?$/.exec(text);
  if (!m) throw new UsageError(flag, `'${value}' is not a rate (pages per second, e.g. 65536, 64k, or max)`);
  const mult = m[2] === 'k' ? 1e3 : m[2] === 'm' ? 1e6 : 1;
  // Its range (at most 1e9) is a rule of the preflight, the same for the library.
  return Number(m[1]) * mult;
}

/** A whole number as typed: digits only. */
export function parseWholeNumber(flag: string, value: unknown, word?: string): number {
  const text = String(value ?? '').trim();
  const or = word === undefined ? '' : ` or ${word}`;
  if (!/^\d+$/.test(text)) throw new UsageError(flag, `'${text}' is not a whole number${or}`);
  return Number(text);
}

/** A whole number within [min, max] (a flag of a command without run options). */
export function parseCount(flag: string, value: unknown, min: number, max: number): number {
  const n = parseWholeNumber(flag, value);
  if (n < min || n > max) throw new UsageError(flag, `${n} is out of range (${min}..${max})`);
  return n;
}
