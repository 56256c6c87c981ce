/**
 * `startLocalCluster` and `npm start` with the real node processes: 2 nodes behind the load
 * balancer on a random port with a temporary data directory; kill -9 of a node under a write and
 * read load (the supervisor replaces it, requests keep succeeding, no transaction is committed
 * twice); Ctrl-C / SIGTERM / death of the parent leave no process behind.
 */
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { startLocalCluster, type LocalCluster } from '../../services/local/main';
import { createS3Client, SegmentStore } from '../../services/node/storage';
import { alivePids, HttpClient, load, waitFor, type Reply } from './helpers';

const tmp = (): string => fs.mkdtempSync(path.join(os.tmpdir(), 'datalith-local-'));
const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
});

describe('startLocalCluster (2 nodes)', () => {
  let cluster: LocalCluster;
  const http = new HttpClient();
  let auth: Record<string, string>;

  beforeAll(async () => {
    const dataDir = tmp();
    dirs.push(dataDir);
    cluster = await startLocalCluster({ port: 0, dataDir, stopGraceMs: 3000 });
    auth = { authorization: `Bearer ${cluster.accessKey}` };
  });

  afterAll(async () => {
    await http.close();
    await cluster?.stop();
  });

  test('endpoint, access key file, nodes, storage', async () => {
    expect(cluster.endpoint).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(cluster.nodes.map((n) => n.id)).toEqual(['node-1', 'node-2']);
    expect(cluster.nodes.every((n) => n.healthy && n.pid !== undefined)).toBe(true);
    expect(cluster.storage.embedded).toBe(true);
    expect(cluster.storage.pid).toBeGreaterThan(0);
    const st = fs.statSync(cluster.accessKeyFile);
    expect(st.mode & 0o777).toBe(0o600);
    expect(fs.readFileSync(cluster.accessKeyFile, 'utf8').trim()).toBe(cluster.accessKey);
    expect(cluster.accessKey).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect((await http.get(cluster.endpoint, '/health')).status).toBe(200);
    expect((await http.get(cluster.endpoint, '/v1/databases')).status).toBe(403);
    expect((await http.get(cluster.endpoint, '/v1/databases', auth)).status).toBe(200);
  });

  test('segments: an embedded s3rver with its data under the data directory; the nodes created the bucket', async () => {
    expect(cluster.segments).toMatchObject({ embedded: true, bucket: 'datalith-segments', dir: path.join(cluster.dataDir, 'segments') });
    const s3 = createS3Client({ endpoint: cluster.segments.endpoint });
    try {
      const store = new SegmentStore(s3, { bucket: cluster.segments.bucket });
      await store.checkBucket();
      const key = await store.putSegment('db-local', { kind: 'leaf', index: 'eavt', history: false, datoms: [] });
      expect((await store.list('db-local')).map((o) => o.key)).toEqual([key]);
      expect(fs.readdirSync(cluster.segments.dir as string)).toContain('datalith-segments');
    } finally {
      s3.destroy();
    }
  });

  test('kill -9 of a node under load: replaced, reads keep succeeding, every write lands exactly once', async () => {
    const created = await http.call(cluster.endpoint, 'POST', '/v1/databases', JSON.stringify({ name: 'ha' }), auth);
    expect([200, 201]).toContain(created.status);
    const schema = await http.call(cluster.endpoint, 'POST', '/v1/databases/ha/transact', JSON.stringify({
      txData: '[{:db/ident :k/n :db/valueType :db.type/long :db/cardinality :db.cardinality/one}]',
    }), auth);
    expect(schema.status).toBe(200);
    const acked = new Map<string, number>();
    /** A write retried with its transaction id until acknowledged (what the SDK does). */
    const write = async (i: number): Promise<Reply> => {
      const txId = randomUUID();
      const body = JSON.stringify({ txData: `[[:db/add "e" :k/n ${i}]]`, txId });
      for (let attempt = 0; ; attempt++) {
        const r = await http.call(cluster.endpoint, 'POST', '/v1/databases/ha/transact', body, auth);
        if (r.status === 200) {
          acked.set(txId, r.json['t'] as number);
          return r;
        }
        if (r.status !== 503 || attempt > 20) return r;
        await new Promise((res) => setTimeout(res, 50));
      }
    };
    const l = load(4, (i) => (Math.floor(i / 1_000_000) < 2 ? write(i) : http.get(cluster.endpoint, '/v1/databases/ha', auth)));
    await new Promise((r) => setTimeout(r, 500));
    const victim = await cluster.killNode(0);
    const replacement = await cluster.waitReplaced(0, victim, 20_000);
    await new Promise((r) => setTimeout(r, 300));
    const replies = await l.stop();
    expect(replacement.pid).not.toBe(victim);
    expect(replies.filter((r) => r.status !== 200)).toEqual([]);
    expect(acked.size).toBeGreaterThan(5);
    // Every acknowledged transaction committed exactly once: distinct t's, no gap, nothing beyond.
    const base = schema.json['t'] as number;
    const ts = [...acked.values()].sort((a, b) => a - b);
    expect(ts).toEqual(ts.map((_, i) => base + 1 + i));
    const info = await http.get(cluster.endpoint, `/v1/databases/ha?basisT=${ts.at(-1)}`, auth);
    expect(info.json['t']).toBe(base + acked.size);
  });

  test('stop(): no process left', async () => {
    const pids = cluster.allPids();
    expect(pids.length).toBeGreaterThanOrEqual(4);
    await cluster.stop();
    expect(alivePids(pids)).toEqual([]);
    expect(cluster.livePids()).toEqual([]);
  });
});

describe('npm start (the CLI process)', () => {
  interface Ready { endpoint: string; accessKeyFile: string; storagePid: number; pid: number; nodes: Array<{ id: string; pid: number }> }

  function startCli(dataDir: string, extra: string[] = []): { ready: Promise<Ready>; exited: Promise<number | null>; pid: number } {
    // What `npm start` runs (tsx), without npm in between so the signals reach the CLI directly.
    const child = spawn(process.execPath, ['--require', require.resolve('tsx/cjs'), path.join(__dirname, '../../services/local/main.ts'),
      '--port', '0', '--data-dir', dataDir, '--json', ...extra], { stdio: ['ignore', 'pipe', 'pipe'] });
    let err = '';
    child.stderr.setEncoding('utf8').on('data', (s: string) => { err += s; });
    const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
    const ready = new Promise<Ready>((resolve, reject) => {
      let buf = '';
      child.stdout.setEncoding('utf8').on('data', (s: string) => {
        buf += s;
        const line = buf.split('\n').find((l) => l.startsWith('{"event":"ready"'));
        if (line !== undefined) resolve(JSON.parse(line) as Ready);
      });
      void exited.then((code) => reject(new Error(`CLI exited ${code}: ${err}`)));
    });
    return { ready, exited, pid: child.pid as number };
  }

  test('--topology solo; SIGINT stops every process; the access key is reused', async () => {
    const dataDir = tmp();
    dirs.push(dataDir);
    const cli = startCli(dataDir, ['--topology', 'solo']);
    const ready = await cli.ready;
    expect(ready.nodes).toHaveLength(1);
    const key = fs.readFileSync(ready.accessKeyFile, 'utf8');
    const http = new HttpClient();
    expect((await http.get(ready.endpoint, '/health')).status).toBe(200);
    await http.close();
    const pids = [ready.storagePid, ...ready.nodes.map((n) => n.pid)];
    expect(alivePids(pids)).toHaveLength(2);
    process.kill(cli.pid, 'SIGINT');
    expect(await cli.exited).toBe(0);
    expect(alivePids(pids)).toEqual([]);

    // Second start on the same directory: same key; then the parent dies by SIGKILL.
    const again = startCli(dataDir, ['--nodes', '1']);
    const ready2 = await again.ready;
    expect(fs.readFileSync(ready2.accessKeyFile, 'utf8')).toBe(key);
    const pids2 = [ready2.storagePid, ...ready2.nodes.map((n) => n.pid)];
    process.kill(again.pid, 'SIGKILL');
    await again.exited;
    await waitFor('children of a killed parent to exit', () => alivePids(pids2).length === 0, 10_000);
  });
});

describe('embedded storage', () => {
  test('a storage process that dies is restarted on the same port; kill() keeps it down until restart()', async () => {
    const dataDir = tmp();
    dirs.push(dataDir);
    const events: string[] = [];
    const detail: string[] = [];
    const t0 = Date.now();
    const c = await startLocalCluster({ port: 0, dataDir, topology: 'solo', stopGraceMs: 2000, log: (e) => {
      events.push(String(e['event']));
      detail.push(`${Date.now() - t0} ${JSON.stringify(e).slice(0, 300)}`);
    } });
    const http = new HttpClient();
    const auth = { authorization: `Bearer ${c.accessKey}` };
    try {
      expect((await http.call(c.endpoint, 'POST', '/v1/databases', JSON.stringify({ name: 'keep' }), auth)).status).toBe(201);
      const first = c.storage.pid!;
      process.kill(first, 'SIGKILL');
      await waitFor('storage restarted', () => c.storage.pid !== undefined && c.storage.pid !== first, 15_000);
      expect(events).toContain('storage-failed');
      expect(c.storage.endpoint).toBe(c.storage.nodeEndpoint);
      let last: unknown;
      await waitFor('databases readable again', async () => {
        const r = await http.get(c.endpoint, '/v1/databases', auth);
        last = { at: Date.now() - t0, status: r.status, json: r.json };
        return r.status === 200;
      }, 10_000).catch((e: Error) => {
        throw new Error(`${e.message}; last ${JSON.stringify(last)}; events:\n${detail.join('\n')}`);
      });
      expect((await http.get(c.endpoint, '/v1/databases', auth)).json['databases']).toEqual(['keep']);

      // A second cluster on the same data directory is refused, cleanly.
      const second = await startLocalCluster({ port: 0, dataDir, topology: 'solo', childLogs: 'none' }).catch((e: unknown) => e);
      expect(second).toMatchObject({ category: 'conflict', code: 'storage/data-dir-locked' });
      expect((second as Error).message).toMatch(/in use by process \d+/);

      await c.storage.kill();
      await new Promise((r) => setTimeout(r, 300));
      expect(c.storage.pid).toBeUndefined();
      await c.storage.restart();
      expect(c.storage.pid).toBeGreaterThan(0);
    } finally {
      await http.close();
      await c.stop();
    }
    expect(c.livePids()).toEqual([]);
  });
});
