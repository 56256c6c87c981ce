/**
 * The storage suite shared by every DynamoDB-compatible backend (dynalite in process, dynalite as
 * a child process, DynamoDB Local). Not a test file itself: `*.test.ts` files call it.
 */
import { createHash, randomBytes } from 'node:crypto';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { CatalogStore, createDynamoClient, ensureTables, type TableNames } from '../../../services/node/storage';
import { entrySize, LogStore, MAX_ITEM_BYTES, MAX_TX_BYTES, type LogEntry } from '../../../services/node/log';
import { DatalithError } from '../../../services/engine/errors';

export interface Backend {
  endpoint: string;
  close(): Promise<void>;
}

let seq = 0;
export const uniqueNames = (tag: string): TableNames => {
  const s = `${tag}-${process.pid}-${Date.now().toString(36)}-${seq++}`;
  return { catalogTable: `t-${s}-catalog`, logTable: `t-${s}-log` };
};

export const bytes = (n: number, fill?: number): Uint8Array =>
  fill === undefined ? new Uint8Array(randomBytes(n)) : new Uint8Array(n).fill(fill);

/** An entry of `count` txs starting at t, each with a payload of `size` bytes. */
export function entry(db: string, t: number, count = 1, size = 16, tag = 'w'): LogEntry {
  return {
    db,
    t,
    last: t + count - 1,
    txs: Array.from({ length: count }, (_, i) => ({ t: t + i, txId: `${tag}-${t + i}`, payload: bytes(size) })),
  };
}

export async function caught(p: Promise<unknown>): Promise<DatalithError> {
  try {
    await p;
  } catch (e) {
    if (e instanceof DatalithError) return e;
    throw e;
  }
  throw new Error('expected a DatalithError, but the promise resolved');
}

const sameBytes = (a: Uint8Array, b: Uint8Array): boolean => Buffer.from(a).equals(Buffer.from(b));

/** Entries with payloads replaced by `length:sha256` (jest's deep equality on big typed arrays is very slow). */
export function digest(entries: Array<LogEntry | undefined>): unknown[] {
  return entries.map((e) => e === undefined ? e : ({
    ...e,
    txs: e.txs.map((x) => ({ ...x, payload: `${x.payload.byteLength}:${createHash('sha256').update(x.payload).digest('hex')}` })),
  }));
}

export function defineStorageSuite(label: string, start: () => Promise<Backend>): void {
  describe(`storage suite on ${label}`, () => {
    let backend: Backend;
    let client: DynamoDBClient;
    let client2: DynamoDBClient;
    let names: TableNames;
    let log: LogStore;
    let log2: LogStore;
    let catalog: CatalogStore;
    let dbSeq = 0;
    const newDb = (): string => `db-${label.replace(/\W+/g, '')}-${dbSeq++}`;

    beforeAll(async () => {
      backend = await start();
      // Two independent clients (own connection pools), like two nodes.
      client = createDynamoClient({ endpoint: backend.endpoint });
      client2 = createDynamoClient({ endpoint: backend.endpoint });
      names = uniqueNames(label.replace(/\W+/g, ''));
      await ensureTables(client, names);
      log = new LogStore(client, names);
      log2 = new LogStore(client2, names);
      catalog = new CatalogStore(client, names);
    });

    afterAll(async () => {
      client?.destroy();
      client2?.destroy();
      await backend?.close();
    });

    test('ensureTables is idempotent and concurrent-safe', async () => {
      await Promise.all([ensureTables(client, names), ensureTables(client2, names)]);
      const fresh = uniqueNames('fresh');
      await Promise.all([ensureTables(client, fresh), ensureTables(client2, fresh)]);
      expect(await new LogStore(client, fresh).latestT('x')).toBe(0);
    });

    test('append then read back in order; latestT follows the last entry', async () => {
      const db = newDb();
      expect(await log.latestT(db)).toBe(0);
      expect(await log.readEntries(db, 0)).toEqual([]);
      const written: LogEntry[] = [];
      let t = 1;
      for (let i = 0; i < 12; i++) {
        const e = entry(db, t, 1 + (i % 3), 10 + i);
        await log.appendEntry(e);
        written.push(e);
        t = e.last + 1;
      }
      expect(await log.latestT(db)).toBe(t - 1);
      const all = await log2.readEntries(db, 0);
      expect(digest(all)).toEqual(digest(written));
      expect(all.map((e) => e.t)).toEqual(written.map((e) => e.t));
      // after a t in the middle: entries starting after it
      const mid = written[5]!.t;
      expect((await log.readEntries(db, mid)).map((e) => e.t)).toEqual(written.slice(6).map((e) => e.t));
      // limit
      expect((await log.readEntries(db, 0, { limit: 4 })).map((e) => e.t)).toEqual(written.slice(0, 4).map((e) => e.t));
      expect(await log.readEntries(db, t - 1)).toEqual([]);
      // eventually consistent read is allowed too
      expect((await log.readEntries(db, 0, { consistent: false })).length).toBeLessThanOrEqual(written.length);
      // another database is independent
      expect(await log.readEntries(newDb(), 0)).toEqual([]);
    });

    test('readEntries paginates past the 1 MB query page', async () => {
      const db = newDb();
      const written: LogEntry[] = [];
      // 10 entries of ~300 KB = ~3 MB: at least 3 pages.
      for (let t = 1; t <= 10; t++) {
        const e = entry(db, t, 1, 300_000);
        written.push(e);
      }
      for (const e of written) await log.appendEntry(e);
      const all = await log2.readEntries(db, 0);
      expect(all.length).toBe(10);
      all.forEach((e, i) => {
        expect(e.t).toBe(i + 1);
        expect(sameBytes(e.txs[0]!.payload, written[i]!.txs[0]!.payload)).toBe(true);
      });
      const some = await log.readEntries(db, 2, { limit: 5 });
      expect(some.map((e) => e.t)).toEqual([3, 4, 5, 6, 7]);
      expect(await log.latestT(db)).toBe(10);
      // Page by page (as a node replays a log): the same entries, in more than one page.
      const pages: LogEntry[][] = [];
      for await (const page of log2.readEntryPages(db, 0)) pages.push(page);
      expect(pages.length).toBeGreaterThan(1);
      expect(pages.flat().map((e) => e.t)).toEqual(all.map((e) => e.t));
      expect(pages.flat().every((e, i) => sameBytes(e.txs[0]!.payload, written[i]!.txs[0]!.payload))).toBe(true);
      // Stopping after the first page is fine (the prefetched page is dropped).
      for await (const page of log2.readEntryPages(db, 4)) {
        expect(page[0]!.t).toBe(5);
        break;
      }
    });

    test('two writers racing for the same t: exactly one wins, the other gets conflict', async () => {
      const db = newDb();
      for (let round = 1; round <= 15; round++) {
        const a = entry(db, round, 1, 64, 'a');
        const b = entry(db, round, 1, 64, 'b');
        const results = await Promise.allSettled([log.appendEntry(a), log2.appendEntry(b)]);
        const won = results.filter((r) => r.status === 'fulfilled').length;
        expect(won).toBe(1);
        const lost = results.find((r): r is PromiseRejectedResult => r.status === 'rejected')!;
        expect(lost.reason).toBeInstanceOf(DatalithError);
        expect((lost.reason as DatalithError).category).toBe('conflict');
        expect((lost.reason as DatalithError).code).toBe('log/append-conflict');
        const stored = await log.getEntry(db, round);
        const winner = results[0]!.status === 'fulfilled' ? a : b;
        expect(digest([stored])).toEqual(digest([winner]));
      }
      // Many writers at once on one t.
      const many = Array.from({ length: 8 }, (_, i) => entry(db, 16, 2, 32, `m${i}`));
      const res = await Promise.allSettled(many.map((e, i) => (i % 2 ? log : log2).appendEntry(e)));
      expect(res.filter((r) => r.status === 'fulfilled').length).toBe(1);
      expect(await log.latestT(db)).toBe(17);
      const ts = (await log.readEntries(db, 0)).flatMap((e) => e.txs.map((x) => x.t));
      expect(ts).toEqual(Array.from({ length: 17 }, (_, i) => i + 1));
    });

    test('a stale writer fails; re-putting the identical entry (lost response) counts as success', async () => {
      const db = newDb();
      const e1 = entry(db, 1, 2);
      await log.appendEntry(e1);
      await log.appendEntry(e1); // same bytes already there: our own write
      const stale = await caught(log2.appendEntry(entry(db, 1, 1, 16, 'other')));
      expect(stale.category).toBe('conflict');
      expect(stale.data).toEqual({ db, t: 1 });
      await log2.appendEntry(entry(db, (await log2.latestT(db)) + 1, 1, 16, 'other'));
      expect(await log.latestT(db)).toBe(3);
    });

    test('invalid entries are refused with incorrect', async () => {
      const db = newDb();
      const gap: LogEntry = { db, t: 1, last: 2, txs: [{ t: 1, txId: 'x', payload: bytes(1) }, { t: 3, txId: 'y', payload: bytes(1) }] };
      expect((await caught(log.appendEntry(gap))).code).toBe('log/invalid-entry');
      expect((await caught(log.appendEntry({ ...entry(db, 0), t: 0 }))).category).toBe('incorrect');
      expect((await caught(log.appendEntry({ ...entry(db, 1), db: 'a#b' }))).category).toBe('incorrect');
      expect(await log.latestT(db)).toBe(0);
    });

    test('big transactions are chunked transparently and round-trip exactly', async () => {
      const db = newDb();
      const big = bytes(1_500_000);
      const max = bytes(MAX_TX_BYTES);
      const e1: LogEntry = {
        db, t: 1, last: 3,
        txs: [
          { t: 1, txId: 'small-1', payload: bytes(100) },
          { t: 2, txId: 'big', payload: big },
          { t: 3, txId: 'small-3', payload: bytes(200_000) },
        ],
      };
      expect(entrySize(e1)).toBeGreaterThan(MAX_ITEM_BYTES);
      await log.appendEntry(e1);
      const e2: LogEntry = { db, t: 4, last: 4, txs: [{ t: 4, txId: 'max', payload: max }] };
      await log.appendEntry(e2);
      // two mid-size payloads that fit alone but not together: one is spilled
      const e3: LogEntry = {
        db, t: 5, last: 6,
        txs: [{ t: 5, txId: 'a', payload: bytes(250_000) }, { t: 6, txId: 'b', payload: bytes(250_000) }],
      };
      await log.appendEntry(e3);
      const back = await log2.readEntries(db, 0);
      expect(back.map((e) => [e.t, e.last])).toEqual([[1, 3], [4, 4], [5, 6]]);
      const flat = back.flatMap((e) => e.txs);
      const expected = [e1, e2, e3].flatMap((e) => e.txs);
      expect(flat.map((x) => [x.t, x.txId])).toEqual(expected.map((x) => [x.t, x.txId]));
      flat.forEach((x, i) => expect(sameBytes(x.payload, expected[i]!.payload)).toBe(true));
      expect(await log.latestT(db)).toBe(6);
      // a racing writer that loses leaves orphan chunks but no visible trace
      const loser = await caught(log2.appendEntry({ db, t: 4, last: 4, txs: [{ t: 4, txId: 'late', payload: bytes(500_000) }] }));
      expect(loser.code).toBe('log/append-conflict');
      expect((await log.getEntry(db, 4))!.txs[0]!.txId).toBe('max');
    });

    test('an entry of exactly MAX_ITEM_BYTES (by entrySize) is stored inline within the real item limit', async () => {
      const db = newDb();
      // one tx filling the budget
      const one: LogEntry = { db, t: 1, last: 1, txs: [{ t: 1, txId: 'fill', payload: new Uint8Array(0) }] };
      one.txs[0]!.payload = bytes(MAX_ITEM_BYTES - entrySize(one));
      expect(entrySize(one)).toBe(MAX_ITEM_BYTES);
      // a group-commit batch of many small txs filling the budget
      const many = entry(db, 2, 400, 900);
      const spare = MAX_ITEM_BYTES - entrySize(many);
      expect(spare).toBeGreaterThanOrEqual(0);
      many.txs[0]!.payload = bytes(900 + spare);
      expect(entrySize(many)).toBe(MAX_ITEM_BYTES);
      await log.appendEntry(one);
      await log.appendEntry(many);
      const back = await log.readEntries(db, 0);
      expect(digest(back)).toEqual(digest([one, many]));
      expect(await log.latestT(db)).toBe(401);
    });

    test('a transaction above MAX_TX_BYTES is refused before anything is written', async () => {
      const db = newDb();
      const err = await caught(log.appendEntry({ db, t: 1, last: 1, txs: [{ t: 1, txId: 'huge', payload: bytes(MAX_TX_BYTES + 1, 7) }] }));
      expect(err.category).toBe('incorrect');
      expect(err.code).toBe('db.error/transaction-too-large');
      expect(err.data).toMatchObject({ txId: 'huge', bytes: MAX_TX_BYTES + 1, max: MAX_TX_BYTES });
      expect(await log.latestT(db)).toBe(0);
    });

    test('catalog: create is idempotent, list/get/delete, re-create gets a fresh id', async () => {
      const a = `alpha-${dbSeq++}`;
      const b = `beta-${dbSeq++}`;
      const first = await catalog.createDatabase(a);
      expect(first.created).toBe(true);
      expect(first.name).toBe(a);
      expect(typeof first.id).toBe('string');
      expect(Number.isNaN(Date.parse(first.createdAt))).toBe(false);
      const again = await catalog.createDatabase(a);
      expect(again).toEqual({ ...first, created: false });
      // concurrent creates: one creator, one id
      const racing = await Promise.all(Array.from({ length: 6 }, () => new CatalogStore(client2, names).createDatabase(b)));
      expect(racing.filter((r) => r.created).length).toBe(1);
      expect(new Set(racing.map((r) => r.id)).size).toBe(1);

      const listed = await catalog.listDatabases();
      expect(listed).toEqual(expect.arrayContaining([a, b]));
      expect(listed).toEqual([...listed].sort());
      expect(await catalog.getDatabase(a)).toEqual({ name: a, id: first.id, createdAt: first.createdAt });
      expect(await catalog.getDatabase('nope')).toBeUndefined();

      expect(await catalog.deleteDatabase(a)).toBe(true);
      expect(await catalog.deleteDatabase(a)).toBe(false);
      expect(await catalog.deleteDatabase('never-existed')).toBe(false);
      expect(await catalog.getDatabase(a)).toBeUndefined();
      expect(await catalog.listDatabases()).not.toContain(a);

      const re = await catalog.createDatabase(a);
      expect(re.created).toBe(true);
      expect(re.id).not.toBe(first.id);
      expect((await caught(catalog.createDatabase(''))).code).toBe('db.error/invalid-database-name');
    });

    test('catalog: heartbeats and generic records', async () => {
      const now = Date.now();
      await catalog.heartbeat('node-a', { url: 'http://a', pid: 1 }, 10_000);
      await catalog.heartbeat('node-b', { url: 'http://b', pid: 2 }, 1);
      const live = await catalog.listNodes({ now: now + 5_000 });
      expect(live.map((n) => n.nodeId)).toEqual(['node-a']);
      expect(live[0]!.info).toEqual({ url: 'http://a', pid: 1 });
      expect((await catalog.listNodes({ includeExpired: true })).map((n) => n.nodeId)).toEqual(['node-a', 'node-b']);
      await catalog.removeNode('node-b');
      expect((await catalog.listNodes({ includeExpired: true })).map((n) => n.nodeId)).toEqual(['node-a']);

      expect(await catalog.putRecord('root', 'db1#1', { seg: 'x' }, { ifAbsent: true })).toBe(true);
      expect(await catalog.putRecord('root', 'db1#1', { seg: 'y' }, { ifAbsent: true })).toBe(false);
      await catalog.putRecord('root', 'db1#2', { seg: 'z' });
      await catalog.putRecord('root', 'db2#1', { seg: 'w' });
      expect(await catalog.getRecord('root', 'db1#1')).toEqual({ seg: 'x' });
      expect((await catalog.queryRecords('root', 'db1#')).map((r) => r.sk)).toEqual(['db1#1', 'db1#2']);
      await catalog.deleteRecord('root', 'db1#1');
      expect(await catalog.getRecord('root', 'db1#1')).toBeUndefined();
      expect((await caught(catalog.putRecord('db', 'x', {}))).category).toBe('incorrect');
    });
  });
}
