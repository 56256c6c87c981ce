/**
 * Exactly once, for real: one transaction id commits at most once and every caller with that id
 * gets the same answer (the same t, or the same refusal), whichever host it reached, however the
 * copies fell into group-commit batches; ids the database uses for itself cannot be sent; the
 * log and the indexes remember every id (no window); chunks of a lost append do not linger.
 */
import { createHash } from 'node:crypto';
import fc from 'fast-check';
import { QueryCommand, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { createDynamoClient, type CatalogStore } from '../../services/node/storage';
import { LogStore } from '../../services/node/log';
import { CHUNK_BYTES, CHUNK_PARTITION_SUFFIX, MAX_ITEM_BYTES } from '../../services/node/log/log-store';
import { DatabaseHost, DELETED_TX_ID, encodeTx, type TransactResult } from '../../services/node/log';
import { tToTx } from '../../services/engine/datom';
import { SYS } from '../../services/engine/schema';
import { findTxId } from '../../services/engine/transact';
import { isDatalithError } from '../../services/engine/errors';
import { useStorage } from './storage-fixture';

const storage = useStorage();
let log: LogStore;
let catalog: CatalogStore;
beforeAll(() => {
  log = storage.log;
  catalog = storage.catalog;
});

const SCHEMA = `[{:db/ident :item/key :db/valueType :db.type/long :db/cardinality :db.cardinality/one :db/unique :db.unique/identity}
  {:db/ident :item/blob :db/valueType :db.type/string :db/cardinality :db.cardinality/one}
  {:db/ident :counter/value :db/valueType :db.type/long :db/cardinality :db.cardinality/one}]`;

let dbCount = 0;
async function freshDatabase(): Promise<{ id: string; name: string }> {
  const name = `once-${++dbCount}`;
  const rec = await catalog.createDatabase(name);
  return { id: rec.id, name };
}

/** A new database with the schema, on two hosts that have both seen it. */
async function twoHosts(): Promise<{ id: string; name: string; a: DatabaseHost; b: DatabaseHost }> {
  const { id, name } = await freshDatabase();
  const a = new DatabaseHost(name, id, log);
  const b = new DatabaseHost(name, id, log);
  await a.transact(SCHEMA);
  await b.catchUp();
  return { id, name, a, b };
}

/** Every settled answer as comparable data: `{ t }` or `{ error: code }`. */
type Answer = { t: number } | { error: string | undefined; category: string };
async function answer(p: Promise<TransactResult>): Promise<Answer> {
  try {
    const r = await p;
    return { t: r.t };
  } catch (e) {
    if (!isDatalithError(e)) throw e;
    return { error: e.code, category: e.category };
  }
}

/** How many transactions of the log carry `txId` as their `:db/txId`, read by a new host. */
async function commitsOf(name: string, id: string, txId: string): Promise<number[]> {
  const reader = new DatabaseHost(name, id, log);
  await reader.catchUp();
  return reader.db.datoms('avet', SYS.txId, txId).map((d) => d.e - tToTx(0));
}

describe('copies of one transaction id', () => {
  test('six copies in one group-commit batch, among other writers, commit once and all get the same t', async () => {
    const { id, name } = await freshDatabase();
    const host = new DatabaseHost(name, id, log);
    await host.transact(SCHEMA);
    // The first transaction goes out alone; everything sent while it is in flight forms one batch.
    const filler = host.transact([{ 'item/key': 1 }]);
    const calls: Array<Promise<TransactResult>> = [];
    for (let i = 0; i < 6; i++) {
      calls.push(host.transact([{ 'item/key': 100 }], 'same-id'));
      calls.push(host.transact([{ 'item/key': 200 + i }]));
    }
    await filler;
    const results = await Promise.all(calls);
    const copies = results.filter((_, i) => i % 2 === 0);
    expect(new Set(copies.map((r) => r.t)).size).toBe(1);
    expect(copies.filter((r) => !r.duplicate)).toHaveLength(1);
    expect(await commitsOf(name, id, 'same-id')).toEqual([copies[0]!.t]);
  });

  test('copies on two hosts at once commit once; every caller is told the same t', async () => {
    const { id, name, a, b } = await twoHosts();
    const calls: Array<Promise<Answer>> = [];
    for (let round = 0; round < 5; round++) {
      const txId = `round-${round}`;
      for (let i = 0; i < 3; i++) {
        calls.push(answer(a.transact([{ 'item/key': round }], txId, { inDoubt: true })));
        calls.push(answer(b.transact([{ 'item/key': round }], txId, { inDoubt: true })));
        calls.push(answer((i % 2 === 0 ? a : b).transact([{ 'item/key': 1000 + round * 10 + i }])));
      }
    }
    const answers = await Promise.all(calls);
    for (let round = 0; round < 5; round++) {
      const mine = answers.filter((_, i) => Math.floor(i / 9) === round && i % 3 !== 2);
      expect(new Set(mine.map((x) => JSON.stringify(x))).size).toBe(1);
      const t = (mine[0] as { t: number }).t;
      expect(await commitsOf(name, id, `round-${round}`)).toEqual([t]);
    }
  });

  test('copies that are refused all get the same refusal, recorded in the log: the id cannot commit later', async () => {
    const { id, name } = await freshDatabase();
    const a = new DatabaseHost(name, id, log);
    await a.transact(SCHEMA);
    const { tempids } = await a.transact([{ 'db/id': 'c', 'counter/value': 5 }]);
    const counter = tempids['c']!;
    const cas = `[[:db/cas ${counter} :counter/value 0 1]]`;
    const filler = a.transact([{ 'item/key': 1 }]);
    const copies = [a.transact(cas, 'cas-id'), a.transact(cas, 'cas-id'), a.transact(cas, 'cas-id')];
    await filler;
    const answers = await Promise.all(copies.map(answer));
    expect(answers).toEqual([0, 1, 2].map(() => ({ error: 'db.error/cas-failed', category: 'conflict' })));
    // The cas would pass now, on any host: the recorded refusal answers instead.
    await a.transact(`[[:db/add ${counter} :counter/value 0]]`);
    const b = new DatabaseHost(name, id, log);
    await b.catchUp();
    await expect(b.transact(cas, 'cas-id')).rejects.toMatchObject({ category: 'conflict', code: 'db.error/cas-failed', data: { recorded: true } });
    expect(await commitsOf(name, id, 'cas-id')).toEqual([]);
    expect(findTxId(b.db, 'cas-id')).toMatchObject({ refused: true });
  });

  test('property: random interleavings of the same ids across two hosts, batches and retries — each id commits at most once and all its callers agree', async () => {
    // Per id, one transaction (the same data for every copy): always valid, sometimes valid (a
    // cas whose outcome depends on what committed before it), or never valid.
    const kinds = ['valid', 'cas', 'invalid'] as const;
    const scenario = fc.record({
      ids: fc.array(fc.constantFrom(...kinds), { minLength: 1, maxLength: 5 }),
      sends: fc.array(fc.record({ id: fc.nat(4), host: fc.boolean(), fillers: fc.nat(2), pause: fc.boolean() }), { minLength: 2, maxLength: 16 }),
    });
    await fc.assert(fc.asyncProperty(scenario, async ({ ids, sends }) => {
      const { id, name } = await freshDatabase();
      const a = new DatabaseHost(name, id, log);
      const b = new DatabaseHost(name, id, log);
      await a.transact(SCHEMA);
      const { tempids } = await a.transact('[{:db/id "c" :counter/value 0}]');
      await b.catchUp();
      const counter = tempids['c']!;
      const txOf = (i: number): string => {
        const kind = ids[i % ids.length]!;
        if (kind === 'valid') return `[{:item/key ${i}}]`;
        if (kind === 'cas') return `[[:db/cas ${counter} :counter/value ${i % 2} ${(i + 1) % 2}]]`;
        return `[[:db/add ${counter} :no/such-attribute ${i}]]`;
      };
      const calls: Array<{ txId: string; answer: Promise<Answer> }> = [];
      const fillers: Array<Promise<Answer>> = [];
      let filler = 0;
      for (const s of sends) {
        const host = s.host ? a : b;
        const txId = `p-${s.id % ids.length}`;
        // Copies of a caller-chosen id may be in flight together: each is in doubt.
        calls.push({ txId, answer: answer(host.transact(txOf(s.id % ids.length), txId, { inDoubt: true })) });
        for (let f = 0; f < s.fillers; f++) fillers.push(answer(host.transact([{ 'item/key': 10_000 + filler++ }])));
        if (s.pause) await new Promise((r) => setImmediate(r));
      }
      const settled = await Promise.all(calls.map(async (c) => ({ txId: c.txId, answer: await c.answer })));
      await Promise.all(fillers);
      const reader = new DatabaseHost(name, id, log);
      await reader.catchUp();
      for (const txId of new Set(settled.map((x) => x.txId))) {
        const mine = settled.filter((x) => x.txId === txId).map((x) => JSON.stringify(x.answer));
        expect(new Set(mine).size).toBe(1);
        const commits = reader.db.datoms('avet', SYS.txId, txId).map((d) => d.e - tToTx(0));
        const first = settled.find((x) => x.txId === txId)!.answer;
        if ('t' in first) expect(commits).toEqual([first.t]);
        else expect(commits).toEqual([]);
      }
    }), { numRuns: 25 });
  });
});

describe('ids the database uses for itself', () => {
  test('a client cannot send a reserved transaction id; nothing is written', async () => {
    const { id, name } = await freshDatabase();
    const host = new DatabaseHost(name, id, log);
    await host.transact(SCHEMA);
    const t = host.db.t;
    for (const txId of [DELETED_TX_ID, 'datalith/refusals/x', 'datalith/log-closed']) {
      await expect(host.transact([{ 'item/key': 1 }], txId)).rejects.toMatchObject({ category: 'incorrect', code: 'db.error/reserved-tx-id' });
    }
    expect(await log.latestT(id)).toBe(t);
  });

  test('a transaction logged with the old deletion id (by an older version) does not delete the database', async () => {
    const { id, name } = await freshDatabase();
    const host = new DatabaseHost(name, id, log);
    await host.transact(SCHEMA);
    // What an older node accepted from a client: a real transaction under the deletion id.
    const r = (await import('../../services/engine/transact')).transact(host.db, [{ 'item/key': 7 }]);
    const t = host.db.t + 1;
    await log.appendEntry({ db: id, t, last: t, txs: [{ t, txId: DELETED_TX_ID, payload: encodeTx(r) }] });
    const after = new DatabaseHost(name, id, log);
    await after.catchUp();
    expect(after.isDeleted).toBe(false);
    expect(after.db.t).toBe(t);
    expect(after.db.entid([':item/key', 7])).toBeDefined();
    // The database still takes writes.
    await expect(after.transact([{ 'item/key': 8 }])).resolves.toMatchObject({ t: t + 1 });
  });

  test('deletion closes the log with a control record; the legacy closing entry still closes it', async () => {
    const first = await freshDatabase();
    const host = new DatabaseHost(first.name, first.id, log);
    await host.transact(SCHEMA);
    await host.closeLog();
    const reader = new DatabaseHost(first.name, first.id, log);
    await reader.catchUp();
    expect(reader.isDeleted).toBe(true);
    await expect(reader.transact([{ 'item/key': 1 }])).rejects.toMatchObject({ category: 'not-found' });

    const legacy = await freshDatabase();
    const old = new DatabaseHost(legacy.name, legacy.id, log);
    await old.transact(SCHEMA);
    const t = old.db.t + 1;
    await log.appendEntry({ db: legacy.id, t, last: t, txs: [{ t, txId: DELETED_TX_ID, payload: new Uint8Array(0) }] });
    const legacyReader = new DatabaseHost(legacy.name, legacy.id, log);
    await legacyReader.catchUp();
    expect(legacyReader.isDeleted).toBe(true);
  });
});

describe('the log and the indexes remember every id', () => {
  test('a retry after the cache forgot the id answers the original t and tempids, on this host and a new one', async () => {
    const { id, name } = await freshDatabase();
    const host = new DatabaseHost(name, id, log, { cachedOutcomes: 2 });
    await host.transact(SCHEMA);
    const original = await host.transact([{ 'db/id': 'x', 'item/key': 1 }], 'remember-me');
    for (let i = 0; i < 6; i++) await host.transact([{ 'item/key': 10 + i }]);
    const again = await host.transact([{ 'db/id': 'x', 'item/key': 1 }], 'remember-me');
    expect(again).toMatchObject({ t: original.t, tempids: original.tempids, duplicate: true });
    const fresh = new DatabaseHost(name, id, log, { cachedOutcomes: 2 });
    await fresh.catchUp();
    const there = await fresh.transact([{ 'db/id': 'x', 'item/key': 1 }], 'remember-me');
    expect(there).toMatchObject({ t: original.t, tempids: original.tempids, duplicate: true });
    expect(fresh.db.t).toBe(host.db.t);
  });

  test('a refusal recorded in the log is remembered after the cache forgot it', async () => {
    const { id, name } = await freshDatabase();
    const host = new DatabaseHost(name, id, log, { cachedOutcomes: 1 });
    await host.transact(SCHEMA);
    const bad = '[[:db/add "x" :no/such-attribute 1]]';
    await expect(host.transact(bad, 'refuse-me', { inDoubt: true })).rejects.toMatchObject({ category: 'incorrect' });
    for (let i = 0; i < 4; i++) await host.transact([{ 'item/key': 10 + i }]);
    const fresh = new DatabaseHost(name, id, log, { cachedOutcomes: 1 });
    await fresh.catchUp();
    await expect(fresh.transact(bad, 'refuse-me')).rejects.toMatchObject({ category: 'incorrect', data: { recorded: true } });
  });
});

describe('chunks of a big transaction', () => {
  // Over one item's budget: stored in chunks referenced by its entry.
  // Values that do not compress (payloads are compressed): the entry must need chunks.
  const blob = (i: number): string => Array.from({ length: 40 }, (_, k) => createHash('sha512').update(`${i}:${k}`).digest('base64')).join('').slice(0, 3_500);
  const bigTx = (key0: number): unknown[] => Array.from({ length: Math.ceil((MAX_ITEM_BYTES * 1.6) / 3_500) }, (_, i) => ({ 'item/key': key0 + i, 'item/blob': blob(i) }));
  async function chunkKeys(id: string): Promise<number[]> {
    const res = await storage.client.send(new QueryCommand({
      TableName: log.table,
      KeyConditionExpression: '#db = :db',
      ExpressionAttributeNames: { '#db': 'db', '#t': 't' },
      ExpressionAttributeValues: { ':db': { S: id + CHUNK_PARTITION_SUFFIX } },
      ProjectionExpression: '#t',
      ConsistentRead: true,
    }));
    return (res.Items ?? []).map((it) => Number(it['t']!.N)).sort((x, y) => x - y);
  }

  test('a writer that loses the conditional append removes the chunks it wrote', async () => {
    const { id, name, a, b } = await twoHosts();
    await a.transact([{ 'item/key': 1 }]); // b's view is now stale: its first append conflicts
    const big = await b.transact(bigTx(5_000));
    expect(b.metrics.conflicts).toBe(1);
    // Only the chunks of the entry that landed are left.
    const payload = encodeTx({ dbAfter: big.dbAfter, tempids: big.tempids, txData: big.txData } as never);
    expect((await chunkKeys(id)).length).toBe(Math.ceil(payload.byteLength / CHUNK_BYTES));
    const reader = new DatabaseHost(name, id, log);
    await reader.catchUp();
    expect(reader.db.values(reader.db.entid([':item/key', 5_001])!, reader.db.attrOf(':item/blob')!.id)).toEqual([blob(1)]);
  });

  test('a sweep removes chunks no entry can reference and keeps the rest', async () => {
    const { id, name } = await freshDatabase();
    const host = new DatabaseHost(name, id, log);
    await host.transact(SCHEMA);
    await host.transact(bigTx(5_000));
    const referenced = await chunkKeys(id);
    const latest = host.db.t;
    // Left by appends whose outcome was unknown: one for a t another entry took, one for a t
    // not taken yet (its append may still land).
    const orphan = (of: number, key: number): PutItemCommand => new PutItemCommand({
      TableName: log.table,
      Item: { db: { S: id + CHUNK_PARTITION_SUFFIX }, t: { N: String(key) }, of: { N: String(of) }, txId: { S: 'lost' }, data: { B: new Uint8Array(10) } },
    });
    await storage.client.send(orphan(latest, 7 * 1024));
    await storage.client.send(orphan(latest + 1, 9 * 1024));
    expect(await log.sweepChunks(id)).toBe(1);
    expect(await chunkKeys(id)).toEqual([...referenced, 9 * 1024].sort((x, y) => x - y));
    const reader = new DatabaseHost(name, id, log);
    await reader.catchUp();
    expect(reader.db.t).toBe(latest);
  });

  test('chunks of an append whose outcome was unknown are swept once the log moves on; those of one that landed stay', async () => {
    const { id, name } = await freshDatabase();
    const client = createDynamoClient({ endpoint: storage.handle.endpoint });
    // The next entry put of this database fails — before it is sent, or after it landed.
    let fail: 'before' | 'after' | null = null;
    client.middlewareStack.add((next, context) => async (args) => {
      const input = args.input as { Item?: { db?: { S?: string } } };
      if (context.commandName === 'PutItemCommand' && input.Item?.db?.S === id && fail !== null) {
        const when = fail;
        fail = null;
        if (when === 'after') await next(args);
        throw Object.assign(new Error('socket hang up'), { name: 'TimeoutError', $metadata: {} });
      }
      return next(args);
    }, { step: 'initialize' });
    try {
      const flaky = new LogStore(client, { logTable: log.table });
      const host = new DatabaseHost(name, id, flaky);
      await host.transact(SCHEMA);
      fail = 'before';
      await expect(host.transact(bigTx(5_000))).rejects.toMatchObject({ category: 'unavailable' });
      const orphans = await chunkKeys(id);
      expect(orphans.length).toBeGreaterThan(0);
      await host.transact([{ 'item/key': 1 }]);
      await waitFor(async () => (await chunkKeys(id)).length === 0);
      fail = 'after';
      await expect(host.transact(bigTx(6_000))).rejects.toMatchObject({ category: 'unavailable' });
      const landed = await chunkKeys(id);
      await host.catchUp();
      await host.transact([{ 'item/key': 2 }]);
      await host.transact([{ 'item/key': 3 }]);
      expect(await flaky.sweepChunks(id)).toBe(0);
      expect(await chunkKeys(id)).toEqual(landed);
      const reader = new DatabaseHost(name, id, log);
      await reader.catchUp();
      expect(reader.db.entid([':item/key', 6_001])).toBeDefined();
    } finally {
      client.destroy();
    }
  });
});

/** Polls until `ok` holds (a background sweep has no event to wait on). */
async function waitFor(ok: () => Promise<boolean>): Promise<void> {
  for (let i = 0; i < 200; i++) {
    if (await ok()) return;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error('condition not met after 200 polls');
}
