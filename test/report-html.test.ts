/**
 * report.html in a real browser: the committed results rendered into a report, opened in headless
 * Chromium (Debian's chromium driven by playwright-core): no console errors, no network, every chart
 * present with data marks, every claim present; screenshots saved. Skipped, with the reason, only
 * where no Chromium is installed.
 */
import test from 'ava';
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { CHARTS } from '../bench/charts/index.js';
import { CITATION_TITLE, reportCommand } from '../bench/html.js';
import { SEED_ARCHIVE } from '../bench/charts/seed.js';
import { packageRoot } from '../src/native.js';

const CANDIDATES = [
  process.env['COWBENCH_CHROMIUM'],
  '/usr/bin/chromium',
  '/usr/bin/chromium-browser',
  '/usr/bin/google-chrome',
].filter((p): p is string => typeof p === 'string' && p.length > 0);
const browserPath = CANDIDATES.find((p) => existsSync(p)) ?? null;

/** The committed full run, and the newer run that carries the writer timelines. */
const FULL = path.join(packageRoot, 'results', '2026-11-26-vm');
const WITH_TRACES = path.join(packageRoot, 'results', '2026-12-01-vm-latency-quick');
const CLAIM_IDS = ['C1', 'C2', 'C3', 'C4', 'C5', 'C6', 'C7', 'C8'];

const FLAGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

interface PageCheck {
  errors: string[];
  requests: string[];
  charts: { id: string; marks: number; width: number }[];
  missing: string[];
  claims: string[];
  matrix: boolean;
}

async function openReport(html: string, shots: string, name: string): Promise<PageCheck> {
  const { chromium } = await import('playwright-core');
  const profile = mkdtempSync(path.join(os.tmpdir(), 'cowbench-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: browserPath!,
    headless: true,
    args: FLAGS,
    viewport: { width: 1280, height: 1000 },
  });
  try {
    const page = await context.newPage();
    const errors: string[] = [];
    const requests: string[] = [];
    page.on('console', (m) => {
      if (m.type() === 'error') errors.push(m.text());
    });
    page.on('pageerror', (e) => errors.push(String(e)));
    page.on('request', (r) => requests.push(r.url()));
    await page.goto(pathToFileURL(html).href, { waitUntil: 'load' });
    const found = await page.evaluate(() => ({
      charts: [...document.querySelectorAll('figure[data-chart]')].map((f) => ({
        id: f.getAttribute('data-chart') ?? '',
        // Data marks: the paths and lines of vega's mark groups (axes and legends are other roles).
        marks: f.querySelectorAll('svg g.role-mark > path, svg g.role-mark > line').length,
        width: f.querySelector('svg')?.getBoundingClientRect().width ?? 0,
      })),
      missing: [...document.querySelectorAll('[data-chart-missing]')].map(
        (e) => e.getAttribute('data-chart-missing') ?? '',
      ),
      claims: [...document.querySelectorAll('section[data-claim]')].map(
        (s) => s.getAttribute('data-claim') ?? '',
      ),
      matrix: document.querySelector('#matrix') !== null,
    }));
    await page.screenshot({ path: path.join(shots, `${name}-top.png`) });
    await page.locator('section[data-claim="C1"]').screenshot({ path: path.join(shots, `${name}-c1.png`) });
    return { errors, requests, ...found };
  } finally {
    await context.close();
    rmSync(profile, { recursive: true, force: true });
  }
}

function fixture(t: { teardown(fn: () => void): void }): { root: string; shots: string } {
  const root = mkdtempSync(path.join(os.tmpdir(), 'cowbench-report-'));
  t.teardown(() => rmSync(root, { recursive: true, force: true }));
  for (const d of [FULL, WITH_TRACES]) cpSync(d, path.join(root, path.basename(d)), { recursive: true });
  const shots = process.env['COWBENCH_SCREENSHOTS'] ?? root;
  return { root, shots };
}

const register = browserPath === null ? test.skip : test.serial;
const reason =
  browserPath === null ? ` (skipped: no Chromium at ${CANDIDATES.join(', ')}; apt-get install chromium)` : '';

register(`report.html of one results directory in headless Chromium${reason}`, async (t) => {
  const { root, shots } = fixture(t);
  const dir = path.join(root, path.basename(FULL));
  await reportCommand([dir], null);
  const html = path.join(dir, 'report.html');
  // Self-contained: no script, no external reference.
  const text = readFileSync(html, 'utf8');
  t.notRegex(text, /<script/i);
  t.notRegex(text, /src="https?:/i);
  // The one outside link: the 2016 thread in the list archive (a link, nothing loaded).
  t.deepEqual(
    [...new Set([...text.matchAll(/href="(https?:[^"]+)"/gi)].map((m) => m[1]!.replaceAll('&amp;', '&')))],
    [SEED_ARCHIVE],
  );
  const page = await openReport(html, shots, 'report-one');
  t.deepEqual(page.errors, []);
  t.deepEqual(
    page.requests.filter((u) => !u.startsWith('file:')),
    [],
    'no network',
  );
  t.deepEqual(
    page.claims.filter((c) => CLAIM_IDS.includes(c)),
    CLAIM_IDS,
  );
  // Every chart is drawn, or named as missing with its reason (this run predates the timeline and
  // the fault-around suite).
  t.deepEqual([...page.charts.map((c) => c.id), ...page.missing].sort(), CHARTS.map((c) => c.id).sort());
  t.deepEqual(page.missing, ['timeline', 'fault-around']);
  for (const c of page.charts) {
    t.true(c.marks > 0, `${c.id}: data marks`);
    t.true(c.width > 200, `${c.id}: drawn ${c.width}px wide`);
  }
  t.true(statSync(path.join(shots, 'report-one-top.png')).size > 10_000);
});

register(
  `report.html of two results directories (claims × machines, every chart) in headless Chromium${reason}`,
  async (t) => {
    const { root, shots } = fixture(t);
    const dirs = [FULL, WITH_TRACES].map((d) => path.join(root, path.basename(d)));
    const out = path.join(root, 'both');
    await reportCommand(dirs, out);
    const page = await openReport(path.join(out, 'report.html'), shots, 'report-two');
    t.deepEqual(page.errors, []);
    t.deepEqual(
      page.requests.filter((u) => !u.startsWith('file:')),
      [],
    );
    t.true(page.matrix);
    t.deepEqual(
      page.claims.filter((c) => CLAIM_IDS.includes(c)),
      CLAIM_IDS,
    );
    // Both runs predate the fault-around suite.
    t.deepEqual(page.missing, ['fault-around']);
    t.deepEqual([...page.charts.map((c) => c.id), ...page.missing].sort(), CHARTS.map((c) => c.id).sort());
    for (const c of page.charts) t.true(c.marks > 0, `${c.id}: data marks`);
    t.true(existsSync(path.join(out, 'charts', 'timeline.svg')));
    t.regex(readFileSync(path.join(out, 'REPORT.md'), 'utf8'), /!\[[^\]]+\]\(charts\/timeline\.svg\)/);
  },
);

register(
  `report.html for researchers: methodology, cite-as, data links, dark mode, print, disagreements${reason}`,
  async (t) => {
    const { root, shots } = fixture(t);
    const dirs = [FULL, WITH_TRACES].map((d) => path.join(root, path.basename(d)));
    const out = path.join(root, 'both');
    await reportCommand(dirs, out);
    const html = path.join(out, 'report.html');
    // The cite-as box and CITATION.cff name the same software and version.
    const cff = readFileSync(path.join(packageRoot, 'CITATION.cff'), 'utf8');
    const version = (
      JSON.parse(readFileSync(path.join(packageRoot, 'package.json'), 'utf8')) as { version: string }
    ).version;
    t.true(cff.includes(`title: "${CITATION_TITLE}"`));
    t.regex(cff, new RegExp(`^version: ${version.replaceAll('.', '\\.')}$`, 'm'));
    const { chromium } = await import('playwright-core');
    const profile = mkdtempSync(path.join(os.tmpdir(), 'cowbench-chromium-'));
    const context = await chromium.launchPersistentContext(profile, {
      executablePath: browserPath!,
      headless: true,
      args: FLAGS,
      viewport: { width: 1280, height: 1000 },
    });
    t.teardown(async () => {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    });
    const page = await context.newPage();
    await page.goto(pathToFileURL(html).href, { waitUntil: 'load' });
    const found = await page.evaluate(() => ({
      cite: document.querySelector('#cite')?.textContent ?? '',
      method: document.querySelector('#methodology')?.textContent ?? '',
      links: [...document.querySelectorAll('table.facts a')].map((a) => a.getAttribute('href') ?? ''),
      disagree: [...document.querySelectorAll('[data-disagree]')].map((e) => e.getAttribute('data-disagree')),
      folded: document.querySelectorAll('details.long').length,
    }));
    t.regex(found.cite, new RegExp(`version ${version.replaceAll('.', '\\.')} \\[software\\]`));
    for (const word of [
      'Trials',
      'Effect and interval',
      'Verdicts',
      'Not measurable here',
      'Noise',
      'Thresholds',
    ])
      t.true(found.method.includes(word), `methodology names ${word}`);
    // results.json and every CSV of both runs, each link resolving to its file.
    for (const d of dirs)
      t.true(found.links.some((l) => path.resolve(out, l) === path.join(d, 'results.json')));
    t.true(found.links.filter((l) => l.endsWith('.csv')).length >= 2);
    for (const l of found.links) t.true(existsSync(path.resolve(out, l)), `${l} exists`);
    // A note exactly where the two runs' verdicts differ (read here from their results.json).
    const first = (d: string, claim: string) => {
      const r = JSON.parse(readFileSync(path.join(d, 'results.json'), 'utf8')) as {
        suites: Record<string, { verdicts?: { claim: string; verdict: string }[] }>;
      };
      return Object.values(r.suites)
        .flatMap((su) => su.verdicts ?? [])
        .find((v) => v.claim === claim)?.verdict;
    };
    const claims = (await page.evaluate(() =>
      [...document.querySelectorAll('section[data-claim]')].map((e) => e.getAttribute('data-claim') ?? ''),
    )) as string[];
    const expected = claims.filter((c) => {
      const [a, b] = dirs.map((d) => first(d, c));
      return a !== undefined && b !== undefined && a !== b;
    });
    t.true(expected.length > 0, 'the fixture runs disagree somewhere');
    t.deepEqual(found.disagree, expected);
    t.regex(
      await page.locator(`[data-disagree="${expected[0]}"]`).innerText(),
      /What differs in their fingerprints/,
    );
    // Long tables fold on screen and print whole; the page follows the reader's colour scheme.
    t.true(found.folded > 0);
    const folded = page.locator('details.long').first();
    const screenHeight = (await folded.boundingBox())!.height;
    await page.emulateMedia({ media: 'print' });
    t.true((await folded.boundingBox())!.height > screenHeight * 5, 'a folded table prints whole');
    t.false(await page.locator('nav').isVisible(), 'no contents list on paper');
    await page.emulateMedia({ media: 'screen', colorScheme: 'dark' });
    const bg = await page.evaluate(() => getComputedStyle(document.body).backgroundColor);
    t.not(bg, 'rgb(255, 255, 255)');
    await page.screenshot({ path: path.join(shots, 'report-dark-top.png') });
  },
);
