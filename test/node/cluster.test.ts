/**
 * Cluster membership (against dynalite), rendezvous hashing, forwarding and notifications.
 */
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  Cluster,
  FORWARDED_HEADER,
  ForwardError,
  NOTIFY_PATH,
  rendezvousOwner,
  rendezvousRank,
  rendezvousScore,
  type AsgMembership,
} from '../../services/node/cluster/cluster';
import { CatalogStore, createDynamoClient, ensureTables } from '../../services/node/storage';
import { startDynaliteInProcess, type DynaliteHandle } from '../../services/local/dynalite';
import { until } from './http/harness';

const dbs = Array.from({ length: 3000 }, (_, i) => `db-${i}`);

describe('rendezvous hashing', () => {
  test('deterministic, 53-bit, the owner is the best ranked', () => {
    expect(rendezvousScore('a', 'x')).toBe(rendezvousScore('a', 'x'));
    expect(rendezvousScore('a', 'x')).not.toBe(rendezvousScore('b', 'x'));
    expect(Number.isSafeInteger(rendezvousScore('node-1', 'db'))).toBe(true);
    for (const db of dbs.slice(0, 200)) expect(rendezvousOwner(['n1', 'n2', 'n3'], db)).toBe(rendezvousRank(['n3', 'n1', 'n2'], db)[0]);
    expect(rendezvousOwner([], 'x')).toBeUndefined();
  });

  test('spreads databases evenly', () => {
    const nodes = ['node-1', 'node-2', 'node-3'];
    const count = new Map<string, number>();
    for (const db of dbs) {
      const o = rendezvousOwner(nodes, db) as string;
      count.set(o, (count.get(o) ?? 0) + 1);
    }
    for (const n of nodes) {
      expect(count.get(n)! / dbs.length).toBeGreaterThan(0.28);
      expect(count.get(n)! / dbs.length).toBeLessThan(0.39);
    }
  });

  test('adding a node moves only databases to it; removing one moves only its databases', () => {
    const three = ['node-1', 'node-2', 'node-3'];
    const four = [...three, 'node-4'];
    let moved = 0;
    for (const db of dbs) {
      const before = rendezvousOwner(three, db);
      const after = rendezvousOwner(four, db);
      if (before !== after) {
        moved++;
        expect(after).toBe('node-4');
      }
    }
    expect(moved / dbs.length).toBeGreaterThan(0.2);
    expect(moved / dbs.length).toBeLessThan(0.3);
    const two = ['node-1', 'node-3'];
    for (const db of dbs) {
      const before = rendezvousOwner(three, db);
      const after = rendezvousOwner(two, db);
      if (before !== 'node-2') expect(after).toBe(before);
    }
  });
});

interface Received { method: string; path: string; headers: http.IncomingHttpHeaders; body: string }

async function server(handler?: (r: Received, res: http.ServerResponse) => void): Promise<{ url: string; received: Received[]; close(): Promise<void> }> {
  const received: Received[] = [];
  const s = http.createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8').on('data', (c: string) => { body += c; }).on('end', () => {
      const r = { method: req.method ?? '', path: req.url ?? '', headers: req.headers, body };
      received.push(r);
      if (handler) handler(r, res);
      else res.writeHead(204).end();
    });
  });
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(s.address() as AddressInfo).port}`,
    received,
    close: () => new Promise<void>((r) => { s.closeAllConnections(); s.close(() => r()); }),
  };
}

describe('membership against dynalite', () => {
  let storage: DynaliteHandle;
  let catalog: CatalogStore;
  const client = (): ReturnType<typeof createDynamoClient> => createDynamoClient({ endpoint: storage.endpoint });
  let dynamo: ReturnType<typeof createDynamoClient>;
  const started: Cluster[] = [];
  const cluster = (id: string, extra: Partial<ConstructorParameters<typeof Cluster>[0]> = {}): Cluster => {
    const c = new Cluster({ nodeId: id, url: `http://127.0.0.1:1/${id}`, store: catalog, heartbeatIntervalMs: 100, ttlMs: 400, ...extra });
    started.push(c);
    return c;
  };

  beforeAll(async () => {
    storage = await startDynaliteInProcess();
    dynamo = client();
    const names = { catalogTable: `cluster-catalog-${Date.now()}`, logTable: `cluster-log-${Date.now()}` };
    await ensureTables(dynamo, names);
    catalog = new CatalogStore(dynamo, names);
  });

  afterEach(async () => {
    await Promise.all(started.splice(0).map((c) => c.stop()));
  });

  afterAll(async () => {
    dynamo.destroy();
    await storage.close();
  });

  test('nodes see each other and agree on the preferred node; a graceful stop leaves at once', async () => {
    const a = cluster('a');
    const b = cluster('b');
    const changes: string[][] = [];
    a.on('change', (m: Array<{ id: string }>) => changes.push(m.map((x) => x.id)));
    await a.start();
    await b.start();
    await a.beat();
    expect(a.liveNodes().map((n) => n.id)).toEqual(['a', 'b']);
    expect(b.liveNodes().map((n) => n.id)).toEqual(['a', 'b']);
    expect(a.liveNodes().find((n) => n.id === 'b')).toMatchObject({ url: 'http://127.0.0.1:1/b', pid: process.pid, self: false });
    for (const db of dbs.slice(0, 100)) {
      expect(a.preferredNodeId(db)).toBe(b.preferredNodeId(db));
      expect(a.preferredNode(db).id).toBe(rendezvousOwner(['a', 'b'], db));
      expect(a.isPreferred(db)).toBe(!b.isPreferred(db));
    }
    expect(a.clusterNodes()).toEqual([
      { id: 'a', url: 'http://127.0.0.1:1/a', pid: process.pid, healthy: true },
      { id: 'b', url: 'http://127.0.0.1:1/b', pid: process.pid, healthy: true },
    ]);
    await b.stop();
    await a.beat();
    expect(a.liveNodes().map((n) => n.id)).toEqual(['a']);
    expect(changes).toEqual([['a', 'b'], ['a']]);
    for (const db of dbs.slice(0, 20)) expect(a.preferredNodeId(db)).toBe('a');
  });

  test('a node that stops heartbeating (crash) drops out after its ttl', async () => {
    // A ttl longer than the test runs, and a clock the test moves: only the ttl ends c.
    const ttlMs = 60_000;
    let ahead = 0;
    const a = cluster('a', { ttlMs, monotonicNow: () => performance.now() + ahead });
    const c = cluster('c', { ttlMs });
    await c.start();
    await a.start();
    expect(a.liveNodes().map((n) => n.id)).toEqual(['a', 'c']);
    await c.stop({ deregister: false });
    ahead = ttlMs / 2;
    await a.beat();
    expect(a.liveNodes().map((n) => n.id)).toEqual(['a', 'c']);
    ahead = ttlMs;
    await a.beat();
    expect(a.liveNodes().map((n) => n.id)).toEqual(['a']);
    await catalog.removeNode('c'); // its heartbeat would outlive this test
  });

  test('a stale heartbeat (dead node) is not live on first sight', async () => {
    const ghost = await catalog.heartbeat('ghost', { url: 'http://127.0.0.1:1/ghost' }, 1);
    await until('the ghost heartbeat expired', () => Date.now() > ghost.expiresAt);
    const a = cluster('a');
    await a.start();
    expect(a.liveNodes().map((n) => n.id)).toEqual(['a']);
  });

  test('AWS: only InService instances count; reportUnhealthy and a failing self check call SetInstanceHealth', async () => {
    const unhealthy: string[] = [];
    const asg = (instanceId: string, inService: string[]): AsgMembership => ({
      instanceId,
      inServiceInstanceIds: async () => new Set(inService),
      setSelfUnhealthy: async (reason) => { unhealthy.push(`${instanceId}: ${reason}`); },
    });
    let healthy = true;
    const a = cluster('a', { asg: asg('i-a', ['i-a', 'i-b']), selfCheck: () => healthy });
    const b = cluster('b', { asg: asg('i-b', ['i-a', 'i-b']) });
    const d = cluster('d', { asg: asg('i-d', ['i-a', 'i-b', 'i-d']) });
    await Promise.all([a.start(), b.start(), d.start()]);
    await a.beat();
    expect(a.liveNodes().map((n) => n.id)).toEqual(['a', 'b']);
    expect(a.liveNodes().map((n) => n.instanceId)).toEqual(['i-a', 'i-b']);
    healthy = false;
    await a.beat();
    await a.beat();
    await a.beat();
    expect(a.selfUnhealthy).toBe(true);
    expect(a.clusterNodes().find((n) => n.id === 'a')?.healthy).toBe(false);
    expect(unhealthy).toEqual(['i-a: self check failed 3 times in a row']);
  });

  test('storage errors keep the last view', async () => {
    let fail = false;
    const flaky = {
      heartbeat: (id: string, info: Record<string, unknown>, ttl: number) => (fail ? Promise.reject(new Error('down')) : catalog.heartbeat(id, info, ttl)),
      listNodes: (o?: { includeExpired?: boolean }) => (fail ? Promise.reject(new Error('down')) : catalog.listNodes(o)),
      removeNode: (id: string) => catalog.removeNode(id),
    };
    const a = cluster('a', { store: flaky });
    const b = cluster('b');
    await b.start();
    await a.start();
    expect(a.liveNodes().map((n) => n.id)).toEqual(['a', 'b']);
    fail = true;
    await a.beat();
    expect(a.liveNodes().map((n) => n.id)).toEqual(['a', 'b']);
    expect(a.stats().heartbeatFailures).toBeGreaterThan(0);
    expect(a.stats().refreshFailures).toBeGreaterThan(0);
  });
});

describe('forwarding and notifications', () => {
  const store = {
    heartbeat: async () => undefined,
    listNodes: async () => [],
    removeNode: async () => undefined,
  };

  test('forward passes body and headers, marks the request as forwarded, returns any status', async () => {
    const s = await server((r, res) => {
      res.writeHead(r.path === '/v1/databases/x/transact' ? 200 : 404, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ got: JSON.parse(r.body) as unknown }));
    });
    const a = new Cluster({ nodeId: 'a', url: 'http://127.0.0.1:1', store, authorization: 'Bearer default' });
    const r = await a.forward(s.url, '/v1/databases/x/transact', JSON.stringify({ txData: '[]', txId: 't1' }),
      { authorization: 'Bearer client', connection: 'keep-alive', 'content-length': '999', host: 'elsewhere' });
    expect(r.status).toBe(200);
    expect(JSON.parse(r.body.toString())).toEqual({ got: { txData: '[]', txId: 't1' } });
    const got = s.received[0]!;
    expect(got.method).toBe('POST');
    expect(got.headers['authorization']).toBe('Bearer client');
    expect(got.headers[FORWARDED_HEADER]).toBe('a');
    expect(got.headers['content-type']).toBe('application/json');
    const miss = await a.forward(s.url, '/nope', '{}');
    expect(miss.status).toBe(404);
    expect(s.received[1]!.headers['authorization']).toBe('Bearer default');
    await a.stop();
    await s.close();
  });

  test('forward failures say whether the request may have reached the node', async () => {
    // No liveness check during a forward here: the hung node is ended by the headers timeout alone.
    const a = new Cluster({ nodeId: 'a', url: 'http://127.0.0.1:1', store, livenessCheckAfterMs: 3_600_000 });
    // Nothing listens: refused at once, never reached.
    const closed = await server();
    const url = closed.url;
    await closed.close();
    const refused = await a.forward(url, '/x', '{}').catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(ForwardError);
    expect((refused as ForwardError).reached).toBe(false);
    expect((refused as ForwardError).category).toBe('unavailable');
    expect((refused as ForwardError).data).toMatchObject({ cause: 'ECONNREFUSED' }); // refused, not a connect timeout
    // Accepts but never answers (a hung node): reached, ended by the timeout to the response headers.
    const hung = await server(() => { /* never answer */ });
    const timedOut = await a.forward(hung.url, '/x', '{}', {}, { timeoutMs: 300 }).catch((e: unknown) => e);
    expect((timedOut as ForwardError).reached).toBe(true);
    expect((timedOut as ForwardError).data).toMatchObject({ cause: 'UND_ERR_HEADERS_TIMEOUT' });
    await a.stop();
    await hung.close();
  });

  test('notify posts {db, t, from} to every other live node, coalescing bursts', async () => {
    const b = await server((_r, res) => setTimeout(() => res.writeHead(204).end(), 20));
    const c = await server();
    const records = [
      { nodeId: 'b', info: { url: b.url }, at: Date.now(), expiresAt: Date.now() + 60_000 },
      { nodeId: 'c', info: { url: c.url }, at: Date.now(), expiresAt: Date.now() + 60_000 },
    ];
    const a = new Cluster({ nodeId: 'a', url: 'http://127.0.0.1:1', store: { ...store, listNodes: async () => records }, authorization: 'Bearer k' });
    await a.start();
    expect(a.liveNodes().map((n) => n.id)).toEqual(['a', 'b', 'c']);
    for (let t = 1; t <= 100; t++) a.notify('orders', t);
    // The last commit's notification is the last one sent: once both have it, the burst is over.
    await until('both nodes notified of t 100', () => [b, c].every((s) => s.received.some((r) => JSON.parse(r.body).t === 100)));
    for (const s of [b, c]) {
      expect(s.received.length).toBeGreaterThanOrEqual(1);
      expect(s.received.length).toBeLessThanOrEqual(3);
      expect(s.received.every((r) => r.method === 'POST' && r.path === NOTIFY_PATH && r.headers['authorization'] === 'Bearer k')).toBe(true);
      expect(JSON.parse(s.received.at(-1)!.body)).toEqual({ db: 'orders', t: 100, from: 'a' });
    }
    await a.stop();
    await Promise.all([b.close(), c.close()]);
  });
});
