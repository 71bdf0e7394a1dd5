/** vega-lite → vega → SVG, headless in Node (no canvas, no browser). */
import { compile, type TopLevelSpec } from 'vega-lite';
import { logger, None, parse, View } from 'vega';

/** Look shared by every chart. */
export const CHART_CONFIG = {
  font: 'system-ui, -apple-system, "Segoe UI", Roboto, sans-serif',
  view: { stroke: '#ddd' },
  axis: { labelFontSize: 11, titleFontSize: 12, gridColor: '#eee' },
  legend: { labelFontSize: 11, titleFontSize: 12 },
  title: { fontSize: 14, anchor: 'start' as const, offset: 10 },
};

let ids = 0;

/** Renders one vega-lite spec to an SVG string whose ids are unique in a page of several charts. */
export async function renderSvg(spec: TopLevelSpec): Promise<string> {
  // vega-lite's notes on how it resolved a scale are not the reader's business.
  const vg = compile({ ...spec, config: { ...CHART_CONFIG, ...(spec.config ?? {}) } } as TopLevelSpec, {
    logger: logger(None),
  }).spec;
  const view = new View(parse(vg), { renderer: 'none', logLevel: None });
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
