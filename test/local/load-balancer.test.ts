/**
 * The load balancer against real backend processes (fake nodes): routing only to healthy nodes,
 * balancing, retries on connection failure, 503 when nothing is healthy, faithful proxying.
 */
import { createHash } from 'node:crypto';
import { startLoadBalancer, type LoadBalancer } from '../../services/local/load-balancer';
import type { ChildHandle } from '../../services/local/process';
import type { NodeProcessInfo } from '../../services/local/supervisor';
import { alivePids, HttpClient, load, spawnFake, waitFor } from './helpers';

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

  test('a node failing /health stops getting traffic within a second, and gets it back when it passes', async () => {
    await http.call(url(0), 'POST', '/admin/health/fail', '');
    const tookMs = await waitFor('a unhealthy', () => lb.backend('a')?.healthy === false, 3000);
    expect(tookMs).toBeLessThan(1500);
    for (let i = 0; i < 20; i++) expect((await http.get(lb.url, '/whoami')).json['nodeId']).not.toBe('a');
    await http.call(url(0), 'POST', '/admin/health/ok', '');
    await waitFor('a healthy', () => lb.backend('a')?.healthy === true, 3000);
    const ids = new Set<unknown>();
    for (let i = 0; i < 12; i++) ids.add((await http.get(lb.url, '/whoami')).json['nodeId']);
    expect(ids.has('a')).toBe(true);
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
    await new Promise((r) => setTimeout(r, 300));
    await fakes[1]!.kill();
    await new Promise((r) => setTimeout(r, 700));
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
