/**
 * The indexing kill switch of the fault suite (services/node/indexing/fault-injection.ts): what
 * DATALITH_FAULT_INDEXING_KILL_AT accepts, and that the hook fires once, at the n-th time the
 * step is reached. The process-level tests are test/faults/indexing-faults.test.ts.
 */
import { INDEXING_KILL_ENV, indexingKillFrom, killAtStep } from '../../services/node/indexing/fault-injection';
import type { DatabaseHost } from '../../services/node/log/transactor';

test('unset or empty: no kill point', () => {
  expect(indexingKillFrom({})).toBeUndefined();
  expect(indexingKillFrom({ [INDEXING_KILL_ENV]: ' ' })).toBeUndefined();
});

test('a step, or a step and the n-th time it is reached', () => {
  expect(indexingKillFrom({ [INDEXING_KILL_ENV]: 'root-advanced' })).toEqual({ step: 'root-advanced', nth: 1 });
  expect(indexingKillFrom({ [INDEXING_KILL_ENV]: 'segment-put:3' })).toEqual({ step: 'segment-put', nth: 3 });
});

test.each(['root', 'rebased:0', 'rebased:x', 'segments-written:1:2', 'ROOT-ADVANCED'])('%s is refused with a message naming the variable and the steps', (v) => {
  let err: unknown;
  try {
    indexingKillFrom({ [INDEXING_KILL_ENV]: v });
  } catch (e) {
    err = e;
  }
  expect(err).toMatchObject({ category: 'incorrect', code: 'config/invalid' });
  expect((err as Error).message).toContain(INDEXING_KILL_ENV);
  expect((err as Error).message).toContain(JSON.stringify(v));
  expect((err as Error).message).toContain('segment-put, segments-written, root-advanced, rebased');
});

test('the hook fires once, at the n-th time its step is reached', () => {
  const died: string[] = [];
  const onStep = killAtStep({ step: 'segment-put', nth: 2 }, (db) => died.push(db));
  const host = { name: 'orders' } as DatabaseHost;
  for (const s of ['segment-put', 'segments-written', 'segment-put', 'segment-put', 'root-advanced'] as const) void onStep(s, host);
  expect(died).toEqual(['orders']);
});
