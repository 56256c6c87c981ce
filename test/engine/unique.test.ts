/**
 * :db.unique/value (docs: schema/identity "Unique Values", schema reference ":db/unique"): a value
 * can be held by one entity only; a tempid with an existing unique value is rejected (no upsert);
 * uniqueness is checked on the database that would result from the transaction.
 */
import { aid, dbWith, facts, fails, tx, val, type Db } from './helpers';

function withHandle(): { db: Db; a: number } {
  const r = tx(dbWith(), [{ 'db/id': 'a', 'person/handle': 'ada', 'person/name': 'Ada' }]);
  return { db: r.dbAfter, a: r.tempids['a']! };
}

describe(':db.unique/value', () => {
  test('a tempid with an existing unique value is rejected: conflict, unique-conflict, naming attribute and value', () => {
    const { db, a } = withHandle();
    const e = fails(() => tx(db, [{ 'db/id': 'b', 'person/handle': 'ada', 'person/name': 'Impostor' }]));
    expect(e.category).toBe('conflict');
    expect(e.code).toBe('db.error/unique-conflict');
    expect(e.message).toContain(':person/handle');
    expect(e.message).toContain('ada');
    expect(facts(db, a)).toEqual({ ':person/handle': 'ada', ':person/name': 'Ada' });
  });

  test('an existing entity cannot take a unique value held by another', () => {
    const { db } = withHandle();
    const r = tx(db, [{ 'db/id': 'b', 'person/name': 'Bob' }]);
    const e = fails(() => tx(r.dbAfter, [[':db/add', r.tempids['b']!, ':person/handle', 'ada']]));
    expect(e.category).toBe('conflict');
    expect(e.code).toBe('db.error/unique-conflict');
  });

  test('two new entities claiming the same unique value in one transaction is a conflict', () => {
    const e = fails(() => tx(dbWith(), [{ 'db/id': 'x', 'person/handle': 'h' }, { 'db/id': 'y', 'person/handle': 'h' }]));
    expect(e.category).toBe('conflict');
    expect(e.code).toMatch(/^db\.error\/(unique-conflict|datoms-conflict)$/);
  });

  test('re-asserting the value on its holder is redundant, not a conflict', () => {
    const { db, a } = withHandle();
    const r = tx(db, [[':db/add', a, ':person/handle', 'ada']]);
    expect(r.txData).toHaveLength(1); // only :db/txInstant
  });

  test('a unique value can move between entities within one transaction (checked on db-after)', () => {
    const { db, a } = withHandle();
    const r0 = tx(db, [{ 'db/id': 'b', 'person/name': 'Bob' }]);
    const b = r0.tempids['b']!;
    const r = tx(r0.dbAfter, [[':db/retract', a, ':person/handle', 'ada'], [':db/add', b, ':person/handle', 'ada']]);
    expect(val(r.dbAfter, b, ':person/handle')).toBe('ada');
    expect(val(r.dbAfter, a, ':person/handle')).toBeUndefined();
  });

  test('two entities can swap unique values in one transaction', () => {
    const r0 = tx(dbWith(), [{ 'db/id': 'a', 'person/handle': 'one' }, { 'db/id': 'b', 'person/handle': 'two' }]);
    const { a, b } = r0.tempids as Record<string, number>;
    const r = tx(r0.dbAfter, [[':db/add', a!, ':person/handle', 'two'], [':db/add', b!, ':person/handle', 'one']]);
    expect(val(r.dbAfter, a!, ':person/handle')).toBe('two');
    expect(val(r.dbAfter, b!, ':person/handle')).toBe('one');
  });

  test('a retracted unique value can be reused later', () => {
    const { db, a } = withHandle();
    const db2 = tx(db, [[':db/retractEntity', a]]).dbAfter;
    const r = tx(db2, [{ 'db/id': 'n', 'person/handle': 'ada' }]);
    expect(val(r.dbAfter, r.tempids['n']!, ':person/handle')).toBe('ada');
  });

  test('uniqueness is per attribute: the same value under another attribute is fine', () => {
    const { db } = withHandle();
    const r = tx(db, [{ 'db/id': 'n', 'person/email': 'ada', 'person/name': 'ada' }]);
    expect(val(r.dbAfter, r.tempids['n']!, ':person/email')).toBe('ada');
  });

  test('a unique value identifies its entity in a lookup ref', () => {
    const { db, a } = withHandle();
    const r = tx(db, [[':db/add', [':person/handle', 'ada'], ':person/age', 36]]);
    expect(val(r.dbAfter, a, ':person/age')).toBe(36);
  });

  test('unique values of every type are compared by value (instants, bigints)', () => {
    const db = dbWith(`[{:db/ident :k/at :db/valueType :db.type/instant :db/cardinality :db.cardinality/one :db/unique :db.unique/value}
                        {:db/ident :k/big :db/valueType :db.type/bigint :db/cardinality :db.cardinality/one :db/unique :db.unique/value}]`);
    const db2 = tx(db, [{ 'k/at': new Date(1000), 'k/big': 12345678901234567890n }]).dbAfter;
    expect(fails(() => tx(db2, [{ 'k/at': new Date(1000) }])).code).toBe('db.error/unique-conflict');
    expect(fails(() => tx(db2, [{ 'k/big': 12345678901234567890n }])).code).toBe('db.error/unique-conflict');
    expect(db2.datoms('avet', aid(db2, ':k/at'))).toHaveLength(1);
  });
});
