/**
 * Component attributes (docs: schema reference ":db/isComponent", transaction data "Nested Maps",
 * changing schema "Changing a :db/isComponent Attribute"): a component ref owns its target;
 * nested maps under component attributes need no unique attribute; :db/retractEntity cascades.
 */
import { dbWith, facts, fails, tx, val, vals } from './helpers';

describe('component attributes', () => {
  test('a nested map under a component attribute needs no unique attribute', () => {
    const r = tx(dbWith(), [{ 'db/id': 'p', 'person/name': 'P', 'person/address': { 'address/city': 'Olin' } }]);
    const addr = val(r.dbAfter, r.tempids['p']!, ':person/address') as number;
    expect(facts(r.dbAfter, addr)).toEqual({ ':address/city': 'Olin' });
  });

  test('a card-many component attribute takes a vector of maps (Datomic order/line-items example)', () => {
    const r = tx(dbWith(), `[{:db/id "o" :order/items [{:item/sku "chocolate" :item/qty 1} {:item/sku "whisky" :item/qty 2}]}]`);
    const items = vals(r.dbAfter, r.tempids['o']!, ':order/items') as number[];
    expect(items.map((i) => val(r.dbAfter, i, ':item/qty')).sort()).toEqual([1, 2]);
  });

  test('a nested map under a non-component ref without a unique attribute is refused', () => {
    const e = fails(() => tx(dbWith(), [{ 'db/id': 'p', 'person/spouse': { 'person/name': 'nameless' } }]));
    expect(e.category).toBe('incorrect');
    expect(e.message).toContain(':person/spouse');
  });

  test('a nested map may still carry its own :db/id tempid and be referenced elsewhere', () => {
    const r = tx(dbWith(), [
      { 'db/id': 'p', 'person/address': { 'db/id': 'home', 'address/city': 'Olin' } },
      { 'db/id': 'q', 'person/name': 'Q', 'person/friends': ['p'] },
    ]);
    expect(val(r.dbAfter, r.tempids['p']!, ':person/address')).toBe(r.tempids['home']);
  });

  test('retractEntity of the parent retracts its components', () => {
    const r = tx(dbWith(), [{ 'db/id': 'p', 'person/name': 'P', 'person/address': { 'db/id': 'a', 'address/city': 'Olin' } }]);
    const r2 = tx(r.dbAfter, [[':db/retractEntity', r.tempids['p']!]]);
    expect(facts(r2.dbAfter, r.tempids['a']!)).toEqual({});
  });

  test('retractEntity of a component retracts it and the parent\'s reference, not the parent', () => {
    const r = tx(dbWith(), [{ 'db/id': 'p', 'person/name': 'P', 'person/address': { 'db/id': 'a', 'address/city': 'Olin' } }]);
    const r2 = tx(r.dbAfter, [[':db/retractEntity', r.tempids['a']!]]);
    expect(facts(r2.dbAfter, r.tempids['p']!)).toEqual({ ':person/name': 'P' });
  });

  test('replacing a card-one component value does not retract the old component entity', () => {
    const r = tx(dbWith(), [{ 'db/id': 'p', 'person/address': { 'db/id': 'old', 'address/city': 'A' } }]);
    const r2 = tx(r.dbAfter, [{ 'db/id': r.tempids['p']!, 'person/address': { 'db/id': 'new', 'address/city': 'B' } }]);
    expect(val(r2.dbAfter, r.tempids['p']!, ':person/address')).toBe(r2.tempids['new']);
    expect(facts(r2.dbAfter, r.tempids['old']!)).toEqual({ ':address/city': 'A' });
  });

  test(':db/isComponent requires a ref attribute', () => {
    const e = fails(() => dbWith(`[{:db/ident :bad/comp :db/valueType :db.type/string :db/cardinality :db.cardinality/one :db/isComponent true}]`));
    expect(e.category).toBe('incorrect');
    expect(e.message).toContain(':bad/comp');
  });

  test('turning isComponent on makes retractEntity cascade from then on; turning it off stops it', () => {
    let db = dbWith();
    const r = tx(db, [{ 'db/id': 'p', 'person/email': 'p@x', 'person/friends': [{ 'db/id': 'f', 'person/email': 'f@x' }] }]);
    db = tx(r.dbAfter, [{ 'db/id': ':person/friends', 'db/isComponent': true }]).dbAfter;
    expect(db.attrOf(':person/friends')!.isComponent).toBe(true);
    const gone = tx(db, [[':db/retractEntity', r.tempids['p']!]]).dbAfter;
    expect(facts(gone, r.tempids['f']!)).toEqual({});
    const off = tx(db, `[{:db/id :person/address :db/isComponent false}]`).dbAfter;
    const r2 = tx(off, [{ 'db/id': 'q', 'person/email': 'q@x', 'person/address': { 'db/id': 'a', 'address/city': 'C', 'person/email': 'addr@x' } }]);
    const kept = tx(r2.dbAfter, [[':db/retractEntity', r2.tempids['q']!]]).dbAfter;
    expect(facts(kept, r2.tempids['a']!)).toEqual({ ':address/city': 'C', ':person/email': 'addr@x' });
  });
});
