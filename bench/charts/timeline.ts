/** The writer-throughput timeline through one snapshot per backend: writes per 10 ms, phases marked. */
import { BACKEND_DOMAIN, machineDash, type Machine } from './data.js';
import { WIDTH, type ChartDef } from './chart.js';
import { tracesOf } from './traces-of.js';

const PHASES = ['baseline', 'arm pause', 'copy', 'finish', 'after'];
const PHASE_FILL = ['#f3f3f3', '#d62728', '#fde7b0', '#dde6f3', '#e3f1e3'];

export const timelineChart: ChartDef = {
  id: 'timeline',
  claims: ['C8', 'target d'],
  suite: 'latency',
  title: 'Writes per 10 ms through one snapshot, per backend',
  build(machines: Machine[]) {
    const buckets: { machine: string; backend: string; t: number; writes: number }[] = [];
    const bands: { machine: string; backend: string; phase: string; start: number; end: number }[] = [];
    for (const m of machines)
      for (const [backend, trace] of Object.entries(tracesOf(m))) {
        const tl = trace.timeline;
        if (!tl) continue;
        const p = tl.phases;
        // Time 0 = the arm pause; shown from the baseline's start to the end of "after".
        const zero = p.pause_start_ms ?? p.copy_start_ms ?? 0;
        const from = (p.baseline_start_ms ?? tl.start_ms) - zero;
        const to = (p.after_end_ms ?? tl.start_ms + tl.writes.length * tl.bucket_ms) - zero;
        // Whole buckets only: the first and last, cut by the baseline's start and after's end, would dip.
        tl.writes.forEach((writes, i) => {
          const t = tl.start_ms + i * tl.bucket_ms - zero;
          if (t >= from && t + tl.bucket_ms <= to) buckets.push({ machine: m.label, backend, t, writes });
        });
        const band = (phase: string, s: number | null, e: number | null) => {
          if (s !== null && e !== null)
            bands.push({ machine: m.label, backend, phase, start: s - zero, end: e - zero });
        };
        band('baseline', p.baseline_start_ms, p.pause_start_ms);
        band('copy', p.copy_start_ms, p.copy_end_ms);
        band('finish', p.copy_end_ms, p.after_start_ms);
        band('after', p.after_start_ms, p.after_end_ms);
        // Every pause (softdirty's final stop-and-copy too), drawn over the others and at least
        // 0.4% of the time axis wide, so a 0.2 ms pause stays visible.
        const visible = (to - from) * 0.004;
        for (const [s, e] of tl.pauses_ms) band('arm pause', s, Math.max(e, s + visible));
      }
    if (buckets.length === 0)
      return {
        missing:
          'no writer-throughput timeline in these results (recorded by `run` and kept by the latency suite from this version on)',
      };
    const x = { field: 't', type: 'quantitative' as const, title: 'ms since the arm pause began' };
    return {
      spec: {
        title: {
          text: this.title,
          subtitle: [
            'the latency suite’s whole-snapshot runs: 2 unthrottled writer threads, 512 MiB (quick: 128 MiB)',
            `all writers together, 10 ms buckets; 0 = the arm pause; from ${[...new Set(buckets.map((b) => b.machine))].join(', ')}`,
            'red: writers held (softdirty holds them again for its final stop-and-copy)',
          ],
        },
        data: {
          values: [
            ...bands.map((b) => ({ ...b, kind: 'band' })),
            ...buckets.map((b) => ({ ...b, kind: 'bucket' })),
          ],
        },
        facet: {
          row: {
            field: 'backend',
            type: 'nominal',
            title: null,
            header: { labelAngle: 0, labelAlign: 'left', labelFontWeight: 'bold' },
            sort: [...BACKEND_DOMAIN],
          },
        },
        spec: {
          width: WIDTH,
          height: 90,
          layer: [
            {
              transform: [{ filter: "datum.kind === 'band'" }],
              mark: { type: 'rect', opacity: 0.9 },
              encoding: {
                x: { ...x, field: 'start' },
                x2: { field: 'end' },
                fill: {
                  field: 'phase',
                  type: 'nominal',
                  title: 'phase',
                  scale: { domain: PHASES, range: PHASE_FILL },
                },
              },
            },
            {
              transform: [{ filter: "datum.kind === 'bucket'" }],
              mark: { type: 'line', interpolate: 'step-after', color: '#1f3b73', strokeWidth: 1.2 },
              encoding: {
                x,
                y: { field: 'writes', type: 'quantitative', title: 'writes / 10 ms', axis: { format: '~s' } },
                ...machineDash(buckets),
              },
            },
          ],
        },
        resolve: { scale: { x: 'shared', y: 'shared' } },
      },
    };
  },
};
