/**
 * :db/retractEntity (docs: transaction functions ":db/retractEntity"): retracts every datom where
 * the entity is E or V (its own facts and every reference to it), recursing into components.
 */
import { dbWith, facts, fails, tx, txFacts, val, vals, type Db } from './helpers';

function family(): { db: Db; jane: number; team: number; addr: number; bob: number } {
  const r = tx(dbWith(), [
    { 'db/id': 'jane', 'person/email': 'jdoe@example.com', 'person/name': 'Jane Doe', 'person/address': { 'db/id': 'addr', 'address/street': '1 Main' } },
    { 'db/id': 'bob', 'person/email': 'bob@example.com', 'person/spouse': 'jane', 'person/friends': ['jane'] },
    { 'db/id': 'team', 'order/id': 'team', 'person/friends': ['jane', 'bob'] },
  ]);
  const t = r.tempids as Record<string, number>;
  return { db: r.dbAfter, jane: t['jane']!, team: t['team']!, addr: t['addr']!, bob: t['bob']! };
}

describe(':db/retractEntity', () => {
  test('retracts the entity\'s own datoms and every reference to it (Datomic example)', () => {
    const { db, jane, team, bob } = family();
    const r = tx(db, [[':db/retractEntity', jane]]);
    expect(facts(r.dbAfter, jane)).toEqual({});
    expect(vals(r.dbAfter, team, ':person/friends')).toEqual([bob]);
    expect(val(r.dbAfter, bob, ':person/spouse')).toBeUndefined();
    expect(vals(r.dbAfter, bob, ':person/friends')).toEqual([]);
    expect(txFacts(r).every((f) => f[3] === false)).toBe(true);
    // Bob keeps his own facts.
    expect(val(r.dbAfter, bob, ':person/email')).toBe('bob@example.com');
  });

  test('by lookup ref (Datomic example)', () => {
    const { db, jane } = family();
    const r = tx(db, `[[:db/retractEntity [:person/email "jdoe@example.com"]]]`);
    expect(facts(r.dbAfter, jane)).toEqual({});
  });

  test('cascades into components, recursively, but not into plain references', () => {
    const r0 = tx(dbWith(), [
      { 'db/id': 'o', 'order/id': 'o1', 'order/items': [{ 'db/id': 'i1', 'item/sku': 'a', 'item/detail': { 'db/id': 'd1', 'detail/note': 'n' } }, { 'db/id': 'i2', 'item/sku': 'b' }] },
      { 'db/id': 'p', 'person/email': 'p@x', 'person/friends': ['o'] },
    ]);
    const t = r0.tempids as Record<string, number>;
    const r = tx(r0.dbAfter, [[':db/retractEntity', t['o']!]]);
    for (const e of [t['o']!, t['i1']!, t['i2']!, t['d1']!]) expect(facts(r.dbAfter, e)).toEqual({});
    // The reference from p to the order is retracted; p itself is not.
    expect(facts(r.dbAfter, t['p']!)).toEqual({ ':person/email': 'p@x' });
  });

  test('does not cascade through non-component refs', () => {
    const { db, bob, jane } = family();
    const r = tx(db, [[':db/retractEntity', bob]]);
    expect(val(r.dbAfter, jane, ':person/email')).toBe('jdoe@example.com');
  });

  test('the card-one component of a person is retracted with them', () => {
    const { db, jane, addr } = family();
    const r = tx(db, [[':db/retractEntity', jane]]);
    expect(facts(r.dbAfter, addr)).toEqual({});
  });

  test('retractions are visible in history with added = false', () => {
    const { db, jane } = family();
    const r = tx(db, [[':db/retractEntity', jane]]);
    const hist = r.dbAfter.history().datoms('eavt', jane);
    const retracted = hist.filter((d) => !d.added);
    expect(retracted.map((d) => d.tx)).toEqual(retracted.map(() => r.txData[0]!.tx));
    expect(retracted).toHaveLength(db.datoms('eavt', jane).length);
    // asOf the previous t still sees Jane.
    expect(facts(r.dbAfter.asOf(db.t), jane)).toEqual(facts(db, jane));
  });

  test('an entity with no datoms retracts nothing, the transaction still happens', () => {
    const { db, jane } = family();
    const db1 = tx(db, [[':db/retractEntity', jane]]).dbAfter;
    const r = tx(db1, [[':db/retractEntity', jane]]);
    expect(txFacts(r)).toEqual([]);
    expect(r.dbAfter.t).toBe(db1.t + 1);
  });

  test('a lookup ref that matches nothing fails', () => {
    const { db } = family();
    const e = fails(() => tx(db, [[':db/retractEntity', [':person/email', 'nobody@example.com']]]));
    expect(e.category).toBe('incorrect');
    expect(e.message).toContain('nobody@example.com');
  });

  test('a retracted entity can be given new facts in the same transaction (retractEntity sees db-before)', () => {
    const { db, jane } = family();
    const r = tx(db, [[':db/retractEntity', jane], [':db/add', jane, ':person/name', 'Reborn']]);
    expect(facts(r.dbAfter, jane)).toEqual({ ':person/name': 'Reborn' });
  });

  test('re-asserting a fact the same transaction retracts with retractEntity is a conflict', () => {
    const { db, jane } = family();
    const e = fails(() => tx(db, [[':db/retractEntity', jane], [':db/add', jane, ':person/name', 'Jane Doe']]));
    expect(e.category).toBe('conflict');
    expect(e.code).toBe('db.error/datoms-conflict');
  });

  test('two retractEntity of the same entity in one transaction are one set of retractions', () => {
    const { db, jane } = family();
    const r1 = tx(db, [[':db/retractEntity', jane]]);
    const r2 = tx(db, [[':db/retractEntity', jane], [':db/retractEntity', [':person/email', 'jdoe@example.com']]]);
    expect(txFacts(r2).sort()).toEqual(txFacts(r1).sort());
  });

  test('component cycles do not loop forever', () => {
    const db = dbWith(`[{:db/ident :n/child :db/valueType :db.type/ref :db/cardinality :db.cardinality/one :db/isComponent true}
                        {:db/ident :n/name :db/valueType :db.type/string :db/cardinality :db.cardinality/one}]`);
    const r0 = tx(db, [[':db/add', 'a', ':n/child', 'b'], [':db/add', 'b', ':n/child', 'a'], [':db/add', 'a', ':n/name', 'a'], [':db/add', 'b', ':n/name', 'b']]);
    const r = tx(r0.dbAfter, [[':db/retractEntity', r0.tempids['a']!]]);
    expect(facts(r.dbAfter, r0.tempids['b']!)).toEqual({});
  });

  test('retracting an attribute entity or other system entity is refused', () => {
    const db = dbWith();
    const e = fails(() => tx(db, [[':db/retractEntity', ':db/ident']]));
    expect(e.category).toBe('incorrect');
  });
});
