/** src/format.ts: the one number and byte formatter of human output (issue 24 item 4). */
import test from 'ava';
import { bytes, count, duration, figure, fixed, percent, quantity, value } from '../src/format.js';

const cases: [string, () => string, string][] = [
  ['count groups digits', () => count(67108864), '67,108,864'],
  ['count of a fraction rounds', () => count(1868.6), '1,869'],
  ['bytes: a power of two', () => bytes(67108864), '64 MiB'],
  ['bytes: 3 significant digits', () => bytes(10088448), '9.62 MiB'],
  ['bytes: 100 and over, no decimals', () => bytes(390000), '381 KiB'],
  ['bytes: under 1 KiB', () => bytes(512), '512 B'],
  ['bytes: the largest unit', () => bytes(3 * 1024 ** 5), '3072 TiB'],
  ['bytes: negative (a change)', () => bytes(-2 * 1024 ** 2), '-2 MiB'],
  ['value: an integer exactly', () => value(268435456), '268,435,456'],
  ['value: 1000 and over to the unit', () => value(21740123.4), '21,740,123'],
  ['value: 4 significant digits', () => value(3.55349), '3.553'],
  ['value: small, no exponent', () => value(0.0000791812), '0.00007918'],
  ['fixed', () => fixed(8166.94, 1), '8,166.9'],
  ['fixed, no decimals', () => fixed(8166.94, 0), '8,167'],
  ['quantity: a duration', () => quantity(2278.3, 'µs'), '2,278 µs'],
  ['quantity: a rate', () => quantity(5544.2, 'MB/s'), '5,544 MB/s'],
  ['quantity: bytes', () => quantity(21_700_000, 'B'), '20.7 MiB'],
  ['quantity: a count has no unit', () => quantity(655, '1'), '655'],
  ['duration: µs', () => duration(0.0000125), '12.5 µs'],
  ['duration: ms', () => duration(0.0123), '12.3 ms'],
  ['duration: s', () => duration(83.25), '83.25 s'],
  ['percent: a rise', () => percent(12.04), '+12.0%'],
  ['percent: a fall', () => percent(-3.14), '-3.1%'],
  ['percent: unsigned', () => percent(19, { sign: false, digits: 0 }), '19%'],
  ['not finite', () => [count(NaN), bytes(Infinity), value(NaN), percent(NaN)].join(' '), 'n/a n/a n/a n/a'],
  ['figure: bytes by name', () => figure('region_bytes', 1073741824), '1 GiB'],
  ['figure: a ratio', () => figure('throughput_ratio', 0.2181), '0.218×'],
  ['figure: a count', () => figure('vma_count_peak', 65530), '65,530'],
  [
    'figure: missing, yes/no, text',
    () => [figure('x', null), figure('x', true), figure('x', 'uffd')].join(' '),
    '– yes uffd',
  ],
];
for (const [what, f, expected] of cases) test(what, (t) => t.is(f(), expected));
