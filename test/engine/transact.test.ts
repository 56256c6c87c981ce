/**
 * Datomic's transaction language (docs: reference/transactions/transaction-data): list forms,
 * map forms, nested maps, card-many collections, tempids, "datomic.tx", redundancy elimination,
 * reified transactions with a strictly increasing :db/txInstant.
 */
import { FIRST_USER_EID, TX0, txToT, tToTx } from '../../services/engine/datom';
import { kw } from '../../services/engine/edn';
import { aid, dbWith, facts, fails, tx, txFacts, val, vals } from './helpers';

describe('list forms', () => {
  test(':db/add with a tempid creates an entity and returns its id in tempids', () => {
    const db = dbWith();
    const r = tx(db, [[':db/add', 'jdoe', ':person/name', 'Jan'], [':db/add', 'jdoe', ':person/age', 42]]);
    const e = r.tempids['jdoe']!;
    expect(e).toBeGreaterThanOrEqual(FIRST_USER_EID);
    expect(e).toBeLessThan(TX0);
    expect(facts(r.dbAfter, e)).toEqual({ ':person/name': 'Jan', ':person/age': 42 });
    expect(r.dbBefore).toBe(db);
    expect(r.dbAfter.t).toBe(db.t + 1);
  });

  test('the same tempid string is one entity; different strings are different entities', () => {
    const r = tx(dbWith(), `[[:db/add "ceo" :person/friends "jdoe"] [:db/add "jdoe" :person/friends "intern"]
                             [:db/add "ceo" :person/name "C"] [:db/add "jdoe" :person/name "J"] [:db/add "intern" :person/name "I"]]`);
    const { ceo, jdoe, intern } = r.tempids as Record<string, number>;
    expect(new Set([ceo, jdoe, intern]).size).toBe(3);
    expect(vals(r.dbAfter, ceo!, ':person/friends')).toEqual([jdoe]);
    expect(vals(r.dbAfter, jdoe!, ':person/friends')).toEqual([intern]);
  });

  test('attributes may be given as keywords, ":ns/name" strings or ids', () => {
    const db = dbWith();
    const r = tx(db, [
      [':db/add', 'x', kw(':person/name'), 'A'],
      [':db/add', 'x', aid(db, ':person/age'), 7],
      [':db/add', 'x', ':person/aliases', 'a'],
    ]);
    expect(facts(r.dbAfter, r.tempids['x']!)).toEqual({ ':person/name': 'A', ':person/age': 7, ':person/aliases': ['a'] });
  });

  test(':db/retract with a value retracts that datom', () => {
    let db = dbWith();
    const r = tx(db, [{ 'db/id': 'p', 'person/aliases': ['a', 'b', 'c'] }]);
    db = r.dbAfter;
    const p = r.tempids['p']!;
    const r2 = tx(db, [[':db/retract', p, ':person/aliases', 'b']]);
    expect(vals(r2.dbAfter, p, ':person/aliases')).toEqual(['a', 'c']);
    expect(txFacts(r2)).toEqual([[p, ':person/aliases', 'b', false]]);
  });

  test(':db/retract without a value retracts every value of e/a in db-before', () => {
    const r = tx(dbWith(), [{ 'db/id': 'p', 'person/aliases': ['a', 'b', 'c'], 'person/name': 'N' }]);
    const p = r.tempids['p']!;
    const r2 = tx(r.dbAfter, `[[:db/retract ${p} :person/aliases]]`);
    expect(vals(r2.dbAfter, p, ':person/aliases')).toEqual([]);
    expect(val(r2.dbAfter, p, ':person/name')).toBe('N');
    expect(txFacts(r2).map((f) => f[3])).toEqual([false, false, false]);
    // Nothing to retract: zero retractions, the transaction still happens.
    const r3 = tx(r2.dbAfter, [[':db/retract', p, ':person/aliases']]);
    expect(txFacts(r3)).toEqual([]);
    expect(r3.dbAfter.t).toBe(r2.dbAfter.t + 1);
  });

  test('asserting a new value of a card-one attribute retracts the old one', () => {
    const r = tx(dbWith(), [{ 'db/id': 'p', 'person/age': 30 }]);
    const p = r.tempids['p']!;
    const r2 = tx(r.dbAfter, [[':db/add', p, ':person/age', 31]]);
    expect(val(r2.dbAfter, p, ':person/age')).toBe(31);
    expect(txFacts(r2).sort((x, y) => Number(x[3]) - Number(y[3]))).toEqual([
      [p, ':person/age', 30, false],
      [p, ':person/age', 31, true],
    ]);
  });

  test('an ident in the value position of a ref attribute names its entity (enums)', () => {
    const db = dbWith();
    const r = tx(db, `[[:db/add "p" :person/sex :sex/female]]`);
    expect(val(r.dbAfter, r.tempids['p']!, ':person/sex')).toBe(db.identId(':sex/female'));
    const r2 = tx(db, [[':db/add', 'p', ':person/sex', ':sex/male']]);
    expect(val(r2.dbAfter, r2.tempids['p']!, ':person/sex')).toBe(db.identId(':sex/male'));
  });

  test('transaction data is accepted as an EDN string exactly as Datomic writes it', () => {
    const r = tx(dbWith(), `[{:db/id "bob" :person/name "Bob" :person/aliases ["Robert" "Bert" "Bobby" "Curly"]}
                             [:db/add "bob" :person/age 40]]`);
    expect(facts(r.dbAfter, r.tempids['bob']!)).toEqual({
      ':person/name': 'Bob', ':person/age': 40, ':person/aliases': ['Bert', 'Bobby', 'Curly', 'Robert'],
    });
  });
});

describe('map forms', () => {
  test('a map expands to :db/add of each attribute; without :db/id it is a new entity', () => {
    const db = dbWith();
    const r = tx(db, [{ 'person/name': 'Anon', 'person/age': 3 }]);
    const added = txFacts(r);
    expect(added).toHaveLength(2);
    const e = added[0]![0];
    expect(added.every((f) => f[0] === e && f[3])).toBe(true);
    expect(e).toBeGreaterThanOrEqual(FIRST_USER_EID);
  });

  test('two maps without :db/id are two entities', () => {
    const r = tx(dbWith(), [{ 'person/name': 'A' }, { 'person/name': 'B' }]);
    const es = new Set(txFacts(r).map((f) => f[0]));
    expect(es.size).toBe(2);
  });

  test('keys may be written with or without the colon, and as EDN keywords', () => {
    const r = tx(dbWith(), [{ ':db/id': 'x', ':person/name': 'A', 'person/age': 1 }]);
    expect(facts(r.dbAfter, r.tempids['x']!)).toEqual({ ':person/name': 'A', ':person/age': 1 });
    const r2 = tx(dbWith(), [new Map<unknown, unknown>([[kw(':db/id'), 'y'], [kw(':person/name'), 'B']])]);
    expect(facts(r2.dbAfter, r2.tempids['y']!)).toEqual({ ':person/name': 'B' });
  });

  test(':db/id may be an existing entity id, an ident or a lookup ref', () => {
    const r = tx(dbWith(), [{ 'db/id': 'p', 'person/email': 'p@x', 'person/name': 'P' }]);
    const p = r.tempids['p']!;
    let db = tx(r.dbAfter, [{ 'db/id': p, 'person/age': 1 }]).dbAfter;
    db = tx(db, [{ 'db/id': [':person/email', 'p@x'], 'person/aliases': ['pp'] }]).dbAfter;
    db = tx(db, [{ 'db/id': ':person/name', 'db/doc': 'A person name' }]).dbAfter;
    expect(facts(db, p)).toEqual({ ':person/email': 'p@x', ':person/name': 'P', ':person/age': 1, ':person/aliases': ['pp'] });
    expect(db.attrOf(':person/name')!.doc).toBe('A person name');
  });

  test('a card-many attribute takes a collection (array or Set) of values', () => {
    const r = tx(dbWith(), [
      { 'db/id': 'a', 'person/aliases': ['x', 'y'] },
      { 'db/id': 'b', 'person/aliases': new Set(['z', 'w']) },
      { 'db/id': 'c', 'person/aliases': 'single' },
    ]);
    expect(vals(r.dbAfter, r.tempids['a']!, ':person/aliases')).toEqual(['x', 'y']);
    expect(vals(r.dbAfter, r.tempids['b']!, ':person/aliases')).toEqual(['w', 'z']);
    expect(vals(r.dbAfter, r.tempids['c']!, ':person/aliases')).toEqual(['single']);
  });

  test('card-many ref values may be tempids, ids, idents and lookup refs', () => {
    const db0 = tx(dbWith(), [{ 'db/id': 'f', 'person/email': 'f@x' }]);
    const f = db0.tempids['f']!;
    const r = tx(db0.dbAfter, `[{:db/id "me" :person/email "me@x" :person/friends ["other" ${f} [:person/email "f@x"]]}
                                {:db/id "other" :person/email "o@x"}]`);
    expect(vals(r.dbAfter, r.tempids['me']!, ':person/friends').sort()).toEqual([f, r.tempids['other']!].sort());
  });

  test('nested maps under a component attribute create child entities', () => {
    const r = tx(dbWith(), `[{:db/id "o" :order/id "o1"
                              :order/items [{:item/sku "chocolate" :item/qty 1}
                                            {:item/sku "whisky" :item/qty 2}]}]`);
    const db = r.dbAfter;
    const items = vals(db, r.tempids['o']!, ':order/items') as number[];
    expect(items).toHaveLength(2);
    expect(items.map((i) => facts(db, i)).sort((x, y) => String(x[':item/sku']).localeCompare(String(y[':item/sku'])))).toEqual([
      { ':item/sku': 'chocolate', ':item/qty': 1 },
      { ':item/sku': 'whisky', ':item/qty': 2 },
    ]);
  });

  test('a nested map under a card-one component attribute', () => {
    const r = tx(dbWith(), [{ 'db/id': 'p', 'person/name': 'P', 'person/address': { 'address/street': 'Main St', 'address/city': 'X' } }]);
    const addr = val(r.dbAfter, r.tempids['p']!, ':person/address') as number;
    expect(facts(r.dbAfter, addr)).toEqual({ ':address/street': 'Main St', ':address/city': 'X' });
  });

  test('a nested map under a non-component ref needs a unique attribute', () => {
    const ok = tx(dbWith(), [{ 'db/id': 'p', 'person/friends': [{ 'person/email': 'friend@x', 'person/name': 'F' }] }]);
    const fr = vals(ok.dbAfter, ok.tempids['p']!, ':person/friends') as number[];
    expect(facts(ok.dbAfter, fr[0]!)).toEqual({ ':person/email': 'friend@x', ':person/name': 'F' });
    const e = fails(() => tx(dbWith(), [{ 'db/id': 'p', 'person/friends': [{ 'person/name': 'orphan' }] }]));
    expect(e.category).toBe('incorrect');
    expect(e.message).toContain(':person/friends');
  });

  test('nested maps may nest further', () => {
    const r = tx(dbWith(), [{ 'db/id': 'o', 'order/items': [{ 'item/sku': 's', 'item/detail': { 'detail/note': 'deep' } }] }]);
    const item = (vals(r.dbAfter, r.tempids['o']!, ':order/items') as number[])[0]!;
    const detail = val(r.dbAfter, item, ':item/detail') as number;
    expect(facts(r.dbAfter, detail)).toEqual({ ':detail/note': 'deep' });
  });

  test('a map with only :db/id asserts nothing about that entity', () => {
    const db = tx(dbWith(), [{ 'db/id': 'p', 'person/name': 'P' }]);
    const r = tx(db.dbAfter, [{ 'db/id': db.tempids['p']! }]);
    expect(txFacts(r)).toEqual([]);
  });
});

describe('tempids', () => {
  test('tempids map every tempid string of the transaction to its entity id', () => {
    const r = tx(dbWith(), [
      [':db/add', 'a', ':person/name', 'A'],
      { 'db/id': 'b', 'person/name': 'B', 'person/spouse': 'a' },
    ]);
    expect(Object.keys(r.tempids).sort()).toEqual(['a', 'b']);
    expect(val(r.dbAfter, r.tempids['b']!, ':person/spouse')).toBe(r.tempids['a']);
  });

  test('new entity ids are never reused across transactions', () => {
    let db = dbWith();
    const seen = new Set<number>();
    for (let i = 0; i < 5; i++) {
      const r = tx(db, [[':db/add', 'x', ':person/name', `n${i}`], [':db/add', 'y', ':person/name', `m${i}`]]);
      for (const id of Object.values(r.tempids)) {
        expect(seen.has(id)).toBe(false);
        seen.add(id);
      }
      db = r.dbAfter;
    }
  });

  test('a tempid used only as a value, never as an entity, is an error', () => {
    const e = fails(() => tx(dbWith(), [[':db/add', 'a', ':person/spouse', 'nobody']]));
    expect(e.category).toBe('incorrect');
    expect(e.message).toContain('nobody');
  });
});

describe('reified transactions', () => {
  test('every datom of a transaction carries the transaction id; the tx entity has :db/txInstant', () => {
    const db = dbWith();
    const r = tx(db, [{ 'person/name': 'A' }]);
    const txId = tToTx(r.dbAfter.t);
    expect(r.txData.every((d) => d.tx === txId)).toBe(true);
    expect(txToT(txId)).toBe(db.t + 1);
    const inst = val(r.dbAfter, txId, ':db/txInstant');
    expect(inst).toBeInstanceOf(Date);
    expect(r.txData.some((d) => d.e === txId && d.a === aid(db, ':db/txInstant') && d.added)).toBe(true);
  });

  test('"datomic.tx" names the current transaction: metadata about the transaction', () => {
    const r = tx(dbWith(), `[{:db/id "datomic.tx" :tx/source "https://example.com/catalog.xml"}
                             {:person/name "Marbles"}]`);
    const txId = r.txData[0]!.tx;
    expect(val(r.dbAfter, txId, ':tx/source')).toBe('https://example.com/catalog.xml');
    const r2 = tx(r.dbAfter, [[':db/add', 'datomic.tx', ':tx/source', 'list form'], { 'person/name': 'x' }]);
    expect(val(r2.dbAfter, r2.txData[0]!.tx, ':tx/source')).toBe('list form');
    // Transactions are entities: they can be referenced later like any other entity.
    const r3 = tx(r2.dbAfter, [[':db/add', 'p', ':person/friends', txId], [':db/add', 'p', ':person/name', 'refers to a tx']]);
    expect(vals(r3.dbAfter, r3.tempids['p']!, ':person/friends')).toEqual([txId]);
  });

  test('"datomic.tx" as a ref value refers to the current transaction', () => {
    const r = tx(dbWith(), [[':db/add', 'p', ':person/spouse', 'datomic.tx'], [':db/add', 'p', ':person/name', 'x']]);
    expect(val(r.dbAfter, r.tempids['p']!, ':person/spouse')).toBe(r.txData[0]!.tx);
  });

  test('an empty transaction still makes a transaction with a :db/txInstant', () => {
    const db = dbWith();
    const r = tx(db, []);
    expect(r.dbAfter.t).toBe(db.t + 1);
    expect(r.txData).toHaveLength(1);
    expect(r.dbAfter.ident(r.txData[0]!.a)).toBe(':db/txInstant');
    expect(r.txData[0]!.e).toBe(r.txData[0]!.tx);
  });

  test(':db/txInstant is strictly increasing even when the clock does not move or goes back', () => {
    let db = dbWith();
    const instants: number[] = [];
    const base = Date.UTC(2010, 0, 1);
    for (const now of [base + 5000, base + 5000, base + 5000, base + 4000, base + 6000]) {
      const r = tx(db, [], { now });
      instants.push((val(r.dbAfter, r.txData[0]!.tx, ':db/txInstant') as Date).getTime());
      db = r.dbAfter;
    }
    for (let i = 1; i < instants.length; i++) expect(instants[i]!).toBeGreaterThan(instants[i - 1]!);
    expect(instants[4]).toBe(base + 6000);
  });

  test('an explicit :db/txInstant is honoured when not older than the last transaction', () => {
    const db = tx(dbWith(), [], { now: Date.UTC(2020, 0, 1) }).dbAfter;
    const when = new Date(Date.UTC(2021, 5, 1));
    const r = tx(db, [{ 'db/id': 'datomic.tx', 'db/txInstant': when }, { 'person/name': 'imported' }], { now: Date.UTC(2024, 0, 1) });
    expect(val(r.dbAfter, r.txData[0]!.tx, ':db/txInstant')).toEqual(when);
    const e = fails(() => tx(r.dbAfter, [[':db/add', 'datomic.tx', ':db/txInstant', new Date(Date.UTC(2019, 0, 1))]]));
    expect(e.category).toBe('incorrect');
  });

  test('an explicit :db/txInstant newer than the transactor clock is refused', () => {
    const db = dbWith();
    const e = fails(() => tx(db, [[':db/add', 'datomic.tx', ':db/txInstant', new Date(Date.UTC(2100, 0, 1))]], { now: Date.UTC(2024, 0, 1) }));
    expect(e.category).toBe('incorrect');
    expect(e.message).toContain(':db/txInstant');
  });
});

describe('past transactions', () => {
  test('can be annotated later with facts of their own', () => {
    const r = tx(dbWith(), [{ 'person/name': 'A' }]);
    const past = r.txData[0]!.tx;
    const r2 = tx(r.dbAfter, [[':db/add', past, ':tx/source', 'audited later']]);
    expect(val(r2.dbAfter, past, ':tx/source')).toBe('audited later');
  });

  test('keep their :db/txInstant: it cannot be changed or retracted, nor given to other entities', () => {
    const r = tx(dbWith(), [{ 'db/id': 'p', 'person/name': 'A' }]);
    const past = r.txData[0]!.tx;
    const inst = val(r.dbAfter, past, ':db/txInstant') as Date;
    for (const data of [
      [[':db/retract', past, ':db/txInstant', inst]],
      [[':db/add', past, ':db/txInstant', new Date(inst.getTime() + 1)]],
      [[':db/retractEntity', past]],
      [[':db/add', r.tempids['p']!, ':db/txInstant', new Date(inst.getTime() + 1)]],
    ]) {
      const e = fails(() => tx(r.dbAfter, data));
      expect(e.category).toBe('incorrect');
      expect(e.message).toContain(':db/txInstant');
    }
  });
});

describe('redundancy elimination', () => {
  test('re-asserting an existing fact produces no datom', () => {
    const r = tx(dbWith(), [{ 'db/id': 'p', 'person/name': 'P', 'person/aliases': ['a'] }]);
    const p = r.tempids['p']!;
    const r2 = tx(r.dbAfter, [[':db/add', p, ':person/name', 'P'], [':db/add', p, ':person/aliases', 'a']]);
    expect(txFacts(r2)).toEqual([]);
    // The original assertion keeps its transaction.
    expect(r2.dbAfter.datoms('eavt', p, aid(r.dbAfter, ':person/name'))[0]!.tx).toBe(r.txData[0]!.tx);
  });

  test('retracting a fact that is not there produces no datom', () => {
    const r = tx(dbWith(), [{ 'db/id': 'p', 'person/name': 'P' }]);
    const p = r.tempids['p']!;
    const r2 = tx(r.dbAfter, [[':db/retract', p, ':person/name', 'not P'], [':db/retract', p, ':person/age', 3]]);
    expect(txFacts(r2)).toEqual([]);
  });

  test('the same assertion twice in one transaction is one datom', () => {
    const r = tx(dbWith(), [[':db/add', 'p', ':person/aliases', 'a'], [':db/add', 'p', ':person/aliases', 'a'], { 'db/id': 'p', 'person/aliases': ['a'] }]);
    expect(txFacts(r)).toEqual([[r.tempids['p']!, ':person/aliases', 'a', true]]);
  });

  test('the same retraction twice in one transaction is one datom', () => {
    const r = tx(dbWith(), [{ 'db/id': 'p', 'person/aliases': ['a', 'b'] }]);
    const p = r.tempids['p']!;
    const r2 = tx(r.dbAfter, [[':db/retract', p, ':person/aliases', 'a'], [':db/retract', p, ':person/aliases', 'a'], [':db/retract', p, ':person/aliases']]);
    expect(txFacts(r2).sort()).toEqual([[p, ':person/aliases', 'a', false], [p, ':person/aliases', 'b', false]]);
  });
});

describe('conflicting datoms abort the transaction', () => {
  test('two values for a card-one attribute of one entity', () => {
    const db = dbWith();
    const e = fails(() => tx(db, [{ 'db/id': 'p', 'person/age': 1 }, [':db/add', 'p', ':person/age', 2]]));
    expect(e.category).toBe('conflict');
    expect(e.code).toBe('db.error/datoms-conflict');
    expect(e.message).toContain(':person/age');
  });

  test('asserting and retracting the same fact', () => {
    const r = tx(dbWith(), [{ 'db/id': 'p', 'person/aliases': ['a'] }]);
    const p = r.tempids['p']!;
    const e = fails(() => tx(r.dbAfter, [[':db/add', p, ':person/aliases', 'a'], [':db/retract', p, ':person/aliases', 'a']]));
    expect(e.code).toBe('db.error/datoms-conflict');
  });

  test('distinct values of a card-many attribute do not conflict', () => {
    const r = tx(dbWith(), [[':db/add', 'p', ':person/aliases', 'a'], [':db/add', 'p', ':person/aliases', 'b']]);
    expect(vals(r.dbAfter, r.tempids['p']!, ':person/aliases')).toEqual(['a', 'b']);
  });
});

describe('database values are immutable', () => {
  test('dbBefore is unchanged by the transaction; a value can be transacted against twice', () => {
    const db = dbWith();
    const a = tx(db, [{ 'db/id': 'p', 'person/name': 'A' }]);
    const b = tx(db, [{ 'db/id': 'p', 'person/name': 'B' }]);
    expect(db.datoms('aevt', aid(db, ':person/name'))).toEqual([]);
    expect(a.dbAfter.t).toBe(b.dbAfter.t);
    expect(val(a.dbAfter, a.tempids['p']!, ':person/name')).toBe('A');
    expect(val(b.dbAfter, b.tempids['p']!, ':person/name')).toBe('B');
  });
});

describe('large databases', () => {
  test('a small transaction into a database of 100k datoms does not copy it', () => {
    const db0 = dbWith();
    const big = tx(db0, Array.from({ length: 20_000 }, (_, i) => ({ 'person/email': `p${i}@x`, 'person/name': `P${i}`, 'person/age': i % 90, 'person/aliases': [`a${i}`] }))).dbAfter;
    expect(big.datoms('aevt', aid(big, ':person/email')).length).toBe(20_000);
    let db = big;
    for (let i = 0; i < 200; i++) db = tx(db, [[':db/add', [':person/email', `p${i}@x`], ':person/age', 100 + i]]).dbAfter;
    // Each index of the new value is mostly the very nodes of the old one: only paths were copied.
    for (const index of ['eavt', 'aevt', 'avet'] as const) {
      const { nodes, shared } = db.state.current[index].sharing(big.state.current[index]);
      expect(shared / nodes).toBeGreaterThan(0.5);
    }
    expect(val(db, big.entid([':person/email', 'p7@x'])!, ':person/age')).toBe(107);
    expect(val(big, big.entid([':person/email', 'p7@x'])!, ':person/age')).toBe(7);
  });
});
