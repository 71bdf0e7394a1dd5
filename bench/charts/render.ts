/**
 * vega-lite → vega → SVG, headless in Node (no canvas, no browser). vega and vega-lite are
 * optional peers, loaded on the first chart: a library user who only takes snapshots does not
 * install them (32 MB); without them a report says what to install.
 */
import type { TopLevelSpec } from 'vega-lite';
import { CowbenchError } from '../../src/errors.js';

type Vega = typeof import('vega');
type VegaLite = typeof import('vega-lite');
let chartLibraries: Promise<{ vega: Vega; vl: VegaLite }> | undefined;

/** vega and vega-lite, imported once; a clear EUNSUPPORTED when they are not installed. */
function loadChartLibraries(): Promise<{ vega: Vega; vl: VegaLite }> {
  chartLibraries ??= Promise.all([import('vega'), import('vega-lite')]).then(
    ([vega, vl]) => {
      // vega exports textMetrics (the hook vl-convert uses too) without declaring it.
      (vega as unknown as { textMetrics: { width: typeof textWidth } }).textMetrics.width = textWidth;
      return { vega, vl };
    },
    (e: unknown) => {
      if ((e as NodeJS.ErrnoException)?.code !== 'ERR_MODULE_NOT_FOUND') throw e;
      throw new CowbenchError(
        'EUNSUPPORTED',
        'charts need the optional packages vega and vega-lite, which are not installed: run `npm install vega@6 vega-lite@6` where cowbench is installed',
        { exitCode: 2, cause: e },
      );
    },
  );
  return chartLibraries;
}

/** Look shared by every chart. */
export const CHART_CONFIG = {
  font: 'system-ui, -apple-system, "Segoe UI", Roboto, sans-serif',
  view: { stroke: '#ddd' },
  axis: { labelFontSize: 11, titleFontSize: 12, gridColor: '#eee', labelLimit: 320 },
  legend: { labelFontSize: 11, titleFontSize: 12, labelLimit: 300 },
  title: { fontSize: 14, anchor: 'start' as const, offset: 10 },
};

let ids = 0;

/**
 * Text width without a canvas. vega's own estimate (0.8 em per character) is twice a real sans-serif
 * width, so labels were cut short and margins too wide; this one uses per-character widths close to
 * DejaVu Sans (what Debian's Chromium shows for system-ui), slightly generous.
 */
function charEm(c: string): number {
  if (' '.includes(c)) return 0.32;
  if ("il.,:;|!'`".includes(c)) return 0.3;
  if ('ftrjI()[]{}-'.includes(c)) return 0.4;
  if ('mwMW%'.includes(c)) return 0.92;
  if (/[0-9]/.test(c)) return 0.64;
  if (/[A-Z]/.test(c)) return 0.72;
  return 0.6;
}

function textWidth(
  item: { fontSize?: number; fontWeight?: string | number; limit?: number },
  text: unknown,
): number {
  const size = item.fontSize ?? 11;
  const line = String(text ?? '').trim();
  let em = 0;
  for (const c of line) em += charEm(c);
  const bold = item.fontWeight === 'bold' || Number(item.fontWeight) >= 600 ? 1.08 : 1;
  const w = em * size * bold;
  return item.limit && item.limit > 0 ? Math.min(w, item.limit) : w;
}

/** Renders one vega-lite spec to an SVG string whose ids are unique in a page of several charts. */
export async function renderSvg(spec: TopLevelSpec): Promise<string> {
  const { vega, vl } = await loadChartLibraries();
  // vega-lite's notes on how it resolved a scale are not the reader's business.
  const vg = vl.compile({ ...spec, config: { ...CHART_CONFIG, ...(spec.config ?? {}) } } as TopLevelSpec, {
    logger: vega.logger(vega.None),
  }).spec;
  const view = new vega.View(vega.parse(vg), { renderer: 'none', logLevel: vega.None });
  try {
    const svg = await view.toSVG();
    const prefix = `c${++ids}-`;
    // Clip paths and gradients are referenced by id; inline SVGs share one id space.
    return svg
      .replace(/id="([^"]+)"/g, (_, id: string) => `id="${prefix}${id}"`)
      .replace(/url\(#([^)]+)\)/g, (_, id: string) => `url(#${prefix}${id})`);
  } finally {
    view.finalize();
  }
}
