/**
 * Durable in-process mode: createClient({ local: { dir } }) keeps databases in dir through the
 * node's storage and transactor code, so data survives a restart of the program.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createClient, DatalithError } from '../../services';

const SCHEMA = `[{:db/ident :person/name :db/valueType :db.type/string :db/cardinality :db.cardinality/one :db/unique :db.unique/identity}
  {:db/ident :person/born :db/valueType :db.type/instant :db/cardinality :db.cardinality/one}
  {:db/ident :person/wealth :db/valueType :db.type/bigint :db/cardinality :db.cardinality/one}]`;

/** The error a call rejects with (a call that succeeds fails the test). */
function refusal(p: Promise<unknown>): Promise<DatalithError> {
  return p.then(
    () => {
      throw new Error('expected the call to be refused');
    },
    (e: unknown) => e as DatalithError,
  );
}

describe('createClient({ local: { dir } })', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'datalith-embedded-'));
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  test('data, t and idempotency survive closing and reopening the directory', async () => {
    const c1 = createClient({ local: { dir } });
    await c1.createDatabase('people');
    const conn = await c1.connect('people');
    await conn.transact(SCHEMA);
    const born = new Date('1990-05-17T00:00:00Z');
    const r = await conn.transact([{ 'db/id': 'ivan', 'person/name': 'Ivan', 'person/born': born, 'person/wealth': 18446744073709551616n }], { txId: 'tx-ivan' });
    const ivan = r.tempids['ivan']!;
    const again = await conn.transact([{ 'person/name': 'Ivan' }], { txId: 'tx-ivan' });
    expect(again.dbAfter.t).toBe(r.dbAfter.t);
    expect((await conn.db()).t).toBe(2);
    await c1.close();

    const c2 = createClient({ local: { dir } });
    expect(await c2.listDatabases()).toEqual(['people']);
    const conn2 = await c2.connect('people');
    const db = await conn2.db();
    expect(db.t).toBe(2);
    const datoms = await db.datoms('eavt', ivan);
    const byAttr = Object.fromEntries(datoms.map((d) => [d.a, d.v]));
    expect(byAttr[':person/name']).toBe('Ivan');
    expect(byAttr[':person/born']).toEqual(born);
    expect(byAttr[':person/wealth']).toBe(18446744073709551616n);
    // t continues after the restart, and the idempotency key is still remembered.
    const dup = await conn2.transact([{ 'person/name': 'Ivan' }], { txId: 'tx-ivan' });
    expect(dup.dbAfter.t).toBe(2);
    const next = await conn2.transact([{ 'person/name': 'Petr' }]);
    expect(next.dbAfter.t).toBe(3);
    await c2.close();
  });

  test('a second client on the same directory is refused with a clear conflict', async () => {
    const d2 = fs.mkdtempSync(path.join(os.tmpdir(), 'datalith-embedded-lock-'));
    const a = createClient({ local: { dir: d2 } });
    await a.createDatabase('x');
    const b = createClient({ local: { dir: d2 } });
    const err = await b.listDatabases().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DatalithError);
    expect((err as DatalithError).category).toBe('conflict');
    expect((err as DatalithError).message).toContain(path.resolve(d2));
    await a.close();
    fs.rmSync(d2, { recursive: true, force: true });
  });

  test('an AbortSignal: refused before anything is written; aborted while committing, the transaction is in doubt and a retry with its id commits once', async () => {
    const c = createClient({ local: { dir } });
    try {
      await c.createDatabase('abort');
      const conn = await c.connect('abort');
      await conn.transact(SCHEMA);
      const t0 = (await conn.db()).t;
      const before = new AbortController();
      before.abort();
      const refused = await refusal(conn.transact([{ 'person/name': 'Never' }], { signal: before.signal }));
      expect({ category: refused.category, code: refused.code }).toEqual({ category: 'interrupted', code: 'client/aborted' });
      expect((await conn.sync()).t).toBe(t0);
      await expect(conn.sync(undefined, { signal: before.signal })).rejects.toMatchObject({ code: 'client/aborted' });

      // Aborted while it commits: the caller stops waiting and the commit goes on, so the error
      // says the outcome is unknown; the same txId then answers the one committed result.
      const during = new AbortController();
      const pending = conn.transact([{ 'person/name': 'Maybe' }], { txId: 'tx-maybe', signal: during.signal });
      await new Promise((r) => setImmediate(r)); // handed to the transactor, its append in flight
      during.abort();
      const inDoubt = await refusal(pending);
      expect(inDoubt.code).toBe('client/aborted');
      expect(inDoubt.message).toMatch(/indeterminate.*tx-maybe/);
      expect(inDoubt.data).toMatchObject({ txId: 'tx-maybe', indeterminate: true });
      const retried = await conn.transact([{ 'person/name': 'Maybe' }], { txId: 'tx-maybe' });
      const again = await conn.transact([{ 'person/name': 'Maybe' }], { txId: 'tx-maybe' });
      expect(again.dbAfter.t).toBe(retried.dbAfter.t);
      expect(await (await conn.sync()).q('[:find [?n ...] :where [_ :person/name ?n]]')).toEqual(['Maybe']);
    } finally {
      await c.close();
    }
  });

  test('unknown database is not-found', async () => {
    const c = createClient({ local: { dir } });
    const err = await c.connect('nope').catch((e: unknown) => e);
    expect((err as DatalithError).category).toBe('not-found');
    await c.close();
  });

  test('indexes into dir/segments; reopening reads the root and the tail, and a missing segments folder falls back to the log', async () => {
    const d = fs.mkdtempSync(path.join(os.tmpdir(), 'datalith-embedded-index-'));
    const was = process.env['DATALITH_INDEX_THRESHOLD_DATOMS'];
    process.env['DATALITH_INDEX_THRESHOLD_DATOMS'] = '300';
    try {
      const c1 = createClient({ local: { dir: d } });
      await c1.createDatabase('people');
      const conn = await c1.connect('people');
      await conn.transact(SCHEMA);
      for (let b = 0; b < 6; b++) await conn.transact(Array.from({ length: 100 }, (_, i) => ({ 'person/name': `p${b * 100 + i}` })));
      const expected = await (await conn.db()).q('[:find (count ?e) :where [?e :person/name]]');
      const stats = await (await conn.db()).stats();
      await c1.close();
      expect(fs.readdirSync(path.join(d, 'segments')).length).toBeGreaterThan(0);

      const c2 = createClient({ local: { dir: d } });
      const db2 = await (await c2.connect('people')).db();
      expect(await db2.q('[:find (count ?e) :where [?e :person/name]]')).toEqual(expected);
      expect(await db2.stats()).toEqual(stats);
      expect(await db2.pull('[:person/name]', [':person/name', 'p0'])).toEqual({ 'person/name': 'p0' });
      await c2.close();

      fs.rmSync(path.join(d, 'segments'), { recursive: true, force: true });
      const c3 = createClient({ local: { dir: d } });
      const db3 = await (await c3.connect('people')).db();
      expect(await db3.q('[:find (count ?e) :where [?e :person/name]]')).toEqual(expected);
      expect(db3.t).toBe(db2.t);
      await c3.close();
    } finally {
      if (was === undefined) delete process.env['DATALITH_INDEX_THRESHOLD_DATOMS'];
      else process.env['DATALITH_INDEX_THRESHOLD_DATOMS'] = was;
      fs.rmSync(d, { recursive: true, force: true });
    }
  });
});
