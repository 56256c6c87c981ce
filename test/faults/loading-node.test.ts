/**
 * A node that just joined (a replacement after kill -9, say) becomes the preferred node of some
 * databases before it has replayed their logs. Found by bench:failover on a 20,000-person
 * database: every write stalled while the new node replayed the log (~0.8 s; longer for larger
 * logs). Now a node still loading a database passes its transactions on: forwarded ones back to
 * the sender (503 `cluster/loading`, so the sender commits them), its own to the next node in
 * preference order — and it loads the database in the background.
 */
import type { Cluster, ClusterMember, ForwardResponse } from '../../services/node/cluster/cluster';
import { rendezvousRank } from '../../services/node/cluster/cluster';
import { transactOnPreferred, type TransactRequest } from '../../services/node/cluster/forwarding';

function member(id: string, self: boolean): ClusterMember {
  return { id, url: `http://${id}`, pid: 1, instanceId: undefined, self, heartbeatAt: 0 };
}

/** A cluster of `ids` as `self` sees it, recording where transactions are forwarded. */
function stubCluster(self: string, ids: string[], forwarded: string[]): Cluster {
  const members = ids.map((id) => member(id, id === self));
  return {
    nodeId: self,
    liveNodes: () => members,
    preferredNode: (db: string) => members.find((m) => m.id === rendezvousRank(ids, db)[0])!,
    forward: async (url: string): Promise<ForwardResponse> => {
      forwarded.push(url);
      return { status: 200, headers: { 'content-type': 'application/json' }, body: Buffer.from('{"t":1}') };
    },
  } as unknown as Cluster;
}

function request(db: string, loaded: boolean, headers: Record<string, string> = {}): TransactRequest & { loads: number; commits: number } {
  const r = {
    dbName: db,
    path: `/v1/databases/${db}/transact`,
    body: { txData: '[]' },
    headers,
    loads: 0,
    commits: 0,
    commitLocally: async () => { r.commits++; return { t: 1, duplicate: false }; },
    loaded: () => { if (!loaded) r.loads++; return loaded; },
  };
  return r;
}

const ids = ['node-1', 'node-2', 'node-3'];
const db = 'orders';
const [first, second] = rendezvousRank(ids, db) as [string, string];

test('the preferred node commits when it has the database loaded', async () => {
  const forwarded: string[] = [];
  const req = request(db, true);
  const out = await transactOnPreferred(stubCluster(first, ids, forwarded), req);
  expect(out).toMatchObject({ kind: 'local', reason: 'preferred' });
  expect(forwarded).toEqual([]);
});

test('a preferred node still loading the database passes the transaction to the next node in preference order', async () => {
  const forwarded: string[] = [];
  const req = request(db, false);
  const out = await transactOnPreferred(stubCluster(first, ids, forwarded), req);
  expect(out).toMatchObject({ kind: 'forwarded', node: second });
  expect(forwarded).toEqual([`http://${second}`]);
  expect(req.commits).toBe(0);
  expect(req.loads).toBe(1);
});

test('a node still loading the database sends a forwarded transaction back (unavailable: the sender commits it)', async () => {
  const req = request(db, false, { 'x-datalith-forwarded-by': second });
  await expect(transactOnPreferred(stubCluster(first, ids, []), req)).rejects.toMatchObject({ category: 'unavailable', code: 'cluster/loading' });
  expect(req.commits).toBe(0);
  expect(req.loads).toBe(1);
  const loaded = request(db, true, { 'x-datalith-forwarded-by': second });
  expect(await transactOnPreferred(stubCluster(first, ids, []), loaded)).toMatchObject({ kind: 'local', reason: 'already-forwarded' });
});

test('alone, a node commits whether loaded or not', async () => {
  const req = request(db, false);
  expect(await transactOnPreferred(stubCluster('node-1', ['node-1'], []), req)).toMatchObject({ kind: 'local', reason: 'single-node' });
});
