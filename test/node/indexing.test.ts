/**
 * Durable indexes on real storage (dynalite for the log and the roots, s3rver for segments):
 * the indexing job, opening from a root, lazy loading, backpressure, two indexers, and a job
 * stopped at each of its steps or by segment-store failures. Every value must answer exactly as
 * the same database replayed wholly in memory.
 */
import type { S3Client } from '@aws-sdk/client-s3';
import { startS3rverInProcess, type S3rverHandle } from '../../services/local/s3rver';
import { Databases } from '../../services/node/databases';
import { Indexing, type IndexingOptions } from '../../services/node/indexing/durable';
import { SegmentCache, withSegments } from '../../services/node/indexing/segment-cache';
import { createS3Client } from '../../services/node/storage/s3-client';
import { SegmentStore } from '../../services/node/storage/segment-store';
import { IndexRootStore } from '../../services/node/storage/index-roots';
import { unavailable, type Db } from '../../services/engine';
import { INDEX_NAMES } from '../../services/engine/datom';
import { q } from '../../services/engine/query';
import type { DatabaseHost } from '../../services/node/log/transactor';
import { useStorage } from './storage-fixture';

const SCHEMA = [
  { ':db/ident': ':p/id', ':db/valueType': ':db.type/long', ':db/cardinality': ':db.cardinality/one', ':db/unique': ':db.unique/identity' },
  { ':db/ident': ':p/name', ':db/valueType': ':db.type/string', ':db/cardinality': ':db.cardinality/one' },
  { ':db/ident': ':p/friend', ':db/valueType': ':db.type/ref', ':db/cardinality': ':db.cardinality/many' },
];

const show = (x: unknown): string => JSON.stringify(x, (_k, v: unknown) => (typeof v === 'bigint' ? `${v}n` : v));

/** Everything a value answers, as text (read through misses). */
function dump(db: Db): Promise<string> {
  return withSegments(() => {
    const out = [`t=${db.t}`];
    for (const index of INDEX_NAMES) out.push(show(db.datoms(index)), show(db.history().datoms(index)));
    out.push(show(db.asOf(Math.max(1, db.t - 3)).datoms('aevt')));
    out.push(show(db.txRange().map((e) => [e.t, e.instant, e.data])));
    out.push(show(db.stats()));
    out.push(show(q('[:find ?n (count ?e) :where [?e :p/name ?n]]', [db])));
    return out.join('\n');
  });
}

describe('durable indexes', () => {
  const storage = useStorage();
  let s3: S3rverHandle;
  let client: S3Client;
  let segments: SegmentStore;
  let roots: IndexRootStore;

  beforeAll(async () => {
    s3 = await startS3rverInProcess();
    client = createS3Client({ endpoint: s3.endpoint });
    segments = new SegmentStore(client, { bucket: 'indexing-test' });
    await segments.ensureBucket();
    roots = new IndexRootStore(storage.client);
  });
  afterAll(async () => {
    client.destroy();
    await s3.close();
  });

  function node(opts: Partial<IndexingOptions> = {}): { databases: Databases; indexing: Indexing } {
    const indexing = new Indexing({
      segments, roots, cache: new SegmentCache(64 * 1024 * 1024), thresholdDatoms: 1_500, tailMaxDatoms: 0, index: true, nodeId: 'n1', ...opts,
    });
    return { databases: new Databases(storage.catalog, storage.log, indexing), indexing };
  }

  /** A node without segments: the database replayed wholly in memory from the log. */
  function inMemory(): Databases {
    return new Databases(storage.catalog, storage.log);
  }

  async function fill(host: DatabaseHost, from: number, batches: number, size = 100): Promise<void> {
    for (let b = 0; b < batches; b++) {
      const base = from + b * size;
      await host.transact(Array.from({ length: size }, (_, i) => ({
        ':p/id': base + i, ':p/name': `n${(base + i) % 13}`, ...(base > 0 ? { ':p/friend': [[':p/id', (base + i) % base]] } : {}),
      })));
    }
  }

  let nextDb = 0;
  async function newDb(databases: Databases): Promise<{ name: string; host: DatabaseHost }> {
    const name = `idx-${nextDb++}`;
    await databases.create(name);
    const host = await databases.host(name);
    await host.transact(SCHEMA);
    return { name, host };
  }

  it('indexes in the background past the threshold; a fresh node opens from the root and answers as in memory', async () => {
    const { databases, indexing } = node();
    const { name, host } = await newDb(databases);
    await fill(host, 0, 12);
    await indexing.settled(host.dbId);
    // Retractions and replacements after the first root, so the history has records too.
    await host.transact([[':db/retractEntity', [':p/id', 1150]], { ':p/id': 1151, ':p/name': 'renamed' }]);
    await fill(host, 10_000, 12);
    await indexing.settled(host.dbId);
    const root = await roots.get(host.dbId);
    expect(root).toBeDefined();
    expect(host.indexedT).toBe(root!.indexedT);
    expect(host.tailDatoms).toBeLessThan(1_500 + 400);
    expect(indexing.stats.jobs).toBeGreaterThanOrEqual(2);

    const fresh = node();
    const reopened = await fresh.databases.host(name);
    expect(reopened.indexedT).toBe(root!.indexedT);
    expect(reopened.db.t).toBe(host.db.t);
    const mem = await inMemory().host(name);
    const expected = await dump(mem.db);
    // Lazily: opening read the root segments, not the database.
    const opened = fresh.indexing.opts.cache.snapshot();
    expect(opened.fetches).toBeLessThan(60);
    expect(await dump(reopened.db)).toBe(expected);
    expect(await dump(host.db)).toBe(expected);

    // And it goes on: a transaction on the reopened node is read back everywhere.
    await reopened.transact([{ ':p/id': 99_999, ':p/name': 'late' }]);
    await host.catchUp();
    expect(await dump(host.db)).toBe(await dump(reopened.db));
  });

  it('a decoded node evicted is decoded again from the stored bytes the cache keeps, without fetching it again', async () => {
    const { databases, indexing } = node();
    const { name, host } = await newDb(databases);
    await fill(host, 0, 30);
    await indexing.settled(host.dbId);
    const expected = await dump((await inMemory().host(name)).db);
    // Decoded nodes cost ~120 bytes a key, stored ones a few: 600 KB holds the stored segments of
    // this database in its quarter, but not its decoded nodes in the rest.
    const fresh = node({ cache: new SegmentCache(600 * 1024) });
    const reopened = await fresh.databases.host(name);
    expect(await dump(reopened.db)).toBe(expected);
    const first = fresh.indexing.opts.cache.snapshot();
    expect(first.evictions).toBeGreaterThan(0);
    expect(first.storedEntries).toBe(first.fetches);
    expect(first.bytes).toBeLessThanOrEqual(first.limitBytes);
    expect(await dump(reopened.db)).toBe(expected);
    const second = fresh.indexing.opts.cache.snapshot();
    expect(second.fetches).toBe(first.fetches);
    expect(second.decodes).toBeGreaterThan(first.decodes);
    expect(second.bytes).toBeLessThanOrEqual(second.limitBytes);
  });

  it('refuses transactions with busy when the tail passes its maximum and nothing indexes', async () => {
    const { databases } = node({ index: false, thresholdDatoms: 100_000, tailMaxDatoms: 500 });
    const { host } = await newDb(databases);
    await fill(host, 0, 1, 300); // 600 datoms and the schema: over the maximum
    expect(host.tailDatoms).toBeGreaterThan(500);
    await expect(host.transact([{ ':p/id': 1, ':p/name': 'x' }])).rejects.toMatchObject({ category: 'busy', code: 'db.error/indexing-behind' });
    expect(host.db.t).toBe(2);
  });

  it('two nodes indexing one database at once: one root wins, both move onto it, reads agree', async () => {
    // Jobs started by hand only, both at the same t.
    const a = node({ nodeId: 'a', thresholdDatoms: 1e9 });
    const { name, host } = await newDb(a.databases);
    await fill(host, 0, 20);
    await a.indexing.start(host);
    const b = node({ nodeId: 'b', thresholdDatoms: 1e9 });
    const hostB = await b.databases.host(name);
    await fill(host, 5_000, 5);
    await hostB.catchUp();
    await Promise.all([a.indexing.start(host), b.indexing.start(hostB)]);
    const root = await roots.get(host.dbId);
    expect(root!.indexedT).toBe(host.db.t);
    expect(a.indexing.stats.failures + b.indexing.stats.failures).toBe(0);
    expect(a.indexing.stats.lostRaces + b.indexing.stats.lostRaces).toBeGreaterThanOrEqual(1);
    const expected = await dump((await inMemory().host(name)).db);
    expect(await dump(host.db)).toBe(expected);
    expect(await dump(hostB.db)).toBe(expected);
    expect(await dump((await node().databases.host(name)).db)).toBe(expected);
  });

  for (const step of ['segments-written', 'root-advanced', 'rebased'] as const) {
    it(`a job stopped after "${step}" leaves a valid root, and the next job completes`, async () => {
      let stop = true;
      const n = node({ thresholdDatoms: 1e9, onStep: (s) => { if (stop && s === step) throw new Error(`stopped at ${s}`); } });
      const { name, host } = await newDb(n.databases);
      await fill(host, 0, 10);
      await n.indexing.start(host);
      expect(n.indexing.stats.failures).toBe(1);
      const expected = await dump((await inMemory().host(name)).db);
      // Whatever root is stored opens to the same value.
      expect(await dump((await node().databases.host(name)).db)).toBe(expected);
      expect(await dump(host.db)).toBe(expected);
      stop = false;
      await fill(host, 20_000, 2);
      await n.indexing.start(host);
      expect((await roots.get(host.dbId))!.indexedT).toBe(host.db.t);
      expect(await dump((await node().databases.host(name)).db)).toBe(await dump((await inMemory().host(name)).db));
    });
  }

  it('segment-store failures mid-job fail the job only; the root stays valid and a later job completes', async () => {
    let failPuts = 5;
    class Flaky extends SegmentStore {
      override async put(db: string, s: Parameters<SegmentStore['put']>[1]): Promise<void> {
        if (failPuts-- === 0) throw unavailable('storage/unavailable', 'injected: segment store unavailable');
        return super.put(db, s);
      }
    }
    const flaky = new Flaky(client, { bucket: 'indexing-test' });
    const n = node({ segments: flaky, thresholdDatoms: 1e9 });
    const { name, host } = await newDb(n.databases);
    await fill(host, 0, 10);
    await n.indexing.start(host);
    expect(n.indexing.stats.failures).toBe(1);
    expect(await roots.get(host.dbId)).toBeUndefined();
    // Transactions went on meanwhile and go on now.
    await fill(host, 30_000, 1);
    failPuts = -1;
    await n.indexing.start(host);
    expect((await roots.get(host.dbId))!.indexedT).toBe(host.db.t);
    expect(await dump((await node().databases.host(name)).db)).toBe(await dump((await inMemory().host(name)).db));
  });
});
