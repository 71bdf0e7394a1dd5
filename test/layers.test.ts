/** Issue 12 item 3: layers point one way: src/ never imports bench/; the CLI takes bench as a plugin. */
import test from 'ava';
import { readdirSync, readFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { packageRoot } from '../src/native.js';

test('no module under src/ imports bench/', (t) => {
  const src = path.join(packageRoot, 'src');
  const files = readdirSync(src, { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('.ts'));
  t.true(files.length > 10);
  for (const f of files) {
    const text = readFileSync(path.join(src, f), 'utf8');
    t.notRegex(text, /from ['"](\.\.\/)+bench\//, `src/${f} imports bench/`);
  }
});

function mainIn(body: string) {
  const url = pathToFileURL(path.join(packageRoot, 'dist', 'src', 'cli', 'main.js')).href;
  return spawnSync(
    process.execPath,
    ['--input-type=module', '-e', `import { main } from ${JSON.stringify(url)}; ${body}`],
    { encoding: 'utf8', timeout: 30_000 },
  );
}

test('main() without plugins has only the core commands; a plugin adds its own', (t) => {
  const core = mainIn("process.exitCode = await main(['--help']);");
  t.is(core.status, 0, core.stderr);
  t.regex(core.stdout, /cowbench run/);
  t.regex(core.stdout, /cowbench calibrate/);
  t.notRegex(core.stdout, /cowbench bench/);
  const plugin = mainIn(
    "process.exitCode = await main(['hello'], [(y) => y.command('hello', 'a plugin', {}, () => { process.exitCode = 3; })]);",
  );
  t.is(plugin.status, 3, plugin.stderr);
});
