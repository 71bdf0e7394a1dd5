/** The per-backend run traces a latency suite kept (raw.traces), where the results hold them. */
import type { Machine } from './data.js';
import type { RunTrace } from './traces.js';

export function tracesOf(m: Machine): Record<string, RunTrace> {
  const raw = m.results.suites['latency']?.raw as { traces?: unknown } | undefined;
  const traces = raw?.traces;
  if (typeof traces !== 'object' || traces === null || Array.isArray(traces)) return {};
  // raw is free-form (not in the schema): a trace that is not an object is not drawn.
  return Object.fromEntries(
    Object.entries(traces).filter(([, t]) => typeof t === 'object' && t !== null && !Array.isArray(t)),
  ) as Record<string, RunTrace>;
}
