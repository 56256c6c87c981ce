/**
 * Fuzzing the HTTP API of a running node with random requests — routes, methods, content types,
 * keys, bodies of random JSON, random wire values, EDN token soup and random (mostly wrong)
 * transactions, queries and pull selectors. Invariants:
 *  - every answer is a success (2xx, JSON) or a well-formed anomaly with the status of its
 *    category, never a fault, never a stack trace or an internal path;
 *  - the database's t advances by exactly one for each accepted (non-duplicate) transaction and
 *    never otherwise;
 *  - the node stays up: /health answers during and after, and so does a known query.
 */
import fc from 'fast-check';
import { toWire } from '../../services/engine/wire';
import { http, startSystem, type TestSystem } from '../node/http/harness';
import { wellFormed } from '../node/security/helpers';
import { arbitraries, PEOPLE, RULES, SCHEMA } from './arbitraries';
import { budget, ednSoup, params } from './fuzz';

let sys: TestSystem;
let key: string;
let t = 0;
let EIDS: number[] = [];

beforeAll(async () => {
  sys = await startSystem({ node: { limits: { defaultQueryTimeoutMs: 150, maxQueryTimeoutMs: 400, maxResultRows: 2_000 } } });
  key = sys.adminKey;
  expect((await http(`${sys.url}/v1/databases`, { key, body: { name: 'fz' } })).status).toBe(201);
  expect((await http(`${sys.url}/v1/databases/fz/transact`, { key, body: { txData: SCHEMA } })).status).toBe(200);
  expect((await http(`${sys.url}/v1/databases/fz/transact`, { key, body: { txData: PEOPLE } })).status).toBe(200);
  const e = await http(`${sys.url}/v1/databases/fz/q`, { key, body: { query: '[:find [?e ...] :where [?e :p/name]]' } });
  expect(e.body).toHaveProperty('result');
  EIDS = e.body.result;
  t = await currentT();
});
afterAll(async () => {
  await sys.close();
});

async function currentT(): Promise<number> {
  const r = await http(`${sys.url}/v1/databases/fz/sync`, { key, body: {} });
  expect(r.status).toBe(200);
  return r.body.t;
}

/** A JSON-ready rendering of a random value: wire-encoded when it can be, else as it is. */
function wire(x: unknown): unknown {
  try {
    return toWire(x);
  } catch {
    return null;
  }
}

interface Req {
  method: string;
  path: string;
  key: string | null;
  body?: unknown;
  raw?: string;
  contentType?: string;
}

const OPS = ['transact', 'transact', 'q', 'q', 'q', 'pull', 'pull-many', 'datoms', 'index-range', 'tx-range', 'with', 'stats', 'sync', 'nope', ''];
const TX_IDS = ['fz-1', 'fz-2', 'fz-3'];

function requests() {
  const A = arbitraries(EIDS);
  const value = fc.oneof(A.anyValue.map(wire), fc.jsonValue({ maxDepth: 3 }), ednSoup);
  /** Mostly `good`, sometimes junk. */
  const mostly = <T>(good: fc.Arbitrary<T>) => fc.oneof({ weight: 12, arbitrary: good as fc.Arbitrary<unknown> }, { weight: 1, arbitrary: value });
  const dbSpec = fc.oneof({ weight: 3, arbitrary: fc.constant({}) }, { weight: 1, arbitrary: fc.record({
    basisT: mostly(fc.nat(5)),
    asOf: mostly(fc.oneof(fc.nat(4), fc.constant({ '#inst': '2020-01-01T00:00:00Z' }))),
    since: mostly(fc.nat(4)),
    history: mostly(fc.boolean()),
    with: mostly(fc.constant([{ txData: '[{:p/name "w"}]', instant: Date.now() }])),
  }, { requiredKeys: [] }) });
  const txBody = fc.record({
    txData: fc.oneof(
      { weight: 3, arbitrary: A.txData.map(wire) },
      { weight: 2, arbitrary: fc.tuple(fc.constantFrom('fz', 'n1', 'n2'), fc.integer({ min: -5, max: 5 })).map(([n, i]) => [{ 'p/name': `${n}${i}`, 'p/n': i }]) },
      { weight: 1, arbitrary: fc.constantFrom('[{:p/name "fz"}]', '[[:db/add "x" :p/n 1]]', '[]', '[[:db/cas [:p/name "n1"] :p/n 1 2]]', '[[:db/retractEntity [:p/name "fz0"]]]') },
      { weight: 1, arbitrary: ednSoup.map((s) => `[${s}]`) },
      { weight: 1, arbitrary: value },
    ),
    txId: mostly(fc.oneof(fc.constantFrom(...TX_IDS), fc.uuid())),
  }, { requiredKeys: ['txData'] });
  const qBody = fc.tuple(
    fc.oneof(
      { weight: 4, arbitrary: A.goodQuery.map((g) => ({ query: wire(g), ...('in' in g ? { args: [RULES] } : {}) })) },
      { weight: 2, arbitrary: fc.constantFrom('[:find ?e :where [?e :p/name]]', '[:find (count ?e) . :where [?e :p/friend ?f]]', '[:find ?n :in $ ?min :where [?e :p/n ?n] [(> ?n ?min)]]').map((query) => ({ query, ...(query.includes('?min') ? { args: [3] } : {}) })) },
      { weight: 1, arbitrary: fc.record({ query: A.query.map(wire), args: fc.array(value, { maxLength: 2 }) }, { requiredKeys: ['query'] }) },
      { weight: 1, arbitrary: fc.record({ query: fc.oneof(ednSoup.map((s) => `[:find ${s}]`), value) }) },
      { weight: 1, arbitrary: fc.record({ query: fc.constant('[:find ?e :in $a $b :where [$a ?e :p/name] [$b ?e :p/n]]'), inputs: fc.constantFrom([{ '#db': {} }, { '#db': { name: 'fz', asOf: 1 } }], [{ '#db': { name: 'nope' } }, { '#db': {} }], [1, 2]) }) },
    ),
    fc.record({ timeout: mostly(fc.integer({ min: 1, max: 300 })), offset: mostly(fc.nat(5)), limit: mostly(fc.integer({ min: -1, max: 5 })) }, { requiredKeys: [] }),
    dbSpec,
  ).map(([a, b, c]) => ({ ...c, ...b, ...a }));
  const pullBody = fc.tuple(fc.record({
    selector: fc.oneof({ weight: 3, arbitrary: A.selector.map(wire) }, { weight: 2, arbitrary: fc.constantFrom('[*]', '[:p/name {:p/friend ...}]', '[:p/name {:p/kid [:p/name]} (:p/tags :limit 1)]', '[:p/name :p/_friend]') }, { weight: 1, arbitrary: ednSoup.map((s) => `[${s}]`) }, { weight: 1, arbitrary: value }),
    eid: mostly(fc.oneof(fc.constantFrom(...EIDS), A.entity.map(wire))),
    eids: mostly(fc.array(fc.oneof(fc.constantFrom(...EIDS), A.entity.map(wire)), { maxLength: 3 })),
  }, { requiredKeys: ['selector'] }), dbSpec).map(([a, b]) => ({ ...b, ...a }));
  const otherBody = fc.tuple(fc.record({
    index: mostly(fc.constantFrom('eavt', 'aevt', 'avet', 'vaet', ':eavt')),
    components: mostly(fc.array(fc.oneof(fc.constantFrom(...EIDS), A.attr.map(wire), A.entity.map(wire)), { maxLength: 3 })),
    attr: mostly(A.attr.map(wire)),
    start: mostly(fc.oneof(fc.nat(12), fc.constantFrom('n3', 5))),
    end: mostly(fc.oneof(fc.nat(12), fc.constantFrom('n7', 9))),
    t: mostly(fc.nat(5)),
    txData: mostly(A.txData.map(wire)),
  }, { requiredKeys: [] }), dbSpec).map(([a, b]) => ({ ...b, ...a }));
  const body = (op: string) => (op === 'transact' ? txBody : op === 'q' ? qBody : op === 'pull' || op === 'pull-many' ? pullBody : fc.oneof(otherBody, dbSpec));

  const routed: fc.Arbitrary<Req> = fc.constantFrom(...OPS).chain((op) => fc.record({
    method: fc.constantFrom('POST', 'POST', 'POST', 'POST', 'POST', 'GET', 'DELETE', 'PUT'),
    path: fc.constantFrom(`/v1/databases/fz${op ? `/${op}` : ''}`, `/v1/databases/fz${op ? `/${op}` : ''}`, `/v1/databases/fz${op ? `/${op}` : ''}`, `/v1/databases/nope${op ? `/${op}` : ''}`),
    key: fc.oneof({ weight: 12, arbitrary: fc.constant(key) }, { weight: 1, arbitrary: fc.constantFrom('wrong', null) }),
    body: body(op),
  }).map((r): Req => (r.method === 'GET' || r.method === 'DELETE' ? { method: r.method, path: r.path.replace('/v1/databases/fz', '/v1/databases/fz-gone'), key: r.key } : r)));
  const management: fc.Arbitrary<Req> = fc.oneof(
    fc.record({ method: fc.constant('POST'), path: fc.constant('/v1/databases'), key: fc.constant(key), body: fc.record({ name: fc.oneof(fc.constantFrom('fz-a', 'fz-b', '../x', ''), value) }) }),
    fc.record({ method: fc.constant('DELETE'), path: fc.constantFrom('/v1/databases/fz-a', '/v1/databases/fz-b', '/v1/databases/%2e%2e'), key: fc.constant(key) }),
    fc.record({ method: fc.constant('POST'), path: fc.constant('/v1/keys'), key: fc.constant(key), body: fc.record({ scope: fc.oneof(fc.constantFrom('admin', { db: 'fz', access: 'read-only' }, { db: 'fz', access: 'root' }, { db: 'nope', access: 'read-write' }), value) }) }),
    fc.record({ method: fc.constantFrom('GET', 'DELETE'), path: fc.constantFrom('/v1/keys', '/v1/keys/0123456789abcdef', '/v1/keys/x', '/v1/cluster', '/v1', '/'), key: fc.constant(key) }),
  );
  const raw: fc.Arbitrary<Req> = fc.record({
    method: fc.constant('POST'),
    path: fc.constantFrom('/v1/databases/fz/transact', '/v1/databases/fz/q', '/v1/databases/fz/pull', '/v1/keys'),
    key: fc.constant(key),
    raw: fc.oneof(fc.string({ unit: 'binary', maxLength: 80 }), fc.json({ maxDepth: 4 }), ednSoup, fc.nat(600).map((n) => `${'['.repeat(n)}${']'.repeat(n)}`),
      fc.stringMatching(/^-?[0-9]{14,30}$/).map((n) => `{"txData": [{"p/n": ${n}}]}`)),
    contentType: fc.constantFrom('application/json', 'application/json', 'text/plain', 'application/edn', 'application/json; charset=utf-16', ''),
  });
  return fc.oneof({ weight: 8, arbitrary: routed }, { weight: 1, arbitrary: management }, { weight: 2, arbitrary: raw });
}

async function send(r: Req): Promise<{ status: number; body: any }> {
  const init: Parameters<typeof http>[1] = { method: r.method, key: r.key };
  if (r.raw !== undefined) {
    const out = await fetch(`${sys.url}${r.path}`, {
      method: r.method,
      headers: { authorization: `Bearer ${r.key}`, ...(r.contentType ? { 'content-type': r.contentType } : {}) },
      body: r.raw,
    });
    const text = await out.text();
    let body: unknown = text;
    try {
      body = JSON.parse(text);
    } catch {
      // left as text: wellFormed reports it
    }
    return { status: out.status, body };
  }
  if (r.body !== undefined && r.method !== 'GET') init.body = r.body;
  return http(`${sys.url}${r.path}`, init);
}

const STATS: Record<string, number> = {};
/** Transaction ids whose refusal is in the log. */
const recorded = new Set<string>();

describe('the HTTP API on random requests', () => {
  test('answers are successes or well-formed anomalies; t advances only for accepted transactions', async () => {
    await fc.assert(fc.asyncProperty(requests(), async (r) => {
      const res = await send(r);
      const kind = wellFormed(res);
      const label = `${r.method} ${r.path.split('/').slice(0, 5).join('/')} ${res.status}${kind === 'anomaly' ? ` ${res.body.code}${process.env.FUZZ_STATS === '2' ? ` ${String(res.body.message).slice(0, 60)}` : ''}` : ''}`;
      STATS[label] = (STATS[label] ?? 0) + 1;
      const after = await currentT();
      const accepted = kind === 'success' && r.method === 'POST' && r.path === '/v1/databases/fz/transact' && res.body.duplicate === false;
      // A refusal of a caller-chosen txId is written to the log (one empty transaction) the first time.
      const txId = res.body?.data?.txId as string | undefined;
      const newlyRecorded = kind === 'anomaly' && res.body.data?.recorded === true && txId !== undefined && !recorded.has(txId);
      if (newlyRecorded) recorded.add(txId);
      expect({ request: r, status: res.status, t: after }).toEqual({ request: r, status: res.status, t: accepted || newlyRecorded ? t + 1 : t });
      if (accepted) expect(res.body.t).toBe(after);
      t = after;
    }), params(500));
    if (process.env.FUZZ_STATS) console.log(JSON.stringify(Object.entries(STATS).sort((a, b) => b[1] - a[1]), null, 1));
  });

  test('a burst of concurrent random requests: all well-formed; the node keeps serving', async () => {
    const sample = fc.sample(requests(), { numRuns: Math.min(200, params(100).numRuns!), ...(params(1).seed !== undefined ? { seed: params(1).seed } : {}) });
    const answers = await Promise.all(sample.map(send));
    for (const a of answers) wellFormed(a);
    expect((await http(`${sys.url}/health`)).status).toBe(200);
    const known = await http(`${sys.url}/v1/databases/fz/q`, { key, body: { query: '[:find ?n . :where [?e :p/name "n3"] [?e :p/n ?n]]' } });
    expect(known.body).toEqual({ result: 3 });
  });
});

jest.setTimeout(budget(90_000));
