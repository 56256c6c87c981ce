/**
 * The HTTP API over raw HTTP: every route, its JSON shapes in the wire encoding, and the anomaly
 * JSON of every error class (docs/http-api.md).
 */
import { randomUUID } from 'node:crypto';
import { HTTP_STATUS } from '../../../services/node/http/errors';
import { KEEP_ALIVE_TIMEOUT_MS } from '../../../services/node/config';
import { http, startSystem, type TestSystem } from './harness';

const SCHEMA = `[
  {:db/ident :person/name :db/valueType :db.type/string :db/cardinality :db.cardinality/one :db/unique :db.unique/identity}
  {:db/ident :person/age :db/valueType :db.type/long :db/cardinality :db.cardinality/one}
  {:db/ident :person/born :db/valueType :db.type/instant :db/cardinality :db.cardinality/one}
]`;

let sys: TestSystem;
let key: string;
const url = (path: string): string => `${sys.url}${path}`;
const dbUrl = (name: string, op?: string): string => url(`/v1/databases/${name}${op ? `/${op}` : ''}`);

beforeAll(async () => {
  sys = await startSystem();
  key = sys.adminKey;
});
afterAll(async () => {
  await sys.close();
});

async function newDb(): Promise<string> {
  const name = `http-${randomUUID().slice(0, 8)}`;
  const r = await http(url('/v1/databases'), { key, body: { name } });
  expect(r.status).toBe(201);
  return name;
}

async function transact(name: string, txData: unknown, txId?: string): Promise<any> {
  const r = await http(dbUrl(name, 'transact'), { key, body: { txData, ...(txId ? { txId } : {}) } });
  expect(r.status).toBe(200);
  return r.body;
}

function expectAnomaly(r: { status: number; body: any }, category: string, code?: string): void {
  expect({ status: r.status, category: r.body?.category, ...(code ? { code: r.body?.code } : {}) })
    .toEqual({ status: HTTP_STATUS[category as keyof typeof HTTP_STATUS], category, ...(code ? { code } : {}) });
  expect(typeof r.body.message).toBe('string');
  // No stack traces or file paths in answers.
  expect(JSON.stringify(r.body)).not.toMatch(/\n\s+at |\/work\/|node_modules|\.ts:\d+/);
}

describe('health and server settings', () => {
  test('GET /health needs no key and does not touch storage', async () => {
    const r = await http(url('/health'));
    expect(r.status).toBe(200);
    expect(r.body).toEqual({ status: 'ok', nodeId: 'node-1' });
  });

  test('keep-alive outlasts the load balancer idle timeout', () => {
    expect(sys.nodes[0]!.server.keepAliveTimeout).toBe(KEEP_ALIVE_TIMEOUT_MS);
    expect(KEEP_ALIVE_TIMEOUT_MS).toBeGreaterThan(60_000);
    expect(sys.nodes[0]!.server.headersTimeout).toBeGreaterThan(KEEP_ALIVE_TIMEOUT_MS);
  });

  test('GET /v1/cluster lists this node', async () => {
    const r = await http(url('/v1/cluster'), { key });
    expect(r.status).toBe(200);
    expect(r.body.nodes).toEqual([{ id: 'node-1', url: sys.url, pid: process.pid, healthy: true }]);
  });
});

describe('access keys', () => {
  test('missing, malformed and wrong keys are forbidden (403); /health stays open', async () => {
    expectAnomaly(await http(url('/v1/databases')), 'forbidden', 'auth/missing-key');
    expectAnomaly(await http(url('/v1/databases'), { headers: { authorization: `Basic ${key}` } }), 'forbidden', 'auth/malformed-header');
    expectAnomaly(await http(url('/v1/databases'), { key: 'wrong' }), 'forbidden', 'auth/invalid-key');
    expectAnomaly(await http(url('/v1/databases'), { key: `${key}x` }), 'forbidden', 'auth/invalid-key');
    expectAnomaly(await http(url('/v1/databases/x/transact'), { key: 'wrong', body: { txData: '[]' } }), 'forbidden');
    expect((await http(url('/v1/databases'), { key })).status).toBe(200);
  });
});

describe('databases', () => {
  test('create, list, describe, delete', async () => {
    const name = `life-${randomUUID().slice(0, 8)}`;
    const created = await http(url('/v1/databases'), { key, body: { name } });
    expect(created.status).toBe(201);
    expect(created.body).toEqual({ name, created: true });
    const again = await http(url('/v1/databases'), { key, body: { name } });
    expect(again.status).toBe(200);
    expect(again.body).toEqual({ name, created: false });
    expect((await http(url('/v1/databases'), { key })).body.databases).toContain(name);
    expect((await http(dbUrl(name), { key })).body).toEqual({ name, id: expect.any(String), t: 0, preferredNode: 'node-1', indexedT: 0, tailDatoms: 0 });
    const del = await http(dbUrl(name), { key, method: 'DELETE' });
    expect(del.body).toEqual({ name, deleted: true });
    expect((await http(dbUrl(name), { key, method: 'DELETE' })).body).toEqual({ name, deleted: false });
    expectAnomaly(await http(dbUrl(name), { key }), 'not-found', 'db.error/db-not-found');
  });

  test('unknown databases are not-found on every route; bad names are incorrect', async () => {
    const missing = `missing-${randomUUID().slice(0, 8)}`;
    expectAnomaly(await http(dbUrl(missing), { key }), 'not-found', 'db.error/db-not-found');
    expectAnomaly(await http(dbUrl(missing, 'transact'), { key, body: { txData: '[]' } }), 'not-found', 'db.error/db-not-found');
    expectAnomaly(await http(dbUrl(missing, 'q'), { key, body: { query: '[:find ?e :where [?e :db/ident]]' } }), 'not-found');
    expectAnomaly(await http(url('/v1/databases'), { key, body: { name: 'no spaces' } }), 'incorrect', 'db.error/invalid-db-name');
    expectAnomaly(await http(url('/v1/databases'), { key, body: {} }), 'incorrect', 'http/missing-field');
    expectAnomaly(await http(url('/v1/databases'), { key, body: { name: 7 } }), 'incorrect', 'http/invalid-field');
  });
});

describe('transact', () => {
  test('EDN text and wire-encoded JS data; the report in the wire encoding', async () => {
    const name = await newDb();
    const schema = await transact(name, SCHEMA);
    expect(schema).toMatchObject({ t: 1, basisT: 0, tempids: {}, duplicate: false });
    const r = await transact(name, [{ 'db/id': 'ivan', 'person/name': 'Ivan', 'person/age': 30, 'person/born': { '#inst': '1990-01-02T03:04:05.000Z' } }]);
    expect(r.t).toBe(2);
    expect(r.basisT).toBe(1);
    const ivan = r.tempids.ivan;
    expect(typeof ivan).toBe('number');
    expect(r.txData).toEqual(expect.arrayContaining([
      { e: ivan, a: ':person/name', v: 'Ivan', tx: expect.any(Number), added: true },
      { e: ivan, a: ':person/born', v: { '#inst': '1990-01-02T03:04:05.000Z' }, tx: expect.any(Number), added: true },
    ]));
    expect((await http(dbUrl(name), { key })).body.t).toBe(2);
  });

  test('idempotent retry: the same txId twice commits once and answers duplicate', async () => {
    const name = await newDb();
    await transact(name, SCHEMA);
    const txId = randomUUID();
    const first = await transact(name, '[{:person/name "Once"}]', txId);
    const second = await transact(name, '[{:person/name "Once"}]', txId);
    expect(first.duplicate).toBe(false);
    expect(second.duplicate).toBe(true);
    expect(second.t).toBe(first.t);
    expect(second.txData).toEqual(first.txData);
    expect((await http(dbUrl(name), { key })).body.t).toBe(first.t);
    expectAnomaly(await http(dbUrl(name, 'transact'), { key, body: { txData: '[]', txId: 'has space' } }), 'incorrect', 'http/invalid-tx-id');
  });

  test('bad transactions are 400 with a code; a failed cas is 409 conflict', async () => {
    const name = await newDb();
    await transact(name, SCHEMA);
    const r = await transact(name, '[{:db/id "i" :person/name "Ivan" :person/age 30}]');
    const ivan = r.tempids.i;
    expectAnomaly(await http(dbUrl(name, 'transact'), { key, body: { txData: '[[:db/add "x" :no/attr 1]]' } }), 'incorrect');
    const wrongType = await http(dbUrl(name, 'transact'), { key, body: { txData: '[{:person/name "Z" :person/age "old"}]' } });
    expectAnomaly(wrongType, 'incorrect', 'db.error/wrong-type-for-attribute');
    expect(wrongType.body.data).toMatchObject({ attribute: ':person/age' });
    expectAnomaly(await http(dbUrl(name, 'transact'), { key, body: { txData: '[[:db/add' } }), 'incorrect');
    expectAnomaly(await http(dbUrl(name, 'transact'), { key, body: {} }), 'incorrect', 'http/missing-field');
    expectAnomaly(await http(dbUrl(name, 'transact'), { key, body: { txData: `[[:db/cas ${ivan} :person/age 99 31]]` } }), 'conflict', 'db.error/cas-failed');
    expect((await http(dbUrl(name), { key })).body.t).toBe(2);
  });
});

describe('reads', () => {
  let name: string;
  let ivan: number;
  let t: number;
  beforeAll(async () => {
    name = await newDb();
    await transact(name, SCHEMA);
    const r = await transact(name, '[{:db/id "i" :person/name "Ivan" :person/age 30} {:person/name "Petr" :person/age 25}]');
    ivan = r.tempids.i;
    t = (await transact(name, `[[:db/add ${ivan} :person/age 31]]`)).t;
  });

  test('q with args, a basis, asOf, since, history, offset and limit', async () => {
    const q = (body: Record<string, unknown>) => http(dbUrl(name, 'q'), { key, body });
    const age = '[:find ?a . :in $ ?n :where [?e :person/name ?n] [?e :person/age ?a]]';
    expect((await q({ query: age, args: ['Ivan'] })).body).toEqual({ result: 31 });
    expect((await q({ query: age, args: ['Ivan'], basisT: t })).body.result).toBe(31);
    expect((await q({ query: age, args: ['Ivan'], basisT: t - 1 })).body.result).toBe(30);
    expect((await q({ query: age, args: ['Ivan'], asOf: t - 1 })).body.result).toBe(30);
    expect((await q({ query: '[:find ?a :where [_ :person/age ?a]]', since: t - 1 })).body.result).toEqual([[31]]);
    const hist = await q({ query: '[:find ?a ?added :in $ ?e :where [?e :person/age ?a _ ?added]]', args: [ivan], history: true });
    expect(hist.body.result.sort()).toEqual([[30, false], [30, true], [31, true]]);
    const all = await q({ query: '[:find ?n :where [_ :person/name ?n]]', limit: 1 });
    expect(all.body.result).toHaveLength(1);
    const both = await q({ query: '[:find ?n ?m :in $a $b :where [$a ?e :person/age 30] [$a ?e :person/name ?n] [$b ?e :person/name ?m]]', inputs: [{ '#db': { name, asOf: t - 1 } }, { '#db': { name } }] });
    expect(both.body.result).toEqual([['Ivan', 'Ivan']]);
  });

  test('query errors and limits', async () => {
    const q = (body: Record<string, unknown>) => http(dbUrl(name, 'q'), { key, body });
    expectAnomaly(await q({ query: '[:find ?e :where [?e :person/name]' }), 'incorrect');
    expectAnomaly(await q({}), 'incorrect', 'http/missing-field');
    expectAnomaly(await q({ query: '[:find ?e :where [?e :person/name]]', timeout: 121_000 }), 'incorrect', 'query/timeout-too-large');
    expectAnomaly(await q({ query: '[:find ?e :where [?e :person/name]]', timeout: 'soon' }), 'incorrect', 'http/invalid-field');
    expectAnomaly(await q({ query: '[:find ?e :where [?e :person/name]]', basisT: -1 }), 'incorrect', 'http/invalid-field');
    expectAnomaly(await q({ query: '[:find ?e :where [?e :person/name]]', asOf: 'yesterday' }), 'incorrect', 'db.error/invalid-time-point');
    // A basis the log does not have yet: the node cannot serve it (a client retries).
    expectAnomaly(await q({ query: '[:find ?e :where [?e :person/name]]', basisT: 1_000_000 }), 'unavailable', 'db.error/basis-not-found');
  });

  test('pull, pull-many, datoms, index-range, tx-range', async () => {
    const pull = await http(dbUrl(name, 'pull'), { key, body: { selector: '[:person/name :person/age]', eid: [':person/name', 'Ivan'] } });
    expect(pull.body).toEqual({ result: { 'person/name': 'Ivan', 'person/age': 31 } });
    const old = await http(dbUrl(name, 'pull'), { key, body: { selector: '[:person/age]', eid: ivan, basisT: t - 1 } });
    expect(old.body.result).toEqual({ 'person/age': 30 });
    const many = await http(dbUrl(name, 'pull-many'), { key, body: { selector: '[:person/name]', eids: [ivan, [':person/name', 'Petr']] } });
    expect(many.body.result).toEqual([{ 'person/name': 'Ivan' }, { 'person/name': 'Petr' }]);
    const datoms = await http(dbUrl(name, 'datoms'), { key, body: { index: 'avet', components: [':person/age'] } });
    expect(datoms.body.datoms.map((d: { v: number }) => d.v)).toEqual([25, 31]);
    const range = await http(dbUrl(name, 'index-range'), { key, body: { attr: ':person/age', start: 26 } });
    expect(range.body.datoms.map((d: { v: number }) => d.v)).toEqual([31]);
    const txs = await http(dbUrl(name, 'tx-range'), { key, body: { start: 2 } });
    expect(txs.body.txs.map((x: { t: number }) => x.t)).toEqual([2, 3]);
    expectAnomaly(await http(dbUrl(name, 'datoms'), { key, body: { index: 'nope' } }), 'incorrect', 'datoms/invalid-index');
  });

  test('with: speculative and chained by sending the earlier transactions back', async () => {
    const w = await http(dbUrl(name, 'with'), { key, body: { txData: '[{:db/id "a" :person/name "Anna" :person/age 20}]', basisT: t } });
    expect(w.status).toBe(200);
    expect(w.body).toMatchObject({ t: t + 1, basisT: t });
    const anna = w.body.tempids.a;
    const chain = [{ txData: '[{:db/id "a" :person/name "Anna" :person/age 20}]', instant: w.body.instant }];
    const w2 = await http(dbUrl(name, 'with'), { key, body: { txData: `[[:db/add ${anna} :person/age 21]]`, basisT: t, with: chain } });
    expect(w2.body).toMatchObject({ t: t + 2, basisT: t + 1 });
    const q = await http(dbUrl(name, 'q'), { key, body: { query: '[:find ?e . :where [?e :person/name "Anna"]]', basisT: t, with: chain } });
    expect(q.body.result).toBe(anna);
    expect((await http(dbUrl(name), { key })).body.t).toBe(t);
  });

  test('stats and sync', async () => {
    const stats = await http(dbUrl(name, 'stats'), { key, body: {} });
    expect(stats.body.t).toBe(t);
    expect(stats.body.attrs[':person/name']).toEqual({ count: 2 });
    const old = await http(dbUrl(name, 'stats'), { key, body: { basisT: 1 } });
    expect(old.body.t).toBe(1);
    expect(old.body.attrs[':person/name']).toBeUndefined();
    expect((await http(dbUrl(name, 'sync'), { key, method: 'POST' })).body).toEqual({ t });
    expect((await http(dbUrl(name, 'sync'), { key, body: { t } })).body).toEqual({ t });
  });
});

describe('hostile and malformed requests', () => {
  test('malformed JSON, wrong content type, non-object bodies, unknown routes', async () => {
    const name = await newDb();
    expectAnomaly(await http(dbUrl(name, 'q'), { key, rawBody: '{"query": ' }), 'incorrect', 'http/malformed-json');
    expectAnomaly(await http(dbUrl(name, 'q'), { key, rawBody: '{"query": 1e999}' }), 'incorrect', 'http/malformed-json');
    expectAnomaly(await http(dbUrl(name, 'q'), { key, rawBody: 'query=x', contentType: 'application/x-www-form-urlencoded' }), 'incorrect', 'http/unsupported-media-type');
    expectAnomaly(await http(dbUrl(name, 'q'), { key, rawBody: '[:find ?e]', contentType: 'application/edn' }), 'incorrect', 'http/unsupported-media-type');
    expectAnomaly(await http(dbUrl(name, 'q'), { key, rawBody: '[1, 2]' }), 'incorrect', 'http/invalid-body');
    expectAnomaly(await http(dbUrl(name, 'q'), { key, rawBody: '"text"' }), 'incorrect', 'http/invalid-body');
    expectAnomaly(await http(dbUrl(name, 'q'), { key, body: { query: { '#nope': 1 } } }), 'incorrect', 'wire/malformed');
    expectAnomaly(await http(url('/v1/nothing-here'), { key }), 'not-found', 'http/route-not-found');
    expectAnomaly(await http(url('/nothing-here')), 'not-found', 'http/route-not-found');
    expectAnomaly(await http(dbUrl(name, 'q'), { key, method: 'GET' }), 'not-found', 'http/route-not-found');
    expect((await http(url('/health'))).status).toBe(200);
  });

  test('a body above the limit is refused with 413 and an incorrect anomaly naming the limit', async () => {
    const name = await newDb();
    const big = JSON.stringify({ txData: 'x'.repeat(10 * 1024 * 1024 + 10) });
    const r = await http(dbUrl(name, 'transact'), { key, rawBody: big });
    expect(r.status).toBe(413);
    expect(r.body.category).toBe('incorrect');
    expect(r.body.code).toBe('http/body-too-large');
    expect(r.body.message).toContain('10 MB');
  });

  test('deeply nested JSON is refused, and the node keeps serving', async () => {
    const name = await newDb();
    const deep = `{"query": ${'['.repeat(5000)}${']'.repeat(5000)}}`;
    const r = await http(dbUrl(name, 'q'), { key, rawBody: deep });
    expect(r.body.category).toBe('incorrect');
    expect((await http(url('/health'))).status).toBe(200);
  });
});
