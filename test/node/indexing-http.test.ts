/**
 * Durable indexes through a node and the SDK: a node with a segment store and query workers
 * indexes in the background, reports indexedT and the tail (describe, stats, GET /v1/status); a
 * node started afresh on the same storage opens from the root and its workers answer queries,
 * pulls and stats exactly as before the restart.
 */
import { startS3rverInProcess, type S3rverHandle } from '../../services/local/s3rver';
import { startNode, type RunningNode } from '../../services/node/main';
import { createClient } from '../../services/client';
import { useStorage } from './storage-fixture';

const SCHEMA = `[{:db/ident :p/id :db/valueType :db.type/long :db/cardinality :db.cardinality/one :db/unique :db.unique/identity}
 {:db/ident :p/name :db/valueType :db.type/string :db/cardinality :db.cardinality/one}
 {:db/ident :p/age :db/valueType :db.type/long :db/cardinality :db.cardinality/one}]`;

describe('durable indexes through a node', () => {
  const storage = useStorage();
  let s3: S3rverHandle;
  beforeAll(async () => {
    s3 = await startS3rverInProcess();
  });
  afterAll(async () => {
    await s3.close();
  });

  const start = (): Promise<RunningNode> => startNode({
    port: 0, host: '127.0.0.1', adminKey: 'k', storageEndpoint: storage.handle.endpoint, s3Endpoint: s3.endpoint,
    segmentBucket: 'indexing-http', createTables: true, queryWorkers: 1, pollIntervalMs: 0, logLevel: 'silent',
    indexThresholdDatoms: 2_000, cacheSizeMb: 64,
  }, { cluster: false });

  const status = async (node: RunningNode): Promise<Record<string, any>> =>
    (await fetch(`${node.url}/v1/status`, { headers: { authorization: 'Bearer k' } })).json() as Promise<Record<string, any>>;

  async function answers(url: string): Promise<unknown[]> {
    const c = createClient({ endpoint: url, accessKey: 'k' });
    const conn = await c.connect('people');
    const db = await conn.db();
    const stats = await db.stats();
    const out = [
      db.t,
      await db.q('[:find ?n (count ?e) (sum ?a) :where [?e :p/name ?n] [?e :p/age ?a]]'),
      await db.pull('[*]', [':p/id', 1234]),
      await db.q('[:find (count ?e) . :in $ :where [?e :p/age 30]]'),
      (await db.asOf(5)).q('[:find (count ?e) . :where [?e :p/id]]'),
      { datoms: stats.datoms, attrs: stats.attrs, t: stats.t },
    ];
    await c.close();
    return out;
  }

  it('indexes, reports it, and a restarted node answers from the root as before', async () => {
    let node = await start();
    const client = createClient({ endpoint: node.url, accessKey: 'k' });
    await client.createDatabase('people');
    const conn = await client.connect('people');
    await conn.transact(SCHEMA);
    for (let b = 0; b < 12; b++) {
      await conn.transact(Array.from({ length: 250 }, (_, i) => ({ ':p/id': b * 250 + i, ':p/name': `n${i % 17}`, ':p/age': (b * 250 + i) % 60 })));
    }
    await conn.transact([[':db/retract', [':p/id', 7], ':p/age', 7], { ':p/id': 8, ':p/name': 'renamed' }]);
    const db = await conn.db();
    // Indexing runs in the background; wait until a root covers most of the log.
    for (let i = 0; i < 200; i++) {
      const s = await status(node);
      if (s['databases']?.['people']?.indexedT > 0 && s['indexing']?.inFlight === 0) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    const described = await (await fetch(`${node.url}/v1/databases/people`, { headers: { authorization: 'Bearer k' } })).json() as Record<string, number>;
    expect(described['indexedT']).toBeGreaterThan(0);
    expect(described['t']! - described['indexedT']!).toBeGreaterThanOrEqual(0);
    const s = await status(node);
    expect(s['segments']).toMatchObject({ limitBytes: expect.any(Number), fetches: expect.any(Number) });
    expect(s['indexing']['segmentsWritten']).toBeGreaterThan(0);
    expect(s['databases']['people']).toMatchObject({ t: db.t, indexedT: described['indexedT'], tailDatoms: described['tailDatoms'] });
    const stats = await db.stats();
    expect(stats.indexedT).toBe(described['indexedT']);
    expect(stats.tailDatoms).toBe(described['tailDatoms']);
    const before = await answers(node.url);
    await client.close();
    await node.close();

    node = await start();
    try {
      const after = await answers(node.url);
      expect(after).toEqual(before);
      const d2 = await (await fetch(`${node.url}/v1/databases/people`, { headers: { authorization: 'Bearer k' } })).json() as Record<string, number>;
      expect(d2['indexedT']).toBe(described['indexedT']);
      expect(d2['tailDatoms']).toBe(described['tailDatoms']);
    } finally {
      await node.close();
    }
  });
});
