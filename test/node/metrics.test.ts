/**
 * Node metrics: the transactor reports commits, conflicts and catch-ups; the publisher sends
 * them to CloudWatch with PutMetricData (here a local endpoint that records the requests).
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { NodeMetrics, startMetricsPublisher } from '../../services/node/metrics';
import { CatalogStore, createDynamoClient, ensureTables } from '../../services/node/storage';
import { LogStore } from '../../services/node/log';
import { startDynaliteInProcess } from '../../services/local/dynalite';
import { DatabaseHost } from '../../services/node/log/transactor';

test('commits, conflicts and catch-up lag are observed per period, then start again from zero', async () => {
  const storage = await startDynaliteInProcess();
  const client = createDynamoClient({ endpoint: storage.endpoint });
  try {
    await ensureTables(client);
    const log = new LogStore(client);
    const rec = await new CatalogStore(client).createDatabase('metrics');
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
    const data = metrics.drain(3, new Date(0));
    const value = (name: string): number | undefined => data.find((d) => d.MetricName === name)?.Value;
    expect(value('Transactions')).toBe(3);
    expect(value('Conflicts')).toBeGreaterThanOrEqual(1);
    expect(value('CatchUpLag')).toBeGreaterThanOrEqual(1);
    expect(value('PendingOperations')).toBe(3);
    expect(value('MemoryUsed')).toBeGreaterThan(0);
    const latency = data.find((d) => d.MetricName === 'TransactionLatency')!;
    expect(latency.Unit).toBe('Milliseconds');
    expect(latency.Counts!.reduce((x, y) => x + y, 0)).toBe(3);
    const next = metrics.drain(0);
    expect(next.find((d) => d.MetricName === 'Transactions')?.Value).toBe(0);
    expect(next.find((d) => d.MetricName === 'TransactionLatency')).toBeUndefined();
  } finally {
    client.destroy();
    await storage.close();
  }
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
  const publisher = startMetricsPublisher({
    namespace: 'Datalith/test',
    metrics,
    pendingOperations: () => 0,
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
  fail = true;
  await publisher.stop();
  expect(errors.length).toBeGreaterThan(0);
  await new Promise<void>((r) => server.close(() => r()));
});
