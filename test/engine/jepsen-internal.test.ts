/**
 * Jepsen's intra-transaction cases for Datomic (shared/reference/jepsen-datomic.md): every
 * operation in a transaction sees the database as of the start of the transaction.
 */
import { emptyDb, type Db } from '../../services/engine/db';
import { transact } from '../../services/engine/transact';
import { DatalithError } from '../../services/engine/errors';

function setup(): { db: Db; x: number } {
  let db = transact(emptyDb(), `[{:db/ident :reg/key :db/valueType :db.type/string :db/cardinality :db.cardinality/one :db/unique :db.unique/identity}
    {:db/ident :reg/value :db/valueType :db.type/long :db/cardinality :db.cardinality/one}]`).dbAfter;
  const r = transact(db, `[{:db/id "x" :reg/key "x" :reg/value 0}]`);
  db = r.dbAfter;
  return { db, x: r.tempids['x']! };
}

const value = (db: Db, x: number): unknown => db.values(x, db.attrOf(':reg/value')!.id)[0];

function fails(f: () => unknown): DatalithError {
  try {
    f();
  } catch (e) {
    if (e instanceof DatalithError) return e;
    throw e;
  }
  throw new Error('expected the transaction to fail');
}

describe('Jepsen internal workload: Datomic outcomes', () => {
  test('x=0 and x=1 in one transaction: datoms-conflict', () => {
    const { db, x } = setup();
    const e = fails(() => transact(db, [[':db/add', x, ':reg/value', 0], [':db/add', x, ':reg/value', 1]]));
    expect(e.category).toBe('conflict');
    expect(e.code).toBe('db.error/datoms-conflict');
    expect(e.message).toContain(':reg/value');
  });

  test('add then retract the same fact: datoms-conflict', () => {
    const { db, x } = setup();
    const e = fails(() => transact(db, [[':db/add', x, ':reg/value', 5], [':db/retract', x, ':reg/value', 5]]));
    expect(e.code).toBe('db.error/datoms-conflict');
  });

  test('[:db/add x 1] then an increment reading x: the increment sees 0, so x = 1', () => {
    const { db, x } = setup();
    // An "increment" is a function of db-before: it reads 0 and writes 1.
    const read = value(db, x) as number;
    const r = transact(db, [[':db/add', x, ':reg/value', 1], [':db/add', x, ':reg/value', read + 1]]);
    expect(value(r.dbAfter, x)).toBe(1);
  });

  test('cas 0→1 then cas 1→2: the second sees 0 and fails, the whole transaction aborts', () => {
    const { db, x } = setup();
    const e = fails(() => transact(db, [[':db/cas', x, ':reg/value', 0, 1], [':db/cas', x, ':reg/value', 1, 2]]));
    expect(e.category).toBe('conflict');
    expect(e.code).toBe('db.error/cas-failed');
    expect(value(db, x)).toBe(0);
  });

  test('cas 0→1 and cas 0→2: both checks pass, then datoms-conflict', () => {
    const { db, x } = setup();
    const e = fails(() => transact(db, [[':db/cas', x, ':reg/value', 0, 1], [':db/cas', x, ':reg/value', 0, 2]]));
    expect(e.code).toBe('db.error/datoms-conflict');
  });

  test('cas 0→1 twice: succeeds, x = 1', () => {
    const { db, x } = setup();
    const r = transact(db, [[':db/cas', x, ':reg/value', 0, 1], [':db/cas', x, ':reg/value', 0, 1]]);
    expect(value(r.dbAfter, x)).toBe(1);
  });

  test('two increments in one transaction: a lost update (x = 1, not 2)', () => {
    const { db, x } = setup();
    const read = value(db, x) as number;
    const r = transact(db, [[':db/add', x, ':reg/value', read + 1], [':db/add', x, ':reg/value', read + 1]]);
    expect(value(r.dbAfter, x)).toBe(1);
  });
});
