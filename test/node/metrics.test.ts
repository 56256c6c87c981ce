/**
 * Node metrics: the transactor reports commits, conflicts and catch-ups, the node's indexing is
 * sampled (its databases' lag and tail, its segment cache, its jobs); the publisher sends them
 * to CloudWatch with PutMetricData (here a local endpoint that records the requests). Storage is
 * dynalite, segments s3rver.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { MetricDatum } from '@aws-sdk/client-cloudwatch';
import type { S3Client } from '@aws-sdk/client-s3';
import { NodeMetrics, sampleIndexing, startMetricsPublisher, type IndexingSample } from '../../services/node/metrics';
import { createS3Client, IndexRootStore, SegmentStore } from '../../services/node/storage';
import { Databases } from '../../services/node/databases';
import { Indexing, type IndexingOptions } from '../../services/node/indexing/durable';
import { SegmentCache, withSegments } from '../../services/node/indexing/segment-cache';
import { startS3rverInProcess, type S3rverHandle } from '../../services/local/s3rver';
import { DatabaseHost } from '../../services/node/log/transactor';
import { q } from '../../services/engine/query';
import { useStorage } from './storage-fixture';

const storage = useStorage();

const valueOf = (data: MetricDatum[], name: string): number | undefined => data.find((d) => d.MetricName === name)?.Value;

test('commits, conflicts and catch-up lag are observed per period, then start again from zero', async () => {
  const log = storage.log;
  const rec = await storage.catalog.createDatabase('metrics');
  const metrics = new NodeMetrics();
  const a = new DatabaseHost('metrics', rec.id, log);
  const b = new DatabaseHost('metrics', rec.id, log);
  a.observer = metrics;
  b.observer = metrics;
  await a.transact('[{:db/ident :n :db/valueType :db.type/long :db/cardinality :db.cardinality/one}]');
  // b has not seen t 1: its first append conflicts, it catches up one transaction, retries.
  await b.transact([[':db/add', 'x', ':n', 1]]);
  await a.transact([[':db/add', 'y', ':n', 2]], 'same-id');
  await a.transact([[':db/add', 'y', ':n', 2]], 'same-id'); // a duplicate is not a commit
  const data = metrics.drain({ pendingOperations: 3 }, new Date(0));
  const value = (name: string): number | undefined => valueOf(data, name);
  expect(value('Transactions')).toBe(3);
  expect(value('Conflicts')).toBeGreaterThanOrEqual(1);
  expect(value('CatchUpLag')).toBeGreaterThanOrEqual(1);
  expect(value('PendingOperations')).toBe(3);
  expect(value('MemoryUsed')).toBeGreaterThan(0);
  const latency = data.find((d) => d.MetricName === 'TransactionLatency')!;
  expect(latency.Unit).toBe('Milliseconds');
  expect(latency.Counts!.reduce((x, y) => x + y, 0)).toBe(3);
  const next = metrics.drain({ pendingOperations: 0 });
  expect(next.find((d) => d.MetricName === 'Transactions')?.Value).toBe(0);
  expect(next.find((d) => d.MetricName === 'TransactionLatency')).toBeUndefined();
  // A node without a segment store indexes nothing and publishes no indexing metrics.
  expect(await sampleIndexing(new Databases(storage.catalog, storage.log))).toBeUndefined();
  expect(next.find((d) => d.MetricName === 'IndexingLag')).toBeUndefined();
});

describe('indexing metrics', () => {
  let s3: S3rverHandle;
  let s3Client: S3Client;
  let segments: SegmentStore;
  beforeAll(async () => {
    s3 = await startS3rverInProcess();
    s3Client = createS3Client({ endpoint: s3.endpoint });
    segments = new SegmentStore(s3Client, { bucket: 'metrics-test' });
    await segments.ensureBucket();
  });
  afterAll(async () => {
    s3Client.destroy();
    await s3.close();
  });

  /** A node's databases and indexing; jobs start only by hand. */
  function node(opts: Partial<IndexingOptions> = {}): { databases: Databases; indexing: Indexing } {
    const indexing = new Indexing({
      segments, roots: new IndexRootStore(storage.client), cache: new SegmentCache(64 * 1024 * 1024),
      thresholdDatoms: 1e9, tailMaxDatoms: 0, index: true, nodeId: 'metrics', ...opts,
    });
    return { databases: new Databases(storage.catalog, storage.log, indexing), indexing };
  }

  async function newDb(databases: Databases, name: string, people: number): Promise<DatabaseHost> {
    await databases.create(name);
    const host = await databases.host(name);
    await host.transact('[{:db/ident :p/id :db/valueType :db.type/long :db/cardinality :db.cardinality/one :db/unique :db.unique/identity} {:db/ident :p/name :db/valueType :db.type/string :db/cardinality :db.cardinality/one}]');
    for (let b = 0; b < people; b += 250) {
      await host.transact(Array.from({ length: Math.min(250, people - b) }, (_, i) => ({ ':p/id': b + i, ':p/name': `n${(b + i) % 13}` })));
    }
    return host;
  }

  const drain = async (metrics: NodeMetrics, databases: Databases): Promise<MetricDatum[]> => {
    const indexing = await sampleIndexing(databases);
    expect(indexing).toBeDefined();
    return metrics.drain({ pendingOperations: 0, indexing: indexing! });
  };
  const countPeople = (host: DatabaseHost): Promise<unknown> => withSegments(() => q('[:find (count ?e) . :where [?e :p/name]]', [host.db]));

  it('lag and tail are the largest over the loaded databases; jobs, failures and fetches count per period', async () => {
    let failNext = false;
    const n = node({ onStep: () => { if (failNext) throw new Error('injected: the job stops'); } });
    const metrics = new NodeMetrics();
    const indexed = await newDb(n.databases, 'metrics-indexed', 2_000);
    await n.indexing.start(indexed);
    const behind = await newDb(n.databases, 'metrics-behind', 500);
    expect(indexed.indexedT).toBe(indexed.db.t);
    expect(behind.indexedT).toBe(0);

    const first = await drain(metrics, n.databases);
    const hosts = [indexed, behind];
    expect(valueOf(first, 'IndexingLag')).toBe(Math.max(...hosts.map((h) => h.db.t - h.indexedT)));
    expect(valueOf(first, 'IndexingLag')).toBe(behind.db.t);
    expect(valueOf(first, 'TailDatoms')).toBe(Math.max(...hosts.map((h) => h.tailDatoms)));
    expect(valueOf(first, 'TailDatoms')).toBeGreaterThan(0);
    expect(valueOf(first, 'IndexingJobs')).toBe(1);
    expect(valueOf(first, 'IndexingFailures')).toBe(0);
    // The job put what it wrote into the cache: moving the host onto the new root fetched nothing.
    expect(valueOf(first, 'SegmentFetches')).toBe(n.indexing.opts.cache.snapshot().fetches);
    expect(valueOf(first, 'SegmentFetches')).toBe(0);
    for (const d of first) expect(d.Unit).toBe(d.MetricName === 'SegmentCacheHitRate' ? 'Percent' : d.MetricName === 'MemoryUsed' ? 'Bytes' : 'Count');

    // Nothing happened: the gauges stay, the counters are zero, there is no hit rate.
    const quiet = await drain(metrics, n.databases);
    expect(valueOf(quiet, 'IndexingLag')).toBe(valueOf(first, 'IndexingLag'));
    expect(valueOf(quiet, 'TailDatoms')).toBe(valueOf(first, 'TailDatoms'));
    for (const name of ['IndexingJobs', 'IndexingFailures', 'SegmentFetches']) expect(valueOf(quiet, name)).toBe(0);
    expect(quiet.find((d) => d.MetricName === 'SegmentCacheHitRate')).toBeUndefined();

    // Indexing the other database brings the lag down to the first one's; a failed job counts.
    await n.indexing.start(behind);
    failNext = true;
    await indexed.transact([{ ':p/id': 5_000, ':p/name': 'late' }]);
    await n.indexing.start(indexed);
    const after = await drain(metrics, n.databases);
    expect(valueOf(after, 'IndexingJobs')).toBe(2);
    expect(valueOf(after, 'IndexingFailures')).toBe(1);
    expect(valueOf(after, 'IndexingLag')).toBe(indexed.db.t - indexed.indexedT);
    expect(valueOf(after, 'IndexingLag')).toBe(1);
    expect(valueOf(after, 'TailDatoms')).toBe(indexed.tailDatoms);
  });

  it('the hit rate of the segment cache: below 100 % for a cold read, 100 % when it repeats', async () => {
    const writer = node();
    const host = await newDb(writer.databases, 'metrics-cold', 3_000);
    await writer.indexing.start(host);
    // A node started afresh opens the database from its root: the rest of its segments are cold.
    const fresh = node();
    const metrics = new NodeMetrics();
    const opened = await fresh.databases.host('metrics-cold');
    await drain(metrics, fresh.databases);
    const count = await countPeople(opened);
    expect(count).toBe(3_000);
    const cold = await drain(metrics, fresh.databases);
    const rate = valueOf(cold, 'SegmentCacheHitRate');
    expect(rate).toBeGreaterThan(0);
    expect(rate).toBeLessThan(100);
    expect(valueOf(cold, 'SegmentFetches')).toBeGreaterThan(0);
    expect(await countPeople(opened)).toBe(count);
    const warm = await drain(metrics, fresh.databases);
    expect(valueOf(warm, 'SegmentCacheHitRate')).toBe(100);
    expect(valueOf(warm, 'SegmentFetches')).toBe(0);
  });

  it('the query workers\' caches count in the hit rate and the fetches; a worker replaced counts nothing negative', async () => {
    const n = node();
    await newDb(n.databases, 'metrics-workers', 100);
    const metrics = new NodeMetrics();
    // The pool's sum as of the workers' last answers (QueryWorkerPool.segmentStats).
    let workers = { ...n.indexing.opts.cache.snapshot(), hits: 0, misses: 0, fetches: 0 };
    const sample = async () => metrics.drain({ pendingOperations: 0, indexing: (await sampleIndexing(n.databases, () => workers))! });
    await sample();
    workers = { ...workers, hits: 90, misses: 10, fetches: 7 };
    const busy = await sample();
    expect(valueOf(busy, 'SegmentCacheHitRate')).toBe(90);
    expect(valueOf(busy, 'SegmentFetches')).toBe(7);
    // One worker was replaced: the sum fell.
    workers = { ...workers, hits: 30, misses: 2, fetches: 1 };
    const replaced = await sample();
    expect(valueOf(replaced, 'SegmentFetches')).toBe(0);
    expect(replaced.find((d) => d.MetricName === 'SegmentCacheHitRate')).toBeUndefined();
  });
});

test('the publisher sends PutMetricData into the namespace, and never throws when CloudWatch fails', async () => {
  const bodies: Buffer[] = [];
  let fail = false;
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      bodies.push(Buffer.concat(chunks));
      res.statusCode = fail ? 500 : 200;
      res.setHeader('content-type', 'text/xml');
      res.end('<PutMetricDataResponse xmlns="http://monitoring.amazonaws.com/doc/2010-08-01/"><ResponseMetadata><RequestId>1</RequestId></ResponseMetadata></PutMetricDataResponse>');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const metrics = new NodeMetrics();
  metrics.committed(12);
  const errors: unknown[] = [];
  const sample: IndexingSample = { lag: 3, tailDatoms: 40, cacheHits: 9, cacheMisses: 1, segmentFetches: 1, jobs: 1, failures: 0 };
  const publisher = startMetricsPublisher({
    namespace: 'Datalith/test',
    metrics,
    pendingOperations: () => 0,
    indexing: async () => sample,
    endpoint,
    region: 'us-east-1',
    credentials: { accessKeyId: 'a', secretAccessKey: 'b' },
    intervalMs: 3_600_000,
    onError: (e) => errors.push(e),
  });
  await publisher.publish();
  expect(bodies).toHaveLength(1);
  const sent = bodies[0]!.toString('latin1');
  expect(sent).toContain('Datalith/test');
  expect(sent).toContain('Transactions');
  expect(sent).toContain('TransactionLatency');
  for (const name of ['IndexingLag', 'TailDatoms', 'SegmentCacheHitRate', 'SegmentFetches', 'IndexingJobs', 'IndexingFailures']) expect(sent).toContain(name);
  fail = true;
  await publisher.stop();
  expect(errors.length).toBeGreaterThan(0);
  await new Promise<void>((r) => server.close(() => r()));
});
