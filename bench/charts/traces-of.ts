/** The per-backend run traces a latency suite kept (raw.traces), where the results hold them. */
import type { Machine } from './data.js';
import type { RunTrace } from './traces.js';

export function tracesOf(m: Machine): Record<string, RunTrace> {
  const raw = m.results.suites['latency']?.raw as { traces?: Record<string, RunTrace> } | undefined;
  return raw?.traces ?? {};
}
