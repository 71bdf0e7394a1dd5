#!/usr/bin/env node
// `npm pack` / `npm publish`: ship the addon built from this checkout as prebuilt/linux-<arch>/,
// so installing the tarball needs neither a compiler nor install scripts (see scripts/install.js).
import { copyFileSync, existsSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const built = path.join(root, 'build', 'Release', 'cowbench.node');
if (!existsSync(built)) {
  process.stderr.write('cowbench: build/Release/cowbench.node is missing; run `npm install` first\n');
  process.exit(1);
}
const dir = path.join(root, 'prebuilt', `linux-${process.arch}`);
mkdirSync(dir, { recursive: true });
copyFileSync(built, path.join(dir, 'cowbench.node'));
