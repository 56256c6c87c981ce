/**
 * Every storage call has a bounded time (services/node/storage/dynamo-client.ts). Storage here
 * is reached through the fault proxy, which can stall: it accepts connections and swallows every
 * byte, like a silently dead connection. A node's calls then fail `unavailable` once their
 * timeouts pass (short ones here), and the node keeps serving meanwhile.
 */
import { randomUUID } from 'node:crypto';
import pino from 'pino';
import { startFaultProxy, type FaultProxy } from '../../../services/local/fault-proxy';
import { startNode, type RunningNode } from '../../../services/node/main';
import { createDynamoClient, ensureTables } from '../../../services/node/storage';
import { LogStore } from '../../../services/node/log';
import { startDynaliteInProcess, type DynaliteHandle } from '../../../services/local/dynalite';
import { http } from '../http/harness';

let storage: DynaliteHandle;
let proxy: FaultProxy;
let node: RunningNode;
const adminKey = `test-key-${randomUUID()}`;
const SCHEMA = '[{:db/ident :x/n :db/valueType :db.type/long :db/cardinality :db.cardinality/one}]';

beforeAll(async () => {
  storage = await startDynaliteInProcess();
  const u = new URL(storage.endpoint);
  proxy = await startFaultProxy({ host: u.hostname, port: Number(u.port) });
  node = await startNode({
    adminKey,
    port: 0,
    host: '127.0.0.1',
    storageEndpoint: proxy.endpoint,
    createTables: true,
    pollIntervalMs: 50,
    queryWorkers: 0,
    storageConnectTimeoutMs: 200,
    storageRequestTimeoutMs: 200,
  }, { logger: pino({ level: 'silent' }), cluster: false });
});

afterAll(async () => {
  proxy.setStalled(false);
  await node.close();
  await proxy.close();
  await storage.close();
});

afterEach(() => proxy.setStalled(false));

test('a node whose storage stops answering fails the call `unavailable` and keeps serving', async () => {
  const name = `stall-${randomUUID().slice(0, 8)}`;
  const db = `${node.url}/v1/databases/${name}`;
  expect((await http(`${node.url}/v1/databases`, { key: adminKey, body: { name } })).status).toBe(201);
  expect((await http(`${db}/transact`, { key: adminKey, body: { txData: SCHEMA } })).status).toBe(200);

  proxy.setStalled(true);
  const write = http(`${db}/transact`, { key: adminKey, body: { txData: [{ 'x/n': 1 }] } });
  const sync = http(`${db}/sync`, { key: adminKey, body: {} });
  // While those calls wait on storage, the node answers.
  expect((await http(`${node.url}/health`)).status).toBe(200);
  const [w, s] = await Promise.all([write, sync]);
  expect(w.status).toBe(503);
  expect(w.body).toMatchObject({ category: 'unavailable', code: 'storage/unavailable' });
  expect(s.status).toBe(503);
  expect(s.body).toMatchObject({ category: 'unavailable' });
  expect((await http(`${node.url}/health`)).status).toBe(200);

  // Storage back: the same node commits again (the failed write was retried safely by id).
  proxy.setStalled(false);
  const again = await http(`${db}/transact`, { key: adminKey, body: { txData: [{ 'x/n': 2 }] } });
  expect(again.status).toBe(200);
});

test('a log read on a stalled connection fails `unavailable` instead of hanging', async () => {
  const client = createDynamoClient({ endpoint: proxy.endpoint, connectTimeoutMs: 200, requestTimeoutMs: 200 });
  try {
    const names = { catalogTable: `catalog-${randomUUID().slice(0, 8)}`, logTable: `log-${randomUUID().slice(0, 8)}` };
    await ensureTables(client, names);
    proxy.setStalled(true);
    const e = await new LogStore(client, names).readEntries('db-stalled', 0).then(() => undefined, (err: unknown) => err);
    expect(e).toMatchObject({ category: 'unavailable', code: 'storage/unavailable' });
  } finally {
    client.destroy();
  }
});
