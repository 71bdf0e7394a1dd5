#!/usr/bin/env node
// After `npm pack`: the prebuilt addon belongs in the tarball only, never in the checkout (where
// scripts/install.js would take it for a packed install and skip compiling newer sources).
import { rmSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

rmSync(path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', 'prebuilt'), { recursive: true, force: true });
