/**
 * Every limit of docs/limits.md over HTTP against running nodes: the request is refused with the
 * documented category and a message naming the limit and its value, nothing is written, and the
 * node keeps serving.
 */
import { readEdn } from '../../../services/engine/edn';
import { DEFAULT_LIMITS } from '../../../services/node/config';
import { MAX_TX_BYTES } from '../../../services/node/log/log-store';
import { MAX_PENDING_PER_DATABASE, MAX_TX_DATOMS } from '../../../services/node/log/transactor';
import pino from 'pino';
import { startNode, type RunningNode } from '../../../services/node/main';
import { startDynaliteInProcess } from '../../../services/local/dynalite';
import { http, startSystem, type TestSystem } from '../http/harness';
import { expectAnomaly, startStorageGate } from './helpers';

let sys: TestSystem;
let key: string;
/** A system whose one node has small limits (rows, bytes, pending requests, timeouts, one query worker). */
let smallSys: TestSystem;
let small: RunningNode;
const SMALL = { maxResultRows: 50, maxResponseBytes: 16 * 1024, maxPendingRequests: 3, defaultQueryTimeoutMs: 400, maxQueryTimeoutMs: 5_000 };

const SCHEMA = `[{:db/ident :item/n :db/valueType :db.type/long :db/cardinality :db.cardinality/one}
 {:db/ident :item/s :db/valueType :db.type/string :db/cardinality :db.cardinality/one}
 {:db/ident :item/d :db/valueType :db.type/double :db/cardinality :db.cardinality/one}]`;

beforeAll(async () => {
  sys = await startSystem();
  smallSys = await startSystem({ node: { nodeId: 'small', limits: SMALL, queryWorkers: 1 } });
  key = sys.adminKey;
  small = smallSys.nodes[0]!;
  for (const base of [sys.url, small.url]) {
    const k = base === sys.url ? key : smallSys.adminKey;
    expect((await http(`${base}/v1/databases`, { key: k, body: { name: 'lim' } })).status).toBe(201);
    expect((await http(db('transact', base), { key: k, body: { txData: SCHEMA } })).status).toBe(200);
    const items = Array.from({ length: 200 }, (_, i) => ({ 'item/n': i, 'item/s': i < 10 ? `${'w'.repeat(4000)}${i}` : `s${i}` }));
    expect((await http(db('transact', base), { key: k, body: { txData: items } })).status).toBe(200);
  }
});
afterAll(async () => {
  await Promise.all([sys.close(), smallSys.close()]);
});

const db = (op = '', base = sys.url) => `${base}/v1/databases/lim${op ? `/${op}` : ''}`;
const keyFor = (base: string): string => (base === sys.url ? sys.adminKey : smallSys.adminKey);
const tx = (txData: unknown, base = sys.url) => http(db('transact', base), { key: keyFor(base), body: { txData } });
const q = (body: Record<string, unknown>, base = sys.url) => http(db('q', base), { key: keyFor(base), body });
/** The latest t in the log (sync catches up first). */
const currentT = async (): Promise<number> => (await http(db('sync'), { key, body: {} })).body.t;
const CROSS = '[:find ?a ?b ?c :where [?x :item/n ?a] [?y :item/n ?b] [?z :item/n ?c]]';

describe('request size', () => {
  test(`a body above ${DEFAULT_LIMITS.maxBodyBytes} bytes is 413 incorrect naming the limit; nothing is written`, async () => {
    const t = await currentT();
    const r = await http(db('transact'), { key, rawBody: JSON.stringify({ txData: [{ 'item/s': 'x'.repeat(DEFAULT_LIMITS.maxBodyBytes) }] }) });
    expectAnomaly(r, 'incorrect', 'http/body-too-large', /exceeds the limit of 10 MB/);
    expect(r.status).toBe(413);
    expect(await currentT()).toBe(t);
  });
});

describe('transaction size', () => {
  test(`more than ${MAX_TX_DATOMS} datoms in one transaction is refused; nothing is written`, async () => {
    const t = await currentT();
    const edn = `[${Array.from({ length: MAX_TX_DATOMS + 1 }, (_, i) => `{:item/n ${i}}`).join(' ')}]`;
    const r = await tx(edn);
    expectAnomaly(r, 'incorrect', 'db.error/transaction-too-large', new RegExp(`exceeds the limit of ${MAX_TX_DATOMS}`));
    expect(await currentT()).toBe(t);
    const n = await q({ query: '[:find (count ?e) . :where [?e :item/n]]' });
    expect(n.body.result).toBe(200);
  });

  test(`a transaction above ${MAX_TX_BYTES} bytes encoded is refused; nothing is written`, async () => {
    const t = await currentT();
    const s = 'y'.repeat(4_000);
    const r = await tx(Array.from({ length: 1_100 }, (_, i) => ({ 'item/s': `${s}${i}` })));
    expectAnomaly(r, 'incorrect', 'db.error/transaction-too-large', new RegExp(`exceeds the limit of ${MAX_TX_BYTES} bytes`));
    expect(await currentT()).toBe(t);
  });

  test('strings: 4,096 characters are stored, 4,097 refused', async () => {
    expect((await tx([{ 'item/s': 'z'.repeat(4096) }])).status).toBe(200);
    const t = await currentT();
    expectAnomaly(await tx([{ 'item/s': 'z'.repeat(4097) }]), 'incorrect', 'db.error/string-too-long', /String of 4097 characters .* exceeds the limit of 4096/);
    expect(await currentT()).toBe(t);
  });
});

describe('nesting depth', () => {
  test('EDN: 100 levels are read, 101 refused with the position', async () => {
    expect(() => readEdn(`${'['.repeat(100)}${']'.repeat(100)}`)).not.toThrow();
    expectAnomaly(await tx(`${'['.repeat(101)}${']'.repeat(101)}`), 'incorrect', 'edn/too-deep', /more than 100 levels/);
    expectAnomaly(await q({ query: `[:find ?e :where ${'(not '.repeat(120)}[?e :item/n 1]${')'.repeat(120)}]` }), 'incorrect', 'edn/too-deep', /line 1, column \d+/);
  });

  test(`JSON: more than ${DEFAULT_LIMITS.maxJsonDepth} levels are refused before parsing; wire values above 200`, async () => {
    const deep = (n: number) => `{"query": ${'['.repeat(n)}${']'.repeat(n)}}`;
    expectAnomaly(await http(db('q'), { key, rawBody: deep(DEFAULT_LIMITS.maxJsonDepth) }), 'incorrect', 'http/too-deep', new RegExp(`more than ${DEFAULT_LIMITS.maxJsonDepth} levels`));
    expectAnomaly(await http(db('q'), { key, rawBody: deep(100_000) }), 'incorrect', 'http/too-deep');
    expectAnomaly(await http(db('q'), { key, rawBody: deep(210) }), 'incorrect', 'wire/too-deep', /200 levels/);
    // Brackets inside strings do not count.
    expect((await http(db('q'), { key, rawBody: JSON.stringify({ query: '[:find ?e . :where [?e :item/s "[[[[["]]', }) })).status).toBe(200);
  });
});

describe('result size', () => {
  test(`query answers above the row limit are refused, not truncated; :limit pages`, async () => {
    const r = await q({ query: '[:find ?e :where [?e :item/n]]' }, small.url);
    expectAnomaly(r, 'incorrect', 'query/result-too-large', new RegExp(`exceeds the limit of ${SMALL.maxResultRows} rows \\(it has 20\\d\\)`));
    expect(r.body.message).toMatch(/:offset and :limit/);
    const page = await q({ query: '[:find ?e :where [?e :item/n]]', limit: SMALL.maxResultRows }, small.url);
    expect(page.body.result).toHaveLength(SMALL.maxResultRows);
    expect((await q({ query: '[:find (count ?e) . :where [?e :item/n]]' }, small.url)).body.result).toBeGreaterThanOrEqual(200);
  });

  test('datoms, index-range, tx-range and pull-many above the row limit are refused', async () => {
    expectAnomaly(await http(db('datoms', small.url), { key: smallSys.adminKey, body: { index: 'aevt', components: [':item/n'] } }), 'incorrect', 'datoms/result-too-large', /exceeds the limit of 50 rows/);
    expectAnomaly(await http(db('index-range', small.url), { key: smallSys.adminKey, body: { attr: ':item/n' } }), 'incorrect', 'datoms/result-too-large');
    expect((await http(db('index-range', small.url), { key: smallSys.adminKey, body: { attr: ':item/n', start: 0, end: 10 } })).body.datoms).toHaveLength(10);
    expectAnomaly(await http(db('tx-range', small.url), { key: smallSys.adminKey, body: {} }), 'incorrect', 'datoms/result-too-large', /start and end/);
    expectAnomaly(await http(db('pull-many', small.url), { key: smallSys.adminKey, body: { selector: '[*]', eids: Array.from({ length: 51 }, (_, i) => i) } }), 'incorrect', 'pull/too-many-eids');
  });

  test(`answers above ${SMALL.maxResponseBytes} bytes are refused`, async () => {
    const r = await q({ query: '[:find ?s :where [?e :item/s ?s] [(count ?s) ?n] [(> ?n 3000)]]' }, small.url);
    expectAnomaly(r, 'incorrect', 'http/response-too-large', new RegExp(`response limit of ${SMALL.maxResponseBytes} bytes`));
    expect((await q({ query: '[:find ?s :where [?e :item/s ?s] [(count ?s) ?n] [(> ?n 3000)]]', limit: 3 }, small.url)).status).toBe(200);
    const eids = (await q({ query: '[:find [?e ...] :where [?e :item/s ?s] [(count ?s) ?n] [(> ?n 3000)]]' }, small.url)).body.result;
    expect(eids).toHaveLength(10);
    const p = await http(db('pull-many', small.url), { key: smallSys.adminKey, body: { selector: '[:item/s]', eids } });
    expectAnomaly(p, 'incorrect', 'http/response-too-large');
  });
});

describe('query timeout', () => {
  test('the default applies when a request names none; a request may ask for less or more up to the maximum', async () => {
    const t0 = Date.now();
    expectAnomaly(await q({ query: CROSS }, small.url), 'interrupted', 'query/timeout', /timed out/i);
    expect(Date.now() - t0).toBeLessThan(SMALL.defaultQueryTimeoutMs + 3_000);
    const t1 = Date.now();
    expectAnomaly(await q({ query: CROSS, timeout: 100 }, small.url), 'interrupted', 'query/timeout');
    expect(Date.now() - t1).toBeLessThan(2_500);
    expectAnomaly(await q({ query: CROSS, timeout: SMALL.maxQueryTimeoutMs + 1 }, small.url), 'incorrect', 'query/timeout-too-large', /exceeds the maximum of 5000 ms/);
    expectAnomaly(await q({ query: CROSS, timeout: DEFAULT_LIMITS.maxQueryTimeoutMs + 1 }), 'incorrect', 'query/timeout-too-large', /maximum of 120000 ms/);
    expectAnomaly(await q({ query: CROSS, timeout: 0 }), 'incorrect', 'http/invalid-field');
  });

  test('a query the engine cannot interrupt (catastrophic regex) is stopped with its worker', async () => {
    const t0 = Date.now();
    const r = await q({ query: `[:find ?m . :where [(re-pattern "(a+)+$") ?p] [(re-find ?p "${'a'.repeat(40)}!") ?m]]`, timeout: 200 }, small.url);
    expectAnomaly(r, 'interrupted', 'query/timeout', /worker was stopped/);
    expect(Date.now() - t0).toBeLessThan(4_000);
    // The replacement worker answers.
    expect((await q({ query: '[:find ?e . :where [?e :item/n 3]]' }, small.url)).status).toBe(200);
  });
});

describe('query worker memory', () => {
  test('a query exhausting its worker\'s heap fails alone; the node and a new worker keep serving', async () => {
    const tiny = await startSystem({ node: { nodeId: 'tiny', queryWorkers: 1, queryWorkerMemoryMb: 160, limits: { maxQueryTimeoutMs: 60_000 } } });
    try {
      const k = tiny.adminKey;
      const base = tiny.url;
      await http(`${base}/v1/databases`, { key: k, body: { name: 'lim' } });
      await http(db('transact', base), { key: k, body: { txData: SCHEMA } });
      await http(db('transact', base), { key: k, body: { txData: Array.from({ length: 2_000 }, (_, i) => ({ 'item/n': i })) } });
      const r = await http(db('q', base), { key: k, body: { query: '[:find ?a ?b ?c :where [?x :item/n ?a] [?y :item/n ?b] [?z :item/n ?c]]', timeout: 60_000 } });
      expectAnomaly(r, 'incorrect', 'query/out-of-memory', /160 MB/);
      expect((await http(`${base}/health`)).status).toBe(200);
      const after = await http(db('q', base), { key: k, body: { query: '[:find (count ?x) . :where [?x :item/n]]' } });
      expect(after.body.result).toBe(2_000);
    } finally {
      await tiny.close();
    }
  }, 90_000);
});

describe('pending work', () => {
  test(`beyond ${SMALL.maxPendingRequests} requests in progress a node answers busy (429); /health stays up`, async () => {
    const slow = Array.from({ length: SMALL.maxPendingRequests }, () => q({ query: CROSS, timeout: 1_500 }, small.url));
    await new Promise((r) => setTimeout(r, 150));
    const r = await http(db('', small.url), { key: smallSys.adminKey });
    expectAnomaly(r, 'busy', 'node/too-many-requests', /the limit is 3/);
    expect((await http(`${small.url}/health`)).status).toBe(200);
    const done = await Promise.all(slow);
    // One worker: the first times out running, the others time out waiting for it.
    for (const d of done) expect(['interrupted', 'busy']).toContain(d.body.category);
    expect(done.some((d) => d.body.code === 'node/query-workers-busy')).toBe(true);
    expect((await http(db('', small.url), { key: smallSys.adminKey })).status).toBe(200);
  });

  test(`beyond ${MAX_PENDING_PER_DATABASE} transactions waiting for one database the node answers busy (429)`, async () => {
    // A node of its own, whose log appends can be held at the storage (a slow DynamoDB).
    const storage = await startDynaliteInProcess();
    const gate = await startStorageGate(storage.endpoint);
    const node = await startNode({
      adminKey: key, port: 0, host: '127.0.0.1', storageEndpoint: gate.url, createTables: true, nodeId: 'gated', pollIntervalMs: 0,
      catalogTable: 'catalog-gated', logTable: 'log-gated', limits: { maxPendingRequests: MAX_PENDING_PER_DATABASE + 100 }, queryWorkers: 0,
    }, { logger: pino({ level: 'silent' }) });
    try {
      const gtx = (txData: unknown) => http(db('transact', node.url), { key, body: { txData } });
      await http(`${node.url}/v1/databases`, { key, body: { name: 'lim' } });
      expect((await gtx(SCHEMA)).status).toBe(200);
      gate.hold('PutItem');
      const first = gtx([{ 'item/n': -1 }]);
      while (gate.held === 0) await new Promise((r) => setTimeout(r, 5));
      const queued: Array<Promise<{ status: number; body: any }>> = [];
      for (let i = 0; i < MAX_PENDING_PER_DATABASE; i++) queued.push(gtx([{ 'item/n': -2 - i }]));
      // Every queued request reaches the transactor while the first append is held.
      while (node.databases.loaded().length === 0 || (await node.databases.host('lim')).pendingCount < MAX_PENDING_PER_DATABASE) {
        await new Promise((r) => setTimeout(r, 20));
      }
      const refused = await gtx([{ 'item/n': -100_000 }]);
      expectAnomaly(refused, 'busy', 'db.error/too-many-pending', /transactions waiting/);
      gate.release();
      const all = await Promise.all([first, ...queued]);
      expect(all.filter((a) => a.status !== 200).map((a) => a.body)).toEqual([]);
      const after = (await http(db('sync', node.url), { key, body: {} })).body.t;
      expect(after).toBe(1 + 1 + MAX_PENDING_PER_DATABASE);
    } finally {
      await node.close();
      await gate.close();
      await storage.close();
    }
  }, 60_000);
});
