/**
 * The client contract (DESIGN.md, "Public contract") as one suite, run against every client:
 * the in-process one and the remote one over HTTP must answer alike.
 */
import { randomUUID } from 'node:crypto';
import fc from 'fast-check';
import { q, DatalithError, type Client, type Connection, type Datom, type Db } from '../../services';
import { BigDec } from '../../services/engine/bigdec';

export interface ClientUnderTest {
  readonly client: Client;
  /** The most rows one answer may hold (a node's limit; none in process). */
  readonly maxResultRows?: number;
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

const PAGING_SCHEMA = `[
  {:db/ident :item/n     :db/valueType :db.type/long   :db/cardinality :db.cardinality/one}
  {:db/ident :item/tag   :db/valueType :db.type/string :db/cardinality :db.cardinality/many}
  {:db/ident :item/score :db/valueType :db.type/long   :db/cardinality :db.cardinality/one}
]`;
/** Items, transacted in batches of ITEM_BATCH: each has :item/n and two tags (3 datoms). */
const ITEMS = 300;
const ITEM_BATCH = 50;
/** The first SCORED items get a score, then SCORE_ROUNDS new ones (each a retraction and an assertion). */
const SCORED = 30;
const SCORE_ROUNDS = 3;

async function all<T>(it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of it) out.push(x);
  return out;
}

/** The answer, or the anomaly code it failed with: for comparing two calls that may both fail. */
async function outcome(p: Promise<unknown>): Promise<unknown> {
  try {
    return await p;
  } catch (e) {
    if (e instanceof DatalithError) return { failed: e.code };
    throw e;
  }
}

const ev = (ds: readonly Datom[]): unknown[] => ds.map((d) => [d.e, d.v]);

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

    /**
     * A database for paging: t 1 the schema, t 2–7 the items (ITEM_BATCH a transaction), t 8 the
     * scores of the first SCORED items, t 9–11 new scores for them (score = 10 * round + i).
     */
    async function catalogue(): Promise<{ conn: Connection; ids: number[]; db: Db }> {
      const conn = await freshDb('pages');
      await conn.transact(PAGING_SCHEMA);
      const ids: number[] = [];
      for (let b = 0; b < ITEMS; b += ITEM_BATCH) {
        const r = await conn.transact(Array.from({ length: ITEM_BATCH }, (_, j) => {
          const i = b + j;
          return { 'db/id': `i${i}`, 'item/n': (i * 7919) % ITEMS, 'item/tag': [`tag-${String(i).padStart(3, '0')}-b`, `tag-${String(i).padStart(3, '0')}-a`] };
        }));
        for (let j = 0; j < ITEM_BATCH; j++) ids.push(r.tempids[`i${b + j}`]!);
      }
      for (let round = 0; round <= SCORE_ROUNDS; round++) {
        await conn.transact(ids.slice(0, SCORED).map((e, i) => [':db/add', e, ':item/score', 10 * round + i]));
      }
      return { conn, ids, db: await conn.db() };
    }

    describe('paging: arg-maps, offset and limit, iterators', () => {
      test('the arg-map forms answer as the positional ones; limit defaults to all; edges of offset and limit', async () => {
        const { db, ids } = await catalogue();
        const positional = await db.datoms('aevt', ':item/score');
        expect(positional).toHaveLength(SCORED);
        expect(await db.datoms({ index: 'aevt', components: [':item/score'] })).toEqual(positional);
        expect(await db.datoms({ index: 'aevt', components: [':item/score'], limit: -1 })).toEqual(positional);
        expect(await db.datoms({ index: 'aevt', components: [':item/score'], offset: 0, limit: 0 })).toEqual([]);
        expect(await db.datoms({ index: 'aevt', components: [':item/score'], offset: 5, limit: 10 })).toEqual(positional.slice(5, 15));
        expect(await db.datoms({ index: 'aevt', components: [':item/score'], offset: SCORED - 2, limit: 10 })).toEqual(positional.slice(-2));
        expect(await db.datoms({ index: 'aevt', components: [':item/score'], offset: SCORED })).toEqual([]);
        expect(await db.datoms({ index: 'aevt', components: [':item/score'], offset: 10_000, limit: 5 })).toEqual([]);
        // Without components or a limit: the same answer as the positional form (more than
        // Datomic's default limit of 1000), or the same refusal above a node's row limit.
        const whole = await outcome(db.datoms('eavt'));
        expect(await outcome(db.datoms({ index: 'eavt' }))).toEqual(whole);
        if (sut.maxResultRows === undefined) expect((whole as Datom[]).length).toBeGreaterThan(1000);
        else expect(whole).toEqual({ failed: 'datoms/result-too-large' });
        // The latest scores are 10 * SCORE_ROUNDS + i.
        const range = await db.indexRange(':item/score', 35, 40);
        expect(range.map((d) => [d.e, d.v])).toEqual([5, 6, 7, 8, 9].map((i) => [ids[i], 10 * SCORE_ROUNDS + i]));
        expect(await db.indexRange({ attr: ':item/score', start: 5, end: 40 })).toEqual(await db.indexRange(':item/score', 5, 40));
        expect(await db.indexRange({ attr: ':item/score', start: 30, offset: 3, limit: 4 })).toEqual((await db.indexRange(':item/score', 30)).slice(3, 7));
        expect(await db.indexRange({ attr: ':item/score', limit: 0 })).toEqual([]);
        expect(await all(db.iterDatoms({ index: 'aevt', components: [':item/score'], limit: 0 }))).toEqual([]);
        expect(await all(db.iterDatoms({ index: 'aevt', components: [':item/score'], offset: SCORED + 1 }))).toEqual([]);
        expect(await all(db.iterDatoms({ index: 'aevt', components: [':item/score'], chunk: 4, limit: -1 }))).toEqual(positional);
      });

      test('random pages, offsets, limits and chunks equal the whole answer in every view', async () => {
        const { db, ids } = await catalogue();
        // t 9: the first new scores; each value below stays under any row limit.
        const views: Array<[string, Db]> = [['current', db], ['asOf', db.asOf(9)], ['since', db.since(9)], ['history', db.history()], ['history asOf', db.history().asOf(10)]];
        const lookups: Array<{ index: 'eavt' | 'aevt' | 'avet'; components: unknown[] }> = [
          { index: 'aevt', components: [':item/score'] },
          { index: 'avet', components: [':item/score'] },
          { index: 'eavt', components: [ids[3]] },
          { index: 'avet', components: [':item/score', 12] },
        ];
        await fc.assert(
          fc.asyncProperty(fc.nat(views.length - 1), fc.nat(lookups.length), fc.integer({ min: 1, max: 40 }), fc.nat(250), fc.integer({ min: -1, max: 60 }),
            async (vi, li, chunk, offset, limit) => {
              const [label, view] = views[vi]!;
              const end = limit === -1 ? undefined : offset + limit;
              if (li === lookups.length) {
                const whole = await view.indexRange(':item/score', 10, 35);
                expect([label, await all(view.iterIndexRange({ attr: ':item/score', start: 10, end: 35, chunk, offset, limit }))]).toEqual([label, whole.slice(offset, end)]);
                expect([label, await view.indexRange({ attr: ':item/score', start: 10, end: 35, offset, limit })]).toEqual([label, whole.slice(offset, end)]);
                return;
              }
              const { index, components } = lookups[li]!;
              const whole = await view.datoms(index, ...components);
              expect([label, await all(view.iterDatoms({ index, components, chunk }))]).toEqual([label, whole]);
              expect([label, await all(view.iterDatoms({ index, components, chunk, offset, limit }))]).toEqual([label, whole.slice(offset, end)]);
              expect([label, await view.datoms({ index, components, offset, limit })]).toEqual([label, whole.slice(offset, end)]);
            }),
          { numRuns: 25 },
        );
        // The history of one fact's changes: assertions and retractions, in index order.
        const hist = await all(db.history().iterDatoms({ index: 'eavt', components: [ids[0], ':item/score'], chunk: 1 }));
        expect(hist.map((d) => [d.v, d.added])).toEqual([[0, true], [0, false], [10, true], [10, false], [20, true], [20, false], [30, true]]);
      });

      test('an iteration over more than the row limit answers every datom once, in order', async () => {
        const { db, ids, conn } = await catalogue();
        // The model: tags in AEVT order (by entity, then value); n in AVET order (by value, then entity).
        const tags = ids.flatMap((e, i) => ['a', 'b'].map((x) => [e, `tag-${String(i).padStart(3, '0')}-${x}`]))
          .sort((x, y) => ((x[0] as number) - (y[0] as number)) || ((x[1] as string) < (y[1] as string) ? -1 : 1));
        const ns = ids.map((e, i) => [e, (i * 7919) % ITEMS]).sort((x, y) => (x[1]! - y[1]!) || (x[0]! - y[0]!));
        expect(tags.length).toBeGreaterThan(sut.maxResultRows ?? 0);
        if (sut.maxResultRows !== undefined) {
          expect((await caught(db.datoms('aevt', ':item/tag'))).code).toBe('datoms/result-too-large');
          expect((await caught(db.indexRange(':item/n'))).code).toBe('datoms/result-too-large');
        }
        // The default chunk (1000) is above the limit: those pages are fetched again in halves.
        expect(ev(await all(db.iterDatoms({ index: 'aevt', components: [':item/tag'] })))).toEqual(tags);
        expect(ev(await all(db.iterDatoms({ index: 'aevt', components: [':item/tag'], chunk: 97 })))).toEqual(tags);
        expect(ev(await all(db.iterIndexRange({ attr: ':item/n', chunk: 64 })))).toEqual(ns);
        expect(ev(await all(db.iterDatoms({ index: 'aevt', components: [':item/tag'], offset: 123, limit: 333, chunk: 50 })))).toEqual(tags.slice(123, 456));
        // The log: every transaction once, in order (whole, it is above the limit too).
        const txs = await all(conn.iterTxRange());
        expect(txs.map((x) => x.t)).toEqual(Array.from({ length: db.t }, (_, i) => i + 1));
        expect(txs[2]).toEqual((await conn.txRange({ start: 3, end: 4 }))[0]);
        expect(txs.flatMap((x) => x.data).filter((d) => d.a === ':item/tag')).toHaveLength(tags.length);
      });

      test('a transaction between pages changes nothing of an iteration', async () => {
        const { conn, ids, db } = await catalogue();
        const t = db.t;
        const before = {
          current: await db.datoms('aevt', ':item/score'),
          history: await db.history().datoms('aevt', ':item/score'),
          asOf: await db.asOf(9).datoms('avet', ':item/score'),
        };
        const iterations = {
          current: db.iterDatoms({ index: 'aevt', components: [':item/score'], chunk: 7 }),
          history: db.history().iterDatoms({ index: 'aevt', components: [':item/score'], chunk: 7 }),
          asOf: db.asOf(9).iterDatoms({ index: 'avet', components: [':item/score'], chunk: 7 }),
        };
        const log = conn.iterTxRange({ start: 2, chunk: 2 });
        const got: Record<string, unknown[]> = { current: [], history: [], asOf: [], log: [] };
        // The first page of each, then transactions that touch every range, then the rest.
        for (const [k, it] of Object.entries(iterations)) got[k]!.push((await it.next()).value);
        got.log!.push(((await log.next()).value as { t: number }).t);
        await conn.transact([[':db/retract', ids[1]!, ':item/score', 10 * SCORE_ROUNDS + 1], [':db/add', ids[2]!, ':item/score', -5], [':db/add', ids[40]!, ':item/score', 1000]]);
        await conn.transact([{ 'item/n': -1, 'item/score': -1 }]);
        expect((await conn.db()).t).toBe(t + 2);
        for (const [k, it] of Object.entries(iterations)) got[k]!.push(...await all({ [Symbol.asyncIterator]: () => it }));
        for await (const x of log) got.log!.push(x.t);
        expect(got.current).toEqual(before.current);
        expect(got.history).toEqual(before.history);
        expect(got.asOf).toEqual(before.asOf);
        expect(got.log).toEqual(Array.from({ length: t - 1 }, (_, i) => i + 2));
        // A new value sees the new transactions.
        expect(await (await conn.db()).datoms('aevt', ':item/score')).not.toEqual(before.current);
      });

      test('txRange: offset and limit count transactions; iterTxRange from a Date', async () => {
        const { conn, db } = await catalogue();
        expect((await conn.txRange({ offset: 7, limit: 3 })).map((x) => x.t)).toEqual([8, 9, 10]);
        expect((await conn.txRange({ start: 9, limit: -1 })).map((x) => x.t)).toEqual([9, 10, 11]);
        expect((await conn.txRange({ start: 2, limit: 1 })).map((x) => x.t)).toEqual([2]);
        expect(await conn.txRange({ limit: 0 })).toEqual([]);
        expect(await conn.txRange({ offset: 1000 })).toEqual([]);
        expect(await conn.txRange({ start: 9, end: 11, offset: 1 })).toEqual(await conn.txRange({ start: 10, end: 11 }));
        const instant = (await conn.txRange({ start: 8, end: 9 }))[0]!.data.find((d) => d.a === ':db/txInstant')!.v as Date;
        expect((await all(conn.iterTxRange({ start: instant, chunk: 1 }))).map((x) => x.t)).toEqual([8, 9, 10, 11]);
        expect((await all(conn.iterTxRange({ start: 8, end: 11, chunk: 2, offset: 1 }))).map((x) => x.t)).toEqual([9, 10]);
        expect((await all(conn.iterTxRange({ start: 8, limit: 3, chunk: 2 }))).map((x) => x.t)).toEqual([8, 9, 10]);
        expect(db.t).toBe(11);
      });

      test('a page resumes after a datom of any value type', async () => {
        const conn = await freshDb('cursor-types');
        await conn.transact(TYPES_SCHEMA);
        const r = await conn.transact([0, 1, 2].map((i) => ({ 'db/id': `t${i}`, 'v/id': `t${i}` })));
        await conn.transact([0, 1, 2, 3].map((i) => ({
          'v/string': `s${i % 2}`, 'v/long': i % 2, 'v/bignum': 2n ** 62n + BigInt(i % 2), 'v/double': i % 2 ? -Infinity : 0.5,
          'v/boolean': i % 2 === 0, 'v/instant': new Date(Date.UTC(2024, 0, 1 + (i % 2))), 'v/keyword': `:k/v${i % 2}`,
          'v/uuid': `6f1e0c8e-3c9a-4b8e-9d3e-1f2a3b4c5d6${i % 2}`, 'v/bigint': 10n ** 30n + BigInt(i % 2),
          'v/bigdec': BigDec.parse(`1.5${i % 2}`), 'v/tuple': ['a', i % 2], 'v/ref': r.tempids[`t${i % 3}`],
        })));
        const db = await conn.db();
        for (const attr of TYPES_SCHEMA.map((a) => a['db/ident']).filter((a) => a !== ':v/id')) {
          const whole = await db.datoms('avet', attr);
          expect([attr, whole.length]).toEqual([attr, 4]);
          expect([attr, await all(db.iterDatoms({ index: 'avet', components: [attr], chunk: 1 }))]).toEqual([attr, whole]);
          expect([attr, await all(db.history().iterDatoms({ index: 'aevt', components: [attr], chunk: 1 }))]).toEqual([attr, await db.history().datoms('aevt', attr)]);
        }
        const refs = await db.datoms('vaet', r.tempids.t0);
        expect(await all(db.iterDatoms({ index: 'vaet', components: [r.tempids.t0], chunk: 1 }))).toEqual(refs);
      });

      test('invalid arguments are incorrect, naming the field', async () => {
        const { conn, db } = await catalogue();
        const cases: Array<[string, () => Promise<unknown>, string, string]> = [
          ['negative offset', () => db.datoms({ index: 'eavt', offset: -1 }), 'datoms/invalid-offset', 'offset'],
          ['fractional offset', () => db.indexRange({ attr: ':item/n', offset: 0.5 }), 'datoms/invalid-offset', 'offset'],
          ['limit -2', () => db.datoms({ index: 'eavt', limit: -2 }), 'datoms/invalid-limit', 'limit'],
          ['limit as text', () => db.indexRange({ attr: ':item/n', limit: '5' as never }), 'datoms/invalid-limit', 'limit'],
          ['no index', () => db.datoms({} as never), 'datoms/invalid-index', 'index'],
          ['unknown index', () => db.datoms({ index: 'xyz' as never }), 'datoms/invalid-index', 'index'],
          ['components not an array', () => db.datoms({ index: 'aevt', components: ':item/n' as never }), 'datoms/invalid-arguments', 'components'],
          ['unknown field', () => db.datoms({ index: 'eavt', limt: 5 } as never), 'datoms/invalid-arguments', 'limt'],
          ['map and components', () => (db.datoms as (...a: unknown[]) => Promise<unknown>)({ index: 'eavt' }, 1), 'datoms/invalid-arguments', 'args'],
          ['no attr', () => db.indexRange({ start: 1 } as never), 'datoms/invalid-arguments', 'attr'],
          ["Datomic's attrid", () => db.indexRange({ attrid: ':item/n' } as never), 'datoms/invalid-arguments', 'attrid'],
          ['chunk 0', () => all(db.iterDatoms({ index: 'eavt', chunk: 0 })), 'datoms/invalid-chunk', 'chunk'],
          ['iterator limit', () => all(db.iterIndexRange({ attr: ':item/n', limit: -5 })), 'datoms/invalid-limit', 'limit'],
          ['iterator without index', () => all(db.iterDatoms({ components: [] } as never)), 'datoms/invalid-index', 'index'],
          ['txRange limit', () => conn.txRange({ limit: -2 }), 'datoms/invalid-limit', 'limit'],
          ['iterTxRange offset', () => all(conn.iterTxRange({ offset: -1 })), 'datoms/invalid-offset', 'offset'],
          ['iterTxRange chunk', () => all(conn.iterTxRange({ chunk: 1.5 })), 'datoms/invalid-chunk', 'chunk'],
          ['iterTxRange unknown field', () => all(conn.iterTxRange({ strat: 3 } as never)), 'datoms/invalid-arguments', 'strat'],
        ];
        for (const [what, call, code, field] of cases) {
          const e = await caught(call());
          expect([what, e.category, e.code, e.data.field]).toEqual([what, 'incorrect', code, field]);
          expect([what, e.message.includes(field)]).toEqual([what, true]);
        }
        // Things only the database can tell: the same anomaly as the other forms.
        expect((await caught(all(db.iterDatoms({ index: 'aevt', components: [':no/such'] })))).code).toBe('db.error/not-an-attribute');
        expect((await caught(db.indexRange({ attr: ':no/such' }))).code).toBe('db.error/not-an-attribute');
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

    describe('cancellation (AbortSignal)', () => {
      /** Expects the call to fail as aborted, naming the operation. */
      async function expectAborted(p: Promise<unknown>, operation: string): Promise<DatalithError> {
        const e = await caught(p);
        expect([e.category, e.code]).toEqual(['interrupted', 'client/aborted']);
        expect(e.message).toContain(`The ${operation} call was aborted`);
        expect(e.data).toMatchObject({ operation });
        return e;
      }

      test('a signal aborted before the call rejects every call that takes one, and nothing is committed', async () => {
        const { conn, ids, t } = await people();
        const db = await conn.db();
        const signal = AbortSignal.abort();
        await expectAborted(conn.transact([{ 'person/name': 'Never' }], { signal }), 'transact');
        await expectAborted(conn.db({ signal }), 'db');
        await expectAborted(conn.sync(undefined, { signal }), 'sync');
        await expectAborted(conn.txRange({ signal }), 'txRange');
        await expectAborted(db.q({ query: '[:find ?n :where [_ :person/name ?n]]', signal }), 'q');
        await expectAborted(q({ query: '[:find ?n :where [_ :person/name ?n]]', args: [db], signal }), 'q');
        await expectAborted(db.pull('[*]', ids.ivan, { signal }), 'pull');
        await expectAborted(db.pullMany('[*]', [ids.ivan], { signal }), 'pullMany');
        await expectAborted(db.datoms({ index: 'eavt', signal }), 'datoms');
        await expectAborted(db.indexRange({ attr: ':person/name', signal }), 'indexRange');
        await expectAborted(db.with([{ 'person/name': 'Maybe' }], { signal }), 'with');
        await expectAborted(db.stats({ signal }), 'stats');
        await expectAborted(db.iterDatoms({ index: 'eavt', signal }).next(), 'iterDatoms');
        await expectAborted(db.iterIndexRange({ attr: ':person/name', signal }).next(), 'iterIndexRange');
        await expectAborted(conn.iterTxRange({ signal }).next(), 'iterTxRange');
        // The reason, when the caller gives one, is in the message.
        const why = await expectAborted(db.stats({ signal: AbortSignal.abort('user left') }), 'stats');
        expect(why.message).toContain('user left');
        const latest = await conn.sync();
        expect(latest.t).toBe(t);
        expect(await latest.q('[:find ?e . :where [?e :person/name "Never"]]')).toBeNull();
      });

      test('a live signal changes nothing; a signal that is not an AbortSignal is incorrect', async () => {
        const { conn, ids } = await people();
        const { signal } = new AbortController();
        const r = await conn.transact([{ 'person/name': 'Live' }], { signal });
        const db = await conn.sync(r.dbAfter.t, { signal });
        expect(await db.q({ query: '[:find (count ?e) . :where [?e :person/name]]', signal })).toBe(4);
        expect(await db.pull('[:person/name]', ids.ivan, { signal })).toEqual({ 'person/name': 'Ivan' });
        expect(await all(db.iterDatoms({ index: 'aevt', components: [':person/name'], chunk: 1, signal }))).toHaveLength(4);
        expect((await db.stats({ signal })).t).toBe(r.dbAfter.t);
        const bad = await caught(db.q({ query: '[:find ?e :where [?e :person/name]]', signal: 'soon' as unknown as AbortSignal }));
        expect([bad.category, bad.code]).toEqual(['incorrect', 'client/invalid-signal']);
        expect((await caught(conn.transact([], { signal: {} as AbortSignal }))).code).toBe('client/invalid-signal');
      });

      test('an iterator stops at the next page once its signal is aborted', async () => {
        const { conn } = await people();
        const db = await conn.db();
        const ac = new AbortController();
        const seen: unknown[] = [];
        const e = await caught((async () => {
          for await (const d of db.iterDatoms({ index: 'aevt', components: [':person/name'], chunk: 2, signal: ac.signal })) {
            seen.push(d.v);
            ac.abort();
          }
        })());
        expect([e.code, e.data.operation]).toEqual(['client/aborted', 'iterDatoms']);
        // The page at hand is answered; the next one is not fetched.
        expect(seen).toHaveLength(2);
        const txs = new AbortController();
        const it = conn.iterTxRange({ chunk: 1, signal: txs.signal });
        expect((await it.next()).value?.t).toBe(1);
        txs.abort();
        expect((await caught(it.next())).code).toBe('client/aborted');
      });
    });
  });
}
