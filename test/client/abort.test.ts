/**
 * Cancellation over HTTP (what the contract suite cannot show in process): an aborted call sends
 * nothing, stops retrying, leaves a transaction indeterminate (and a retry with its txId safe),
 * and a query whose client went away does not keep the node's query worker busy.
 */
import { randomUUID } from 'node:crypto';
import { createClient, type Client, type Connection } from '../../services';
import { startProxy, type Intercept, type TestProxy } from '../node/http/proxy';
import { startSystem, type TestSystem } from '../node/http/harness';
import { caught } from './contract';

const SCHEMA = '[{:db/ident :item/n :db/valueType :db.type/long :db/cardinality :db.cardinality/one}]';
/** Catastrophic backtracking: the engine cannot interrupt it; only stopping its worker ends it. */
const ENDLESS = `[:find ?m . :where [(re-pattern "(x+x+)+y") ?p] [(re-find ?p "${'x'.repeat(40)}") ?m]]`;
const COUNT = '[:find (count ?e) . :where [?e :item/n]]';

const delay = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

describe('remote client: cancellation', () => {
  let sys: TestSystem;
  let proxy: TestProxy;
  /** Through the proxy, which counts and intercepts requests. */
  let client: Client;

  beforeAll(async () => {
    // One query worker: a worker kept busy by an abandoned query would hold up every other.
    sys = await startSystem({ node: { queryWorkers: 1 } });
    proxy = await startProxy(() => [sys.url]);
    client = createClient({ endpoint: proxy.url, accessKey: sys.adminKey });
  });
  afterAll(async () => {
    await client.close();
    await proxy.close();
    await sys.close();
  });
  afterEach(() => {
    proxy.intercept = undefined;
  });

  /** Counts the requests that reach the proxy, answering each with `answer`. */
  function countRequests(answer: ReturnType<Intercept>): { readonly n: number } {
    const seen = { n: 0 };
    proxy.intercept = () => {
      seen.n++;
      return answer;
    };
    return seen;
  }

  async function fresh(on: Client = client): Promise<Connection> {
    const name = `abort-${randomUUID().slice(0, 8)}`;
    await on.createDatabase(name);
    const conn = await on.connect(name);
    await conn.transact(SCHEMA);
    return conn;
  }

  test('a signal aborted before the call sends nothing', async () => {
    const conn = await fresh();
    const db = await conn.db();
    const requests = countRequests('forward');
    const signal = AbortSignal.abort();
    const e = await caught(conn.transact([{ 'item/n': 1 }], { signal }));
    expect(e.message).toMatch(/^The transact call was aborted$/);
    expect((await caught(db.q({ query: COUNT, signal }))).code).toBe('client/aborted');
    expect((await caught(db.iterDatoms({ index: 'eavt', signal }).next())).code).toBe('client/aborted');
    expect(requests.n).toBe(0);
  });

  test('aborting during the retries rejects at once and stops retrying', async () => {
    const conn = await fresh();
    const db = await conn.db();
    const requests = countRequests({ status: 503, body: '<html>503 Service Unavailable</html>' });
    const ac = new AbortController();
    setTimeout(() => ac.abort(), 300);
    // Without the abort, the call would retry for the client's default 60 s.
    const e = await caught(db.q({ query: COUNT, signal: ac.signal }));
    expect([e.category, e.code, e.data.operation]).toEqual(['interrupted', 'client/aborted', 'q']);
    expect(requests.n).toBeGreaterThan(0);
    const after = requests.n;
    await delay(400);
    expect(requests.n).toBe(after);
  });

  test('a transaction aborted after it was sent is indeterminate; a retry with its txId commits it once', async () => {
    const conn = await fresh();
    let sent = 0;
    // The node commits, the answer is lost, the client retries: every attempt commits or finds the first.
    proxy.intercept = (req) => {
      if (!req.url?.endsWith('/transact')) return 'forward';
      sent++;
      return 'drop-after-forward';
    };
    const ac = new AbortController();
    setTimeout(() => ac.abort(), 300);
    const e = await caught(conn.transact([{ 'item/n': 7 }], { signal: ac.signal }));
    expect(sent).toBeGreaterThan(0);
    expect([e.category, e.code]).toEqual(['interrupted', 'client/aborted']);
    expect(e.message).toMatch(/^The transact call was aborted after the transaction was sent: it is indeterminate \(it may still commit\)/);
    expect(e.message).toContain('Retrying with the same txId');
    expect(e.data).toMatchObject({ operation: 'transact', indeterminate: true, txId: expect.any(String) });
    proxy.intercept = undefined;
    // It did commit (the proxy forwarded it); the retry with the same id answers that commit.
    const retried = await conn.transact([{ 'item/n': 7 }], { txId: e.data.txId as string });
    expect(await retried.dbAfter.q(COUNT)).toBe(1);
    expect(await (await conn.sync()).q(COUNT)).toBe(1);
  });

  test('a query aborted while it runs frees the node\'s only query worker', async () => {
    // Straight to the node: the test proxy does not pass a client's disconnect on (load balancers do).
    const direct = createClient({ endpoint: sys.url, accessKey: sys.adminKey, timeout: 8_000 });
    try {
      const conn = await fresh(direct);
      await conn.transact([{ 'item/n': 1 }]);
      const db = await conn.db();
      // The worker is started and holds the database: the next query runs on it at once.
      expect(await db.q(COUNT)).toBe(1);
      const ac = new AbortController();
      const endless = db.q({ query: ENDLESS, timeout: 60_000, signal: ac.signal });
      await delay(300);
      ac.abort();
      const e = await caught(endless);
      expect([e.code, e.data.operation]).toEqual(['client/aborted', 'q']);
      // This query waits for the only worker at most 2 s, and the call gives up after 8 s: the
      // endless query would hold the worker for 61 s unless the node stopped it when its client left.
      expect(await db.q({ query: COUNT, timeout: 2_000 })).toBe(1);
      expect(await db.pull('[:item/n]', [':db/ident', ':item/n'])).toEqual({});
      expect((await db.stats()).t).toBe(db.t);
    } finally {
      await direct.close();
    }
  }, 30_000);

  test('pull, with and stats are cancelled when their client goes away', async () => {
    const conn = await fresh();
    const db = await conn.db();
    // Aborted in flight: each rejects at once, and the node keeps answering.
    for (const call of [
      (signal: AbortSignal) => db.pull('[*]', 1, { signal }),
      (signal: AbortSignal) => db.with([{ 'item/n': 2 }], { signal }),
      (signal: AbortSignal) => db.stats({ signal }),
      (signal: AbortSignal) => conn.sync(undefined, { signal }),
    ]) {
      const ac = new AbortController();
      const p = call(ac.signal);
      ac.abort('changed my mind');
      const e = await caught(p);
      expect(e.code).toBe('client/aborted');
      expect(e.message).toContain('changed my mind');
    }
    expect(await db.q(COUNT)).toBeNull();
  });
});
