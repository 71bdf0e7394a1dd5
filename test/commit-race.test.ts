/**
 * Issue 21 item 1: concurrent `--force` runs on one `--out` path. A run removes only what it
 * created; a run that exits 0 leaves its image and manifest on disk, matching; the last commit wins
 * whole. Before the commit lock, a loser's failed manifest link removed the winner's image.
 */
import test from 'ava';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { native } from '../src/native.js';
import { runCli, tempDir } from './helpers.js';

const RUNS = 4;
const ROUNDS = 6;
const SIZE = 4 * 1024 * 1024;

test.serial(
  `${RUNS} concurrent --force runs on one --out, ${ROUNDS} rounds: every exit 0 leaves a matching pair`,
  async (t) => {
    const dir = tempDir(t);
    const out = path.join(dir, 'img');
    for (let round = 0; round < ROUNDS; round++) {
      const runs = await Promise.all(
        Array.from({ length: RUNS }, () =>
          runCli(['run', '--size', '4M', '--baseline-ms', '0', '--out', out, '--force', '--json']),
        ),
      );
      const won = runs.filter((r) => r.code === 0);
      // Serialised commits: every run commits in turn, and none has cause to fail.
      t.is(
        won.length,
        RUNS,
        `round ${round}: ${runs.map((r) => `${r.code}: ${r.stderr.trim()}`).join(' | ')}`,
      );
      const checksums = new Set(
        won.map((r) => {
          const result = JSON.parse(r.stdout) as {
            verified: boolean;
            output: string;
            verification: { checksum: string };
          };
          t.true(result.verified);
          t.is(result.output, out);
          return result.verification.checksum;
        }),
      );
      // The pair on disk is whole: an image, its manifest, and the manifest describes that image.
      t.is(statSync(out).size, SIZE, `round ${round}: the image is missing or short`);
      t.is(statSync(out).mode & 0o777, 0o600);
      const manifest = JSON.parse(readFileSync(`${out}.json`, 'utf8')) as { checksum: string; image: string };
      t.is(manifest.image, out);
      const onDisk = await native.verifyImage(out, new Uint32Array(SIZE / 4096));
      t.is(onDisk.checksum, manifest.checksum, `round ${round}: the manifest is not the image's own`);
      t.true(checksums.has(manifest.checksum), `round ${round}: the pair on disk is no exit-0 run's`);
      // Nothing else left: no temporaries of the image or the manifest.
      t.deepEqual(readdirSync(dir).sort(), ['img', 'img.json']);
    }
  },
);

test.serial(
  `${RUNS} concurrent runs without --force on one new --out: one wins whole, the others remove nothing`,
  async (t) => {
    const dir = tempDir(t);
    const out = path.join(dir, 'img');
    const runs = await Promise.all(
      Array.from({ length: RUNS }, () =>
        runCli(['run', '--size', '4M', '--baseline-ms', '0', '--out', out, '--json']),
      ),
    );
    const won = runs.filter((r) => r.code === 0);
    t.is(won.length, 1, runs.map((r) => `${r.code}: ${r.stderr.trim()}`).join(' | '));
    for (const r of runs.filter((x) => x.code !== 0)) t.regex(r.stderr, /exists/);
    const winner = JSON.parse(won[0]?.stdout ?? '{}') as { verification: { checksum: string } };
    const manifest = JSON.parse(readFileSync(`${out}.json`, 'utf8')) as { checksum: string };
    t.is(manifest.checksum, winner.verification.checksum);
    t.is((await native.verifyImage(out, new Uint32Array(SIZE / 4096))).checksum, manifest.checksum);
    t.deepEqual(readdirSync(dir).sort(), ['img', 'img.json']);
  },
);
