/** What every chart module exports. */
import type { TopLevelSpec } from 'vega-lite';
import type { Machine } from './data.js';

export interface ChartDef {
  /** File name stem under charts/, e.g. 'c1-vma'. */
  id: string;
  /** Claims and targets it bears on (the report places it in the first one's section). */
  claims: string[];
  /** The suite whose rows it draws. */
  suite: string;
  title: string;
  /** The spec for these machines, or the reason it cannot be drawn from them. */
  build(machines: Machine[]): { spec: TopLevelSpec; note?: string } | { missing: string };
}

export const WIDTH = 520;
