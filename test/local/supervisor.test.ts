/**
 * The supervisor with the load balancer and real (fake-node) processes: a node that dies, hangs
 * (SIGSTOP) or fails its health checks is replaced — same id, same port — while requests through
 * the load balancer keep succeeding; stop() leaves no process behind.
 */
import { startLoadBalancer, type LoadBalancer } from '../../services/local/load-balancer';
import { pidAlive } from '../../services/local/process';
import { Supervisor, type ReplacedEvent } from '../../services/local/supervisor';
import { alivePids, HttpClient, load, spawnFake, waitFor } from './helpers';

describe('supervisor', () => {
  let lb: LoadBalancer;
  let sup: Supervisor;
  const http = new HttpClient();
  const replaced: ReplacedEvent[] = [];

  beforeAll(async () => {
    lb = await startLoadBalancer({});
    sup = new Supervisor({ targets: lb, spawnNode: ({ id, port }) => spawnFake(id, port), stopGraceMs: 2000 });
    sup.on('replaced', (e: ReplacedEvent) => replaced.push(e));
    await sup.start([{ id: 'node-1' }, { id: 'node-2' }]);
    await lb.waitHealthy(2, 10_000);
  });

  afterAll(async () => {
    await http.close();
    await lb.close(500);
  });

  test('kill -9: replaced on the same port, requests keep succeeding', async () => {
    const before = sup.status()[0]!;
    const l = load(4, () => http.get(lb.url, '/whoami'));
    await new Promise((r) => setTimeout(r, 200));
    const t0 = Date.now();
    sup.signalNode(0, 'SIGKILL');
    const after = await sup.waitReplaced(0, before.pid!, 15_000);
    const tookMs = Date.now() - t0;
    await new Promise((r) => setTimeout(r, 200));
    const replies = await l.stop();
    expect(replies.filter((r) => r.status !== 200)).toEqual([]);
    expect(after.port).toBe(before.port);
    expect(after.id).toBe('node-1');
    expect(after.restarts).toBe(1);
    expect(pidAlive(before.pid!)).toBe(false);
    expect(replies.some((r) => r.json['pid'] === after.pid)).toBe(true);
    expect(replaced.at(-1)?.reason).toMatch(/exited/);
    expect(tookMs).toBeLessThan(10_000);
  });

  test('SIGSTOP (hung process): detected by health checks, killed and replaced in a few seconds', async () => {
    const before = sup.status()[1]!;
    const t0 = Date.now();
    sup.signalNode(1, 'SIGSTOP');
    await waitFor('node-2 unhealthy', () => lb.backend('node-2')?.healthy === false, 3000);
    const detectedMs = Date.now() - t0;
    expect(detectedMs).toBeLessThan(1500);
    // Meanwhile everything goes to node-1.
    for (let i = 0; i < 10; i++) expect((await http.get(lb.url, '/whoami')).json['nodeId']).toBe('node-1');
    const after = await sup.waitReplaced(1, before.pid!, 15_000);
    const replacedMs = Date.now() - t0;
    expect(replacedMs).toBeGreaterThanOrEqual(2000);
    expect(replacedMs).toBeLessThan(10_000);
    expect(pidAlive(before.pid!)).toBe(false);
    expect(replaced.at(-1)?.reason).toMatch(/failed health checks/);
    expect(after.port).toBe(before.port);
  });

  test('a node reporting itself unhealthy (/health 503) is replaced', async () => {
    const before = sup.status()[0]!;
    await http.call(before.url, 'POST', '/admin/health/fail', '');
    await sup.waitReplaced(0, before.pid!, 15_000);
    expect(replaced.at(-1)?.reason).toMatch(/health returned 503/);
  });

  test('stop(): every process it ever started is gone', async () => {
    const all = sup.status().flatMap((s) => s.pids);
    expect(all.length).toBeGreaterThanOrEqual(5);
    await sup.stop(2000);
    expect(alivePids(all)).toEqual([]);
    expect(lb.backends()).toEqual([]);
  });
});
