/**
 * A paused preferred node (SIGSTOP, a long GC pause): its kernel still accepts connections, but
 * nothing answers. A forward to it must not wait out the forward timeout: a health check that
 * goes unanswered fails it at once, the sender commits itself, and the peer is suspected, so
 * later transactions skip it without forwarding, until it answers a health check again.
 * The forward timeout here is an hour: only the liveness check can end the wait.
 */
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Cluster, rendezvousOwner } from '../../services/node/cluster/cluster';
import { transactOnPreferred } from '../../services/node/cluster/forwarding';

/** A peer that holds every request while paused, and answers once resumed. */
async function pausablePeer(): Promise<{ url: string; paused: boolean; close(): Promise<void> }> {
  const held: Array<() => void> = [];
  const peer = {
    url: '',
    paused: false,
    close: () => new Promise<void>((r) => { server.closeAllConnections(); server.close(() => r()); }),
  };
  const server = http.createServer((req, res) => {
    const answer = (): void => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(req.url === '/health' ? '{"ok":true}' : '{"t":1}');
    };
    if (peer.paused) held.push(answer);
    else answer();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  peer.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return peer;
}

test('a forward to a paused peer fails on its unanswered health check; the peer is skipped until it answers again', async () => {
  const b = await pausablePeer();
  const store = {
    heartbeat: async () => undefined,
    removeNode: async () => undefined,
    listNodes: async () => [{ nodeId: 'b', info: { url: b.url }, at: Date.now(), expiresAt: Date.now() + 60_000 }],
  };
  const a = new Cluster({ nodeId: 'a', url: 'http://127.0.0.1:1', store, forwardTimeoutMs: 3_600_000, livenessCheckAfterMs: 20, probeTimeoutMs: 100, probeIntervalMs: 0 });
  await a.start();
  try {
    const db = Array.from({ length: 50 }, (_, i) => `db${i}`).find((n) => rendezvousOwner(['a', 'b'], n) === 'b')!;
    const local: Array<{ txId: string; inDoubt: boolean }> = [];
    const transact = (txId: string) => transactOnPreferred(a, {
      dbName: db,
      path: `/v1/databases/${db}/transact`,
      body: { txData: [], txId },
      headers: {},
      commitLocally: async (id, inDoubt) => { local.push({ txId: id, inDoubt }); return { t: 1 }; },
    });

    expect(await transact('t1')).toMatchObject({ kind: 'forwarded', node: 'b' });

    b.paused = true;
    // Forwarded, unanswered: the health check fails it, and the sender commits in doubt.
    expect(await transact('t2')).toMatchObject({ kind: 'local', reason: 'forward-failed' });
    expect(local).toEqual([{ txId: 't2', inDoubt: true }]);
    // Suspected: the next one is committed here without a forward.
    const forwards = a.stats().forwards;
    expect(await transact('t3')).toMatchObject({ kind: 'local', reason: 'preferred-unresponsive' });
    expect(local[1]).toEqual({ txId: 't3', inDoubt: false });
    expect(a.stats().forwards).toBe(forwards);

    // Resumed: a health check answers, and transactions go to the preferred node again.
    b.paused = false;
    expect(await a.probe(b.url)).toBe(true);
    expect(await transact('t4')).toMatchObject({ kind: 'forwarded', node: 'b' });
  } finally {
    await a.stop();
    await b.close();
  }
});
