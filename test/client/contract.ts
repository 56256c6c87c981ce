/**
 * The client contract (DESIGN.md, "Public contract") as one suite, run against every client:
 * the in-process one and the remote one over HTTP must answer alike.
 */
import { randomUUID } from 'node:crypto';
import { q, DatalithError, type Client, type Connection } from '../../services/client';
import { BigDec } from '../../services/engine/bigdec';

export interface ClientUnderTest {
  readonly client: Client;
  close(): Promise<void>;
}

const SCHEMA = `[
  {:db/ident :person/name :db/valueType :db.type/string :db/cardinality :db.cardinality/one :db/unique :db.unique/identity}
  {:db/ident :person/age :db/valueType :db.type/long :db/cardinality :db.cardinality/one}
  {:db/ident :person/friend :db/valueType :db.type/ref :db/cardinality :db.cardinality/many}
  {:db/ident :person/email :db/valueType :db.type/string :db/cardinality :db.cardinality/one}
]`;

const TYPES_SCHEMA = [
  { 'db/ident': ':v/string', 'db/valueType': ':db.type/string', 'db/cardinality': ':db.cardinality/one' },
  { 'db/ident': ':v/long', 'db/valueType': ':db.type/long', 'db/cardinality': ':db.cardinality/one' },
  { 'db/ident': ':v/bignum', 'db/valueType': ':db.type/long', 'db/cardinality': ':db.cardinality/one' },
  { 'db/ident': ':v/double', 'db/valueType': ':db.type/double', 'db/cardinality': ':db.cardinality/one' },
  { 'db/ident': ':v/boolean', 'db/valueType': ':db.type/boolean', 'db/cardinality': ':db.cardinality/one' },
  { 'db/ident': ':v/instant', 'db/valueType': ':db.type/instant', 'db/cardinality': ':db.cardinality/one' },
  { 'db/ident': ':v/keyword', 'db/valueType': ':db.type/keyword', 'db/cardinality': ':db.cardinality/one' },
  { 'db/ident': ':v/uuid', 'db/valueType': ':db.type/uuid', 'db/cardinality': ':db.cardinality/one' },
  { 'db/ident': ':v/bigint', 'db/valueType': ':db.type/bigint', 'db/cardinality': ':db.cardinality/one' },
  { 'db/ident': ':v/bigdec', 'db/valueType': ':db.type/bigdec', 'db/cardinality': ':db.cardinality/one' },
  { 'db/ident': ':v/tuple', 'db/valueType': ':db.type/tuple', 'db/tupleTypes': [':db.type/string', ':db.type/long'], 'db/cardinality': ':db.cardinality/one' },
  { 'db/ident': ':v/ref', 'db/valueType': ':db.type/ref', 'db/cardinality': ':db.cardinality/one' },
  { 'db/ident': ':v/id', 'db/valueType': ':db.type/string', 'db/cardinality': ':db.cardinality/one', 'db/unique': ':db.unique/identity' },
];

export async function caught(p: Promise<unknown>): Promise<DatalithError> {
  try {
    await p;
  } catch (e) {
    if (e instanceof DatalithError) return e;
    throw e;
  }
  throw new Error('expected the call to fail');
}

const uniqueName = (prefix: string): string => `${prefix}-${randomUUID().slice(0, 8)}`;

export function defineClientContract(label: string, start: () => Promise<ClientUnderTest>): void {
  describe(`client contract: ${label}`, () => {
    let sut: ClientUnderTest;
    let client: Client;

    beforeAll(async () => {
      sut = await start();
      client = sut.client;
    });
    afterAll(async () => {
      await sut?.close();
    });

    async function freshDb(prefix = 'db'): Promise<Connection> {
      const name = uniqueName(prefix);
      expect(await client.createDatabase(name)).toBe(true);
      return client.connect(name);
    }

    async function people(): Promise<{ conn: Connection; ids: Record<string, number>; t: number }> {
      const conn = await freshDb('people');
      await conn.transact(SCHEMA);
      const r = await conn.transact([
        { 'db/id': 'ivan', 'person/name': 'Ivan', 'person/age': 30 },
        { 'db/id': 'petr', 'person/name': 'Petr', 'person/age': 25, 'person/friend': ['ivan'] },
        { 'db/id': 'oleg', 'person/name': 'Oleg', 'person/age': 40, 'person/friend': ['ivan', 'petr'] },
      ]);
      return { conn, ids: r.tempids, t: r.dbAfter.t };
    }

    describe('databases', () => {
      test('create, list, connect, delete', async () => {
        const name = uniqueName('life');
        expect(await client.createDatabase(name)).toBe(true);
        expect(await client.createDatabase(name)).toBe(true);
        expect(await client.listDatabases()).toContain(name);
        const conn = await client.connect(name);
        expect(conn.dbName).toBe(name);
        expect((await conn.db()).t).toBe(0);
        expect(await client.deleteDatabase(name)).toBe(true);
        expect(await client.deleteDatabase(name)).toBe(false);
        expect(await client.listDatabases()).not.toContain(name);
        const e = await caught(client.connect(name));
        expect(e.category).toBe('not-found');
        expect(e.code).toBe('db.error/db-not-found');
      });

      test('invalid and unknown names', async () => {
        expect((await caught(client.createDatabase('has space'))).category).toBe('incorrect');
        expect((await caught(client.connect(''))).category).toBe('incorrect');
        const e = await caught(client.connect(uniqueName('missing')));
        expect(e.category).toBe('not-found');
      });
    });

    describe('transact', () => {
      test('report shape: dbBefore, dbAfter, txData datoms, tempids', async () => {
        const conn = await freshDb();
        const s = await conn.transact(SCHEMA);
        expect(s.dbBefore.t).toBe(0);
        expect(s.dbAfter.t).toBe(1);
        const r = await conn.transact('[{:db/id "ivan" :person/name "Ivan" :person/age 30}]');
        expect(r.dbBefore.t).toBe(1);
        expect(r.dbAfter.t).toBe(2);
        expect(Object.keys(r.tempids)).toEqual(['ivan']);
        const ivan = r.tempids.ivan!;
        expect(typeof ivan).toBe('number');
        const user = r.txData.filter((d) => d.e === ivan).map((d) => [d.a, d.v, d.added]);
        expect(user).toEqual(expect.arrayContaining([[':person/name', 'Ivan', true], [':person/age', 30, true]]));
        const inst = r.txData.find((d) => d.a === ':db/txInstant');
        expect(inst?.v).toBeInstanceOf(Date);
        for (const d of r.txData) expect(Object.keys(d).sort()).toEqual(['a', 'added', 'e', 'tx', 'v']);
        expect((await conn.db()).t).toBe(2);
      });

      test('idempotent: the same txId twice commits once', async () => {
        const conn = await freshDb();
        await conn.transact(SCHEMA);
        const txId = randomUUID();
        const a = await conn.transact([{ 'person/name': 'Once' }], { txId });
        const b = await conn.transact([{ 'person/name': 'Once' }, { 'person/name': 'Twice' }], { txId });
        expect(b.dbAfter.t).toBe(a.dbAfter.t);
        expect((await conn.db()).t).toBe(a.dbAfter.t);
        const names = await (await conn.db()).q('[:find [?n ...] :where [_ :person/name ?n]]');
        expect(names).toEqual(['Once']);
      });

      test('errors: bad transaction data is incorrect with a code; a failed cas is a conflict', async () => {
        const { conn, ids } = await people();
        const bad = await caught(conn.transact('[[:db/add "x" :no/such-attr 1]]'));
        expect(bad.category).toBe('incorrect');
        expect(typeof bad.code).toBe('string');
        const wrongType = await caught(conn.transact([{ 'person/name': 'Zed', 'person/age': 'old' }]));
        expect(wrongType.category).toBe('incorrect');
        expect(wrongType.code).toBe('db.error/wrong-type-for-attribute');
        const cas = await caught(conn.transact([[':db/cas', ids.ivan, ':person/age', 99, 31]]));
        expect(cas.category).toBe('conflict');
        expect(cas.code).toBe('db.error/cas-failed');
        const ok = await conn.transact([[':db/cas', ids.ivan, ':person/age', 30, 31]]);
        expect(ok.dbAfter.t).toBeGreaterThan(ok.dbBefore.t);
        const malformed = await caught(conn.transact('[[:db/add'));
        expect(malformed.category).toBe('incorrect');
      });
    });

    describe('reads', () => {
      test('q: find specs, inputs, map form, rules', async () => {
        const { conn, ids } = await people();
        const db = await conn.db();
        const rel = await db.q('[:find ?n ?a :where [?e :person/name ?n] [?e :person/age ?a]]');
        expect([...rel].sort()).toEqual([['Ivan', 30], ['Oleg', 40], ['Petr', 25]]);
        expect(await db.q('[:find ?a . :in $ ?n :where [?e :person/name ?n] [?e :person/age ?a]]', 'Petr')).toBe(25);
        const coll = await db.q('[:find [?n ...] :where [_ :person/name ?n]]');
        expect([...coll].sort()).toEqual(['Ivan', 'Oleg', 'Petr']);
        const keys = await db.q('[:find ?n ?a :keys name age :in $ ?n :where [?e :person/name ?n] [?e :person/age ?a]]', 'Ivan');
        expect(keys).toEqual([{ name: 'Ivan', age: 30 }]);
        const map = await db.q({ query: '[:find ?e :in $ ?min :where [?e :person/age ?a] [(> ?a ?min)]]', args: [db, 28] });
        expect(map.map((r: number[]) => r[0]).sort()).toEqual([ids.ivan, ids.oleg].sort());
        const js = await db.q([':find', '?n', ':where', ['?e', ':person/age', 40], ['?e', ':person/name', '?n']]);
        expect(js).toEqual([['Oleg']]);
        const rules = '[[(friend-of ?a ?b) [?a :person/friend ?b]] [(friend-of ?a ?b) [?a :person/friend ?x] (friend-of ?x ?b)]]';
        const reach = await db.q('[:find [?n ...] :in $ % :where [?o :person/name "Oleg"] (friend-of ?o ?f) [?f :person/name ?n]]', rules);
        expect([...reach].sort()).toEqual(['Ivan', 'Petr']);
        expect(await db.q('[:find ?a . :where [?e :person/name "Nobody"] [?e :person/age ?a]]')).toBeNull();
        const limited = await db.q({ query: '[:find ?n :where [_ :person/name ?n]]', limit: 2 });
        expect(limited).toHaveLength(2);
        const e = await caught(db.q('[:find ?x :where [?x :person/name]'));
        expect(e.category).toBe('incorrect');
      });

      test('free q over two database values', async () => {
        const a = await people();
        const b = await freshDb('other');
        await b.transact(SCHEMA);
        await b.transact([{ 'person/name': 'Ivan', 'person/email': 'ivan@example.com' }]);
        const r = await q('[:find ?a ?m :in $a $b :where [$a ?x :person/name ?n] [$a ?x :person/age ?a] [$b ?y :person/name ?n] [$b ?y :person/email ?m]]',
          await a.conn.db(), await b.db());
        expect(r).toEqual([[30, 'ivan@example.com']]);
        const viaMap = await q({ query: '[:find ?n . :in $ ?a :where [?e :person/age ?a] [?e :person/name ?n]]', args: [await a.conn.db(), 40] });
        expect(viaMap).toBe('Oleg');
        expect((await caught(q('[:find ?x :in [?x ...]]', [1, 2]))).category).toBe('unsupported');
      });

      test('pull and pullMany', async () => {
        const { conn, ids } = await people();
        const db = await conn.db();
        expect(await db.pull('[:person/name :person/age]', ids.ivan)).toEqual({ 'person/name': 'Ivan', 'person/age': 30 });
        const oleg = await db.pull('[:person/name {:person/friend [:person/name]}]', [':person/name', 'Oleg']);
        expect(oleg?.['person/name']).toBe('Oleg');
        expect((oleg?.['person/friend'] as Array<{ 'person/name': string }>).map((f) => f['person/name']).sort()).toEqual(['Ivan', 'Petr']);
        const refs = await db.pull([':person/friend'], ids.petr);
        expect(refs).toEqual({ 'person/friend': [{ 'db/id': ids.ivan }] });
        const many = await db.pullMany('[:person/name]', [ids.ivan, ids.petr]);
        expect(many).toEqual([{ 'person/name': 'Ivan' }, { 'person/name': 'Petr' }]);
        const star = await db.pull('[*]', ids.ivan);
        expect(star).toEqual({ 'db/id': ids.ivan, 'person/name': 'Ivan', 'person/age': 30 });
        expect((await caught(db.pull('[:person/name', ids.ivan))).category).toBe('incorrect');
      });

      test('datoms and indexRange', async () => {
        const { conn, ids } = await people();
        const db = await conn.db();
        const eavt = await db.datoms('eavt', ids.ivan);
        expect(eavt.map((d) => [d.a, d.v])).toEqual(expect.arrayContaining([[':person/name', 'Ivan'], [':person/age', 30]]));
        const avet = await db.datoms('avet', ':person/age');
        expect(avet.map((d) => d.v)).toEqual([25, 30, 40]);
        const range = await db.indexRange(':person/age', 26, 41);
        expect(range.map((d) => d.v)).toEqual([30, 40]);
        expect((await db.indexRange(':person/age', 26)).map((d) => d.v)).toEqual([30, 40]);
        const vaet = await db.datoms('vaet', ids.ivan, ':person/friend');
        expect(vaet.map((d) => d.e).sort()).toEqual([ids.oleg, ids.petr].sort());
        expect((await caught(db.datoms('xyz' as never))).category).toBe('incorrect');
      });

      test('values are immutable: asOf, since, history, and an old value after new transactions', async () => {
        const { conn, ids, t } = await people();
        const before = await conn.db();
        const r = await conn.transact([[':db/add', ids.ivan, ':person/age', 31]]);
        expect(before.t).toBe(t);
        expect(await before.q('[:find ?a . :in $ ?e :where [?e :person/age ?a]]', ids.ivan)).toBe(30);
        const now = await conn.db();
        expect(await now.q('[:find ?a . :in $ ?e :where [?e :person/age ?a]]', ids.ivan)).toBe(31);
        const asOf = now.asOf(t);
        expect(asOf.asOfT).toBe(t);
        expect(asOf.t).toBe(now.t);
        expect(await asOf.q('[:find ?a . :in $ ?e :where [?e :person/age ?a]]', ids.ivan)).toBe(30);
        expect(await r.dbBefore.q('[:find ?a . :in $ ?e :where [?e :person/age ?a]]', ids.ivan)).toBe(30);
        const since = now.since(t);
        expect(since.sinceT).toBe(t);
        expect(await since.q('[:find ?a :where [_ :person/age ?a]]')).toEqual([[31]]);
        const hist = now.history();
        expect(hist.isHistory).toBe(true);
        const changes = await hist.q('[:find ?a ?added :in $ ?e :where [?e :person/age ?a _ ?added]]', ids.ivan);
        expect([...changes].sort()).toEqual([[30, false], [30, true], [31, true]]);
        const hd = await hist.datoms('eavt', ids.ivan, ':person/age');
        expect(hd.map((d) => [d.v, d.added])).toEqual(expect.arrayContaining([[30, true], [30, false], [31, true]]));
        // asOf by Date: the instant of the transaction at t.
        const txs = await conn.txRange({ start: t, end: t + 1 });
        const instant = txs[0]!.data.find((d) => d.a === ':db/txInstant')!.v as Date;
        expect(await now.asOf(instant).q('[:find ?a . :in $ ?e :where [?e :person/age ?a]]', ids.ivan)).toBe(30);
        expect(await now.asOf(t).asOf(t + 5).q('[:find ?a . :in $ ?e :where [?e :person/age ?a]]', ids.ivan)).toBe(30);
        expect(() => now.asOf(-1)).toThrow(DatalithError);
      });

      test('with: speculative, chained, and not committed', async () => {
        const { conn, ids, t } = await people();
        const db = await conn.db();
        const w = await db.with([{ 'db/id': 'anna', 'person/name': 'Anna', 'person/age': 20 }]);
        expect(w.dbBefore.t).toBe(t);
        expect(w.dbAfter.t).toBe(t + 1);
        const anna = w.tempids.anna!;
        expect(typeof anna).toBe('number');
        expect(await w.dbAfter.q('[:find ?e . :where [?e :person/name "Anna"]]')).toBe(anna);
        const w2 = await w.dbAfter.with([[':db/add', anna, ':person/friend', ids.ivan]]);
        expect(w2.dbAfter.t).toBe(t + 2);
        expect(await w2.dbAfter.pull('[:person/name {:person/friend [:person/name]}]', anna)).toEqual({
          'person/name': 'Anna', 'person/friend': [{ 'person/name': 'Ivan' }],
        });
        // The first speculative value is unchanged, and nothing was committed.
        expect(await w.dbAfter.q('[:find ?f . :in $ ?e :where [?e :person/friend ?f]]', anna)).toBeNull();
        expect(await (await conn.db()).q('[:find ?e . :where [?e :person/name "Anna"]]')).toBeNull();
        expect((await conn.db()).t).toBe(t);
        const cas = await caught(db.with([[':db/cas', ids.ivan, ':person/age', 1, 2]]));
        expect(cas.category).toBe('conflict');
        // Datomic: with on a filtered value is with on the unfiltered value, then the same filter.
        expect((await caught(db.history().with([{ 'person/name': 'X' }]))).category).toBe('incorrect');
        const filtered = await db.asOf(t).with([{ 'db/id': 'x', 'person/name': 'X' }]);
        expect(filtered.dbAfter.t).toBe(t + 1);
        expect(filtered.dbAfter.asOfT).toBe(t);
        expect(typeof filtered.tempids.x).toBe('number');
        expect(await filtered.dbAfter.q('[:find ?e . :where [?e :person/name "X"]]')).toBeNull();
        expect(await filtered.dbAfter.q('[:find ?a . :where [?e :person/name "Ivan"] [?e :person/age ?a]]')).toBe(30);
      });

      test('stats, txRange, sync', async () => {
        const { conn, t } = await people();
        const db = await conn.db();
        const stats = await db.stats();
        expect(stats.t).toBe(t);
        expect(stats.attrs[':person/name']?.count).toBe(3);
        expect(stats.datoms).toBeGreaterThan(0);
        const txs = await conn.txRange({ start: 1 });
        expect(txs.map((x) => x.t)).toEqual([1, 2]);
        expect(txs[1]!.data.filter((d) => d.a === ':person/name')).toHaveLength(3);
        expect((await conn.txRange({ start: 2, end: 3 })).map((x) => x.t)).toEqual([2]);
        expect((await conn.txRange()).length).toBe(2);
        expect((await conn.sync()).t).toBe(t);
        expect((await conn.sync(t)).t).toBe(t);
      });

      test('every value type round-trips', async () => {
        const conn = await freshDb('types');
        await conn.transact(TYPES_SCHEMA);
        const when = new Date('2024-02-29T12:34:56.789Z');
        const uuid = '6f1e0c8e-3c9a-4b8e-9d3e-1f2a3b4c5d6e';
        const r = await conn.transact([
          { 'db/id': 'target', 'v/id': 'target' },
          {
            'db/id': 'e',
            'v/id': 'all',
            'v/string': 'héllo "wörld" #not-a-tag',
            'v/long': -42,
            'v/bignum': 2n ** 62n,
            'v/double': 1.5,
            'v/boolean': false,
            'v/instant': when,
            'v/keyword': ':color/blue',
            'v/uuid': uuid,
            'v/bigint': 123456789012345678901234567890n,
            'v/bigdec': BigDec.parse('3.14159265358979323846'),
            'v/tuple': ['a', 7],
            'v/ref': 'target',
          },
        ]);
        const e = r.tempids.e!;
        const target = r.tempids.target!;
        const pulled = await (await conn.db()).pull('[*]', e);
        expect(pulled).toEqual({
          'db/id': e,
          'v/id': 'all',
          'v/string': 'héllo "wörld" #not-a-tag',
          'v/long': -42,
          'v/bignum': 2n ** 62n,
          'v/double': 1.5,
          'v/boolean': false,
          'v/instant': when,
          'v/keyword': ':color/blue',
          'v/uuid': uuid,
          'v/bigint': 123456789012345678901234567890n,
          'v/bigdec': BigDec.parse('3.14159265358979323846'),
          'v/tuple': ['a', 7],
          'v/ref': { 'db/id': target },
        });
        const db = await conn.db();
        // Values as query inputs and results.
        expect(await db.q('[:find ?e . :in $ ?v :where [?e :v/instant ?v]]', when)).toBe(e);
        expect(await db.q('[:find ?e . :in $ ?v :where [?e :v/bigint ?v]]', 123456789012345678901234567890n)).toBe(e);
        expect(await db.q('[:find ?v . :where [_ :v/bignum ?v]]')).toBe(2n ** 62n);
        expect(await db.q('[:find ?v . :where [_ :v/tuple ?v]]')).toEqual(['a', 7]);
        const datoms = await db.datoms('eavt', e, ':v/instant');
        expect(datoms[0]!.v).toEqual(when);
        const inTx = r.txData.find((d) => d.a === ':v/bigdec');
        expect(inTx?.v).toEqual(BigDec.parse('3.14159265358979323846'));
      });
    });
  });
}
