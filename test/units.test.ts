import test from 'ava';
import { parseRate, parseSize } from '../src/units.js';
import { parseWriters } from '../src/options.js';

test('sizes', (t) => {
  t.is(parseSize('--size', '4k'), 4096);
  t.is(parseSize('--size', '256M'), 256 * 1024 * 1024);
  t.is(parseSize('--size', '1G'), 1024 ** 3);
  t.is(parseSize('--size', '1.5GiB'), 1.5 * 1024 ** 3);
  t.is(parseSize('--size', '65536'), 65536);
  t.throws(() => parseSize('--size', '12Q'), { message: /--size: '12Q' is not a size/ });
  t.throws(() => parseSize('--size', ''), { message: /--size/ });
});

test('rates', (t) => {
  t.is(parseRate('--rate', 'max'), 0);
  t.is(parseRate('--rate', '64k'), 64000);
  t.is(parseRate('--rate', '65536'), 65536);
  t.throws(() => parseRate('--rate', 'fast'));
});

test('writer specs', (t) => {
  t.deepEqual(parseWriters('2'), ['cpu', 'cpu']);
  t.deepEqual(parseWriters('cpu:3'), ['cpu', 'cpu', 'cpu']);
  t.throws(() => parseWriters('cpu:0'));
});
