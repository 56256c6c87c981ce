/**
 * Raw index access (docs: index APIs, client API datoms/index-range/db-stats): the four covering
 * indexes with leading components, index-range on AVET (start inclusive, end exclusive), and
 * db-stats (":datoms — total count of datoms in the (history) database").
 */
import * as api from '../../services/engine/api';
import { dbWith, fails, tx, type Db } from './helpers';

const SCHEMA = `[{:db/ident :inv/sku :db/valueType :db.type/string :db/cardinality :db.cardinality/one :db/unique :db.unique/identity}
                 {:db/ident :inv/color :db/valueType :db.type/keyword :db/cardinality :db.cardinality/one}
                 {:db/ident :inv/count :db/valueType :db.type/long :db/cardinality :db.cardinality/one}
                 {:db/ident :inv/tags :db/valueType :db.type/string :db/cardinality :db.cardinality/many}
                 {:db/ident :inv/related :db/valueType :db.type/ref :db/cardinality :db.cardinality/many}
                 {:db/ident :inv/made :db/valueType :db.type/instant :db/cardinality :db.cardinality/one}]`;

function skus(n = 50): { db: Db; ids: number[] } {
  let db = dbWith(SCHEMA);
  const data: unknown[] = [];
  for (let i = 0; i < n; i++) {
    data.push({ 'db/id': `s${i}`, 'inv/sku': `SKU-${i}`, 'inv/count': i % 7, 'inv/color': i % 2 ? ':color/red' : ':color/blue', 'inv/made': new Date(Date.UTC(2020, 0, 1 + i)) });
  }
  const r = tx(db, data);
  db = r.dbAfter;
  const ids = Array.from({ length: n }, (_, i) => r.tempids[`s${i}`]!);
  db = tx(db, [
    [':db/add', ids[0]!, ':inv/tags', 'b'], [':db/add', ids[0]!, ':inv/tags', 'a'],
    [':db/add', ids[0]!, ':inv/related', ids[1]!], [':db/add', ids[0]!, ':inv/related', ids[2]!],
    [':db/add', ids[3]!, ':inv/related', ids[1]!],
  ]).dbAfter;
  return { db, ids };
}

const key = (d: api.PublicDatom): string => JSON.stringify([d.e, d.a, d.v]);

describe('datoms', () => {
  test('the AVET example of Datomic\'s documentation: the first three SKUs in value order', () => {
    const { db } = skus();
    expect(api.datoms(db, 'avet', [':inv/sku']).slice(0, 3).map((d) => d.v)).toEqual(['SKU-0', 'SKU-1', 'SKU-10']);
  });

  test('datoms are { e, a, v, tx, added } with the attribute as its ident', () => {
    const { db, ids } = skus(5);
    const [d] = api.datoms(db, 'eavt', [ids[0], ':inv/sku']);
    expect(d).toEqual({ e: ids[0], a: ':inv/sku', v: 'SKU-0', tx: expect.any(Number), added: true });
  });

  test('eavt: by entity, entity+attribute, entity+attribute+value; sorted by e, a, v', () => {
    const { db, ids } = skus(5);
    const all = api.datoms(db, 'eavt', [ids[0]]);
    expect(all.every((d) => d.e === ids[0])).toBe(true);
    expect(all.map((d) => d.a)).toEqual(['inv/sku', 'inv/color', 'inv/count', 'inv/tags', 'inv/tags', 'inv/related', 'inv/related', 'inv/made'].map((a) => `:${a}`));
    expect(api.datoms(db, 'eavt', [ids[0], ':inv/tags']).map((d) => d.v)).toEqual(['a', 'b']);
    expect(api.datoms(db, 'eavt', [ids[0], ':inv/tags', 'b']).map((d) => d.v)).toEqual(['b']);
    expect(api.datoms(db, 'eavt', [ids[0], ':inv/tags', 'zzz'])).toEqual([]);
  });

  test('eavt components may be a lookup ref and a keyword value', () => {
    const { db, ids } = skus(5);
    expect(api.datoms(db, 'eavt', [[':inv/sku', 'SKU-1'], ':inv/color', ':color/red']).map((d) => d.e)).toEqual([ids[1]]);
  });

  test('aevt: every datom of an attribute, sorted by entity', () => {
    const { db, ids } = skus(10);
    const ds = api.datoms(db, 'aevt', [':inv/count']);
    expect(ds.map((d) => d.e)).toEqual(ids.slice().sort((x, y) => x - y));
    expect(api.datoms(db, 'aevt', [':inv/count', ids[3]]).map((d) => d.v)).toEqual([3]);
  });

  test('avet: every attribute is in AVET (Datomic Cloud), sorted by value then entity', () => {
    const { db } = skus(20);
    const counts = api.datoms(db, 'avet', [':inv/count']).map((d) => d.v as number);
    expect(counts).toEqual(counts.slice().sort((x, y) => x - y));
    expect(api.datoms(db, 'avet', [':inv/count', 3]).length).toBe(3);
    expect(api.datoms(db, 'avet', [':inv/color', ':color/red']).length).toBe(10);
  });

  test('vaet: references by target, holding ref attributes only', () => {
    const { db, ids } = skus(5);
    expect(api.datoms(db, 'vaet', [ids[1]]).map((d) => [d.e, d.a]).sort()).toEqual([[ids[0], ':inv/related'], [ids[3], ':inv/related']].sort());
    expect(api.datoms(db, 'vaet', [ids[1], ':inv/related', ids[3]]).map((d) => d.e)).toEqual([ids[3]]);
    const vaet = api.datoms(db, 'vaet', []);
    expect(vaet.every((d) => db.attrOf(d.a)!.valueType === 'ref')).toBe(true);
  });

  test('a fourth component selects the transaction', () => {
    const { db, ids } = skus(5);
    const tagTx = api.datoms(db, 'eavt', [ids[0], ':inv/tags'])[0]!.tx;
    expect(api.datoms(db, 'eavt', [ids[0], ':inv/tags', 'a', tagTx]).length).toBe(1);
    expect(api.datoms(db, 'eavt', [ids[0], ':inv/sku', 'SKU-0', tagTx]).length).toBe(0);
  });

  test('every current datom is in eavt, aevt and avet; the refs also in vaet', () => {
    const { db } = skus(10);
    const eavt = api.datoms(db, 'eavt', []).map(key).sort();
    expect(api.datoms(db, 'aevt', []).map(key).sort()).toEqual(eavt);
    expect(api.datoms(db, 'avet', []).map(key).sort()).toEqual(eavt);
    const refs = api.datoms(db, 'eavt', []).filter((d) => db.attrOf(d.a)!.valueType === 'ref').map(key).sort();
    expect(api.datoms(db, 'vaet', []).map(key).sort()).toEqual(refs);
  });

  test('filtered values: asOf, since, history', () => {
    const { db, ids } = skus(5);
    const r = tx(db, [[':db/add', ids[0]!, ':inv/count', 99]]);
    const after = r.dbAfter;
    expect(api.datoms(after.asOf(db.t), 'eavt', [ids[0], ':inv/count']).map((d) => d.v)).toEqual([0]);
    expect(api.datoms(after.since(db.t), 'eavt', [ids[0]]).map((d) => d.v)).toEqual([99]);
    expect(api.datoms(after.history(), 'eavt', [ids[0], ':inv/count']).map((d) => [d.v, d.added]).sort()).toEqual([[0, false], [0, true], [99, true]]);
  });

  test('an unknown index or attribute is incorrect', () => {
    const { db } = skus(5);
    expect(fails(() => api.datoms(db, 'xyz', [])).category).toBe('incorrect');
    expect(fails(() => api.datoms(db, 'aevt', [':no/such'])).category).toBe('incorrect');
  });

  test('index names may be given as keywords', () => {
    const { db } = skus(5);
    expect(api.datoms(db, ':avet', [':inv/sku']).length).toBe(5);
  });
});

describe('indexRange', () => {
  test('start inclusive, end exclusive (Datomic example: SKU-42 up to SKU-44)', () => {
    const { db } = skus();
    expect(api.indexRange(db, ':inv/sku', 'SKU-42', 'SKU-44').map((d) => d.v)).toEqual(['SKU-42', 'SKU-43']);
  });

  test('open ends', () => {
    const { db } = skus(20);
    expect(api.indexRange(db, ':inv/count', 5).map((d) => d.v)).toEqual([5, 5, 5, 6, 6]);
    expect(api.indexRange(db, ':inv/count', undefined, 1).map((d) => d.v)).toEqual([0, 0, 0]);
    expect(api.indexRange(db, ':inv/count').length).toBe(20);
  });

  test('over instants and keywords', () => {
    const { db } = skus(10);
    expect(api.indexRange(db, ':inv/made', new Date(Date.UTC(2020, 0, 3)), new Date(Date.UTC(2020, 0, 5))).length).toBe(2);
    expect(api.indexRange(db, ':inv/color', ':color/c', ':color/z').map((d) => d.v)).toEqual(Array(5).fill(':color/red'));
  });

  test('honours filters', () => {
    const { db, ids } = skus(5);
    const after = tx(db, [[':db/add', ids[0]!, ':inv/count', 50]]).dbAfter;
    expect(api.indexRange(after, ':inv/count', 10).map((d) => d.v)).toEqual([50]);
    expect(api.indexRange(after.asOf(db.t), ':inv/count', 10)).toEqual([]);
  });

  test('an unknown attribute is incorrect', () => {
    const { db } = skus(5);
    expect(fails(() => api.indexRange(db, ':no/such')).category).toBe('incorrect');
  });
});

describe('stats', () => {
  test(':datoms is the total count of datoms in the history database', () => {
    const { db, ids } = skus(5);
    const after = tx(db, [[':db/add', ids[0]!, ':inv/count', 50], [':db/retract', ids[1]!, ':inv/sku', 'SKU-1']]).dbAfter;
    const historyCount = api.datoms(after.history(), 'eavt', []).length;
    expect(after.stats().datoms).toBe(historyCount);
    expect(after.stats().t).toBe(after.t);
  });

  test('attribute counts', () => {
    const { db } = skus(5);
    const s = db.stats();
    expect(s.attrs[':inv/sku']).toEqual({ count: 5 });
    expect(s.attrs[':inv/tags']).toEqual({ count: 2 });
  });
});
