/**
 * Schema changes (docs: schema/schema-change, schema reference): what may change — :db/ident
 * (the old ident still resolves), cardinality one↔many (to one only when every entity has at most
 * one value), adding/removing :db/unique (card-one, current values unique), :db/isComponent,
 * :db/noHistory, :db/doc — and what may never change: :db/valueType, :db/tupleAttrs,
 * :db/tupleTypes, :db/tupleType. A database value uses its current schema, even as of the past.
 */
import { aid, dbWith, fails, tx, val, vals, type Db } from './helpers';

const BASE = `[
 {:db/ident :person/name :db/valueType :db.type/string :db/cardinality :db.cardinality/one}
 {:db/ident :person/favorite-food :db/valueType :db.type/string :db/cardinality :db.cardinality/one}
 {:db/ident :person/email :db/valueType :db.type/string :db/cardinality :db.cardinality/many}
 {:db/ident :person/external-id :db/valueType :db.type/string :db/cardinality :db.cardinality/one}
 {:db/ident :person/password :db/valueType :db.type/string :db/cardinality :db.cardinality/one}
 {:db/ident :person/friend :db/valueType :db.type/ref :db/cardinality :db.cardinality/one}
 {:db/ident :k/a :db/valueType :db.type/string :db/cardinality :db.cardinality/one}
 {:db/ident :k/b :db/valueType :db.type/long :db/cardinality :db.cardinality/one}
 {:db/ident :k/c :db/valueType :db.type/long :db/cardinality :db.cardinality/one}
 {:db/ident :k/a+b :db/valueType :db.type/tuple :db/tupleAttrs [:k/a :k/b] :db/cardinality :db.cardinality/one}
 {:db/ident :k/pair :db/valueType :db.type/tuple :db/tupleTypes [:db.type/long :db.type/string] :db/cardinality :db.cardinality/one}
 {:db/ident :k/longs :db/valueType :db.type/tuple :db/tupleType :db.type/long :db/cardinality :db.cardinality/one}
]`;

function base(): Db {
  return dbWith(BASE);
}

describe('defining attributes', () => {
  test('list forms define an attribute as well as a map (they are semantically equivalent)', () => {
    const db = tx(base(), `[[:db/add "a" :db/ident :x/y] [:db/add "a" :db/valueType :db.type/string] [:db/add "a" :db/cardinality :db.cardinality/one]]`).dbAfter;
    expect(db.attrOf(':x/y')).toMatchObject({ ident: ':x/y', valueType: 'string', cardinality: 'one', unique: null });
    const r = tx(db, [[':db/add', 'q', ':x/y', 'hello']]);
    expect(val(r.dbAfter, r.tempids['q']!, ':x/y')).toBe('hello');
  });

  test('an attribute cannot lose :db/ident, :db/valueType or :db/cardinality', () => {
    const e = fails(() => tx(base(), `[[:db/retract :person/name :db/ident :person/name]]`));
    expect(e.category).toBe('incorrect');
    expect(e.message).toContain(':person/name');
  });
});

describe('renaming an ident', () => {
  test('the new and the old ident both name the entity; ident returns the new one (Datomic example)', () => {
    const db0 = base();
    const id = aid(db0, ':person/name');
    const r0 = tx(db0, [{ 'db/id': 'p', 'person/name': 'Ann' }]);
    const db = tx(r0.dbAfter, `[{:db/id :person/name :db/ident :person/full-name}]`).dbAfter;
    expect(db.entid(':person/full-name')).toBe(id);
    expect(db.entid(':person/name')).toBe(id);
    expect(db.ident(id)).toBe(':person/full-name');
    expect(db.attrOf(':person/name')!.ident).toBe(':person/full-name');
    // Both names work in transactions.
    const p = r0.tempids['p']!;
    const db2 = tx(db, [[':db/add', p, ':person/name', 'Annie']]).dbAfter;
    expect(val(db2, p, ':person/full-name')).toBe('Annie');
    const db3 = tx(db2, [{ 'db/id': p, 'person/full-name': 'Anne' }]).dbAfter;
    expect(val(db3, p, ':person/name')).toBe('Anne');
  });

  test('an enum ident can be renamed too', () => {
    const db0 = tx(base(), `[{:db/ident :color/red}]`).dbAfter;
    const red = db0.entid(':color/red')!;
    const db = tx(db0, [{ 'db/id': ':color/red', 'db/ident': ':color/crimson' }]).dbAfter;
    expect(db.entid(':color/crimson')).toBe(red);
    expect(db.entid(':color/red')).toBe(red);
    expect(db.ident(red)).toBe(':color/crimson');
  });

  test('re-purposing an old ident: the name then points to the newly installed entity', () => {
    const db0 = base();
    const oldId = aid(db0, ':person/name');
    const db1 = tx(db0, `[{:db/id :person/name :db/ident :person/full-name}]`).dbAfter;
    const db2 = tx(db1, `[{:db/ident :person/name :db/valueType :db.type/long :db/cardinality :db.cardinality/one}]`).dbAfter;
    const newId = db2.entid(':person/name')!;
    expect(newId).not.toBe(oldId);
    expect(db2.attrOf(':person/name')!.valueType).toBe('long');
    expect(db2.entid(':person/full-name')).toBe(oldId);
    expect(db2.ident(oldId)).toBe(':person/full-name');
  });

  test('the schema of an asOf value is the current schema', () => {
    const db0 = base();
    const db = tx(db0, `[{:db/id :person/name :db/ident :person/full-name}]`).dbAfter;
    expect(db.asOf(db0.t).ident(aid(db0, ':person/name'))).toBe(':person/full-name');
  });
});

describe('changing :db/cardinality', () => {
  test('one → many: new values accumulate instead of replacing (Datomic example)', () => {
    const r = tx(base(), [{ 'db/id': 'p', 'person/favorite-food': 'pizza' }]);
    const db = tx(r.dbAfter, `[{:db/id :person/favorite-food :db/cardinality :db.cardinality/many}]`).dbAfter;
    expect(db.attrOf(':person/favorite-food')!.cardinality).toBe('many');
    const p = r.tempids['p']!;
    const db2 = tx(db, [[':db/add', p, ':person/favorite-food', 'sushi']]).dbAfter;
    expect(vals(db2, p, ':person/favorite-food')).toEqual(['pizza', 'sushi']);
  });

  test('many → one is accepted when every entity has at most one value', () => {
    const r = tx(base(), [{ 'db/id': 'p', 'person/email': ['only@x'] }, { 'db/id': 'q', 'person/name': 'no email' }]);
    const db = tx(r.dbAfter, `[{:db/id :person/email :db/cardinality :db.cardinality/one}]`).dbAfter;
    expect(db.attrOf(':person/email')!.cardinality).toBe('one');
    const p = r.tempids['p']!;
    const db2 = tx(db, [[':db/add', p, ':person/email', 'new@x']]).dbAfter;
    expect(vals(db2, p, ':person/email')).toEqual(['new@x']);
  });

  test('many → one is refused while an entity has several current values; retracted values do not count', () => {
    const r = tx(base(), [{ 'db/id': 'p', 'person/email': ['a@x', 'b@x'] }]);
    const e = fails(() => tx(r.dbAfter, `[{:db/id :person/email :db/cardinality :db.cardinality/one}]`));
    expect(e.category).toBe('incorrect');
    expect(e.message).toContain(':person/email');
    expect(r.dbAfter.attrOf(':person/email')!.cardinality).toBe('many');
    const db = tx(r.dbAfter, [[':db/retract', r.tempids['p']!, ':person/email', 'b@x']]).dbAfter;
    expect(tx(db, `[{:db/id :person/email :db/cardinality :db.cardinality/one}]`).dbAfter.attrOf(':person/email')!.cardinality).toBe('one');
  });
});

describe('changing :db/unique', () => {
  test('adding a unique identity: then upsert works (Datomic example)', () => {
    const r = tx(base(), [{ 'db/id': 'p', 'person/external-id': 'X1', 'person/name': 'P' }]);
    const db = tx(r.dbAfter, `[{:db/id :person/external-id :db/unique :db.unique/identity}]`).dbAfter;
    expect(db.attrOf(':person/external-id')!.unique).toBe('identity');
    const up = tx(db, [{ 'db/id': 't', 'person/external-id': 'X1', 'person/name': 'P2' }]);
    expect(up.tempids['t']).toBe(r.tempids['p']);
  });

  test('adding unique is refused while current values are not unique; fix the data first', () => {
    const r = tx(base(), [{ 'db/id': 'p', 'person/external-id': 'dup' }, { 'db/id': 'q', 'person/external-id': 'dup' }]);
    const e = fails(() => tx(r.dbAfter, `[{:db/id :person/external-id :db/unique :db.unique/value}]`));
    expect(e.category).toBe('incorrect');
    expect(e.message).toContain(':person/external-id');
    const fixed = tx(r.dbAfter, [[':db/retract', r.tempids['q']!, ':person/external-id', 'dup']]).dbAfter;
    expect(tx(fixed, `[{:db/id :person/external-id :db/unique :db.unique/value}]`).dbAfter.attrOf(':person/external-id')!.unique).toBe('value');
  });

  test('only cardinality-one attributes can be unique', () => {
    const e = fails(() => tx(base(), `[{:db/id :person/email :db/unique :db.unique/identity}]`));
    expect(e.category).toBe('incorrect');
    expect(e.message).toContain(':person/email');
    const e2 = fails(() => tx(base(), `[{:db/ident :x/tags :db/valueType :db.type/string :db/cardinality :db.cardinality/many :db/unique :db.unique/value}]`));
    expect(e2.category).toBe('incorrect');
  });

  test('Datomic\'s rule "only :db.cardinality/one attributes can be unique" holds for every way to get there', () => {
    // docs.datomic.com, Identity and Uniqueness. (DataScript accepts unique card-many attributes; Datomic's documentation decides.)
    const unique = tx(base(), `[{:db/id :person/external-id :db/unique :db.unique/identity}]`).dbAfter;
    for (const [db, form] of [
      [base(), `[{:db/ident :x/emails :db/valueType :db.type/string :db/cardinality :db.cardinality/many :db/unique :db.unique/identity}]`],
      [base(), `[[:db/add :person/email :db/unique :db.unique/value]]`],
      [unique, `[{:db/id :person/external-id :db/cardinality :db.cardinality/many}]`],
      [unique, `[{:db/id :person/external-id :db/cardinality :db.cardinality/many} {:db/id "p" :person/name "P"}]`],
    ] as const) {
      const e = fails(() => tx(db, form));
      expect(e.category).toBe('incorrect');
      expect(e.code).toBe('db.error/invalid-attribute');
      expect(e.message).toMatch(/cardinality-one attributes can be unique/);
    }
    // Dropping uniqueness and becoming card-many in one transaction is allowed.
    const both = tx(unique, `[[:db/retract :person/external-id :db/unique :db.unique/identity] [:db/add :person/external-id :db/cardinality :db.cardinality/many]]`).dbAfter;
    expect(both.attrOf(':person/external-id')).toMatchObject({ cardinality: 'many', unique: null });
  });

  test('retracting :db/unique stops enforcing it from the next transaction (Datomic example)', () => {
    const db0 = tx(base(), `[{:db/id :person/external-id :db/unique :db.unique/identity}]`).dbAfter;
    const r = tx(db0, [{ 'db/id': 'p', 'person/external-id': 'X' }]);
    const db = tx(r.dbAfter, `[[:db/retract :person/external-id :db/unique :db.unique/identity]]`).dbAfter;
    expect(db.attrOf(':person/external-id')!.unique).toBeNull();
    const r2 = tx(db, [{ 'db/id': 'q', 'person/external-id': 'X' }]);
    expect(r2.tempids['q']).not.toBe(r.tempids['p']);
  });

  test('identity can be changed to value', () => {
    const db0 = tx(base(), `[{:db/id :person/external-id :db/unique :db.unique/identity}]`).dbAfter;
    const db = tx(db0, `[{:db/id :person/external-id :db/unique :db.unique/value}]`).dbAfter;
    expect(db.attrOf(':person/external-id')!.unique).toBe('value');
  });
});

describe('changing :db/isComponent, :db/noHistory, :db/doc', () => {
  test(':db/isComponent can be set and unset (Datomic example)', () => {
    const db = tx(base(), `[{:db/id :person/friend :db/isComponent true}]`).dbAfter;
    expect(db.attrOf(':person/friend')!.isComponent).toBe(true);
    const db2 = tx(db, `[{:db/id :person/friend :db/isComponent false}]`).dbAfter;
    expect(db2.attrOf(':person/friend')!.isComponent).toBe(false);
  });

  test(':db/noHistory can be set and retracted (Datomic example)', () => {
    const db = tx(base(), `[{:db/id :person/password :db/noHistory true}]`).dbAfter;
    expect(db.attrOf(':person/password')!.noHistory).toBe(true);
    const db2 = tx(db, `[[:db/retract :person/password :db/noHistory true]]`).dbAfter;
    expect(db2.attrOf(':person/password')!.noHistory).toBe(false);
  });

  test(':db/doc can be set, changed and retracted', () => {
    const db = tx(base(), `[{:db/id :person/name :db/doc "A person's name"}]`).dbAfter;
    expect(db.attrOf(':person/name')!.doc).toBe("A person's name");
    const db2 = tx(db, `[[:db/add :person/name :db/doc "Full name"]]`).dbAfter;
    expect(db2.attrOf(':person/name')!.doc).toBe('Full name');
    const db3 = tx(db2, `[[:db/retract :person/name :db/doc "Full name"]]`).dbAfter;
    expect(db3.attrOf(':person/name')!.doc).toBeNull();
  });
});

describe('what may never change', () => {
  test.each([
    ['valueType', `[{:db/id :person/name :db/valueType :db.type/long}]`],
    ['tupleAttrs', `[{:db/id :k/a+b :db/tupleAttrs [:k/a :k/c]}]`],
    ['tupleTypes', `[{:db/id :k/pair :db/tupleTypes [:db.type/long :db.type/long]}]`],
    ['tupleType', `[{:db/id :k/longs :db/tupleType :db.type/string}]`],
  ])(':db/%s', (name, change) => {
    const db = base();
    const e = fails(() => tx(db, change));
    expect(e.category).toBe('incorrect');
    expect(e.message).toContain(`:db/${name}`);
  });

  test(':db/valueType cannot be retracted either', () => {
    const e = fails(() => tx(base(), `[[:db/retract :person/name :db/valueType :db.type/string]]`));
    expect(e.category).toBe('incorrect');
    expect(e.message).toContain(':person/name');
  });

  test('system attributes cannot be altered', () => {
    const e = fails(() => tx(base(), `[{:db/id :db/ident :db/cardinality :db.cardinality/many}]`));
    expect(e.category).toBe('incorrect');
  });

  test('an attribute needs :db/valueType and :db/cardinality', () => {
    expect(fails(() => tx(base(), `[{:db/ident :x/y :db/valueType :db.type/string}]`)).message).toContain(':db/cardinality');
    expect(fails(() => tx(base(), `[{:db/ident :x/y :db/cardinality :db.cardinality/one}]`)).message).toContain(':db/valueType');
  });

  test('names in the :db and :db.* namespaces are reserved', () => {
    expect(fails(() => tx(base(), `[{:db/ident :db/mine :db/valueType :db.type/string :db/cardinality :db.cardinality/one}]`)).category).toBe('incorrect');
    expect(fails(() => tx(base(), `[{:db/ident :db.custom/mine :db/valueType :db.type/string :db/cardinality :db.cardinality/one}]`)).category).toBe('incorrect');
    // :db/doc and :db/ident are fine on domain entities.
    const r = tx(base(), [{ 'db/id': 'x', 'db/ident': ':my/thing', 'db/doc': 'a thing' }]);
    expect(r.dbAfter.entid(':my/thing')).toBe(r.tempids['x']);
  });

  test('a failed schema change leaves the schema as it was', () => {
    const db = base();
    fails(() => tx(db, `[{:db/id :person/name :db/cardinality :db.cardinality/many :db/valueType :db.type/long}]`));
    expect(db.attrOf(':person/name')).toMatchObject({ valueType: 'string', cardinality: 'one' });
  });
});
