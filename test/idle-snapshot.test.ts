/**
 * `--writers 0` (issue 21, "an idle snapshot"): the reference case, QEMU's idle guest, the pure
 * copy cost. Allowed for every backend; the image verifies (and is kept with --out), and the
 * summary shows no writer figures instead of zeros. Before: "--writers: 0 is out of range (1..256)".
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { backendNames } from '../src/registry.js';
import { probeFor } from '../src/run-options.js';
import { runCli, tempDir } from './helpers.js';
import { testIfSupported } from './skip.js';

for (const name of backendNames)
  testIfSupported(probeFor({ backend: name })).serial(
    `${name}: --writers 0 takes a verified snapshot of an idle region; no writer figures in the summary`,
    async (t) => {
      const out = path.join(tempDir(t), 'idle.img');
      const j = await runCli([
        'run',
        '--backend',
        name,
        '--writers',
        '0',
        '--size',
        '16M',
        '--baseline-ms',
        '20',
        '--out',
        out,
        '--json',
      ]);
      t.is(j.code, 0, j.stderr);
      const r = JSON.parse(j.stdout) as {
        verified: boolean;
        writers: { kinds: string[] };
        bytes_written: number;
      };
      t.true(r.verified);
      t.deepEqual(r.writers.kinds, []);
      t.true(r.bytes_written >= 16 << 20);
      t.is(readFileSync(out).length, 16 << 20, 'the image is kept whole');
      const text = await runCli([
        'run',
        '--backend',
        name,
        '--writers',
        '0',
        '--size',
        '16M',
        '--baseline-ms',
        '20',
      ]);
      t.is(text.code, 0, text.stderr);
      t.regex(text.stdout, /^writers\s+none \(an idle region/m);
      t.regex(text.stdout, /^verified\s+yes/m);
      for (const figure of [
        'write_stall_us',
        'baseline_write_stall_us',
        'writers.throughput_ratio',
        'writer_timeline',
      ])
        t.notRegex(text.stdout, new RegExp(`^${figure.replace('.', '\\.')}\\s`, 'm'), figure);
    },
  );
