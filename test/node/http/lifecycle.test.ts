/**
 * A node's life: graceful shutdown (fail /health, drain in-flight requests, close) and the
 * process entry point (configuration from the environment, the ready line, SIGTERM).
 */
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as os from 'node:os';
import * as path from 'node:path';
import { randomUUID } from 'node:crypto';
import { loadConfig } from '../../../services/node/config';
import { startDynaliteInProcess, type DynaliteHandle } from '../../../services/local/dynalite';
import { http as rawHttp, startSystem, until, type TestSystem } from './harness';

const ROOT = path.resolve(__dirname, '../../..');

/** A request whose body is still arriving: in flight until `finish`. */
function slowRequest(url: string, key: string, body: string): { finish(): Promise<{ status: number; connection: string | undefined; body: string }> } {
  const u = new URL(url);
  let done: (r: { status: number; connection: string | undefined; body: string }) => void = () => {};
  const result = new Promise<{ status: number; connection: string | undefined; body: string }>((r) => { done = r; });
  const req = http.request({
    host: u.hostname, port: u.port, path: u.pathname, method: 'POST',
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(body)) },
  }, (res) => {
    let text = '';
    res.setEncoding('utf8');
    res.on('data', (c: string) => { text += c; });
    res.on('end', () => done({ status: res.statusCode ?? 0, connection: res.headers.connection, body: text }));
  });
  req.on('error', (e) => done({ status: -1, connection: undefined, body: e.message }));
  req.write(body.slice(0, 1));
  return {
    finish() {
      req.end(body.slice(1));
      return result;
    },
  };
}

describe('graceful shutdown', () => {
  let sys: TestSystem;
  beforeAll(async () => {
    sys = await startSystem();
  });
  afterAll(async () => {
    await sys.close();
  });

  test('fails /health, finishes in-flight requests, then closes', async () => {
    // The drain delay is held by the test, so /health is asked while the node still accepts.
    let delayStarted: (ms: number) => void = () => {};
    const delaying = new Promise<number>((r) => { delayStarted = r; });
    let endDelay: () => void = () => {};
    const node = await sys.startNode({ nodeId: 'leaving', drainDelayMs: 400 }, {
      drainDelay: (ms) => new Promise<void>((r) => { endDelay = r; delayStarted(ms); }),
    });
    // Resolves when close has stopped accepting and waits for the requests in flight.
    const whenIdle = node.lifecycle.whenIdle.bind(node.lifecycle);
    const waitingForIdle = new Promise<void>((r) => {
      node.lifecycle.whenIdle = (timeoutMs) => { r(); return whenIdle(timeoutMs); };
    });
    const name = `drain-${randomUUID().slice(0, 8)}`;
    expect((await rawHttp(`${node.url}/v1/databases`, { key: sys.adminKey, body: { name } })).status).toBe(201);
    const inflight = slowRequest(`${node.url}/v1/databases/${name}/transact`, sys.adminKey, JSON.stringify({ txData: '[]' }));
    await until('the slow request is in flight', () => node.lifecycle.inFlight === 1);

    let closed = false;
    const closing = node.close().then(() => { closed = true; });
    expect(await delaying).toBe(400);
    const health = await rawHttp(`${node.url}/health`);
    expect(health.status).toBe(503);
    expect(health.body).toEqual({ status: 'draining', nodeId: 'leaving' });

    endDelay();
    await waitingForIdle;
    expect(closed).toBe(false); // still draining the request in flight
    const answer = await inflight.finish();
    expect(answer.status).toBe(200);
    expect(answer.connection).toBe('close');
    expect(JSON.parse(answer.body)).toMatchObject({ t: 1 });
    await closing;
    expect(closed).toBe(true);
    const after = await rawHttp(`${node.url}/health`).then(() => 'answered', () => 'refused');
    expect(after).toBe('refused');
    // The transaction answered during the drain is durable: another node sees it.
    expect((await rawHttp(`${sys.url}/v1/databases/${name}`, { key: sys.adminKey })).body.t).toBe(1);
  });

  test('close is idempotent', async () => {
    const node = await sys.startNode({ nodeId: 'twice' });
    await Promise.all([node.close(), node.close()]);
    await node.close();
  });
});

describe('configuration from the environment', () => {
  test('defaults and overrides', () => {
    const c = loadConfig({ DATALITH_ADMIN_KEY: 'k' });
    expect(c).toMatchObject({ port: 8080, host: '0.0.0.0', createTables: false, adminKey: 'k', pollIntervalMs: 1000 });
    expect(c.limits).toMatchObject({ maxBodyBytes: 10 * 1024 * 1024, defaultQueryTimeoutMs: 30_000, maxQueryTimeoutMs: 120_000, maxPendingRequests: 512 });
    expect(c.storageEndpoint).toBeUndefined();
    expect(c).toMatchObject({ storageConnectTimeoutMs: 1_000, storageRequestTimeoutMs: 3_000 });
    expect(loadConfig({ DATALITH_ADMIN_KEY: 'k', DATALITH_STORAGE_CONNECT_TIMEOUT_MS: '250', DATALITH_STORAGE_REQUEST_TIMEOUT_MS: '800' }))
      .toMatchObject({ storageConnectTimeoutMs: 250, storageRequestTimeoutMs: 800 });
    expect(() => loadConfig({ DATALITH_ADMIN_KEY: 'k', DATALITH_STORAGE_REQUEST_TIMEOUT_MS: '0' })).toThrow(/DATALITH_STORAGE_REQUEST_TIMEOUT_MS/);
    const d = loadConfig({
      DATALITH_ADMIN_KEY: 'k', PORT: '9000', HOST: '127.0.0.1', DATALITH_STORAGE_ENDPOINT: 'http://127.0.0.1:4567',
      DATALITH_CATALOG_TABLE: 'c', DATALITH_LOG_TABLE: 'l', DATALITH_NODE_ID: 'n1', DATALITH_CREATE_TABLES: '1', AWS_REGION: 'eu-west-1',
    });
    expect(d).toMatchObject({ port: 9000, host: '127.0.0.1', storageEndpoint: 'http://127.0.0.1:4567', catalogTable: 'c', logTable: 'l', nodeId: 'n1', createTables: true, region: 'eu-west-1' });
  });

  test('the admin key from a file; clear errors for a missing key and bad values', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'datalith-key-'));
    try {
      const file = path.join(dir, 'access-key');
      fs.writeFileSync(file, 'from-file\n');
      expect(loadConfig({ DATALITH_ACCESS_KEY_FILE: file }).adminKey).toBe('from-file');
      expect(() => loadConfig({ DATALITH_ACCESS_KEY_FILE: path.join(dir, 'missing') })).toThrow(/cannot read/);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
    expect(() => loadConfig({})).toThrow(/DATALITH_ADMIN_KEY/);
    expect(() => loadConfig({ DATALITH_ADMIN_KEY: 'k', PORT: 'eighty' })).toThrow(/PORT/);
    expect(() => loadConfig({ DATALITH_ADMIN_KEY: 'k', DATALITH_CREATE_TABLES: 'maybe' })).toThrow(/DATALITH_CREATE_TABLES/);
  });
});

describe('the node process', () => {
  let storage: DynaliteHandle;
  beforeAll(async () => {
    storage = await startDynaliteInProcess();
  });
  afterAll(async () => {
    await storage.close();
  });

  test('prints the ready line, serves, and exits 0 on SIGTERM', async () => {
    const key = `k-${randomUUID()}`;
    const child = spawn(process.execPath, ['--require', require.resolve('tsx/cjs'), path.join(ROOT, 'services/node/main.ts')], {
      cwd: ROOT,
      env: {
        ...process.env,
        PORT: '0',
        HOST: '127.0.0.1',
        DATALITH_STORAGE_ENDPOINT: storage.endpoint,
        DATALITH_CREATE_TABLES: '1',
        DATALITH_CATALOG_TABLE: `catalog-${randomUUID().slice(0, 8)}`,
        DATALITH_LOG_TABLE: `log-${randomUUID().slice(0, 8)}`,
        DATALITH_NODE_ID: 'proc-node',
        DATALITH_ADMIN_KEY: key,
        DATALITH_LOG_LEVEL: 'warn',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (s: string) => { stderr += s; });
    const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
    const ready = await new Promise<{ event: string; port: number; nodeId: string }>((resolve, reject) => {
      let buf = '';
      const timer = setTimeout(() => reject(new Error(`no ready line; stderr: ${stderr}`)), 30_000);
      child.stdout.setEncoding('utf8').on('data', (s: string) => {
        buf += s;
        const line = buf.split('\n').find((l) => l.includes('"listening"'));
        if (line) {
          clearTimeout(timer);
          resolve(JSON.parse(line));
        }
      });
      void exited.then((code) => reject(new Error(`exited ${code}; stderr: ${stderr}`)));
    });
    expect(ready).toMatchObject({ event: 'listening', nodeId: 'proc-node' });
    const base = `http://127.0.0.1:${ready.port}`;
    expect((await rawHttp(`${base}/health`)).body).toEqual({ status: 'ok', nodeId: 'proc-node' });
    expect((await rawHttp(`${base}/v1/databases`, { key, body: { name: 'from-process' } })).status).toBe(201);
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
  });

  test('refuses to start without an admin key, saying why', async () => {
    const env: NodeJS.ProcessEnv = { ...process.env, PORT: '0', DATALITH_STORAGE_ENDPOINT: storage.endpoint };
    delete env.DATALITH_ADMIN_KEY;
    delete env.DATALITH_ACCESS_KEY_FILE;
    delete env.DATALITH_ADMIN_KEY_SECRET_ARN;
    const child = spawn(process.execPath, ['--require', require.resolve('tsx/cjs'), path.join(ROOT, 'services/node/main.ts')], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (s: string) => { stderr += s; });
    const code = await new Promise<number | null>((r) => child.once('exit', (c) => r(c)));
    expect(code).toBe(1);
    expect(stderr).toMatch(/no admin access key/);
  });
});
