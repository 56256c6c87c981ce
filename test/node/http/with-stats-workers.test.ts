/**
 * `with` and `stats` on the query workers (docs/adr/007-query-workers.md): the node's event loop
 * keeps answering while a heavy speculative transaction runs, and the answers are the same text
 * with workers and without them (the fallback that evaluates on the event loop).
 *
 * Three nodes share one storage: `workers` (two query workers), `inline` (none) and `small` (one
 * worker, a short default timeout and a small response limit).
 */
import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import type { RunningNode } from '../../../services/node/main';
import { expectAnomaly } from '../security/helpers';
import { http, startSystem, type TestSystem } from './harness';

const SCHEMA = `[
  {:db/ident :p/name :db/valueType :db.type/string :db/cardinality :db.cardinality/one :db/unique :db.unique/identity}
  {:db/ident :p/n :db/valueType :db.type/long :db/cardinality :db.cardinality/one}
  {:db/ident :p/tags :db/valueType :db.type/keyword :db/cardinality :db.cardinality/many}
  {:db/ident :p/friend :db/valueType :db.type/ref :db/cardinality :db.cardinality/many}
]`;

let sys: TestSystem;
let workers: RunningNode;
let inline: RunningNode;
let small: RunningNode;
let key: string;
const name = `ws-${randomUUID().slice(0, 8)}`;
/** The latest t after setup, and an older one (after the schema and the first people). */
let t: number;
let tOld: number;

const dbUrl = (node: RunningNode, op: string): string => `${node.url}/v1/databases/${name}/${op}`;

/** The raw answer: status and the body's exact text. */
async function raw(node: RunningNode, op: string, body: unknown): Promise<{ status: number; text: string }> {
  const res = await fetch(dbUrl(node, op), {
    method: 'POST',
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  return { status: res.status, text: await res.text() };
}

/** The wall-clock parts of a `with` answer (its instant, the transaction's :db/txInstant) blanked. */
function timeless(text: string): string {
  return text
    .replace(/"instant":\d+/g, '"instant":0')
    .replace(/("a":":db\/txInstant","v":\{"#inst":")[^"]*"/g, '$1…"');
}

/** A speculative transaction of `n` new people (two datoms each), as EDN text. */
function people(prefix: string, n: number): string {
  const out: string[] = [];
  for (let i = 0; i < n; i++) out.push(`{:p/name "${prefix}${i}" :p/n ${i}}`);
  return `[${out.join(' ')}]`;
}

beforeAll(async () => {
  sys = await startSystem({ node: { queryWorkers: 2 } });
  key = sys.adminKey;
  workers = sys.nodes[0]!;
  inline = await sys.startNode({ queryWorkers: 0 });
  small = await sys.startNode({ queryWorkers: 1, limits: { defaultQueryTimeoutMs: 300, maxResponseBytes: 16 * 1024 } });
  expect((await http(`${workers.url}/v1/databases`, { key, body: { name } })).status).toBe(201);
  const tx = async (txData: unknown): Promise<number> => {
    const r = await http(dbUrl(workers, 'transact'), { key, body: { txData } });
    expect(r.status).toBe(200);
    return r.body.t;
  };
  await tx(SCHEMA);
  tOld = await tx(Array.from({ length: 50 }, (_, i) => ({ 'p/name': `p${i}`, 'p/n': i, 'p/tags': [':a', ':b'] })));
  await tx([[':db/retract', [':p/name', 'p3'], ':p/n', 3], { 'db/id': [':p/name', 'p4'], 'p/n': 400 }]);
  t = await tx([{ 'db/id': [':p/name', 'p1'], 'p/friend': [[':p/name', 'p2'], [':p/name', 'p5']] }]);
}, 60_000);

afterAll(async () => {
  await sys.close();
});

describe('the same answers with and without query workers', () => {
  test('stats at every kind of basis', async () => {
    const chain = [{ txData: people('c', 20), instant: Date.UTC(2030, 0, 1) }];
    const bodies = [
      { basisT: t },
      { basisT: tOld },
      { basisT: 1 },
      { basisT: t, asOf: tOld },
      { basisT: t, since: tOld },
      { basisT: t, history: true },
      { basisT: t, with: chain },
      { basisT: tOld, with: chain, asOf: tOld },
      {},
    ];
    for (const body of bodies) {
      const a = await raw(workers, 'stats', body);
      const b = await raw(inline, 'stats', body);
      expect(a.status).toBe(200);
      expect(a).toEqual(b);
    }
    expect(JSON.parse((await raw(workers, 'stats', { basisT: t })).text)).toMatchObject({ t, attrs: { ':p/name': { count: 50 }, ':p/n': { count: 49 } } });
    expect(JSON.parse((await raw(workers, 'stats', { basisT: t, with: chain })).text)).toMatchObject({ t: t + 1, attrs: { ':p/name': { count: 70 } } });
  });

  test('with: EDN and JSON transaction data, tempids, lookup refs, old bases and chains', async () => {
    const first = await raw(workers, 'with', { basisT: t, txData: '[{:db/id "a" :p/name "Anna" :p/n 20 :p/friend [[:p/name "p1"]]}]' });
    expect(first.status).toBe(200);
    const chain = [{ txData: '[{:db/id "a" :p/name "Anna" :p/n 20 :p/friend [[:p/name "p1"]]}]', instant: JSON.parse(first.text).instant }];
    const bodies = [
      { basisT: t, txData: '[{:db/id "a" :p/name "Anna" :p/n 20 :p/friend [[:p/name "p1"]]}]' },
      { basisT: t, txData: [{ 'db/id': 'b', 'p/name': 'Bob', 'p/tags': [':x', ':y'] }, [':db/add', 'b', ':p/friend', [':p/name', 'p7']]] },
      { basisT: t, txData: [[':db/retractEntity', [':p/name', 'p9']], [':db/cas', [':p/name', 'p4'], ':p/n', 400, 401]] },
      { basisT: tOld, txData: [[':db/add', [':p/name', 'p3'], ':p/n', 33]] },
      { basisT: t, with: chain, txData: '[[:db/add [:p/name "Anna"] :p/n 21]]' },
      { basisT: t, with: chain, asOf: tOld, txData: [{ 'p/name': 'Carl' }] },
      { txData: [{ 'p/name': 'Dora' }] },
    ];
    for (const body of bodies) {
      const a = await raw(workers, 'with', body);
      const b = await raw(inline, 'with', body);
      expect(a.status).toBe(200);
      expect({ status: a.status, text: timeless(a.text) }).toEqual({ status: b.status, text: timeless(b.text) });
    }
    const chained = JSON.parse((await raw(workers, 'with', bodies[4]!)).text);
    expect(chained).toMatchObject({ t: t + 2, basisT: t + 1 });
  });

  test('errors: the same anomaly, category, code and message', async () => {
    const bodies: Array<[string, unknown]> = [
      ['with', { basisT: t, txData: [[':db/cas', [':p/name', 'p4'], ':p/n', 1, 2]] }],
      ['with', { basisT: t, txData: [{ 'p/name': 'x', 'p/n': 'not a number' }] }],
      ['with', { basisT: t, txData: [[':db/add', 'x', ':no/such', 1]] }],
      ['with', { basisT: t, txData: '[{:p/name "x" ' }],
      ['with', { basisT: t, txData: [[':db/add', [':p/name', 'nobody'], ':p/n', 1]] }],
      ['with', { basisT: t, txData: people('big', 50_001) }],
      ['with', { basisT: t }],
      ['with', { basisT: t, with: Array.from({ length: 65 }, () => ({ txData: '[]', instant: 1 })), txData: '[]' }],
      ['with', { basisT: t, with: [{ txData: '[[:db/add "x" :no/such 1]]', instant: 1 }], txData: '[]' }],
      ['stats', { basisT: t + 1_000 }],
      ['stats', { basisT: 'soon' }],
    ];
    for (const [op, body] of bodies) {
      const a = await raw(workers, op, body);
      const b = await raw(inline, op, body);
      expect(a.status).toBeGreaterThanOrEqual(400);
      expect(a).toEqual(b);
    }
    const missing = `missing-${randomUUID().slice(0, 8)}`;
    const nf = await http(`${workers.url}/v1/databases/${missing}/with`, { key, body: { txData: '[]' } });
    expectAnomaly(nf, 'not-found', 'db.error/db-not-found');
    expect(await http(`${inline.url}/v1/databases/${missing}/with`, { key, body: { txData: '[]' } })).toMatchObject({ status: nf.status, body: nf.body });
  });
});

/**
 * Runs a request while asking /health, one call after another, until it answers. Answers how
 * long the request took and the longest a /health call waited: on the event loop, a heavy
 * evaluation holds up the /health call in flight for about its whole length.
 */
async function healthDuring(node: RunningNode, request: () => Promise<{ status: number; text: string }>) {
  let done = false;
  const t0 = performance.now();
  const pending = request().finally(() => {
    done = true;
  });
  let longestHealth = 0;
  let answeredMeanwhile = 0;
  while (!done) {
    const h0 = performance.now();
    const h = await fetch(`${node.url}/health`);
    await h.text();
    expect(h.status).toBe(200);
    longestHealth = Math.max(longestHealth, performance.now() - h0);
    if (!done) answeredMeanwhile++;
  }
  const answer = await pending;
  return { answer, duration: performance.now() - t0, longestHealth, answeredMeanwhile };
}

describe('a heavy with does not hold up the node', () => {
  /**
   * A `with` on a chain of speculative transactions of about 100,000 datoms each: the node
   * replays the chain before the new transaction, a few seconds of evaluation for a request body
   * of a few MB (parsed on the event loop in a few ms).
   */
  const heavy = (node: RunningNode) => () => raw(node, 'with', {
    basisT: t,
    with: Array.from({ length: 4 }, (_, k) => ({ txData: people(`h${k}-`, 49_000), instant: Date.UTC(2030, 0, 1 + k) })),
    txData: '[{:db/id "z" :p/name "zed"}]',
  });

  test('with query workers, /health keeps answering promptly while it runs', async () => {
    // Start the workers and load the database in them first.
    await Promise.all([raw(workers, 'stats', { basisT: t }), raw(workers, 'stats', { basisT: t })]);
    const r = await healthDuring(workers, heavy(workers));
    expect(r.answer.status).toBe(200);
    expect(JSON.parse(r.answer.text)).toMatchObject({ basisT: t + 4, t: t + 5 });
    expect(r.answeredMeanwhile).toBeGreaterThanOrEqual(5);
    expect(r.longestHealth).toBeLessThan(r.duration / 4);
  }, 120_000);

  test('without workers (the fallback) the same with holds up /health: the check above can fail', async () => {
    const r = await healthDuring(inline, heavy(inline));
    expect(r.answer.status).toBe(200);
    expect(r.longestHealth).toBeGreaterThan(r.duration / 2);
  }, 120_000);
});

describe('the query workers\' limits apply to with and stats', () => {
  test('a with running past the default query timeout is interrupted with its worker; the node keeps serving', async () => {
    const r = await raw(small, 'with', {
      basisT: t,
      // Several seconds of work here: far past the 300 ms timeout plus the worker's 1 s grace, with room
      // for a faster machine.
      with: Array.from({ length: 6 }, (_, k) => ({ txData: people(`s${k}-`, 49_000), instant: Date.UTC(2030, 0, 1 + k) })),
      txData: '[]',
    });
    expectAnomaly({ status: r.status, body: JSON.parse(r.text) }, 'interrupted', 'query/timeout', /300 ms/);
    expect((await http(`${small.url}/health`)).status).toBe(200);
    expect(JSON.parse((await raw(small, 'stats', { basisT: t })).text).t).toBe(t);
  }, 60_000);

  test('a with answer above the response limit is refused, not truncated', async () => {
    const r = await raw(small, 'with', { basisT: t, txData: people('r', 500) });
    expectAnomaly({ status: r.status, body: JSON.parse(r.text) }, 'incorrect', 'http/response-too-large', /16384 bytes/);
    expect((await raw(small, 'with', { basisT: t, txData: people('r', 5) })).status).toBe(200);
  });
});
