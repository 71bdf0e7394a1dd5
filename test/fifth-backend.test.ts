/**
 * Issue 22: what a fifth backend costs. A throwaway backend, registered here beside the real four
 * (the registry is the only list), is in every configuration-driven test's list and gets its own
 * chart colour, with no hand-kept list edited. The real files to add one: src/backends/<name>.ts,
 * its entry in src/registry.ts, and natively native/<name>/ and its entry in native/backends.cc.
 */
import test from 'ava';
import { backendColours, BACKEND_DOMAIN } from '../bench/charts/data.js';
import type { CowBackend } from '../src/backend.js';
import { copyPathOptions } from '../src/backends/shared-options.js';
import { PAGE_SIZE } from '../src/page.js';
import { backendNames, backends } from '../src/registry.js';
import { configurations, configurationsOf } from './helpers.js';

/** A copy-before-write backend with the shared fault path's options and two deliveries. */
const fifth = {
  name: 'fifth',
  description: 'a throwaway fifth backend (test only)',
  capabilities: {
    consistencyPoint: 'start',
    granularities: [PAGE_SIZE],
    copyBeforeWrite: true,
    copyBuffer: true,
    handlerThreads: true,
    kernelCopies: false,
  },
  options: copyPathOptions,
  deliveries: [
    { name: 'thread', options: {} },
    { name: 'signal', options: {}, capabilities: { handlerThreads: false } },
  ],
  probe: () => ({ ok: false, reason: 'a test-only backend' }),
} satisfies CowBackend;

const registry: Record<string, CowBackend> = { ...backends, fifth };
const names = [...backendNames, 'fifth'];

test('a fifth backend is in every configuration list the tests loop over', (t) => {
  const filters = [
    {},
    { capability: 'copyBeforeWrite' },
    { capability: 'copyBuffer' },
    { capability: 'handlerThreads' },
    { option: 'faultAroundPages' },
    { option: 'drainWake' },
    { option: 'copyOrder' },
  ] as const;
  for (const filter of filters) {
    const labels = configurationsOf(registry, names, filter).map((c) => c.label);
    const real = configurations(filter).map((c) => c.label);
    // The real configurations, in order, then the fifth backend's.
    t.deepEqual(labels.slice(0, real.length), real, JSON.stringify(filter));
    const added = labels.slice(real.length);
    t.true(
      added.length > 0 && added.every((l) => l.startsWith('fifth')),
      `${JSON.stringify(filter)}: ${added.join(', ')}`,
    );
  }
  t.deepEqual(
    configurationsOf(registry, names)
      .filter((c) => c.backend === 'fifth')
      .map((c) => c.label),
    ['fifth thread', 'fifth signal'],
  );
  // A delivery's capabilities override the backend's.
  t.deepEqual(
    configurationsOf(registry, names, { capability: 'handlerThreads' })
      .filter((c) => c.backend === 'fifth')
      .map((c) => c.label),
    ['fifth thread'],
  );
});

test('a fifth backend gets a chart colour of its own; the four keep theirs', (t) => {
  const four = backendColours();
  const five = backendColours(names);
  t.deepEqual([...BACKEND_DOMAIN], [...backendNames]);
  for (const b of backendNames) t.is(five.get(b), four.get(b));
  const colour = five.get('fifth');
  t.truthy(colour);
  t.false([...four.values()].includes(colour!), `${colour} is already a backend's`);
});
