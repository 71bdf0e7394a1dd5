/**
 * The docs cannot drift from the CLI: every cowbench command in README.md and docs/*.md (shell
 * blocks, and the `run:`/`script:` lines of CI YAML) is parsed by the real CLI in parse-only mode
 * (commands, flags, arity: what yargs checks before anything runs), and the cheap ones are run
 * for real with quick sizes: `run` and `probe`, and `compare` against committed CI results.
 */
import test from 'ava';
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { parse as shellParse } from 'shell-quote';
import { packageRoot } from '../src/native.js';
import { runCli, tempDir } from './helpers.js';

interface DocCommand {
  where: string;
  argv: string[];
}

const FENCES = new Set(['sh', 'bash', 'shell', 'console', 'yaml', 'yml']);
const CLI_HEADS = [
  ['cowbench'],
  ['./bin/cowbench.js'],
  ['bin/cowbench.js'],
  ['node', 'bin/cowbench.js'],
  ['npx', 'cowbench'],
];

/** Shell lines of a fenced block; YAML keeps only what a runner executes (`run:`, `script:` items). */
function shellLines(lang: string, body: string[], firstLine: number): { line: number; text: string }[] {
  const out: { line: number; text: string }[] = [];
  if (lang === 'yaml' || lang === 'yml') {
    for (let i = 0; i < body.length; i++) {
      const m = /^(\s*)(?:-\s+)?(run:|-)\s*(.*)$/.exec(body[i]!);
      if (!m) continue;
      const [, indent, key, rest] = m;
      if (rest === '>' || rest === '|' || rest === '>-' || rest === '|-') {
        // A block scalar: the more-indented lines after it; `>` folds them into one line.
        const lines: string[] = [];
        let j = i + 1;
        while (j < body.length && (body[j]!.trim() === '' || body[j]!.search(/\S/) > indent!.length))
          lines.push(body[j++]!.trim());
        if (rest.startsWith('>')) out.push({ line: firstLine + i, text: lines.join(' ') });
        else lines.forEach((l, k) => out.push({ line: firstLine + i + 1 + k, text: l }));
        i = j - 1;
      } else if (key === 'run:' || /cowbench/.test(rest!)) out.push({ line: firstLine + i, text: rest! });
    }
    return out;
  }
  let pending = '';
  body.forEach((l, i) => {
    pending += l.replace(/\\$/, ' ');
    if (!l.endsWith('\\')) {
      out.push({ line: firstLine + i, text: pending });
      pending = '';
    }
  });
  return out;
}

/** The cowbench invocations of one shell line (`a && b`, pipes and redirections split off). */
function invocations(text: string): string[][] {
  const tokens = shellParse(text, (name: string) => `/tmp/${name.toLowerCase()}`);
  const segments: string[][] = [[]];
  for (const t of tokens) {
    if (typeof t === 'string') segments.at(-1)!.push(t);
    else if ('comment' in t) break;
    else if (t.op === 'glob') segments.at(-1)!.push(t.pattern);
    else if ('op' in t) {
      // A redirection's target is not a command.
      if (t.op === '>' || t.op === '>>' || t.op === '<') segments.push(['<redirect>']);
      else segments.push([]);
    }
  }
  const out: string[][] = [];
  for (let seg of segments) {
    if (seg[0] === 'sudo') seg = seg.slice(1);
    const head = CLI_HEADS.find((h) => h.every((w, i) => seg[i] === w));
    if (head) out.push(seg.slice(head.length));
  }
  return out;
}

function docCommands(): DocCommand[] {
  const files = [
    'README.md',
    ...readdirSync(path.join(packageRoot, 'docs'))
      .filter((f) => f.endsWith('.md'))
      .map((f) => `docs/${f}`),
  ];
  const out: DocCommand[] = [];
  for (const file of files) {
    const lines = readFileSync(path.join(packageRoot, file), 'utf8').split('\n');
    for (let i = 0; i < lines.length; i++) {
      const open = /^\s*```(\w*)\s*$/.exec(lines[i]!);
      if (!open) continue;
      let j = i + 1;
      while (j < lines.length && !/^\s*```\s*$/.test(lines[j]!)) j++;
      if (FENCES.has(open[1]!))
        for (const { line, text } of shellLines(open[1]!, lines.slice(i + 1, j), i + 2))
          for (const argv of invocations(text)) out.push({ where: `${file}:${line}`, argv });
      i = j;
    }
  }
  return out;
}

const commands = docCommands();
if (process.env['COWBENCH_DOCS_LIST'])
  for (const c of commands) console.error(`${c.where}: ${c.argv.join(' ')}`);

test('the docs hold the commands this test checks', (t) => {
  t.true(commands.length >= 20, `found ${commands.length}`);
  t.true(commands.some((c) => c.where.startsWith('docs/ci.md') && c.argv[0] === 'compare'));
  t.true(commands.some((c) => c.where.startsWith('README.md') && c.argv[0] === 'run'));
});

test.serial('every documented cowbench command parses (commands, flags, arity)', async (t) => {
  const failures: string[] = [];
  for (const c of commands) {
    const r = await runCli(c.argv, { env: { COWBENCH_PARSE_ONLY: '1' } });
    if (r.code !== 0) failures.push(`${c.where}: cowbench ${c.argv.join(' ')}\n    ${r.stderr.trim()}`);
  }
  t.deepEqual(failures, [], failures.join('\n'));
});

/** Flags whose value a run command's quick version replaces. */
const QUICK: Record<string, string> = { '--size': '16M', '--runs': '2', '--baseline-ms': '50' };
const VALUE_FLAGS = new Set([
  '--threshold',
  '--format',
  '--alpha',
  '--export-markdown',
  '--export-junit',
  '--export-tap',
  '--export-json',
  '--junit',
  '--markdown',
  '--tap',
]);

test.serial('the cheap documented commands run for real (quick sizes): run, probe, compare', async (t) => {
  const cwd = tempDir(t);
  const ciResults = path.join(packageRoot, 'results', '2026-12-01-vm-ci-aa2', 'pair1-a');
  let ran = 0;
  const failures: string[] = [];
  for (const c of commands) {
    let argv = [...c.argv];
    if (argv[0] === 'run') {
      for (const [flag, value] of Object.entries(QUICK)) {
        const at = argv.indexOf(flag);
        if (at >= 0) argv[at + 1] = value;
        else if (flag !== '--runs') argv.push(flag, value);
      }
    } else if (argv[0] === 'compare') {
      // Every input directory the command names: a copy of one committed CI run (an A/A pair).
      argv.slice(1).forEach((a, i, rest) => {
        if (a.startsWith('-') || VALUE_FLAGS.has(rest[i - 1] ?? '')) return;
        const dir = path.join(cwd, a);
        if (!existsSync(dir)) {
          mkdirSync(path.dirname(dir), { recursive: true });
          cpSync(ciResults, dir, { recursive: true });
        }
      });
    } else if (argv[0] !== 'probe') continue;
    argv = argv.map((a) => (a.startsWith('snap.img') ? path.join(cwd, a) : a));
    const r = await runCliIn(cwd, argv);
    ran++;
    if (r.code !== 0)
      failures.push(
        `${c.where}: cowbench ${argv.join(' ')} → exit ${r.code}\n    ${r.stderr.trim().split('\n').slice(-3).join('\n    ')}`,
      );
  }
  t.true(ran >= 8, `ran ${ran}`);
  t.deepEqual(failures, [], failures.join('\n'));
});

/** runCli with a working directory (relative paths in the docs land in the test's directory). */
async function runCliIn(cwd: string, argv: string[]) {
  const prev = process.cwd();
  process.chdir(cwd);
  try {
    return await runCli(argv);
  } finally {
    process.chdir(prev);
  }
}
