#!/usr/bin/env node
// npm's install step. In a checkout (no prebuilt addon): compile native/ with node-gyp. From a
// packed tarball: use the addon built at pack time (prebuilt/linux-<arch>/cowbench.node) when it
// loads here, so `npm install -g cowbench-*.tgz` needs no compiler — and works where npm skips
// install scripts altogether (npm 11 does for global installs unless --allow-scripts). Builds
// from source when the prebuilt addon does not load (another architecture or libc).
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const prebuilt = path.join(root, 'prebuilt', `linux-${process.arch}`, 'cowbench.node');

if (existsSync(prebuilt)) {
  try {
    createRequire(import.meta.url)(prebuilt);
    process.exit(0);
  } catch (e) {
    process.stderr.write(`cowbench: the prebuilt addon does not load here (${e.message}); building from source\n`);
  }
}
// npm puts its own node-gyp on PATH for lifecycle scripts.
const gyp = spawnSync('node-gyp', ['rebuild', '-j', 'max'], { cwd: root, stdio: 'inherit', shell: false });
if (gyp.error) {
  process.stderr.write(`cowbench: could not run node-gyp: ${gyp.error.message}\n`);
  process.exit(1);
}
process.exit(gyp.status ?? 1);
