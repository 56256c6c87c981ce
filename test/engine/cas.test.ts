/**
 * :db/cas (docs: transaction functions ":db/cas"): [:db/cas e a old new] on a card-one attribute
 * asserts new iff e's a in db-before is old; nil old means "only if absent"; otherwise the whole
 * transaction aborts with conflict / db.error/cas-failed.
 */
import { dbWith, facts, fails, tx, txFacts, val, type Db } from './helpers';

function account(balance = 100): { db: Db; acct: number } {
  const db = dbWith(`[{:db/ident :account/id :db/valueType :db.type/string :db/cardinality :db.cardinality/one :db/unique :db.unique/identity}
                      {:db/ident :account/balance :db/valueType :db.type/long :db/cardinality :db.cardinality/one}
                      {:db/ident :account/tags :db/valueType :db.type/string :db/cardinality :db.cardinality/many}
                      {:db/ident :account/owner :db/valueType :db.type/ref :db/cardinality :db.cardinality/one}
                      {:db/ident :account/status :db/valueType :db.type/keyword :db/cardinality :db.cardinality/one}
                      {:db/ident :person/email :db/valueType :db.type/string :db/cardinality :db.cardinality/one :db/unique :db.unique/identity}]`);
  const r = tx(db, [{ 'db/id': 'a', 'account/id': 'A1', 'account/balance': balance }]);
  return { db: r.dbAfter, acct: r.tempids['a']! };
}

describe(':db/cas', () => {
  test('matching old value: expands to the retraction of old and the assertion of new (Datomic example)', () => {
    const { db, acct } = account(100);
    const r = tx(db, `[[:db/cas ${acct} :account/balance 100 110]]`);
    expect(val(r.dbAfter, acct, ':account/balance')).toBe(110);
    expect(txFacts(r).sort((a, b) => Number(a[3]) - Number(b[3]))).toEqual([
      [acct, ':account/balance', 100, false],
      [acct, ':account/balance', 110, true],
    ]);
  });

  test('mismatching old value: the transaction aborts with conflict / cas-failed and changes nothing', () => {
    const { db, acct } = account(100);
    const e = fails(() => tx(db, [[':db/add', acct, ':account/tags', 'touched'], [':db/cas', acct, ':account/balance', 99, 110]]));
    expect(e.category).toBe('conflict');
    expect(e.code).toBe('db.error/cas-failed');
    expect(e.message).toContain(':account/balance');
    expect(e.message).toContain('99');
    expect(facts(db, acct)).toEqual({ ':account/id': 'A1', ':account/balance': 100 });
  });

  test('nil old value: asserts only if no value exists', () => {
    const { db, acct } = account(100);
    const r = tx(db, [[':db/cas', 'n', ':account/balance', null, 5], [':db/add', 'n', ':account/id', 'N']]);
    expect(val(r.dbAfter, r.tempids['n']!, ':account/balance')).toBe(5);
    const e = fails(() => tx(db, [[':db/cas', acct, ':account/balance', null, 5]]));
    expect(e.code).toBe('db.error/cas-failed');
    const r2 = tx(db, `[[:db/cas ${acct} :account/owner nil ${acct}]]`);
    expect(val(r2.dbAfter, acct, ':account/owner')).toBe(acct);
  });

  test('cas with old equal to new is a no-op that passes', () => {
    const { db, acct } = account(100);
    const r = tx(db, [[':db/cas', acct, ':account/balance', 100, 100]]);
    expect(txFacts(r)).toEqual([]);
  });

  test('cas needs a cardinality-one attribute', () => {
    const { db, acct } = account();
    const e = fails(() => tx(db, [[':db/cas', acct, ':account/tags', null, 'x']]));
    expect(e.category).toBe('incorrect');
    expect(e.message).toContain(':account/tags');
  });

  test('cas compares against db-before, not against earlier operations of the same transaction', () => {
    const { db, acct } = account(100);
    const e = fails(() => tx(db, [[':db/add', acct, ':account/balance', 200], [':db/cas', acct, ':account/balance', 200, 300]]));
    expect(e.code).toBe('db.error/cas-failed');
  });

  test('cas on ref attributes compares entity ids; old and new may be entity identifiers', () => {
    const { db, acct } = account();
    const r0 = tx(db, [{ 'db/id': 'p', 'person/email': 'p@x' }, { 'db/id': 'q', 'person/email': 'q@x' }]);
    const { p, q } = r0.tempids as Record<string, number>;
    const db1 = tx(r0.dbAfter, [[':db/add', acct, ':account/owner', p!]]).dbAfter;
    const r = tx(db1, [[':db/cas', acct, ':account/owner', [':person/email', 'p@x'], [':person/email', 'q@x']]]);
    expect(val(r.dbAfter, acct, ':account/owner')).toBe(q);
    expect(fails(() => tx(r.dbAfter, [[':db/cas', acct, ':account/owner', p!, p!]])).code).toBe('db.error/cas-failed');
  });

  test('cas on keyword attributes', () => {
    const { db, acct } = account();
    const db1 = tx(db, `[[:db/add ${acct} :account/status :status/open]]`).dbAfter;
    const r = tx(db1, `[[:db/cas ${acct} :account/status :status/open :status/closed]]`);
    expect(val(r.dbAfter, acct, ':account/status')).toBe(':status/closed');
  });

  test('cas takes the entity as a lookup ref or tempid', () => {
    const { db, acct } = account(100);
    const r = tx(db, [[':db/cas', [':account/id', 'A1'], ':account/balance', 100, 101]]);
    expect(val(r.dbAfter, acct, ':account/balance')).toBe(101);
  });

  test('the value types of old and new are checked like any value', () => {
    const { db, acct } = account(100);
    const e = fails(() => tx(db, [[':db/cas', acct, ':account/balance', 100, 'lots']]));
    expect(e.category).toBe('incorrect');
    expect(e.message).toContain(':account/balance');
  });

  test('a failing cas among several aborts all of them', () => {
    const { db, acct } = account(100);
    const r0 = tx(db, [{ 'db/id': 'b', 'account/id': 'B', 'account/balance': 5 }]);
    const b = r0.tempids['b']!;
    const e = fails(() => tx(r0.dbAfter, [[':db/cas', acct, ':account/balance', 100, 50], [':db/cas', b, ':account/balance', 6, 55]]));
    expect(e.code).toBe('db.error/cas-failed');
    expect(val(r0.dbAfter, acct, ':account/balance')).toBe(100);
  });
});
