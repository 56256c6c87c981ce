/**
 * Lookup refs (docs: transaction data "Lookup Refs", identity "Lookup Refs"): `[unique-attr value]`
 * names the entity holding that value; it works wherever an entity is expected; the attribute
 * must be unique; it is evaluated against db-before; a lookup ref that matches nothing fails.
 */
import * as api from '../../services/engine/api';
import { kw } from '../../services/engine/edn';
import { dbWith, facts, fails, tx, val, vals, type Db } from './helpers';

function withJoe(): { db: Db; joe: number; ann: number } {
  const r = tx(dbWith(), [
    { 'db/id': 'joe', 'person/email': 'joe@example.com', 'person/name': 'Joe', 'person/handle': 'joey' },
    { 'db/id': 'ann', 'person/email': 'ann@example.com', 'person/name': 'Ann' },
  ]);
  return { db: r.dbAfter, joe: r.tempids['joe']!, ann: r.tempids['ann']! };
}

describe('lookup refs in transactions', () => {
  test('in :db/id of a map form (Datomic example: joe loves pizza)', () => {
    const { db, joe } = withJoe();
    const r = tx(db, `[{:db/id [:person/email "joe@example.com"] :person/age 30}]`);
    expect(val(r.dbAfter, joe, ':person/age')).toBe(30);
  });

  test('in the entity position of :db/add and :db/retract', () => {
    const { db, joe } = withJoe();
    const r = tx(db, [[':db/add', [':person/email', 'joe@example.com'], ':person/aliases', 'J']]);
    expect(vals(r.dbAfter, joe, ':person/aliases')).toEqual(['J']);
    const r2 = tx(r.dbAfter, [[':db/retract', [':person/email', 'joe@example.com'], ':person/aliases', 'J']]);
    expect(vals(r2.dbAfter, joe, ':person/aliases')).toEqual([]);
  });

  test('in the value position of a ref attribute, card-one and card-many', () => {
    const { db, joe, ann } = withJoe();
    const r = tx(db, [
      { 'db/id': [':person/email', 'ann@example.com'], 'person/spouse': [':person/email', 'joe@example.com'] },
      { 'db/id': [':person/email', 'joe@example.com'], 'person/friends': [[':person/email', 'ann@example.com']] },
    ]);
    expect(val(r.dbAfter, ann, ':person/spouse')).toBe(joe);
    expect(vals(r.dbAfter, joe, ':person/friends')).toEqual([ann]);
  });

  test('a single lookup ref as the value of a card-many ref attribute is one value, not two', () => {
    const { db, joe, ann } = withJoe();
    const r = tx(db, [{ 'db/id': joe, 'person/friends': [':person/email', 'ann@example.com'] }]);
    expect(vals(r.dbAfter, joe, ':person/friends')).toEqual([ann]);
  });

  test('on a :db.unique/value attribute', () => {
    const { db, joe } = withJoe();
    const r = tx(db, [[':db/add', [':person/handle', 'joey'], ':person/age', 1]]);
    expect(val(r.dbAfter, joe, ':person/age')).toBe(1);
  });

  test('written in EDN with a keyword attribute', () => {
    const { db, joe } = withJoe();
    const r = tx(db, [[kw(':db/add'), [kw(':person/email'), 'joe@example.com'], kw(':person/age'), 2]]);
    expect(val(r.dbAfter, joe, ':person/age')).toBe(2);
  });

  test('in :db/retractEntity and :db/cas', () => {
    const { db, joe } = withJoe();
    const r = tx(db, [[':db/cas', [':person/email', 'joe@example.com'], ':person/name', 'Joe', 'Joseph']]);
    expect(val(r.dbAfter, joe, ':person/name')).toBe('Joseph');
    const r2 = tx(r.dbAfter, `[[:db/retractEntity [:person/email "joe@example.com"]]]`);
    expect(facts(r2.dbAfter, joe)).toEqual({});
  });

  test('a lookup ref on a ref-typed unique attribute takes an entity identifier as its value', () => {
    const db = dbWith(`[{:db/ident :acct/owner :db/valueType :db.type/ref :db/cardinality :db.cardinality/one :db/unique :db.unique/identity}
                        {:db/ident :acct/balance :db/valueType :db.type/long :db/cardinality :db.cardinality/one}
                        {:db/ident :user/name :db/valueType :db.type/string :db/cardinality :db.cardinality/one :db/unique :db.unique/identity}]`);
    const r = tx(db, [{ 'db/id': 'u', 'user/name': 'u1' }, { 'db/id': 'a', 'acct/owner': 'u', 'acct/balance': 1 }]);
    const r2 = tx(r.dbAfter, [[':db/add', [':acct/owner', [':user/name', 'u1']], ':acct/balance', 2]]);
    expect(val(r2.dbAfter, r.tempids['a']!, ':acct/balance')).toBe(2);
  });

  test('a lookup ref that matches nothing fails: incorrect, naming the lookup ref', () => {
    const { db } = withJoe();
    const e = fails(() => tx(db, [[':db/add', [':person/email', 'nobody@example.com'], ':person/age', 1]]));
    expect(e.category).toBe('incorrect');
    expect(e.message).toContain(':person/email');
    expect(e.message).toContain('nobody@example.com');
    const e2 = fails(() => tx(db, [{ 'db/id': 'x', 'person/spouse': [':person/email', 'ghost@example.com'], 'person/name': 'x' }]));
    expect(e2.category).toBe('incorrect');
    expect(e2.message).toContain('ghost@example.com');
  });

  test('the attribute of a lookup ref must be unique', () => {
    const { db } = withJoe();
    const e = fails(() => tx(db, [[':db/add', [':person/name', 'Joe'], ':person/age', 1]]));
    expect(e.category).toBe('incorrect');
    expect(e.message).toContain(':person/name');
  });

  test('the attribute of a lookup ref must exist', () => {
    const { db } = withJoe();
    const e = fails(() => tx(db, [[':db/add', [':no/such', 'x'], ':person/age', 1]]));
    expect(e.category).toBe('incorrect');
    expect(e.message).toContain(':no/such');
  });

  test('a lookup ref is resolved against db-before: it cannot name an entity created in the same transaction', () => {
    const { db } = withJoe();
    const e = fails(() => tx(db, [
      { 'db/id': 'new', 'person/email': 'new@example.com' },
      [':db/add', [':person/email', 'new@example.com'], ':person/age', 1],
    ]));
    expect(e.category).toBe('incorrect');
  });

  test('a lookup ref is resolved against db-before even when the same transaction moves the value', () => {
    const { db, joe, ann } = withJoe();
    const r = tx(db, [
      [':db/retract', joe, ':person/email', 'joe@example.com'],
      [':db/add', [':person/email', 'joe@example.com'], ':person/age', 77],
    ]);
    expect(val(r.dbAfter, joe, ':person/age')).toBe(77);
    expect(val(r.dbAfter, ann, ':person/age')).toBeUndefined();
  });
});

describe('lookup refs outside transactions', () => {
  test('api.datoms resolves a lookup ref in entity and value positions', () => {
    const { db, joe, ann } = withJoe();
    const db2 = tx(db, [[':db/add', joe, ':person/friends', ann]]).dbAfter;
    const byE = api.datoms(db2, 'eavt', [[':person/email', 'joe@example.com'], ':person/name']);
    expect(byE.map((d) => [d.e, d.a, d.v])).toEqual([[joe, ':person/name', 'Joe']]);
    const byV = api.datoms(db2, 'vaet', [[':person/email', 'ann@example.com'], ':person/friends']);
    expect(byV.map((d) => d.e)).toEqual([joe]);
  });

  test('entid resolves ids, idents and lookup refs', () => {
    const { db, joe } = withJoe();
    expect(db.entid([':person/email', 'joe@example.com'])).toBe(joe);
    expect(db.entid([':person/email', 'nobody'])).toBeUndefined();
    expect(db.entid(':person/email')).toBe(db.attrOf(':person/email')!.id);
    expect(db.entid(joe)).toBe(joe);
  });
});
