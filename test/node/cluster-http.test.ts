/**
 * The node-side glue of the cluster: forward-to-preferred for transactions with local fallback,
 * and the notify route.
 */
import express, { type NextFunction, type Request, type Response } from 'express';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Cluster, NOTIFY_PATH, rendezvousOwner } from '../../services/node/cluster/cluster';
import { clusterNodeOptions, notifyRoutes, sendForwarded, transactOnPreferred } from '../../services/node/cluster/forwarding';
import { isDatalithError } from '../../services/engine/errors';

interface Commit { node: string; db: string; txId: string }

/** A node with just a transact route using transactOnPreferred. */
async function node(id: string, commits: Commit[], behaviour: { answer?: { status: number; body: unknown } } = {}) {
  const app = express();
  app.use(express.json());
  const holder: { cluster?: Cluster } = {};
  app.post('/v1/databases/:name/transact', (req: Request, res: Response, next: NextFunction) => {
    if (behaviour.answer !== undefined) {
      res.status(behaviour.answer.status).json(behaviour.answer.body);
      return;
    }
    const name = req.params['name'] as string;
    transactOnPreferred(holder.cluster as Cluster, {
      dbName: name,
      path: req.originalUrl,
      body: req.body as Record<string, unknown>,
      headers: req.headers,
      commitLocally: async (txId) => {
        commits.push({ node: id, db: name, txId });
        return { t: commits.length, txId, node: id };
      },
    }).then((out) => {
      if (out.kind === 'forwarded') sendForwarded(res, out);
      else res.json({ ...(out.value as object), reason: out.reason });
    }, next);
  });
  const server: Server = await new Promise((r) => { const s = app.listen(0, '127.0.0.1', () => r(s)); });
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return { id, url, server, holder, close: () => new Promise<void>((r) => { server.closeAllConnections(); server.close(() => r()); }) };
}

function staticStore(nodes: Array<{ id: string; url: string }>) {
  return {
    heartbeat: async () => undefined,
    removeNode: async () => undefined,
    listNodes: async () => nodes.map((n) => ({ nodeId: n.id, info: { url: n.url }, at: Date.now(), expiresAt: Date.now() + 60_000 })),
  };
}

async function post(url: string, body: unknown, headers: Record<string, string> = {}): Promise<{ status: number; json: Record<string, unknown>; headers: Headers }> {
  const r = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });
  const text = await r.text();
  return { status: r.status, json: text === '' ? {} : (JSON.parse(text) as Record<string, unknown>), headers: r.headers };
}

describe('transactOnPreferred', () => {
  const commits: Commit[] = [];
  let a: Awaited<ReturnType<typeof node>>;
  let b: Awaited<ReturnType<typeof node>>;
  let dbOfB: string;
  let dbOfA: string;

  beforeAll(async () => {
    a = await node('a', commits);
    b = await node('b', commits);
    const store = staticStore([{ id: 'a', url: a.url }, { id: 'b', url: b.url }]);
    a.holder.cluster = new Cluster({ nodeId: 'a', url: a.url, store, authorization: 'Bearer internal' });
    b.holder.cluster = new Cluster({ nodeId: 'b', url: b.url, store });
    await Promise.all([a.holder.cluster.start(), b.holder.cluster.start()]);
    const names = Array.from({ length: 50 }, (_, i) => `db${i}`);
    dbOfB = names.find((n) => rendezvousOwner(['a', 'b'], n) === 'b') as string;
    dbOfA = names.find((n) => rendezvousOwner(['a', 'b'], n) === 'a') as string;
  });

  afterAll(async () => {
    await a.holder.cluster?.stop();
    await b.holder.cluster?.stop();
    await a.close();
  });

  test('the preferred node commits; another node forwards and relays its answer; a txId is always attached', async () => {
    commits.length = 0;
    const here = await post(`${a.url}/v1/databases/${dbOfA}/transact`, { txData: '[]', txId: 'tx-1' });
    expect(here.json).toMatchObject({ node: 'a', txId: 'tx-1', reason: 'preferred' });
    const there = await post(`${a.url}/v1/databases/${dbOfB}/transact`, { txData: '[]' }, { authorization: 'Bearer client' });
    expect(there.status).toBe(200);
    expect(there.json).toMatchObject({ node: 'b', reason: 'already-forwarded' });
    expect(there.headers.get('x-datalith-committed-by')).toBe('b');
    expect(typeof there.json['txId']).toBe('string');
    expect(commits.map((c) => c.node)).toEqual(['a', 'b']);
    expect(clusterNodeOptions(a.holder.cluster!).preferredNodeFor(dbOfB)).toBe('b');
    expect((await clusterNodeOptions(a.holder.cluster!).clusterNodes()).map((n) => n.id)).toEqual(['a', 'b']);
  });

  test('preferred node unreachable: commit here with the same transaction id', async () => {
    commits.length = 0;
    await b.close();
    const r = await post(`${a.url}/v1/databases/${dbOfB}/transact`, { txData: '[]', txId: 'tx-2' });
    expect(r.json).toMatchObject({ node: 'a', txId: 'tx-2', reason: 'forward-failed' });
    expect(commits).toEqual([{ node: 'a', db: dbOfB, txId: 'tx-2' }]);
  });

  test('preferred node answers unavailable: commit here; any other answer is relayed', async () => {
    const c = await node('c', commits, { answer: { status: 503, body: { category: 'unavailable', message: 'draining' } } });
    const d = await node('d', commits, { answer: { status: 409, body: { category: 'conflict', message: 'cas failed' } } });
    const store = staticStore([{ id: 'a', url: a.url }, { id: 'c', url: c.url }, { id: 'd', url: d.url }]);
    const cl = new Cluster({ nodeId: 'a', url: a.url, store });
    await cl.start();
    const ofC = Array.from({ length: 100 }, (_, i) => `x${i}`).find((n) => cl.preferredNodeId(n) === 'c') as string;
    const ofD = Array.from({ length: 100 }, (_, i) => `x${i}`).find((n) => cl.preferredNodeId(n) === 'd') as string;
    const mk = (db: string) => ({ dbName: db, path: `/v1/databases/${db}/transact`, body: { txData: '[]' }, headers: {}, commitLocally: async (txId: string) => ({ txId }) });
    const toC = await transactOnPreferred(cl, mk(ofC));
    expect(toC).toMatchObject({ kind: 'local', reason: 'preferred-unavailable' });
    const toD = await transactOnPreferred(cl, mk(ofD));
    expect(toD).toMatchObject({ kind: 'forwarded', node: 'd', status: 409 });
    await cl.stop();
    await Promise.all([c.close(), d.close()]);
  });
});

describe('notifyRoutes', () => {
  test('catches a loaded database up when behind; ignores others; refuses malformed bodies', async () => {
    const caughtUp: string[] = [];
    const hosts: Record<string, { db: { t: number }; catchUp(): Promise<unknown> }> = {
      x: { db: { t: 3 }, catchUp: async () => { caughtUp.push('x'); } },
    };
    const app = express();
    app.use(express.json());
    // Every lookup of a host, so the test can wait for the decisions taken after each 204.
    const lookups: Array<Promise<unknown>> = [];
    const host = (n: string): Promise<(typeof hosts)[string]> => {
      const h = Promise.resolve(hosts[n]!);
      lookups.push(h);
      return h;
    };
    app.use('/v1', notifyRoutes({ loaded: () => Object.keys(hosts), host }));
    app.use((err: unknown, _req: Request, res: Response, _next: NextFunction) => {
      res.status(isDatalithError(err) && err.category === 'incorrect' ? 400 : 500).json({ category: isDatalithError(err) ? err.category : 'fault' });
    });
    const server: Server = await new Promise((r) => { const s = app.listen(0, '127.0.0.1', () => r(s)); });
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}${NOTIFY_PATH}`;
    expect((await post(url, { db: 'x', t: 5, from: 'b' })).status).toBe(204);
    expect((await post(url, { db: 'x', t: 2, from: 'b' })).status).toBe(204);
    expect((await post(url, { db: 'y', t: 9 })).status).toBe(204);
    expect((await post(url, { db: 'x' })).status).toBe(400);
    expect(lookups).toHaveLength(2); // x twice; y is not loaded here
    await Promise.all(lookups);
    expect(caughtUp).toEqual(['x']);
    server.closeAllConnections();
    await new Promise<void>((r) => server.close(() => r()));
  });
});
