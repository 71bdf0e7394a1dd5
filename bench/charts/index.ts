/** Every chart of the report, rendered to charts/<id>.svg; timed. */
import { outputSubdirectory, replaceFile } from '../../src/files.js';
import path from 'node:path';
import { c1Vma } from './c1-vma.js';
import { c2Compat } from './c2-compat.js';
import { c3Fault } from './c3-fault.js';
import { c4Memory } from './c4-memory.js';
import { c5Thp } from './c5-thp.js';
import { c6Scan } from './c6-scan.js';
import { c7Consistency } from './c7-consistency.js';
import { c8Handlers } from './c8-handlers.js';
import { faultAroundChart } from './fault-around.js';
import type { ChartDef } from './chart.js';
import type { Machine } from './data.js';
import { renderSvg } from './render.js';
import { scalePause } from './scale-pause.js';
import { stallCurves } from './stall-curves.js';
import { timelineChart } from './timeline.js';

export const CHARTS: ChartDef[] = [
  c1Vma,
  c2Compat,
  c3Fault,
  c4Memory,
  c5Thp,
  c6Scan,
  c7Consistency,
  c8Handlers,
  stallCurves,
  timelineChart,
  scalePause,
  faultAroundChart,
];

export interface RenderedChart {
  id: string;
  claims: string[];
  suite: string;
  title: string;
  /** charts/<id>.svg, relative to the report directory; null when the chart could not be drawn. */
  file: string | null;
  svg: string | null;
  note?: string;
  /** Why there is no chart. */
  missing?: string;
  ms: number;
}

/** Renders every chart from the machines' results (no files written). */
export async function renderCharts(machines: Machine[]): Promise<RenderedChart[]> {
  const out: RenderedChart[] = [];
  for (const c of CHARTS) {
    const t0 = performance.now();
    const built = c.build(machines);
    if ('missing' in built) {
      out.push({
        id: c.id,
        claims: c.claims,
        suite: c.suite,
        title: c.title,
        file: null,
        svg: null,
        missing: built.missing,
        ms: 0,
      });
      continue;
    }
    const svg = await renderSvg(built.spec);
    out.push({
      id: c.id,
      claims: c.claims,
      suite: c.suite,
      title: c.title,
      file: `charts/${c.id}.svg`,
      svg,
      ...(built.note ? { note: built.note } : {}),
      ms: performance.now() - t0,
    });
  }
  return out;
}

/** Writes the rendered charts to <dir>/charts/*.svg. */
export function writeCharts(dir: string, charts: RenderedChart[]): void {
  outputSubdirectory(path.join(dir, 'charts'));
  for (const c of charts) if (c.svg && c.file) replaceFile(path.join(dir, c.file), c.svg);
}
