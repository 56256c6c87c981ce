/**
 * Nodes as one system: a transaction sent to any node is committed by the database's preferred
 * node when it can be reached, by the receiving node when it cannot; commits are announced so the
 * other nodes catch up without polling.
 */
import { randomUUID } from 'node:crypto';
import { createClient } from '../../services';
import { startSystem, type TestSystem } from './http/harness';

let sys: TestSystem;
beforeAll(async () => {
  sys = await startSystem({ nodes: 2, cluster: true });
  // Both nodes see each other's heartbeat.
  const deadline = Date.now() + 5000;
  for (;;) {
    const views = await Promise.all(sys.nodes.map((n) => fetchJson(`${n.url}/v1/cluster`)));
    if (views.every((v) => (v as { nodes: unknown[] }).nodes.length === 2)) break;
    if (Date.now() > deadline) throw new Error('nodes did not see each other');
    await new Promise((r) => setTimeout(r, 100));
  }
});
afterAll(async () => sys.close());

async function fetchJson(url: string, init: { method?: string; body?: unknown } = {}): Promise<unknown> {
  const res = await fetch(url, {
    method: init.method ?? 'GET',
    headers: { authorization: `Bearer ${sys.adminKey}`, 'content-type': 'application/json' },
    ...(init.body !== undefined ? { body: JSON.stringify(init.body) } : {}),
  });
  return res.json();
}

const SCHEMA = '[{:db/ident :item/n :db/valueType :db.type/long :db/cardinality :db.cardinality/one}]';

test('every node names the same preferred node, and a transaction at the other node is committed there', async () => {
  const name = `fwd-${randomUUID().slice(0, 8)}`;
  const [a, b] = sys.nodes as [TestSystem['nodes'][0], TestSystem['nodes'][0]];
  await fetchJson(`${a.url}/v1/databases`, { method: 'POST', body: { name } });
  const infoA = (await fetchJson(`${a.url}/v1/databases/${name}`)) as { preferredNode: string };
  const infoB = (await fetchJson(`${b.url}/v1/databases/${name}`)) as { preferredNode: string };
  expect(infoA.preferredNode).toBe(infoB.preferredNode);
  const other = infoA.preferredNode === a.nodeId ? b : a;
  const res = await fetch(`${other.url}/v1/databases/${name}/transact`, {
    method: 'POST',
    headers: { authorization: `Bearer ${sys.adminKey}`, 'content-type': 'application/json' },
    body: JSON.stringify({ txData: SCHEMA }),
  });
  expect(res.status).toBe(200);
  expect(res.headers.get('x-datalith-committed-by')).toBe(infoA.preferredNode);
});

test('a commit is announced: the other node answers the new t without a basis and without polling', async () => {
  const name = `notify-${randomUUID().slice(0, 8)}`;
  const [a, b] = sys.nodes as [TestSystem['nodes'][0], TestSystem['nodes'][0]];
  const client = createClient({ endpoint: a.url, accessKey: sys.adminKey });
  await client.createDatabase(name);
  const conn = await client.connect(name);
  await conn.transact(SCHEMA);
  // b loads the database now, so it is one the notification applies to.
  await fetchJson(`${b.url}/v1/databases/${name}`);
  const r = await conn.transact([{ 'item/n': 1 }]);
  const deadline = Date.now() + 2000;
  let seen = 0;
  while (Date.now() < deadline) {
    seen = ((await fetchJson(`${b.url}/v1/databases/${name}`)) as { t: number }).t;
    if (seen >= r.dbAfter.t) break;
    await new Promise((res) => setTimeout(res, 20));
  }
  expect(seen).toBe(r.dbAfter.t);
  await client.close();
});

test('when the preferred node is gone, the receiving node commits itself, once', async () => {
  const late = await sys.startNode({ nodeId: 'late' });
  void late;
  // Find a database whose preferred node is the late node, then stop it.
  const survivors = sys.nodes.filter((n) => n.nodeId !== 'late');
  let name = '';
  const deadline = Date.now() + 5000;
  while (!name && Date.now() < deadline) {
    const candidate = `gone-${randomUUID().slice(0, 8)}`;
    await fetchJson(`${survivors[0]!.url}/v1/databases`, { method: 'POST', body: { name: candidate } });
    const info = (await fetchJson(`${survivors[0]!.url}/v1/databases/${candidate}`)) as { preferredNode: string };
    if (info.preferredNode === 'late') name = candidate;
  }
  expect(name).not.toBe('');
  await late.close();
  const client = createClient({ endpoint: survivors[0]!.url, accessKey: sys.adminKey });
  const conn = await client.connect(name);
  const r = await conn.transact(SCHEMA, { txId: `once-${name}` });
  expect(r.dbAfter.t).toBe(1);
  const again = await conn.transact(SCHEMA, { txId: `once-${name}` });
  expect(again.dbAfter.t).toBe(1);
  await client.close();
});

test('delete and create again through one node: the other node commits into the new database, never the old log', async () => {
  const name = `again-${randomUUID().slice(0, 8)}`;
  const [a, b] = sys.nodes.filter((n) => n.nodeId !== 'late') as [TestSystem['nodes'][0], TestSystem['nodes'][0]];
  const viaA = createClient({ endpoint: a.url, accessKey: sys.adminKey });
  const viaB = createClient({ endpoint: b.url, accessKey: sys.adminKey });
  await viaA.createDatabase(name);
  const connB = await viaB.connect(name);
  await connB.transact(SCHEMA);
  for (let i = 0; i < 3; i++) await connB.transact([{ 'item/n': i }]);
  expect((await connB.db()).t).toBe(4);
  await viaA.deleteDatabase(name);
  await viaA.createDatabase(name);
  // Both nodes now serve the new, empty database: its t starts again at 1.
  const fresh = await viaB.connect(name);
  const r1 = await fresh.transact(SCHEMA);
  expect(r1.dbAfter.t).toBe(1);
  const r2 = await fresh.transact([{ 'item/n': 99 }]);
  expect(r2.dbAfter.t).toBe(2);
  const onA = await (await viaA.connect(name)).sync();
  expect(onA.t).toBe(2);
  expect(await onA.q('[:find [?n ...] :where [_ :item/n ?n]]')).toEqual([99]);
  await viaA.close();
  await viaB.close();
});

test('a node that has not loaded a database passes its reads on until it has, then serves them itself', async () => {
  const name = `reads-${randomUUID().slice(0, 8)}`;
  const [a] = sys.nodes.filter((n) => n.nodeId !== 'late') as [TestSystem['nodes'][0]];
  const viaA = createClient({ endpoint: a.url, accessKey: sys.adminKey });
  await viaA.createDatabase(name);
  const conn = await viaA.connect(name);
  await conn.transact(SCHEMA);
  const last = await conn.transact(Array.from({ length: 50 }, (_, i) => ({ 'item/n': i })));
  const joined = await sys.startNode({ nodeId: `joined-${name}` });
  const deadline = Date.now() + 5000;
  while (((await fetchJson(`${joined.url}/v1/cluster`)) as { nodes: unknown[] }).nodes.length < 3) {
    if (Date.now() > deadline) throw new Error('the new node did not see the others');
    await new Promise((r) => setTimeout(r, 50));
  }
  const query = async (): Promise<{ status: number; servedBy: string | null; result: unknown }> => {
    const res = await fetch(`${joined.url}/v1/databases/${name}/q`, {
      method: 'POST',
      headers: { authorization: `Bearer ${sys.adminKey}`, 'content-type': 'application/json' },
      body: JSON.stringify({ query: '[:find (count ?e) . :where [?e :item/n]]', basisT: last.dbAfter.t }),
    });
    return { status: res.status, servedBy: res.headers.get('x-datalith-served-by'), result: ((await res.json()) as { result: unknown }).result };
  };
  const first = await query();
  expect(first.status).toBe(200);
  expect(first.result).toBe(50);
  expect(first.servedBy).not.toBeNull();
  expect(first.servedBy).not.toBe(joined.nodeId);
  // Meanwhile the new node loaded the database: it answers from now on.
  let later = await query();
  while (later.servedBy !== null && Date.now() < deadline + 5000) {
    await new Promise((r) => setTimeout(r, 20));
    later = await query();
  }
  expect(later).toEqual({ status: 200, servedBy: null, result: 50 });
  await viaA.close();
});
