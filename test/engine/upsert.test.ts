/**
 * Upsert through :db.unique/identity (docs: schema/identity "Unique Identities", schema reference
 * ":db.unique/identity"): a tempid with an existing identity value resolves to the existing
 * entity; tempids asserting the same new identity value unify; a tempid that would resolve to two
 * different existing entities is a conflict.
 */
import { dbWith, facts, fails, tx, txFacts, val, vals, type Db } from './helpers';

function withJohn(): { db: Db; john: number } {
  const r = tx(dbWith(), [{ 'db/id': 'j', 'person/email': 'johndoe@example.com', 'person/name': 'John', 'person/age': 40 }]);
  return { db: r.dbAfter, john: r.tempids['j']! };
}

describe('upsert on :db.unique/identity', () => {
  test('a tempid with an existing identity value resolves to the existing entity (Datomic example)', () => {
    const { db, john } = withJohn();
    const r = tx(db, `[{:db/id "upsert-age" :person/email "johndoe@example.com" :person/age 50}]`);
    expect(r.tempids['upsert-age']).toBe(john);
    expect(val(r.dbAfter, john, ':person/age')).toBe(50);
    // Only the age changed: the identity datom is redundant, the old age is retracted.
    expect(txFacts(r).sort((a, b) => Number(a[3]) - Number(b[3]))).toEqual([
      [john, ':person/age', 40, false],
      [john, ':person/age', 50, true],
    ]);
  });

  test('a map without :db/id upserts too', () => {
    const { db, john } = withJohn();
    const r = tx(db, [{ 'person/email': 'johndoe@example.com', 'person/aliases': ['JD'] }]);
    expect(vals(r.dbAfter, john, ':person/aliases')).toEqual(['JD']);
    expect(r.dbAfter.datoms('aevt', r.dbAfter.attrOf(':person/email')!.id)).toHaveLength(1);
  });

  test('list forms upsert as well', () => {
    const { db, john } = withJohn();
    const r = tx(db, [[':db/add', 'x', ':person/email', 'johndoe@example.com'], [':db/add', 'x', ':person/name', 'Johnny']]);
    expect(r.tempids['x']).toBe(john);
    expect(val(r.dbAfter, john, ':person/name')).toBe('Johnny');
  });

  test('the upserted tempid resolves to the existing entity wherever it is used as a value', () => {
    const { db, john } = withJohn();
    const r = tx(db, [
      { 'db/id': 'j', 'person/email': 'johndoe@example.com' },
      { 'db/id': 'jane', 'person/email': 'jane@example.com', 'person/spouse': 'j' },
    ]);
    expect(r.tempids['j']).toBe(john);
    expect(val(r.dbAfter, r.tempids['jane']!, ':person/spouse')).toBe(john);
  });

  test('a tempid used as a value before the map that upserts it still resolves to the existing entity', () => {
    const { db, john } = withJohn();
    const r = tx(db, [
      [':db/add', 'jane', ':person/friends', 'j'],
      [':db/add', 'jane', ':person/name', 'Jane'],
      { 'db/id': 'j', 'person/email': 'johndoe@example.com' },
    ]);
    expect(vals(r.dbAfter, r.tempids['jane']!, ':person/friends')).toEqual([john]);
  });

  test('nested maps upsert through their identity attribute', () => {
    const { db, john } = withJohn();
    const r = tx(db, [{ 'db/id': 'p', 'person/email': 'p@x', 'person/friends': [{ 'person/email': 'johndoe@example.com', 'person/age': 41 }] }]);
    expect(vals(r.dbAfter, r.tempids['p']!, ':person/friends')).toEqual([john]);
    expect(val(r.dbAfter, john, ':person/age')).toBe(41);
  });

  test('two tempids asserting the same new identity value are one new entity', () => {
    const db = dbWith();
    const r = tx(db, [
      { 'db/id': 'a', 'person/email': 'new@x', 'person/name': 'New' },
      { 'db/id': 'b', 'person/email': 'new@x', 'person/age': 9 },
    ]);
    expect(r.tempids['a']).toBe(r.tempids['b']);
    expect(facts(r.dbAfter, r.tempids['a']!)).toEqual({ ':person/email': 'new@x', ':person/name': 'New', ':person/age': 9 });
  });

  test('two maps without :db/id asserting the same new identity value are one entity', () => {
    const r = tx(dbWith(), [{ 'person/email': 'same@x', 'person/name': 'S' }, { 'person/email': 'same@x', 'person/aliases': ['s'] }]);
    const es = new Set(txFacts(r).map((f) => f[0]));
    expect(es.size).toBe(1);
  });

  test('a tempid upserting through two identity attributes to the same entity is fine', () => {
    const r0 = tx(dbWith(), [{ 'db/id': 'p', 'person/email': 'p@x', 'person/ssn': '123' }]);
    const r = tx(r0.dbAfter, [{ 'db/id': 't', 'person/email': 'p@x', 'person/ssn': '123', 'person/age': 5 }]);
    expect(r.tempids['t']).toBe(r0.tempids['p']);
  });

  test('a tempid that would upsert to two different entities is a conflict (Datomic: email of 42, account of 43)', () => {
    const r0 = tx(dbWith(), [
      { 'db/id': 'a', 'person/email': 'johndoe@example.com' },
      { 'db/id': 'b', 'person/ssn': '1007' },
    ]);
    const e = fails(() => tx(r0.dbAfter, [{ 'db/id': 'new', 'person/email': 'johndoe@example.com', 'person/ssn': '1007' }]));
    expect(e.category).toBe('conflict');
    expect(e.code).toBe('db.error/unique-conflict');
    // A failed transaction changes nothing.
    expect(facts(r0.dbAfter, r0.tempids['a']!)).toEqual({ ':person/email': 'johndoe@example.com' });
  });

  test('upsert resolves against db-before: a value asserted earlier in the same transaction does not count as existing', () => {
    const { db, john } = withJohn();
    // John changes email and a new tempid claims John's old email in the same transaction:
    // the tempid upserts to John (db-before), so John gets two card-one emails → conflict.
    const e = fails(() => tx(db, [
      [':db/add', john, ':person/email', 'changed@example.com'],
      { 'db/id': 'n', 'person/email': 'johndoe@example.com', 'person/name': 'Other' },
    ]));
    expect(e.category).toBe('conflict');
  });

  test('an explicit entity id does not upsert: claiming an identity held by another entity is a conflict', () => {
    const { db, john } = withJohn();
    const r = tx(db, [{ 'db/id': 'other', 'person/name': 'Other' }]);
    const e = fails(() => tx(r.dbAfter, [[':db/add', r.tempids['other']!, ':person/email', 'johndoe@example.com']]));
    expect(e.category).toBe('conflict');
    expect(e.code).toBe('db.error/unique-conflict');
    expect(e.message).toContain(':person/email');
    expect(e.message).toContain('johndoe@example.com');
    expect(val(r.dbAfter, john, ':person/email')).toBe('johndoe@example.com');
  });

  test('an identity value retracted earlier can be claimed by a new entity', () => {
    const { db, john } = withJohn();
    const db2 = tx(db, [[':db/retract', john, ':person/email', 'johndoe@example.com']]).dbAfter;
    const r = tx(db2, [{ 'db/id': 'n', 'person/email': 'johndoe@example.com' }]);
    expect(r.tempids['n']).not.toBe(john);
  });

  test('upsert with a card-one change retracts the old value only', () => {
    const { db, john } = withJohn();
    const r = tx(db, [{ 'person/email': 'johndoe@example.com', 'person/name': 'John', 'person/age': 40 }]);
    expect(txFacts(r)).toEqual([]);
    expect(facts(r.dbAfter, john)).toEqual(facts(db, john));
  });

  test('upsert chains through a ref-typed identity whose value is itself an upserted tempid', () => {
    const db = dbWith(`[{:db/ident :acct/owner :db/valueType :db.type/ref :db/cardinality :db.cardinality/one :db/unique :db.unique/identity}
                        {:db/ident :acct/balance :db/valueType :db.type/long :db/cardinality :db.cardinality/one}
                        {:db/ident :user/name :db/valueType :db.type/string :db/cardinality :db.cardinality/one :db/unique :db.unique/identity}]`);
    const r = tx(db, [{ 'db/id': 'u', 'user/name': 'u1' }, { 'db/id': 'a', 'acct/owner': 'u', 'acct/balance': 1 }]);
    const r2 = tx(r.dbAfter, [{ 'db/id': 'a2', 'acct/owner': 'u2', 'acct/balance': 2 }, { 'db/id': 'u2', 'user/name': 'u1' }]);
    expect(r2.tempids).toEqual({ u2: r.tempids['u'], a2: r.tempids['a'] });
    expect(val(r2.dbAfter, r.tempids['a']!, ':acct/balance')).toBe(2);
  });
});
