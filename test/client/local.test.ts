/**
 * Datomic's documented transaction and time behaviour end to end through the in-process client,
 * `createClient({ local: {} })`, with the public value forms of DESIGN.md (keywords as ':ns/name',
 * refs as entity ids, datoms as { e, a, v, tx, added } with `a` the ident).
 */
import { randomUUID } from 'node:crypto';
import { createClient, DatalithError, type Client, type Connection, type Db } from '../../services';

const SCHEMA = `[
 {:db/ident :person/email :db/valueType :db.type/string :db/cardinality :db.cardinality/one :db/unique :db.unique/identity}
 {:db/ident :person/name :db/valueType :db.type/string :db/cardinality :db.cardinality/one}
 {:db/ident :person/age :db/valueType :db.type/long :db/cardinality :db.cardinality/one}
 {:db/ident :person/aliases :db/valueType :db.type/string :db/cardinality :db.cardinality/many}
 {:db/ident :person/friends :db/valueType :db.type/ref :db/cardinality :db.cardinality/many}
 {:db/ident :person/status :db/valueType :db.type/keyword :db/cardinality :db.cardinality/one}
 {:db/ident :person/address :db/valueType :db.type/ref :db/cardinality :db.cardinality/one :db/isComponent true}
 {:db/ident :address/city :db/valueType :db.type/string :db/cardinality :db.cardinality/one}
 {:db/ident :account/balance :db/valueType :db.type/long :db/cardinality :db.cardinality/one}
 {:db/ident :tx/source :db/valueType :db.type/string :db/cardinality :db.cardinality/one}
]`;

async function caught(p: Promise<unknown>): Promise<DatalithError> {
  try {
    await p;
  } catch (e) {
    if (e instanceof DatalithError) return e;
    throw e;
  }
  throw new Error('expected the call to fail');
}

let client: Client;
beforeAll(() => {
  client = createClient({ local: {} });
});
afterAll(async () => {
  await client.close();
});

async function fresh(): Promise<Connection> {
  const name = `local-${randomUUID().slice(0, 8)}`;
  await client.createDatabase(name);
  const conn = await client.connect(name);
  await conn.transact(SCHEMA);
  return conn;
}

/** The facts of one entity from the client's datoms, attribute ident → value(s). */
async function entity(db: Db, e: number): Promise<Record<string, unknown>> {
  const out: Record<string, unknown> = {};
  for (const d of await db.datoms('eavt', e)) {
    if (out[d.a] === undefined) out[d.a] = d.v;
    else out[d.a] = ([] as unknown[]).concat(out[d.a], d.v);
  }
  return out;
}

describe('transactions through the in-process client', () => {
  test('upsert, nested component maps, card-many collections, tempids and datomic.tx metadata', async () => {
    const conn = await fresh();
    const r1 = await conn.transact([{ 'db/id': 'j', 'person/email': 'j@x', 'person/name': 'J', 'person/age': 40 }]);
    const j = r1.tempids['j']!;
    const r2 = await conn.transact(`[{:db/id "upsert" :person/email "j@x" :person/age 41 :person/aliases ["jj" "jay"]
                                      :person/address {:address/city "Olin"}}
                                     {:db/id "datomic.tx" :tx/source "import"}]`);
    expect(r2.tempids['upsert']).toBe(j);
    const db = await conn.db();
    const facts = await entity(db, j);
    expect(facts).toMatchObject({ ':person/email': 'j@x', ':person/name': 'J', ':person/age': 41, ':person/aliases': ['jay', 'jj'] });
    expect(await entity(db, facts[':person/address'] as number)).toEqual({ ':address/city': 'Olin' });
    const txId = r2.txData[0]!.tx;
    expect(r2.txData.every((d) => d.tx === txId)).toBe(true);
    expect(await db.datoms('eavt', txId, ':tx/source')).toEqual([{ e: txId, a: ':tx/source', v: 'import', tx: txId, added: true }]);
    expect(r2.txData).toContainEqual({ e: j, a: ':person/age', v: 40, tx: txId, added: false });
    expect(r2.dbBefore.t).toBe(r1.dbAfter.t);
    expect(r2.dbAfter.t).toBe(r1.dbAfter.t + 1);
  });

  test('an empty transaction makes a transaction with only :db/txInstant and its :db/txId', async () => {
    const conn = await fresh();
    const before = (await conn.db()).t;
    const r = await conn.transact([], { txId: 'empty-1' });
    expect(r.dbAfter.t).toBe(before + 1);
    expect(r.txData.map((d) => d.a)).toEqual([':db/txInstant', ':db/txId']);
    expect(r.txData[0]!.v).toBeInstanceOf(Date);
    expect(r.txData[1]!.v).toBe('empty-1');
  });

  test('keywords are ":ns/name" strings in and out; refs are entity ids', async () => {
    const conn = await fresh();
    const r = await conn.transact([{ 'db/id': 'a', 'person/email': 'a@x', 'person/status': ':status/active' }, { 'db/id': 'b', 'person/email': 'b@x', 'person/friends': ['a'] }]);
    const db = await conn.db();
    expect((await db.datoms('eavt', r.tempids['a'], ':person/status'))[0]!.v).toBe(':status/active');
    expect((await db.datoms('eavt', r.tempids['b'], ':person/friends'))[0]!.v).toBe(r.tempids['a']);
  });

  test('conflicts and bad data throw one error class with category and code, and change nothing', async () => {
    const conn = await fresh();
    const r = await conn.transact([{ 'db/id': 'a', 'person/email': 'a@x', 'account/balance': 100 }]);
    const a = r.tempids['a']!;
    const t = (await conn.db()).t;
    const cas = await caught(conn.transact([[':db/cas', a, ':account/balance', 99, 110]]));
    expect(cas).toMatchObject({ category: 'conflict', code: 'db.error/cas-failed' });
    const dup = await caught(conn.transact([[':db/add', a, ':person/age', 1], [':db/add', a, ':person/age', 2]]));
    expect(dup).toMatchObject({ category: 'conflict', code: 'db.error/datoms-conflict' });
    const wrong = await caught(conn.transact([[':db/add', a, ':person/age', 'old']]));
    expect(wrong).toMatchObject({ category: 'incorrect', code: 'db.error/wrong-type-for-attribute' });
    expect(wrong.message).toContain(':person/age');
    const missing = await caught(conn.transact([[':db/add', [':person/email', 'zz@x'], ':person/age', 1]]));
    expect(missing).toMatchObject({ category: 'incorrect', code: 'db.error/not-an-entity' });
    const edn = await caught(conn.transact('[[:db/add "x" :person/age 1]'));
    expect(edn.category).toBe('incorrect');
    expect((await conn.db()).t).toBe(t);
    expect(await entity(await conn.db(), a)).toEqual({ ':person/email': 'a@x', ':account/balance': 100 });
  });

  test('concurrent transactions on one connection commit one after another', async () => {
    const conn = await fresh();
    const t0 = (await conn.db()).t;
    const reports = await Promise.all(Array.from({ length: 20 }, (_, i) => conn.transact([{ 'person/email': `p${i}@x`, 'person/age': i }])));
    expect(reports.map((r) => r.dbAfter.t).sort((x, y) => x - y)).toEqual(Array.from({ length: 20 }, (_, i) => t0 + i + 1));
    expect((await (await conn.db()).datoms('aevt', ':person/email')).length).toBe(20);
  });

  test('two concurrent cas from the same value: the second sees the first and fails', async () => {
    const conn = await fresh();
    const r = await conn.transact([{ 'db/id': 'a', 'person/email': 'a@x', 'account/balance': 0 }]);
    const a = r.tempids['a']!;
    const results = await Promise.allSettled([
      conn.transact([[':db/cas', a, ':account/balance', 0, 1]]),
      conn.transact([[':db/cas', a, ':account/balance', 0, 2]]),
    ]);
    expect(results.map((x) => x.status).sort()).toEqual(['fulfilled', 'rejected']);
    const failure = results.find((x) => x.status === 'rejected') as PromiseRejectedResult;
    expect(failure.reason).toBeInstanceOf(DatalithError);
    expect((failure.reason as DatalithError).code).toBe('db.error/cas-failed');
  });

  test('retractEntity through the client cascades into components and removes references', async () => {
    const conn = await fresh();
    const r = await conn.transact([
      { 'db/id': 'a', 'person/email': 'a@x', 'person/address': { 'db/id': 'home', 'address/city': 'X' } },
      { 'db/id': 'b', 'person/email': 'b@x', 'person/friends': ['a'] },
    ]);
    await conn.transact([[':db/retractEntity', [':person/email', 'a@x']]]);
    const db = await conn.db();
    expect(await entity(db, r.tempids['a']!)).toEqual({});
    expect(await entity(db, r.tempids['home']!)).toEqual({});
    expect(await entity(db, r.tempids['b']!)).toEqual({ ':person/email': 'b@x' });
  });
});

describe('database values through the in-process client', () => {
  async function history(): Promise<{ conn: Connection; e: number; ts: number[] }> {
    const conn = await fresh();
    const ts: number[] = [];
    const r = await conn.transact([{ 'db/id': 'e', 'person/email': 'e@x', 'account/balance': 100 }]);
    ts.push(r.dbAfter.t);
    for (const b of [250, 50]) ts.push((await conn.transact([[':db/add', r.tempids['e']!, ':account/balance', b]])).dbAfter.t);
    return { conn, e: r.tempids['e']!, ts };
  }

  test('asOf, since and history are synchronous filters of an immutable value', async () => {
    const { conn, e, ts } = await history();
    const db = await conn.db();
    const balance = async (d: Db): Promise<unknown[]> => (await d.datoms('eavt', e, ':account/balance')).map((x) => x.v);
    expect(await balance(db)).toEqual([50]);
    expect(await balance(db.asOf(ts[1]!))).toEqual([250]);
    expect(db.asOf(ts[1]!).asOfT).toBe(ts[1]);
    expect(await balance(db.since(ts[1]!))).toEqual([50]);
    expect(db.since(ts[1]!).sinceT).toBe(ts[1]);
    const h = await db.history().datoms('eavt', e, ':account/balance');
    expect(h.map((d) => [d.v, d.added]).sort()).toEqual([[100, false], [100, true], [250, false], [250, true], [50, true]]);
    expect(db.history().isHistory).toBe(true);
    // An old value does not change when the database moves on.
    await conn.transact([[':db/add', e, ':account/balance', 1]]);
    expect(await balance(db)).toEqual([50]);
    expect(await balance(await conn.db())).toEqual([1]);
  });

  test('asOf by Date', async () => {
    const { conn, e, ts } = await history();
    const txs = await conn.txRange({ start: ts[1]!, end: ts[1]! + 1 });
    const when = txs[0]!.data.find((d) => d.a === ':db/txInstant')!.v as Date;
    const db = await conn.db();
    expect((await db.asOf(when).datoms('eavt', e, ':account/balance')).map((d) => d.v)).toEqual([250]);
  });

  test('with is speculative and chainable, and is not committed', async () => {
    const { conn, e } = await history();
    const db = await conn.db();
    const w1 = await db.with([[':db/add', e, ':account/balance', 7]]);
    const w2 = await w1.dbAfter.with([{ 'db/id': 'n', 'person/email': 'n@x' }]);
    expect(w2.dbAfter.t).toBe(db.t + 2);
    expect((await w2.dbAfter.datoms('eavt', e, ':account/balance')).map((d) => d.v)).toEqual([7]);
    expect(typeof w2.tempids['n']).toBe('number');
    expect((await conn.db()).t).toBe(db.t);
    expect((await (await conn.db()).datoms('eavt', e, ':account/balance')).map((d) => d.v)).toEqual([50]);
    expect((await caught(db.history().with([]))).category).toBe('incorrect');
  });

  test('txRange returns each transaction with its datoms; start inclusive, end exclusive', async () => {
    const { conn, e, ts } = await history();
    const txs = await conn.txRange({ start: ts[1]!, end: ts[2]! + 1 });
    expect(txs.map((x) => x.t)).toEqual([ts[1], ts[2]]);
    expect(txs[1]!.data.filter((d) => d.e === e).map((d) => [d.v, d.added]).sort()).toEqual([[250, false], [50, true]]);
  });

  test('datoms and indexRange take components as idents, lookup refs and values', async () => {
    const conn = await fresh();
    await conn.transact(Array.from({ length: 50 }, (_, i) => ({ 'person/email': `SKU-${i}`, 'person/age': i })));
    const db = await conn.db();
    expect((await db.indexRange(':person/email', 'SKU-42', 'SKU-44')).map((d) => d.v)).toEqual(['SKU-42', 'SKU-43']);
    expect((await db.datoms('avet', ':person/email')).slice(0, 3).map((d) => d.v)).toEqual(['SKU-0', 'SKU-1', 'SKU-10']);
    const [d] = await db.datoms('eavt', [':person/email', 'SKU-7'], ':person/age');
    expect(d).toMatchObject({ a: ':person/age', v: 7, added: true });
    const stats = await db.stats();
    expect(stats.datoms).toBeGreaterThanOrEqual((await db.datoms('eavt')).length);
    expect(stats.attrs[':person/email']).toEqual({ count: 50 });
  });

  test('idempotent transact: a retried txId returns the original result', async () => {
    const conn = await fresh();
    const id = randomUUID();
    const a = await conn.transact([{ 'person/email': 'once@x' }], { txId: id });
    const b = await conn.transact([{ 'person/email': 'once@x', 'person/age': 1 }], { txId: id });
    expect(b.dbAfter.t).toBe(a.dbAfter.t);
    expect((await conn.db()).t).toBe(a.dbAfter.t);
  });
});

describe('databases of the in-process client', () => {
  test('a deleted database is not found; its connection stops working', async () => {
    const name = `gone-${randomUUID().slice(0, 8)}`;
    await client.createDatabase(name);
    const conn = await client.connect(name);
    expect(await client.listDatabases()).toContain(name);
    await client.deleteDatabase(name);
    expect(await client.listDatabases()).not.toContain(name);
    expect((await caught(client.connect(name))).category).toBe('not-found');
    expect((await caught(conn.transact([]))).category).toBe('not-found');
  });

  test('two databases are independent', async () => {
    const a = await fresh();
    const b = await fresh();
    await a.transact([{ 'person/email': 'only-in-a@x' }]);
    expect((await (await b.db()).datoms('avet', ':person/email', 'only-in-a@x')).length).toBe(0);
  });
});

describe('cancellation in process', () => {
  test('the signal is checked when a call starts; an evaluation under way completes', async () => {
    const conn = await fresh();
    const ac = new AbortController();
    // The evaluation runs when the call is made: an abort after that cannot stop it.
    const tx = conn.transact([{ 'person/email': 'done@x' }], { signal: ac.signal });
    const counted = (await conn.db()).q({ query: '[:find (count ?e) . :where [?e :person/email]]', signal: ac.signal });
    ac.abort();
    expect((await tx).dbAfter.t).toBe(2);
    expect(await counted).toBe(1);
    // From now on, every call with the signal is refused before it starts.
    const e = await caught(conn.transact([{ 'person/email': 'never@x' }], { signal: ac.signal }));
    expect([e.category, e.code, e.message]).toEqual(['interrupted', 'client/aborted', 'The transact call was aborted']);
    expect((await conn.db()).t).toBe(2);
  });

  test('an iteration stops before its next page', async () => {
    const conn = await fresh();
    await conn.transact([{ 'person/email': 'a@x' }, { 'person/email': 'b@x' }, { 'person/email': 'c@x' }]);
    const ac = new AbortController();
    const it = (await conn.db()).iterIndexRange({ attr: ':person/email', chunk: 2, signal: ac.signal });
    expect((await it.next()).value?.v).toBe('a@x');
    ac.abort();
    // The page at hand is answered; the next is not read.
    expect((await it.next()).value?.v).toBe('b@x');
    expect((await caught(it.next())).code).toBe('client/aborted');
  });
});
