/**
 * What only the remote client has: read-your-writes across nodes, retries with the same
 * transaction id, backoff on busy and unavailable, timeouts, keys.
 */
import * as http from 'node:http';
import * as net from 'node:net';
import { randomUUID } from 'node:crypto';
import { createClient, type Client } from '../../services';
import { startProxy, type TestProxy } from '../node/http/proxy';
import { http as rawHttp, startSystem, type TestSystem } from '../node/http/harness';
import { caught } from './contract';

const SCHEMA = '[{:db/ident :item/n :db/valueType :db.type/long :db/cardinality :db.cardinality/one}]';

async function freePort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as net.AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

/** Holds a request open at the node: headers sent, body not finished. */
function holdRequest(url: string, key: string): { release(): Promise<number> } {
  const u = new URL(url);
  let resolveStatus: (n: number) => void = () => {};
  const status = new Promise<number>((r) => { resolveStatus = r; });
  const req = http.request({ host: u.hostname, port: u.port, path: u.pathname, method: 'POST', headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json', 'content-length': '2' } }, (res) => {
    res.resume();
    res.on('end', () => resolveStatus(res.statusCode ?? 0));
  });
  req.on('error', () => resolveStatus(-1));
  req.write('{');
  return {
    release() {
      req.end('}');
      return status;
    },
  };
}

describe('remote client across two nodes', () => {
  let sys: TestSystem;
  let proxy: TestProxy;
  let client: Client;

  beforeAll(async () => {
    // Polling off: a node learns of the other's commits only by catching up on demand.
    sys = await startSystem({ nodes: 2 });
    proxy = await startProxy(() => sys.nodes.map((n) => n.url));
    client = createClient({ endpoint: proxy.url, accessKey: sys.adminKey });
  });
  afterAll(async () => {
    await client.close();
    await proxy.close();
    await sys.close();
  });

  test('read-your-writes: every read after a transaction sees it, whichever node serves it', async () => {
    const name = `ryw-${randomUUID().slice(0, 8)}`;
    await client.createDatabase(name);
    const conn = await client.connect(name);
    await conn.transact(SCHEMA);
    for (let i = 1; i <= 20; i++) {
      const r = await conn.transact([{ 'item/n': i }]);
      const db = await conn.db();
      expect(db.t).toBeGreaterThanOrEqual(r.dbAfter.t);
      expect(await db.q('[:find (max ?n) . :where [_ :item/n ?n]]')).toBe(i);
      expect(await r.dbAfter.q('[:find (count ?e) . :where [?e :item/n]]')).toBe(i);
    }
    for (const n of sys.nodes) expect(proxy.forwarded.get(n.url) ?? 0).toBeGreaterThan(10);
  });

  test('a t committed at node A is read at node B (raw HTTP with basisT)', async () => {
    const [a, b] = sys.nodes as [typeof sys.nodes[0], typeof sys.nodes[0]];
    const key = sys.adminKey;
    const name = `ab-${randomUUID().slice(0, 8)}`;
    await rawHttp(`${a.url}/v1/databases`, { key, body: { name } });
    await rawHttp(`${a.url}/v1/databases/${name}/transact`, { key, body: { txData: SCHEMA } });
    // Node B loads the database now, then falls behind.
    expect((await rawHttp(`${b.url}/v1/databases/${name}`, { key })).body.t).toBe(1);
    const tx = await rawHttp(`${a.url}/v1/databases/${name}/transact`, { key, body: { txData: '[{:item/n 42}]' } });
    const t = tx.body.t as number;
    expect((await b.databases.host(name)).db.t).toBe(1);
    const q = await rawHttp(`${b.url}/v1/databases/${name}/q`, { key, body: { query: '[:find ?n . :where [_ :item/n ?n]]', basisT: t } });
    expect(q.body.result).toBe(42);
    expect((await rawHttp(`${b.url}/v1/databases/${name}?basisT=${t}`, { key })).body.t).toBe(t);
  });

  test('sync at a stale node returns the latest value', async () => {
    const [a, b] = sys.nodes as [typeof sys.nodes[0], typeof sys.nodes[0]];
    const key = sys.adminKey;
    const name = `sync-${randomUUID().slice(0, 8)}`;
    await rawHttp(`${a.url}/v1/databases`, { key, body: { name } });
    await rawHttp(`${b.url}/v1/databases/${name}`, { key });
    await rawHttp(`${a.url}/v1/databases/${name}/transact`, { key, body: { txData: SCHEMA } });
    const bClient = createClient({ endpoint: b.url, accessKey: key });
    try {
      const conn = await bClient.connect(name);
      expect((await conn.db()).t).toBe(0);
      expect((await conn.sync()).t).toBe(1);
      expect((await conn.db()).t).toBe(1);
    } finally {
      await bClient.close();
    }
  });

  test('a transaction whose answer was lost is retried with the same id and committed once', async () => {
    const name = `lost-${randomUUID().slice(0, 8)}`;
    await client.createDatabase(name);
    const conn = await client.connect(name);
    await conn.transact(SCHEMA);
    let dropped = 0;
    proxy.intercept = (req) => (req.url?.endsWith('/transact') && dropped++ === 0 ? 'drop-after-forward' : 'forward');
    try {
      const r = await conn.transact([{ 'item/n': 7 }]);
      expect(dropped).toBeGreaterThanOrEqual(2);
      expect(r.dbAfter.t).toBe(2);
    } finally {
      proxy.intercept = undefined;
    }
    const db = await conn.sync();
    expect(db.t).toBe(2);
    expect(await db.q('[:find (count ?e) . :where [?e :item/n 7]]')).toBe(1);
  });

  test('a load balancer error page (502) is unavailable and retried', async () => {
    let failures = 0;
    proxy.intercept = () => (failures++ < 2 ? { status: 502, body: '<html><body>502 Bad Gateway</body></html>' } : 'forward');
    try {
      expect(Array.isArray(await client.listDatabases())).toBe(true);
      expect(failures).toBe(3);
    } finally {
      proxy.intercept = undefined;
    }
    proxy.intercept = () => ({ status: 502, body: '<html>502</html>' });
    try {
      const short = createClient({ endpoint: proxy.url, accessKey: sys.adminKey, timeout: 300 });
      const e = await caught(short.listDatabases());
      await short.close();
      expect(e.category).toBe('unavailable');
      expect(e.data).toMatchObject({ status: 502 });
    } finally {
      proxy.intercept = undefined;
    }
  });
});

describe('remote client: errors, retries and keys', () => {
  let sys: TestSystem;

  beforeAll(async () => {
    sys = await startSystem({ node: { limits: { maxPendingRequests: 1 } } });
  });
  afterAll(async () => {
    await sys.close();
  });

  test('busy (429) is retried with backoff until the node has room', async () => {
    const held = holdRequest(`${sys.url}/v1/databases`, sys.adminKey);
    await new Promise((r) => setTimeout(r, 50));
    const direct = await rawHttp(`${sys.url}/v1/databases`, { key: sys.adminKey });
    expect(direct.status).toBe(429);
    expect(direct.body).toMatchObject({ category: 'busy', code: 'node/too-many-requests' });
    const client = createClient({ endpoint: sys.url, accessKey: sys.adminKey });
    try {
      const later = setTimeout(() => void held.release(), 300);
      const started = Date.now();
      expect(Array.isArray(await client.listDatabases())).toBe(true);
      expect(Date.now() - started).toBeGreaterThanOrEqual(250);
      clearTimeout(later);
    } finally {
      await held.release();
      await client.close();
    }
  });

  test('busy past the timeout surfaces as busy', async () => {
    const held = holdRequest(`${sys.url}/v1/databases`, sys.adminKey);
    await new Promise((r) => setTimeout(r, 50));
    const client = createClient({ endpoint: sys.url, accessKey: sys.adminKey, timeout: 300 });
    try {
      const e = await caught(client.listDatabases());
      expect(e.category).toBe('busy');
    } finally {
      await held.release();
      await client.close();
    }
  });

  test('wrong or missing keys are forbidden and not retried; DATALITH_ACCESS_KEY is the default', async () => {
    const bad = createClient({ endpoint: sys.url, accessKey: 'nope' });
    const started = Date.now();
    const e = await caught(bad.listDatabases());
    expect(e.category).toBe('forbidden');
    expect(e.code).toBe('auth/invalid-key');
    expect(Date.now() - started).toBeLessThan(1000);
    await bad.close();
    const saved = process.env.DATALITH_ACCESS_KEY;
    try {
      delete process.env.DATALITH_ACCESS_KEY;
      const none = createClient({ endpoint: sys.url });
      expect((await caught(none.listDatabases())).code).toBe('auth/missing-key');
      await none.close();
      process.env.DATALITH_ACCESS_KEY = sys.adminKey;
      const fromEnv = createClient({ endpoint: sys.url });
      expect(Array.isArray(await fromEnv.listDatabases())).toBe(true);
      await fromEnv.close();
    } finally {
      if (saved === undefined) delete process.env.DATALITH_ACCESS_KEY;
      else process.env.DATALITH_ACCESS_KEY = saved;
    }
  });

  test('nothing listening: unavailable after retries within the timeout', async () => {
    const port = await freePort();
    const client = createClient({ endpoint: `http://127.0.0.1:${port}`, accessKey: 'k', timeout: 400 });
    const started = Date.now();
    const e = await caught(client.listDatabases());
    expect(e.category).toBe('unavailable');
    expect(e.code).toBe('client/network');
    expect(Date.now() - started).toBeLessThan(2000);
    await client.close();
  });

  test('a node that comes up during the call is reached by a retry', async () => {
    const port = await freePort();
    const client = createClient({ endpoint: `http://127.0.0.1:${port}`, accessKey: sys.adminKey, timeout: 10_000 });
    const call = client.listDatabases();
    await new Promise((r) => setTimeout(r, 300));
    await sys.startNode({ port, nodeId: 'late-node' });
    expect(Array.isArray(await call)).toBe(true);
    await client.close();
  });

  test('a server that never answers: interrupted at the timeout', async () => {
    const sockets: net.Socket[] = [];
    const silent = net.createServer((s) => { sockets.push(s); /* accept and say nothing */ });
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
    const port = (silent.address() as net.AddressInfo).port;
    const client = createClient({ endpoint: `http://127.0.0.1:${port}`, accessKey: 'k', timeout: 300 });
    const started = Date.now();
    const e = await caught(client.listDatabases());
    expect(e.category).toBe('interrupted');
    expect(e.code).toBe('client/timeout');
    expect(Date.now() - started).toBeLessThan(1500);
    await client.close();
    for (const s of sockets) s.destroy();
    await new Promise<void>((r) => silent.close(() => r()));
  });

  test('invalid options fail at once', () => {
    expect(() => createClient({ endpoint: 'not a url' })).toThrow(/Invalid endpoint/);
    expect(() => createClient({ endpoint: 'ftp://x' })).toThrow(/http/);
    expect(() => createClient({ endpoint: 'http://x', timeout: -1 })).toThrow(/timeout/);
  });

  test('a closed client refuses calls', async () => {
    const client = createClient({ endpoint: sys.url, accessKey: sys.adminKey });
    await client.close();
    expect((await caught(client.listDatabases())).code).toBe('client/closed');
  });
});
