/**
 * Writer kinds: every kind's writes really land in the region (read back from the image), are
 * covered by verification (a snapshot that skips copy-before-write fails when that kind is the
 * only writer), and uffd serves every kind the machine supports (`cowbench compat`).
 */
import test from 'ava';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { runCompat } from '../src/compat.js';
import { native } from '../src/native.js';
import { WRITER_KINDS, parseWriters } from '../src/options.js';
import { runSnapshot } from '../src/orchestrator.js';
import { MiB, runCli, tempDir, testOptions } from './helpers.js';
import { testIf } from './skip.js';

const STAMP_MAGIC = 0xc0be1c4b;

/** Pages of an image whose stamp carries a version above the fill's (1): written by a writer. */
function pagesWrittenInImage(file: string): number {
  const image = readFileSync(file);
  let written = 0;
  for (let off = 0; off + 4096 <= image.length; off += 4096) {
    if (image.readUInt32LE(off) !== STAMP_MAGIC) continue;
    if (image.readUInt32LE(off + 4) !== off / 4096) continue;
    if (image.readUInt32LE(off + 8) > 1) written++;
  }
  return written;
}

/** Whether each kind works on this machine at all (no snapshot involved), known at registration. */
const support = new Map<string, { ok: boolean; detail?: string }>();
for (const kind of WRITER_KINDS) support.set(kind, await native.probeWriter(kind));
const withKind = (kind: string) => testIf(support.get(kind)!.ok, support.get(kind)!.detail ?? '');

for (const kind of WRITER_KINDS) {
  withKind(kind).serial(
    `${kind}: its writes land in the region and the image verifies under uffd`,
    async (t) => {
      const dir = tempDir(t);
      const out = path.join(dir, 'image');
      const result = await runSnapshot(
        testOptions({ backend: 'uffd', writerKinds: [kind], sizeBytes: 32 * MiB, baselineMs: 150, out }),
      );
      t.true(result.verified, JSON.stringify(result.verification.first_bad.slice(0, 4)));
      t.is(result.writers.failed_writes, 0, JSON.stringify(result.writers.failed_by_errno));
      t.true((result.writers.baseline_writes_by_kind[kind] ?? 0) > 0, 'the kind wrote before the snapshot');
      t.true((result.writers.writes_by_kind[kind] ?? 0) > 0, 'the kind wrote during the snapshot');
      // The image is the region at the arm pause: the pages this kind wrote before it carry its versions.
      t.true(pagesWrittenInImage(out) > 0, 'pages written by the kind are in the image');
      t.true(result.region_writable_after.ok, result.region_writable_after.detail);
      if (kind === 'kvm') {
        // The arm pause held the vCPU outside KVM_RUN: kicked out (intr) or stopped at its loop top.
        const exits = result.writers.exit_reasons;
        t.true((exits['intr'] ?? 0) + (exits['budget'] ?? 0) >= 1, JSON.stringify(exits));
      }
    },
  );

  withKind(kind).serial(
    `${kind}: its writes are covered by verification (skip-copy-before-write fails)`,
    async (t) => {
      // The fault only shows where the kind wrote a page the copier had not yet saved; slow writers
      // (a nested vCPU) may need more than one try to do so.
      for (let attempt = 1; attempt <= 4; attempt++) {
        const result = await runSnapshot(
          testOptions({
            backend: 'uffd',
            writerKinds: [kind],
            sizeBytes: 64 * MiB,
            inject: { fault: 'skip-copy-before-write' },
          }),
        );
        if (result.pages_copied_before_write === 0) {
          t.log(`attempt ${attempt}: the ${kind} writer hit no unsaved page; again`);
          continue;
        }
        t.false(result.verified, 'pages the fault skipped are caught');
        t.true(result.verification.bad_pages > 0);
        t.true(result.verification.bad_pages <= result.pages_copied_before_write);
        return;
      }
      t.fail(`the ${kind} writer never wrote an unsaved page in 4 snapshots`);
    },
  );
}

test('--writers takes every kind with counts', (t) => {
  t.deepEqual(parseWriters('cpu:2,read:1,io_uring:1,pvm:1,kvm:1'), [
    'cpu',
    'cpu',
    'read',
    'io_uring',
    'pvm',
    'kvm',
  ]);
});

test.serial('a mixed workload of every available kind verifies, each kind writing', async (t) => {
  const kinds: string[] = [];
  for (const kind of WRITER_KINDS) if (support.get(kind)!.ok) kinds.push(kind);
  const r = await runCli([
    'run',
    '--size',
    '32M',
    '--writers',
    kinds.map((k) => `${k}:1`).join(','),
    '--json',
    '--baseline-ms',
    '600', // every kind gets to write in the baseline even on a loaded machine
  ]);
  t.is(r.code, 0, r.stderr);
  const result = JSON.parse(r.stdout) as {
    verified: boolean;
    writers: { baseline_writes_by_kind: Record<string, number> };
  };
  t.true(result.verified);
  for (const kind of kinds) t.true((result.writers.baseline_writes_by_kind[kind] ?? 0) > 0, kind);
});

test.serial('compat: uffd is ok for every writer kind this machine supports', async (t) => {
  const matrix = await runCompat({ sizeBytes: 32 * MiB, backends: ['uffd'] });
  t.is(matrix.rows.length, 1);
  const row = matrix.rows[0]!;
  t.deepEqual(
    row.cells.map((c) => c.writer),
    [...WRITER_KINDS],
  );
  for (const cell of row.cells) {
    const probe = support.get(cell.writer)!;
    if (!probe.ok) {
      t.is(cell.status, 'unsupported', `${cell.writer}: ${cell.detail}`);
      t.log(`${cell.writer}: unsupported here: ${cell.detail}`);
      continue;
    }
    t.is(cell.status, 'ok', `${cell.writer}: ${cell.detail}`);
    t.true(cell.writes > 0);
    t.is(cell.failed_writes, 0);
    t.true(cell.verified === true);
    t.true(cell.region_writable_after === true);
  }
});

test('compat --json prints the matrix; an unknown writer column is a usage error', async (t) => {
  const r = await runCli(['compat', '--json', '--size', '16M', '--backends', 'uffd', '--writers', 'cpu']);
  t.is(r.code, 0, r.stderr);
  const matrix = JSON.parse(r.stdout) as {
    schema: string;
    rows: { label: string; cells: { status: string }[] }[];
  };
  t.is(matrix.schema, 'cowbench.compat/1');
  t.is(matrix.rows[0]?.label, 'uffd');
  t.is(matrix.rows[0]?.cells[0]?.status, 'ok');
  const bad = await runCli(['compat', '--writers', 'gpu']);
  t.is(bad.code, 2);
  t.regex(bad.stderr, /--writers: 'gpu' is not one of/);
});

test.serial(
  'compat: every cell reaches a verdict; incompatible cells carry evidence and end writable',
  async (t) => {
    const matrix = await runCompat({ sizeBytes: 32 * MiB });
    t.is(matrix.rows.length > 0, true);
    for (const row of matrix.rows)
      for (const cell of row.cells) {
        const where = `${row.label} × ${cell.writer}: ${cell.status}: ${cell.detail}`;
        t.not(cell.status, 'failed', where);
        if (cell.status === 'incompatible') {
          t.true(
            Object.values(cell.evidence).some((n) => n > 0) || cell.verified === false,
            `evidence for ${where}`,
          );
          t.true(cell.region_writable_after, `region writable after ${where}`);
        }
        if (cell.status === 'ok') t.true(cell.verified === true && cell.writes > 0, where);
        t.log(where);
      }
  },
);
