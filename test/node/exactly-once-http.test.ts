/**
 * Exactly once through the public SDK, as a user meets it: two clustered nodes, callers on both
 * sending the same caller-chosen txId at the same moment while other clients keep the database
 * busy. One commit per id, one answer per id; reserved ids are refused over HTTP.
 */
import { randomUUID } from 'node:crypto';
import { createClient, type Connection } from '../../services';
import { startSystem, type TestSystem } from './http/harness';

let sys: TestSystem;
beforeAll(async () => {
  sys = await startSystem({ nodes: 2, cluster: true });
  for (let i = 0; ; i++) {
    const views = await Promise.all(sys.nodes.map(async (n) => (await (await fetch(`${n.url}/v1/cluster`, { headers: { authorization: `Bearer ${sys.adminKey}` } })).json()) as { nodes: unknown[] }));
    if (views.every((v) => v.nodes.length === 2)) break;
    if (i > 100) throw new Error('nodes did not see each other');
    await new Promise((r) => setTimeout(r, 50));
  }
});
afterAll(async () => sys.close());

const SCHEMA = '[{:db/ident :item/n :db/valueType :db.type/long :db/cardinality :db.cardinality/one}]';

async function connections(name: string): Promise<Connection[]> {
  const clients = sys.nodes.map((n) => createClient({ endpoint: n.url, accessKey: sys.adminKey }));
  await clients[0]!.createDatabase(name);
  return Promise.all(clients.map((c) => c.connect(name)));
}

test('six callers on two nodes send one txId at once among busy writers: it commits once and all are told the same t', async () => {
  const name = `once-${randomUUID().slice(0, 8)}`;
  const conns = await connections(name);
  await conns[0]!.transact(SCHEMA);
  for (let round = 0; round < 8; round++) {
    const txId = `round-${round}-${randomUUID()}`;
    const busy = Array.from({ length: 8 }, (_, i) => conns[i % 2]!.transact([{ 'item/n': 1_000 + round * 10 + i }]));
    const copies = Array.from({ length: 6 }, (_, i) => conns[i % 2]!.transact([{ 'item/n': round }], { txId }));
    const [results] = await Promise.all([Promise.all(copies), Promise.all(busy)]);
    expect(new Set(results.map((r) => r.dbAfter.t)).size).toBe(1);
    const db = await conns[1]!.sync();
    const commits = await db.q('[:find ?tx :in $ ?id :where [?tx :db/txId ?id]]', txId);
    expect(commits).toHaveLength(1);
  }
  const db = await conns[0]!.sync();
  expect(await db.q('[:find (count ?e) . :where [?e :item/n ?n] [(< ?n 8)]]')).toBe(8);
});

test('a reserved txId is refused over HTTP as incorrect and nothing is written', async () => {
  const name = `reserved-${randomUUID().slice(0, 8)}`;
  const conns = await connections(name);
  await conns[0]!.transact(SCHEMA);
  const before = (await conns[0]!.sync()).t;
  for (const conn of conns) {
    await expect(conn.transact([{ 'item/n': 1 }], { txId: 'datalith/database-deleted' })).rejects.toMatchObject({ category: 'incorrect', code: 'db.error/reserved-tx-id' });
  }
  expect((await conns[1]!.sync()).t).toBe(before);
  // A restart of every node still finds the database and its writes.
  const res = await fetch(`${sys.url}/v1/databases/${name}`, { headers: { authorization: `Bearer ${sys.adminKey}` } });
  expect(res.status).toBe(200);
});

test('the id a transaction was committed under is part of it: :db/txId in its data, queryable, and a retry answers it', async () => {
  const name = `txid-${randomUUID().slice(0, 8)}`;
  const [conn] = await connections(name);
  await conn!.transact(SCHEMA);
  const r = await conn!.transact([{ 'db/id': 'x', 'item/n': 5 }], { txId: 'order-42' });
  expect(r.txData.filter((d) => d.a === ':db/txId').map((d) => d.v)).toEqual(['order-42']);
  const again = await conn!.transact([{ 'db/id': 'x', 'item/n': 5 }], { txId: 'order-42' });
  expect(again.dbAfter.t).toBe(r.dbAfter.t);
  expect(again.tempids).toEqual(r.tempids);
  const db = await conn!.db();
  expect(await db.pull('[:db/txId]', ['db/txId', 'order-42'])).toEqual({ 'db/txId': 'order-42' });
  await expect(conn!.transact('[[:db/add "datomic.tx" :db/txId "forged"]]')).rejects.toMatchObject({ category: 'incorrect', code: 'db.error/reserved-attribute' });
});
