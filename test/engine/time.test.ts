/**
 * Time (docs: reference/time-in-datomic "Database Filters", client API as-of/since/history/with/
 * tx-range): asOf and since by t, tx id or Date; history with retractions (added = false); with
 * (speculative, chainable); txRange; :db/noHistory.
 */
import * as api from '../../services/engine/api';
import { tToTx } from '../../services/engine/datom';
import { aid, dbWith, facts, fails, tx, val, vals, type Db } from './helpers';

const INVENTORY = `[{:db/ident :item/id :db/valueType :db.type/string :db/cardinality :db.cardinality/one :db/unique :db.unique/identity}
                    {:db/ident :item/description :db/valueType :db.type/string :db/cardinality :db.cardinality/one}
                    {:db/ident :item/count :db/valueType :db.type/long :db/cardinality :db.cardinality/one}
                    {:db/ident :item/tags :db/valueType :db.type/string :db/cardinality :db.cardinality/many}
                    {:db/ident :item/views :db/valueType :db.type/long :db/cardinality :db.cardinality/one :db/noHistory true}
                    {:db/ident :tx/error :db/valueType :db.type/boolean :db/cardinality :db.cardinality/one}]`;

interface Inventory {
  db: Db;
  e: number;
  /** t of each of the five transactions of Datomic's dilithium example. */
  ts: number[];
}

/** Datomic's dilithium crystals example: counts 100, 250, 50, 9999 (an error), 100. */
function inventory(): Inventory {
  let db = dbWith(INVENTORY);
  const ts: number[] = [];
  const steps: Array<[string, unknown[]]> = [
    ['2012-12-31T19:00:00Z', [{ 'db/id': 'dlc', 'item/id': 'DLC-042', 'item/description': 'Dilithium Crystals', 'item/count': 100 }]],
    ['2013-01-31T19:00:00Z', [[':db/add', [':item/id', 'DLC-042'], ':item/count', 250]]],
    ['2014-02-27T19:00:00Z', [[':db/add', [':item/id', 'DLC-042'], ':item/count', 50]]],
    ['2014-03-31T20:00:00Z', [[':db/add', [':item/id', 'DLC-042'], ':item/count', 9999], [':db/add', 'datomic.tx', ':tx/error', true]]],
    ['2014-05-14T20:00:00Z', [[':db/add', [':item/id', 'DLC-042'], ':item/count', 100]]],
  ];
  for (const [when, data] of steps) {
    db = tx(db, data, { now: Date.parse(when) }).dbAfter;
    ts.push(db.t);
  }
  return { db, e: db.entid([':item/id', 'DLC-042'])!, ts };
}

describe('asOf', () => {
  test('by Date: the last transaction at or before the instant (Datomic example: 250 at end of 2013)', () => {
    const { db, e } = inventory();
    expect(val(db, e, ':item/count')).toBe(100);
    const eoy2013 = db.asOf(new Date('2014-01-01'));
    expect(facts(eoy2013, e)).toEqual({ ':item/id': 'DLC-042', ':item/description': 'Dilithium Crystals', ':item/count': 250 });
    expect(eoy2013.asOfT).toBe(eoy2013.timePoint(new Date('2014-01-01'), 'asOf'));
  });

  test('by t and by transaction id, inclusive', () => {
    const { db, e, ts } = inventory();
    expect(val(db.asOf(ts[2]!), e, ':item/count')).toBe(50);
    expect(val(db.asOf(tToTx(ts[2]!)), e, ':item/count')).toBe(50);
    expect(val(db.asOf(ts[0]!), e, ':item/count')).toBe(100);
    expect(val(db.asOf(ts[3]!), e, ':item/count')).toBe(9999);
  });

  test('before the entity existed it has no facts; a Date before every transaction is an empty database', () => {
    const { db, e, ts } = inventory();
    expect(facts(db.asOf(ts[0]! - 1), e)).toEqual({});
    expect(db.asOf(new Date('1999-01-01')).datoms('aevt', aid(db, ':item/id'))).toEqual([]);
  });

  test('the value of a retracted fact comes back as of before the retraction', () => {
    const { db, e } = inventory();
    const r = tx(db, [[':db/retract', e, ':item/description', 'Dilithium Crystals']]);
    expect(val(r.dbAfter, e, ':item/description')).toBeUndefined();
    expect(val(r.dbAfter.asOf(db.t), e, ':item/description')).toBe('Dilithium Crystals');
  });

  test('lookup refs resolve against the filtered value', () => {
    const { db, e } = inventory();
    const renamed = tx(db, [[':db/add', e, ':item/id', 'DLC-043']]).dbAfter;
    expect(renamed.asOf(db.t).entid([':item/id', 'DLC-042'])).toBe(e);
    expect(renamed.asOf(db.t).entid([':item/id', 'DLC-043'])).toBeUndefined();
    expect(renamed.entid([':item/id', 'DLC-042'])).toBeUndefined();
  });

  test('asOf of an asOf keeps the earlier point; the basis t stays', () => {
    const { db, e, ts } = inventory();
    const a = db.asOf(ts[3]!).asOf(ts[1]!);
    expect(val(a, e, ':item/count')).toBe(250);
    expect(val(db.asOf(ts[1]!).asOf(ts[3]!), e, ':item/count')).toBe(250);
    expect(a.t).toBe(db.t);
  });

  test('an invalid time point is incorrect', () => {
    const { db } = inventory();
    expect(fails(() => db.asOf(-1)).category).toBe('incorrect');
    expect(fails(() => db.asOf(new Date('nope'))).category).toBe('incorrect');
  });
});

describe('since', () => {
  test('only datoms added after the point, exclusive (Datomic example: count 100 since 2014)', () => {
    const { db, e } = inventory();
    const since2014 = db.since(new Date('2014-01-01'));
    expect(facts(since2014, e)).toEqual({ ':item/count': 100 });
    expect(since2014.sinceT).not.toBeNull();
  });

  test('a lookup ref through an identity established before the point finds nothing (Datomic example)', () => {
    const { db, e } = inventory();
    const since2014 = db.since(new Date('2014-01-01'));
    expect(since2014.entid([':item/id', 'DLC-042'])).toBeUndefined();
    // Resolve with the unfiltered value, read with the filtered one.
    expect(facts(since2014, db.entid([':item/id', 'DLC-042'])!)).toEqual({ ':item/count': 100 });
    expect(e).toBe(db.entid([':item/id', 'DLC-042']));
  });

  test('by t is exclusive; since and asOf combine into a window', () => {
    const { db, e, ts } = inventory();
    expect(facts(db.since(ts[0]!), e)).toEqual({ ':item/count': 100 });
    expect(facts(db.since(ts[0]! - 1), e)).toEqual(facts(db, e));
    const window = db.since(ts[0]!).asOf(ts[2]!);
    expect(facts(window, e)).toEqual({ ':item/count': 50 });
    expect(vals(window.history(), e, ':item/count').sort()).toEqual([100, 250, 250, 50]);
  });
});

describe('history', () => {
  test('holds every assertion and retraction, retractions with added = false (Datomic example)', () => {
    const { db, e, ts } = inventory();
    const h = db.history();
    expect(h.isHistory).toBe(true);
    const counts = h.datoms('eavt', e, aid(db, ':item/count')).map((d) => [d.v, d.tx, d.added]);
    const tx = (i: number): number => tToTx(ts[i]!);
    expect(counts.sort((x, y) => (x[1] as number) - (y[1] as number) || Number(y[2]) - Number(x[2]))).toEqual([
      [100, tx(0), true],
      [250, tx(1), true], [100, tx(1), false],
      [50, tx(2), true], [250, tx(2), false],
      [9999, tx(3), true], [50, tx(3), false],
      [100, tx(4), true], [9999, tx(4), false],
    ]);
  });

  test('the transaction entities and their :db/txInstant are in history too', () => {
    const { db, ts } = inventory();
    const insts = db.history().datoms('aevt', aid(db, ':db/txInstant')).filter((d) => d.e >= tToTx(ts[0]!)).map((d) => (d.v as Date).toISOString());
    expect(insts).toEqual(['2012-12-31T19:00:00.000Z', '2013-01-31T19:00:00.000Z', '2014-02-27T19:00:00.000Z', '2014-03-31T20:00:00.000Z', '2014-05-14T20:00:00.000Z']);
  });

  test('history as of a point, and since a point', () => {
    const { db, e, ts } = inventory();
    expect(db.history().asOf(ts[1]!).datoms('eavt', e, aid(db, ':item/count')).map((d) => [d.v, d.added]).sort()).toEqual([[100, false], [100, true], [250, true]]);
    expect(db.history().since(ts[3]!).datoms('eavt', e, aid(db, ':item/count')).map((d) => [d.v, d.added]).sort()).toEqual([[100, true], [9999, false]]);
  });

  test('a retracted card-many value shows its assertion and retraction', () => {
    const { db, e } = inventory();
    const r1 = tx(db, [[':db/add', e, ':item/tags', 'rare']]);
    const r2 = tx(r1.dbAfter, [[':db/retract', e, ':item/tags', 'rare']]);
    const h = r2.dbAfter.history().datoms('eavt', e, aid(db, ':item/tags'));
    expect(h.map((d) => [d.v, d.tx, d.added])).toEqual([['rare', r1.txData[0]!.tx, true], ['rare', r2.txData[0]!.tx, false]]);
  });
});

describe('with', () => {
  test('applies transaction data speculatively: the original value is unaffected', () => {
    const { db, e } = inventory();
    const r = tx(db, [[':db/add', e, ':item/count', 1]]);
    expect(val(r.dbAfter, e, ':item/count')).toBe(1);
    expect(val(db, e, ':item/count')).toBe(100);
  });

  test('is chainable and returns tempids like transact', () => {
    const { db } = inventory();
    const a = tx(db, [{ 'db/id': 'x', 'item/id': 'X' }]);
    const b = tx(a.dbAfter, [{ 'db/id': 'y', 'item/id': 'Y', 'item/count': 1 }, [':db/add', [':item/id', 'X'], ':item/count', 2]]);
    expect(b.dbAfter.t).toBe(db.t + 2);
    expect(val(b.dbAfter, a.tempids['x']!, ':item/count')).toBe(2);
    expect(val(b.dbAfter, b.tempids['y']!, ':item/count')).toBe(1);
    expect(a.tempids['x']).not.toBe(b.tempids['y']);
  });

  test('with on an asOf value means "with followed by as-of": the new datoms are filtered out', () => {
    const { db, e, ts } = inventory();
    const past = db.asOf(ts[1]!);
    const r = tx(past, [[':db/add', e, ':item/description', 'speculative']]);
    expect(r.dbAfter.asOfT).toBe(ts[1]);
    expect(val(r.dbAfter, e, ':item/description')).toBe('Dilithium Crystals');
    expect(val(r.dbAfter, e, ':item/count')).toBe(250);
    // The speculative datoms are in the report all the same.
    expect(r.txData.some((d) => d.v === 'speculative')).toBe(true);
  });

  test('with on a since value keeps the filter and shows the new datoms', () => {
    const { db, e } = inventory();
    const r = tx(db.since(db.t), [[':db/add', e, ':item/description', 'new']]);
    expect(facts(r.dbAfter, e)).toEqual({ ':item/description': 'new' });
  });

  test('a history value cannot be passed to with', () => {
    const { db, e } = inventory();
    expect(fails(() => tx(db.history(), [[':db/add', e, ':item/count', 1]])).category).toBe('incorrect');
  });
});

describe('txRange', () => {
  test('every transaction with its t and datoms, start inclusive, end exclusive', () => {
    const { db, e, ts } = inventory();
    const all = api.txRange(db);
    expect(all.map((x) => x.t)).toEqual([...Array(db.t).keys()].map((i) => i + 1));
    const some = api.txRange(db, ts[1]!, ts[3]!);
    expect(some.map((x) => x.t)).toEqual([ts[1], ts[2]]);
    expect(some[0]!.data.filter((d) => d.e === e).map((d) => [d.a, d.v, d.added]).sort()).toEqual([[':item/count', 100, false], [':item/count', 250, true]]);
    expect(some[0]!.data.some((d) => d.a === ':db/txInstant' && d.added)).toBe(true);
    expect(some[0]!.data.every((d) => d.tx === tToTx(ts[1]!))).toBe(true);
  });

  test('start and end as transaction ids and as Dates', () => {
    const { db, ts } = inventory();
    expect(api.txRange(db, tToTx(ts[1]!), tToTx(ts[2]!)).map((x) => x.t)).toEqual([ts[1]]);
    expect(api.txRange(db, new Date('2014-01-01')).map((x) => x.t)).toEqual([ts[2], ts[3], ts[4]]);
    expect(api.txRange(db, new Date('2013-01-31T19:00:00Z'), new Date('2014-03-31T20:00:00Z')).map((x) => x.t)).toEqual([ts[1], ts[2]]);
    expect(api.txRange(db, new Date('2014-01-01'), new Date('2014-03-01')).map((x) => x.t)).toEqual([ts[2]]);
    expect(api.txRange(db, null, ts[1]!).map((x) => x.t)).toEqual([...Array(ts[1]! - 1).keys()].map((i) => i + 1));
  });

  test('the log keeps what history shows, including retractions', () => {
    const { db, ts } = inventory();
    const fromLog = api.txRange(db).flatMap((x) => x.data).filter((d) => d.a === ':item/count').length;
    const fromHistory = db.history().datoms('aevt', aid(db, ':item/count')).filter((d) => d.tx >= tToTx(ts[0]!)).length;
    expect(fromLog).toBe(fromHistory);
  });
});

describe(':db/noHistory', () => {
  test('the current value is kept; past values are not', () => {
    const { db, e } = inventory();
    let cur = db;
    for (let i = 1; i <= 3; i++) cur = tx(cur, [[':db/add', e, ':item/views', i]]).dbAfter;
    expect(val(cur, e, ':item/views')).toBe(3);
    const hist = cur.history().datoms('eavt', e, aid(db, ':item/views'));
    expect(hist.map((d) => [d.v, d.added])).toEqual([[3, true]]);
    // Attributes with history keep it.
    expect(cur.history().datoms('eavt', e, aid(db, ':item/count')).length).toBe(9);
  });
});
