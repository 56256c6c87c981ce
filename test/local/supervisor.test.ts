/**
 * The supervisor with the load balancer and real (fake-node) processes: a node that dies, hangs
 * (SIGSTOP) or fails its health checks is replaced — same id, same port — while requests through
 * the load balancer keep succeeding; stop() leaves no process behind.
 */
import { startLoadBalancer, type LoadBalancer } from '../../services/local/load-balancer';
import { pidAlive } from '../../services/local/process';
import { Supervisor, type ReplacedEvent } from '../../services/local/supervisor';
import { alivePids, healthChange, HttpClient, load, spawnFake, testClock, waitFor } from './helpers';

describe('supervisor', () => {
  let lb: LoadBalancer;
  let sup: Supervisor;
  const http = new HttpClient();
  const replaced: ReplacedEvent[] = [];
  const clock = testClock();
  const REPLACE_AFTER_MS = 2000;

  beforeAll(async () => {
    lb = await startLoadBalancer({});
    sup = new Supervisor({ targets: lb, spawnNode: ({ id, port }) => spawnFake(id, port), stopGraceMs: 2000, replaceAfterMs: REPLACE_AFTER_MS, now: clock.now });
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
    await waitFor('replies from the node to kill', () => l.replies.some((r) => r.json['pid'] === before.pid));
    sup.signalNode(0, 'SIGKILL');
    const after = await sup.waitReplaced(0, before.pid!, 15_000);
    await waitFor('replies from the replacement', () => l.replies.some((r) => r.json['pid'] === after.pid));
    const replies = await l.stop();
    expect(replies.filter((r) => r.status !== 200)).toEqual([]);
    expect(after.port).toBe(before.port);
    expect(after.id).toBe('node-1');
    expect(after.restarts).toBe(1);
    expect(pidAlive(before.pid!)).toBe(false);
    expect(replies.some((r) => r.json['pid'] === after.pid)).toBe(true);
    expect(replaced.at(-1)?.reason).toMatch(/exited/);
  });

  test('SIGSTOP (hung process): detected by health-check timeouts, killed and replaced once it failed them for replaceAfterMs', async () => {
    const before = sup.status()[1]!;
    const unhealthy = healthChange(lb, 'node-2', false);
    clock.freeze(Date.now()); // the supervisor sees no time pass until the test moves its clock
    try {
      sup.signalNode(1, 'SIGSTOP');
      expect((await unhealthy).reason).toMatch(/TIMEOUT/);
      // Meanwhile everything goes to node-1.
      for (let i = 0; i < 10; i++) expect((await http.get(lb.url, '/whoami')).json['nodeId']).toBe('node-1');
      const failingSince = lb.backend('node-2')!.failingSince!;
      // Just short of replaceAfterMs: two monitor rounds later, still the same process.
      clock.freeze(failingSince + REPLACE_AFTER_MS - 1);
      await clock.nextRead();
      await clock.nextRead();
      expect(sup.status()[1]).toMatchObject({ pid: before.pid, state: 'running', restarts: before.restarts });
      clock.freeze(failingSince + REPLACE_AFTER_MS);
      const after = await sup.waitReplaced(1, before.pid!, 15_000);
      expect(pidAlive(before.pid!)).toBe(false);
      expect(replaced.at(-1)?.reason).toMatch(new RegExp(`^failed health checks for ${REPLACE_AFTER_MS} ms \\(UND_ERR_\\w*TIMEOUT`));
      expect(after.port).toBe(before.port);
    } finally {
      clock.freeze(undefined);
    }
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
