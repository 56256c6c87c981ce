/**
 * The datoms limit of a transaction (`maxDatoms`, docs/limits.md) is checked as early as it can
 * be: forms while the data is read, datoms named before tempids are resolved, datoms produced
 * while they are computed. And `transactSteps` is `transact` in steps of bounded work.
 */
import { runSteps } from '../../services/engine/steps';
import { transact, transactSteps } from '../../services/engine/transact';
import { dbWith, facts, fails } from './helpers';

const ages = (n: number) => Array.from({ length: n }, (_, i) => ({ 'person/age': i }));

describe('transactSteps', () => {
  test('gives the report transact gives, yielding along the way of a large transaction', () => {
    const db = dbWith();
    const data = ages(10_000);
    const steps = transactSteps(db, data, { now: Date.UTC(2001, 0, 1) });
    let yields = 0;
    let r = steps.next();
    for (; !r.done; r = steps.next()) yields++;
    const whole = transact(db, data, { now: Date.UTC(2001, 0, 1) });
    expect(r.value.txData).toEqual(whole.txData);
    expect(r.value.dbAfter.t).toBe(whole.dbAfter.t);
    expect(facts(r.value.dbAfter, r.value.txData[1]!.e)).toEqual(facts(whole.dbAfter, whole.txData[1]!.e));
    // Forms, operations, datoms: each phase yields every couple of thousand items.
    expect(yields).toBeGreaterThanOrEqual(10);
  });

  test('a small transaction needs no step', () => {
    const steps = transactSteps(dbWith(), ages(3));
    expect(steps.next().done).toBe(true);
  });
});

describe('maxDatoms', () => {
  test('EDN with more forms than the limit is refused while it is read: nothing after the limit is looked at', () => {
    const e = fails(() => transact(dbWith(), '[{:person/age 1} {:person/age 2} {:person/age 3} (this is never read', { maxDatoms: 2 }));
    expect({ category: e.category, code: e.code }).toEqual({ category: 'incorrect', code: 'db.error/transaction-too-large' });
    expect(e.message).toBe('Transaction data of more than 2 forms exceeds the limit of 2 datoms per transaction');
    expect(e.data).toEqual({ limit: 2 });
  });

  test('JS data with more forms than the limit is refused before any form is evaluated', () => {
    // The first form would fail on its own (no such attribute); the count comes first.
    const e = fails(() => transact(dbWith(), [{ 'no/such': 1 }, ...ages(3)], { maxDatoms: 3 }));
    expect(e.code).toBe('db.error/transaction-too-large');
    expect(e.message).toBe('Transaction data of 4 forms exceeds the limit of 3 datoms per transaction');
    expect(e.data).toEqual({ forms: 4, limit: 3 });
  });

  test('data naming more datoms than the limit is refused before tempids are resolved', () => {
    // "x" is used only as a value: resolving tempids would refuse that, but the count comes first.
    const data = [{ 'person/age': 1, 'person/name': 'a' }, { 'person/age': 2, 'person/spouse': 'x' }];
    expect(fails(() => transact(dbWith(), data)).code).toBe('db.error/tempid-not-an-entity');
    const e = fails(() => transact(dbWith(), data, { maxDatoms: 3 }));
    expect(e.code).toBe('db.error/transaction-too-large');
    expect(e.message).toBe('Transaction data naming more than 3 datoms exceeds the limit of 3 datoms per transaction');
  });

  test('datoms produced beyond the limit (a retraction for each replaced value) are refused', () => {
    const people = transact(dbWith(), ages(3).map((a, i) => ({ ...a, 'db/id': `p${i}` })));
    const ids = Object.values(people.tempids);
    const replace = ids.map((id) => [':db/add', id, ':person/age', 100]);
    // 3 assertions, 3 retractions and the transaction's instant.
    expect(transact(people.dbAfter, replace, { maxDatoms: 7 }).txData).toHaveLength(7);
    const e = fails(() => transact(people.dbAfter, replace, { maxDatoms: 6 }));
    expect(e.code).toBe('db.error/transaction-too-large');
    expect(e.message).toBe('Transaction of 7 datoms exceeds the limit of 6 datoms per transaction');
    expect(e.data).toEqual({ datoms: 7, limit: 6 });
  });

  test('datoms produced beyond the limit are refused while they are computed, before the indexes are built', () => {
    const n = 5_000;
    const people = transact(dbWith(), Array.from({ length: n }, (_, i) => ({ 'db/id': `p${i}`, 'person/age': i })));
    const replace = Object.values(people.tempids).map((id) => [':db/add', id, ':person/age', -1]);
    const steps = transactSteps(people.dbAfter, replace, { maxDatoms: n });
    let yields = 0;
    const e = fails(() => {
      for (let r = steps.next(); !r.done; r = steps.next()) yields++;
    });
    expect(e.message).toBe(`Transaction of more than ${n} datoms exceeds the limit of ${n} datoms per transaction`);
    // Refused in the evaluation of the operations (a yield every 2,048), not after it.
    expect(yields).toBeLessThan(runStepsCount(transactSteps(people.dbAfter, replace)));
  });
});

/** How many times steps yield before they end. */
function runStepsCount(steps: ReturnType<typeof transactSteps>): number {
  let n = 0;
  for (let r = steps.next(); !r.done; r = steps.next()) n++;
  return n;
}

test('runSteps runs steps to their end', () => {
  expect(runSteps(transactSteps(dbWith(), ages(5_000))).txData).toHaveLength(5_001);
});
