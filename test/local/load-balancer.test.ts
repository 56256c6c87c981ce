/**
 * The load balancer against real backend processes (fake nodes): routing only to healthy nodes,
 * balancing, retries on connection failure, 503 when nothing is healthy, faithful proxying.
 */
import { createHash } from 'node:crypto';
import { startLoadBalancer, type LoadBalancer } from '../../services/local/load-balancer';
import type { ChildHandle } from '../../services/local/process';
import type { NodeProcessInfo } from '../../services/local/supervisor';
import { alivePids, healthChange, HttpClient, load, spawnFake, waitFor } from './helpers';

describe('load balancer', () => {
  let fakes: Array<ChildHandle<NodeProcessInfo>> = [];
  let lb: LoadBalancer;
  const http = new HttpClient();
  const url = (i: number): string => `http://127.0.0.1:${fakes[i]!.info.port}`;

  beforeAll(async () => {
    fakes = await Promise.all(['a', 'b', 'c'].map((id) => spawnFake(id)));
    lb = await startLoadBalancer({ backends: fakes.map((f, i) => ({ id: ['a', 'b', 'c'][i]!, url: `http://127.0.0.1:${f.info.port}` })) });
    await lb.waitHealthy(3, 10_000);
  });

  afterAll(async () => {
    await http.close();
    await lb.close(1000);
    await Promise.all(fakes.map((f) => f.kill()));
    expect(alivePids(fakes.map((f) => f.pid))).toEqual([]);
  });

  test('spreads requests over every healthy node; least outstanding for concurrent ones', async () => {
    const seen = new Map<string, number>();
    for (let i = 0; i < 30; i++) {
      const r = await http.get(lb.url, '/whoami');
      expect(r.status).toBe(200);
      seen.set(String(r.json['nodeId']), (seen.get(String(r.json['nodeId'])) ?? 0) + 1);
    }
    expect([...seen.keys()].sort()).toEqual(['a', 'b', 'c']);
    for (const n of seen.values()) expect(n).toBeGreaterThanOrEqual(5);
    // Three slow requests at once land on three different nodes.
    const slow = await Promise.all([0, 1, 2].map(() => http.get(lb.url, '/slow?ms=300')));
    expect(new Set(slow.map((r) => r.json['nodeId'])).size).toBe(3);
  });

  test('proxies faithfully: status, headers, large bodies, authorization', async () => {
    const notFound = await http.get(lb.url, '/nope');
    expect(notFound.status).toBe(404);
    expect(notFound.json['category']).toBe('not-found');
    expect(typeof notFound.headers['x-node-id']).toBe('string');
    const big = Buffer.alloc(1024 * 1024, 'x');
    const echo = await http.call(lb.url, 'POST', '/echo', big, { authorization: 'Bearer k' });
    expect(echo.status).toBe(200);
    expect(echo.json['bytes']).toBe(big.length);
    expect(echo.json['sha']).toBe(createHash('sha256').update(big).digest('hex').slice(0, 16));
    expect(echo.json['auth']).toBe('Bearer k');
    expect((await http.get(lb.url, '/status/201')).status).toBe(201);
  });

  test('a node failing /health stops getting traffic after unhealthyThreshold (2) failed checks, and gets it back after healthyThreshold (2) passed ones', async () => {
    // Its own node and load balancer, whose health-check rounds the test runs (checkNow): at the
    // default interval (250 ms) two rounds take half a second.
    const d = await spawnFake('d');
    const manual = await startLoadBalancer({ backends: [{ id: 'd', url: `http://127.0.0.1:${d.info.port}` }, { id: 'b', url: url(1) }], healthCheck: { intervalMs: 3_600_000 } });
    try {
      await manual.waitHealthy(2, 10_000);
      const unhealthy = healthChange(manual, 'd', false);
      await http.call(`http://127.0.0.1:${d.info.port}`, 'POST', '/admin/health/fail', '');
      await manual.checkNow();
      expect(manual.backend('d')?.healthy).toBe(true); // one failed check is not enough
      await manual.checkNow();
      expect(await unhealthy).toMatchObject({ id: 'd', healthy: false, reason: 'health returned 503' });
      for (let i = 0; i < 20; i++) expect((await http.get(manual.url, '/whoami')).json['nodeId']).toBe('b');
      await http.call(`http://127.0.0.1:${d.info.port}`, 'POST', '/admin/health/ok', '');
      await manual.checkNow();
      expect(manual.backend('d')?.healthy).toBe(false); // one passed check is not enough
      await manual.checkNow();
      expect(manual.backend('d')?.healthy).toBe(true);
      const ids = new Set<unknown>();
      for (let i = 0; i < 12; i++) ids.add((await http.get(manual.url, '/whoami')).json['nodeId']);
      expect(ids.has('d')).toBe(true);
    } finally {
      await manual.close(500);
      await d.kill();
    }
    expect(alivePids([d.pid])).toEqual([]);
  });

  test('a node blocking its event loop for 1.5 s while serving a request is busy, not unhealthy', async () => {
    let everUnhealthy = false;
    const watch = setInterval(() => {
      if (lb.backends().some((b) => !b.healthy)) everUnhealthy = true;
    }, 20);
    const r = await http.get(lb.url, '/block?ms=1500');
    clearInterval(watch);
    expect(r.status).toBe(200);
    expect(everUnhealthy).toBe(false);
  });

  test('kill -9 of a node under load: GETs all succeed (retried elsewhere); a POST in flight at the kill may get 503 interrupted', async () => {
    const l = load(8, (i) => (Math.floor(i / 1_000_000) % 2 === 0
      ? http.get(lb.url, '/whoami')
      : http.call(lb.url, 'POST', '/echo', JSON.stringify({ i }))));
    await waitFor('load on the node to kill', () => l.replies.some((r) => r.json['nodeId'] === 'b'));
    await fakes[1]!.kill();
    await waitFor('the killed node taken out', () => lb.backend('b')?.healthy === false);
    const atDetection = l.replies.length;
    await waitFor('load served by the others meanwhile', () => l.replies.length >= atDetection + 50);
    const replies = await l.stop();
    expect(replies.length).toBeGreaterThan(50);
    const failed = replies.filter((r) => r.status !== 200);
    // Only requests the killed node had already received can fail, and only non-idempotent ones
    // (the SDK retries those with their transaction id): at most one per worker.
    expect(failed.length).toBeLessThanOrEqual(4);
    for (const f of failed) {
      expect(f.status).toBe(503);
      expect(f.json['category']).toBe('interrupted');
    }
    expect(lb.backend('b')?.healthy).toBe(false);
  });

  test('no healthy node: 503 {category: unavailable}', async () => {
    await Promise.all([fakes[0]!.kill(), fakes[2]!.kill()]);
    const r = await http.get(lb.url, '/whoami');
    expect(r.status).toBe(503);
    expect(r.json['category']).toBe('unavailable');
    expect(typeof r.json['message']).toBe('string');
    const p = await http.call(lb.url, 'POST', '/echo', '{}');
    expect(p.status).toBe(503);
    expect(p.json['category']).toBe('unavailable');
  });
});
