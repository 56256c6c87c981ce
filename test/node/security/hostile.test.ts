/**
 * Hostile input over HTTP against a running node: each kind gets the right anomaly category and
 * a message naming the problem, no answer carries a stack trace or an internal path, no partial
 * transaction is ever visible, and the node keeps serving while it happens.
 */
import { gzipSync } from 'node:zlib';
import { http, startSystem, type TestSystem } from '../http/harness';
import { expectAnomaly } from './helpers';

let sys: TestSystem;
let key: string;
const SCHEMA = `[{:db/ident :p/name :db/valueType :db.type/string :db/cardinality :db.cardinality/one :db/unique :db.unique/identity}
 {:db/ident :p/n :db/valueType :db.type/long :db/cardinality :db.cardinality/one}
 {:db/ident :p/d :db/valueType :db.type/double :db/cardinality :db.cardinality/one}
 {:db/ident :p/big :db/valueType :db.type/bigint :db/cardinality :db.cardinality/one}
 {:db/ident :p/friend :db/valueType :db.type/ref :db/cardinality :db.cardinality/many}]`;

beforeAll(async () => {
  sys = await startSystem({ node: { limits: { defaultQueryTimeoutMs: 1_000 } } });
  key = sys.adminKey;
  expect((await http(`${sys.url}/v1/databases`, { key, body: { name: 'h' } })).status).toBe(201);
  expect((await tx(SCHEMA)).status).toBe(200);
  // 300 people in a friendship cycle (p0 → p1 → … → p299 → p0).
  const people = Array.from({ length: 300 }, (_, i) => ({ 'db/id': `p${i}`, 'p/name': `p${i}`, 'p/n': i, 'p/friend': [`p${(i + 1) % 300}`] }));
  expect((await tx(people)).status).toBe(200);
});
afterAll(async () => {
  await sys.close();
});

const url = (op = '') => `${sys.url}/v1/databases/h${op ? `/${op}` : ''}`;
const tx = (txData: unknown) => http(url('transact'), { key, body: { txData } });
const q = (body: Record<string, unknown>) => http(url('q'), { key, body });
const latestT = async (): Promise<number> => (await http(url('sync'), { key, body: {} })).body.t;
const people = async (): Promise<number> => (await q({ query: '[:find (count ?e) . :where [?e :p/name]]' })).body.result;

describe('malformed EDN', () => {
  test.each([
    ['unclosed vector', '[[:db/add "x" :p/name "a"]', /line 1, column \d+/],
    ['unclosed string', '[{:p/name "a}]', /unclosed string/],
    ['trailing characters', '[] ]', /unmatched '\]'/],
    ['two forms', '[] []', /.+/],
    ['unknown tag', '[{:p/name #foo "a"}]', /.+/],
    ['bad character', '[{:p/name \\ "a"}]', /.+/],
    ['bare colon', '[{: "a"}]', /.+/],
    ['odd map', '[{:p/name}]', /.+/],
    ['bad #inst', '[{:p/name "a" :db/txInstant #inst "yesterday"}]', /.+/],
    ['bad #uuid', '[[:db/add "x" :p/name #uuid "nope"]]', /.+/],
    ['empty', '', /.+/],
    ['control characters', '[\u0000\u0001]', /.+/],
  ])('%s in transaction data → incorrect with the position', async (_label, edn, message) => {
    const t = await latestT();
    const r = await tx(edn);
    expectAnomaly(r, 'incorrect', /^(edn|db\.error|tx)\//, message);
    expect(await latestT()).toBe(t);
  });

  test('in queries, rules and pull selectors', async () => {
    expectAnomaly(await q({ query: '[:find ?e :where [?e :p/name]' }), 'incorrect', /^edn\//, /line 1, column 30: unclosed vector/);
    expectAnomaly(await q({ query: '[:find ?e :in $ % :where (r ?e)]', args: ['[[(r ?e) [?e :p/name]]'] }), 'incorrect', /^edn\//);
    expectAnomaly(await http(url('pull'), { key, body: { selector: '[:p/name {:p/friend [:p/name]]', eid: 1 } }), 'incorrect', /^edn\//);
    expectAnomaly(await q({ query: '[:find ?e :where [?e :p/name] :find]' }), 'incorrect', /^query\//);
    expectAnomaly(await q({ query: '{:find [?e] :where [[?e :p/name]] :nope 1}' }), 'incorrect', /^query\//);
    expectAnomaly(await q({ query: 42 }), 'incorrect', /^query\//);
  });
});

describe('malformed JSON and wrong content types', () => {
  test.each([
    ['truncated', '{"txData": "[]"'],
    ['trailing comma', '{"txData": "[]",}'],
    ['single quotes', "{'txData': '[]'}"],
    ['NaN literal', '{"txData": [{"p/d": NaN}]}'],
    ['Infinity literal', '{"txData": [{"p/d": Infinity}]}'],
    ['overflowing number', '{"txData": [{"p/d": 1e999}]}'],
    ['raw control character', '{"txData": "\u0001"}'],
    ['garbage', '\u00ff\u00fe\u0000'],
  ])('%s → incorrect http/malformed-json', async (_label, raw) => {
    expectAnomaly(await http(url('transact'), { key, rawBody: raw }), 'incorrect', 'http/malformed-json', /not valid JSON/);
  });

  test('non-object bodies and wrong field types name the field', async () => {
    expectAnomaly(await http(url('transact'), { key, rawBody: '[]' }), 'incorrect', 'http/invalid-body', /JSON object/);
    expectAnomaly(await http(url('transact'), { key, rawBody: 'null' }), 'incorrect', 'http/missing-field', /"txData"/);
    expectAnomaly(await http(url('transact'), { key, body: { txData: '[]', txId: 'has spaces' } }), 'incorrect', 'http/invalid-tx-id');
    expectAnomaly(await q({ query: '[:find ?e :where [?e :p/name]]', timeout: 'soon' }), 'incorrect', 'http/invalid-field', /"timeout"/);
    expectAnomaly(await q({ query: '[:find ?e :where [?e :p/name]]', inputs: 'x' }), 'incorrect', 'http/invalid-field', /"inputs"/);
    expectAnomaly(await q({ query: '[:find ?e :where [?e :p/name]]', history: 'yes' }), 'incorrect', 'http/invalid-field', /history/);
    expectAnomaly(await q({ query: { '#kw': 1 } }), 'incorrect', 'wire/malformed', /#kw/);
    expectAnomaly(await q({ query: { '#inst': 'not a date' } }), 'incorrect', 'wire/malformed', /#inst/);
  });

  test.each([
    ['text/plain', 'text/plain'],
    ['EDN', 'application/edn'],
    ['a form', 'application/x-www-form-urlencoded'],
    ['multipart', 'multipart/form-data; boundary=x'],
    ['XML', 'application/xml'],
  ])('%s body → incorrect http/unsupported-media-type', async (_label, type) => {
    expectAnomaly(await http(url('transact'), { key, rawBody: '{"txData": "[]"}', contentType: type }), 'incorrect', 'http/unsupported-media-type', /application\/json/);
  });

  test('unsupported charsets and encodings; a compressed body is limited by its inflated size', async () => {
    expectAnomaly(await http(url('transact'), { key, rawBody: '{"txData": "[]"}', contentType: 'application/json; charset=latin1' }), 'incorrect', 'http/unsupported-charset');
    const enc = (encoding: string, body: Buffer) => fetch(url('transact'), {
      method: 'POST', headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json', 'content-encoding': encoding }, body,
    }).then(async (r) => ({ status: r.status, body: await r.json() }));
    expectAnomaly(await enc('br', Buffer.from('{}')), 'incorrect', 'http/unsupported-encoding');
    // A gzip bomb: 20 MB of spaces in ~20 KB.
    const bomb = gzipSync(Buffer.from(`{"txData": "[]"${' '.repeat(20 * 1024 * 1024)}}`));
    expect(bomb.length).toBeLessThan(100_000);
    const r = await enc('gzip', bomb);
    expectAnomaly(r, 'incorrect', 'http/body-too-large');
    expect(r.status).toBe(413);
    expect((await enc('gzip', gzipSync(Buffer.from('{"txData": "[]"}')))).status).toBe(200);
  });
});

describe('unknown routes and methods', () => {
  test.each([
    ['GET', '/v1/databases/h/q'],
    ['PUT', '/v1/databases/h'],
    ['PATCH', '/v1/databases'],
    ['POST', '/v1/databases/h/drop-everything'],
    ['GET', '/v1/admin'],
    ['GET', '/v2/databases'],
    ['GET', '/v1/../../etc/passwd'],
    ['GET', '/.env'],
    ['DELETE', '/v1/keys'],
  ])('%s %s → not-found naming the route', async (method, path) => {
    const r = await http(`${sys.url}${path}`, { key, method });
    expectAnomaly(r, 'not-found', 'http/route-not-found', /No route for/);
  });

  test('bad database names are incorrect, unknown ones not-found', async () => {
    expectAnomaly(await http(`${sys.url}/v1/databases/${encodeURIComponent('../etc')}`, { key }), 'incorrect', /invalid-db-name/);
    expectAnomaly(await http(`${sys.url}/v1/databases/${'x'.repeat(500)}`, { key }), 'incorrect', /invalid-db-name/);
    expectAnomaly(await http(`${sys.url}/v1/databases/%00/q`, { key, body: { query: '[:find ?e :where [?e :p/name]]' } }), 'incorrect', /invalid-db-name/);
    expectAnomaly(await http(`${sys.url}/v1/databases/nope/q`, { key, body: { query: '[:find ?e :where [?e :p/name]]' } }), 'not-found', 'db.error/db-not-found', /nope/);
    expectAnomaly(await http(`${sys.url}/v1/databases`, { key, body: { name: '' } }), 'incorrect', /invalid-db-name/);
  });

  test('an oversized key or header is refused without reaching a route', async () => {
    expectAnomaly(await http(url(), { key: 'k'.repeat(8_000) }), 'forbidden', 'auth/invalid-key');
    const r = await fetch(url(), { headers: { authorization: `Bearer ${key}`, 'x-junk': 'j'.repeat(64 * 1024) } });
    expect(r.status).toBe(431);
    expect((await http(`${sys.url}/health`)).status).toBe(200);
  });
});

describe('huge numbers, NaN and Infinity', () => {
  test('integers a double cannot hold are refused in JSON; exact as bigints; checked against the attribute type', async () => {
    const t = await latestT();
    expectAnomaly(await http(url('transact'), { key, rawBody: '{"txData": [{"p/n": 123456789012345678901234567890}]}' }), 'incorrect', 'http/imprecise-number', /#bigint/);
    expectAnomaly(await http(url('transact'), { key, rawBody: '{"txData": [{"p/n": -9007199254740993}]}' }), 'incorrect', 'http/imprecise-number');
    expectAnomaly(await tx([{ 'p/n': { '#bigint': '123456789012345678901234567890' } }]), 'incorrect', 'db.error/wrong-type-for-attribute', /outside the 64-bit range/);
    expectAnomaly(await tx(`[{:p/n ${'9'.repeat(5_000)}}]`), 'incorrect', 'db.error/wrong-type-for-attribute', /:p\/n/);
    expect(await latestT()).toBe(t);
    const big = await tx([{ 'p/name': 'big', 'p/big': { '#bigint': '123456789012345678901234567890' } }]);
    expect(big.status).toBe(200);
    const back = await q({ query: '[:find ?b . :where [?e :p/name "big"] [?e :p/big ?b]]' });
    expect(back.body.result).toEqual({ '#bigint': '123456789012345678901234567890' });
    expectAnomaly(await q({ query: '[:find ?e :where [?e :p/name]]', basisT: 1e300 }), 'incorrect', 'http/invalid-field', /basisT/);
    expectAnomaly(await q({ query: '[:find ?e :where [?e :p/name]]', offset: -1 }), 'incorrect', 'http/invalid-field', /"offset"/);
    expectAnomaly(await http(url('sync'), { key, body: { t: 2 ** 60 } }), 'incorrect', 'http/invalid-field', /"t"/);
  });

  test('NaN is never stored; Infinity is a double', async () => {
    const t = await latestT();
    expectAnomaly(await tx([{ 'p/name': 'nan', 'p/d': { '#double': 'NaN' } }]), 'incorrect', 'db.error/wrong-type-for-attribute', /NaN cannot be stored/);
    expectAnomaly(await tx('[{:p/name "nan" :p/d ##NaN}]'), 'incorrect', 'db.error/wrong-type-for-attribute', /NaN/);
    expectAnomaly(await tx([{ 'p/name': 'nan', 'p/n': { '#double': 'NaN' } }]), 'incorrect', 'db.error/wrong-type-for-attribute');
    expect(await latestT()).toBe(t);
    expect((await tx([{ 'p/name': 'inf', 'p/d': { '#double': '-Infinity' } }])).status).toBe(200);
    const r = await q({ query: '[:find ?d . :where [?e :p/name "inf"] [?e :p/d ?d]]' });
    expect(r.body.result).toEqual({ '#double': '-Infinity' });
    // NaN as a query input matches nothing and breaks nothing.
    const n = await q({ query: '[:find ?e :in $ ?x :where [?e :p/d ?x]]', args: [{ '#double': 'NaN' }] });
    expect(n.status).toBe(200);
    expect(n.body.result).toEqual([]);
  });
});

describe('queries that would run forever', () => {
  async function servingMeanwhile(hostile: Promise<{ status: number; body: any }>): Promise<{ status: number; body: any }> {
    await new Promise((r) => setTimeout(r, 100));
    for (let i = 0; i < 3; i++) {
      let t0 = Date.now();
      expect((await http(`${sys.url}/health`)).status).toBe(200);
      expect(Date.now() - t0).toBeLessThan(250);
      t0 = Date.now();
      const small = await q({ query: '[:find ?n . :where [?e :p/name "p7"] [?e :p/n ?n]]' });
      expect(small.body.result).toBe(7);
      expect(Date.now() - t0).toBeLessThan(750);
      t0 = Date.now();
      expect((await tx([{ 'p/name': `during-${Date.now()}-${i}` }])).status).toBe(200);
      expect(Date.now() - t0).toBeLessThan(750);
    }
    return hostile;
  }

  test('a cross product times out (interrupted) while the node keeps serving', async () => {
    const r = await servingMeanwhile(q({ query: '[:find ?a ?b ?c :where [?x :p/n ?a] [?y :p/n ?b] [?z :p/n ?c]]' }));
    expectAnomaly(r, 'interrupted', 'query/timeout', /timed out/i);
  });

  test('a recursive rule over a cycle terminates', async () => {
    const rules = '[[(reach ?a ?b) [?a :p/friend ?b]] [(reach ?a ?b) (reach ?a ?x) [?x :p/friend ?b]]]';
    const r = await servingMeanwhile(q({ query: '[:find (count ?b) . :in $ % :where [?a :p/name "p0"] (reach ?a ?b)]', args: [rules], timeout: 20_000 }));
    expect(r.status).toBe(200);
    expect(r.body.result).toBe(300);
  });

  test('a rule generating values without end times out', async () => {
    const rules = '[[(up ?n ?m) [(inc ?n) ?m]] [(up ?n ?m) (up ?n ?x) [(inc ?x) ?m]]]';
    const r = await servingMeanwhile(q({ query: '[:find ?m :in $ % :where (up 0 ?m)]', args: [rules] }));
    expectAnomaly(r, 'interrupted', 'query/timeout');
  });

  test('catastrophic backtracking in a regex is stopped with its worker', async () => {
    const r = await servingMeanwhile(q({ query: `[:find ?m . :where [(re-pattern "(x+x+)+y") ?p] [(re-find ?p "${'x'.repeat(40)}") ?m]]`, timeout: 300 }));
    expectAnomaly(r, 'interrupted', 'query/timeout', /worker was stopped/);
  });

  test('invalid regexes and functions on wrong types are incorrect', async () => {
    expectAnomaly(await q({ query: '[:find ?m . :where [(re-pattern "(") ?p] [(re-find ?p "x") ?m]]' }), 'incorrect');
    expectAnomaly(await q({ query: '[:find ?m . :where [(inc "x") ?m]]' }), 'incorrect');
    expectAnomaly(await q({ query: '[:find ?m . :where [(no-such-fn 1) ?m]]' }), 'incorrect');
  });
});

describe('no partial transaction is ever visible', () => {
  test('a transaction failing on its last operation writes nothing, and concurrent readers never see part of it', async () => {
    const t = await latestT();
    const before = await people();
    const many = Array.from({ length: 2_000 }, (_, i) => ({ 'p/name': `partial-${i}`, 'p/n': i }));
    const failures = [
      [...many, { 'p/name': 'partial-bad', 'p/n': 'not a number' }],
      [...many, [':db/cas', [':p/name', 'p1'], ':p/n', 999, 5]],
      [...many, [':db/add', 'x', ':no/such-attr', 1]],
      [...many, { 'p/name': 'p2', 'p/n': 'x'.repeat(5_000) }],
    ];
    const readers = (async () => {
      const seen = new Set<number>();
      for (let i = 0; i < 20; i++) seen.add(await people());
      return seen;
    })();
    for (const f of failures) {
      const r = await tx(f);
      expect(r.status === 400 || r.status === 409).toBe(true);
      expect(r.body.category === 'incorrect' || r.body.category === 'conflict').toBe(true);
    }
    const seen = await readers;
    expect([...seen].every((n) => n === before)).toBe(true);
    expect(await latestT()).toBe(t);
    expect(await people()).toBe(before);
    expect((await q({ query: '[:find ?e :where [?e :p/name "partial-0"]]' })).body.result).toEqual([]);
  });
});

describe('answers too deep to decode', () => {
  test('an unbounded pull recursion down a long chain is refused; a bounded one answers', async () => {
    const chain = Array.from({ length: 400 }, (_, i) => ({ 'db/id': `c${i}`, 'p/name': `chain-${i}`, ...(i + 1 < 400 ? { 'p/friend': [`c${i + 1}`] } : {}) }));
    expect((await tx(chain)).status).toBe(200);
    const pull = (selector: string) => http(url('pull'), { key, body: { selector, eid: [':p/name', 'chain-0'] } });
    expectAnomaly(await pull('[:p/name {:p/friend ...}]'), 'incorrect', 'http/response-too-deep', /more than 200 levels/);
    const bounded = await pull('[:p/name {:p/friend 20}]');
    expect(bounded.status).toBe(200);
    expect(bounded.body.result['p/name']).toBe('chain-0');
    const inQuery = await q({ query: '[:find (pull ?e [:p/name {:p/friend ...}]) . :where [?e :p/name "chain-0"]]' });
    expectAnomaly(inQuery, 'incorrect', 'http/response-too-deep');
    expect((await http(`${sys.url}/health`)).status).toBe(200);
  });
});
