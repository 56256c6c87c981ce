/**
 * Paging over HTTP (docs/http-api.md, "Paging"): the `offset`, `limit` and `after` fields of
 * datoms and index-range, `offset`, `limit` and `asOfT` of tx-range and its `basisT`, against a
 * node with a small row limit; and the SDK's iterators across two nodes behind a round-robin
 * proxy, with transactions between pages.
 */
import { randomUUID } from 'node:crypto';
import { createClient, type Client } from '../../../services';
import { expectAnomaly } from '../security/helpers';
import { http, startSystem, type TestSystem } from './harness';
import { startProxy, type TestProxy } from './proxy';

const MAX_ROWS = 50;
const ITEMS = 120;
const SCHEMA = `[{:db/ident :item/n :db/valueType :db.type/long :db/cardinality :db.cardinality/one}
 {:db/ident :item/at :db/valueType :db.type/instant :db/cardinality :db.cardinality/one}]`;

let sys: TestSystem;
let key: string;
let name: string;
/** Item entity ids in creation order (ascending), and the t after the items. */
let ids: number[];
let itemsT: number;

const url = (op: string): string => `${sys.url}/v1/databases/${name}/${op}`;
const post = (op: string, body: unknown) => http(url(op), { key, body });
/** The instant of item i: one per item, in reverse order of the items. */
const at = (i: number): string => new Date(Date.UTC(2024, 0, 1) + (ITEMS - i) * 60_000).toISOString();

beforeAll(async () => {
  sys = await startSystem({ node: { limits: { maxResultRows: MAX_ROWS } } });
  key = sys.adminKey;
  name = `paging-${randomUUID().slice(0, 8)}`;
  expect((await http(`${sys.url}/v1/databases`, { key, body: { name } })).status).toBe(201);
  expect((await post('transact', { txData: SCHEMA })).status).toBe(200);
  ids = [];
  // Batches of 15 items (31 datoms a transaction, under the row limit).
  for (let b = 0; b < ITEMS; b += 15) {
    const txData = Array.from({ length: 15 }, (_, j) => ({ 'db/id': `i${b + j}`, 'item/n': b + j, 'item/at': { '#inst': at(b + j) } }));
    const r = await post('transact', { txData });
    expect(r.status).toBe(200);
    for (let j = 0; j < 15; j++) ids.push(r.body.tempids[`i${b + j}`]);
    itemsT = r.body.t;
  }
});
afterAll(async () => {
  await sys?.close();
});

describe('datoms and index-range: offset, limit, after', () => {
  test('a limit at the row limit answers; pages by `after` glue into the whole index', async () => {
    expectAnomaly(await post('datoms', { index: 'aevt', components: [':item/n'] }), 'incorrect', 'datoms/result-too-large', /offset and limit/);
    // A limit above the row limit is refused when the answer would exceed it.
    expectAnomaly(await post('datoms', { index: 'aevt', components: [':item/n'], limit: MAX_ROWS + 1 }), 'incorrect', 'datoms/result-too-large');
    const pages: Array<Array<{ e: number; v: number }>> = [];
    let after: unknown;
    for (;;) {
      const r = await post('datoms', { index: 'aevt', components: [':item/n'], limit: MAX_ROWS, ...(after !== undefined ? { after } : {}) });
      expect(r.status).toBe(200);
      pages.push(r.body.datoms);
      if (r.body.datoms.length < MAX_ROWS) break;
      after = r.body.datoms[MAX_ROWS - 1];
    }
    expect(pages.map((p) => p.length)).toEqual([50, 50, 20]);
    expect(pages.flat().map((d) => [d.e, d.v])).toEqual(ids.map((e, i) => [e, i]));
    const byOffset = await post('datoms', { index: 'aevt', components: [':item/n'], offset: 100, limit: 50 });
    expect(byOffset.body.datoms).toEqual(pages[2]);
    expect((await post('datoms', { index: 'aevt', components: [':item/n'], offset: 500 })).body.datoms).toEqual([]);
    expect((await post('datoms', { index: 'aevt', components: [':item/n'], limit: 0 })).body.datoms).toEqual([]);
  });

  test('the cursor of index-range carries a wire-encoded value (an instant)', async () => {
    // AVET by instant: the items in reverse.
    const expected = [...ids].reverse();
    const got: number[] = [];
    let after: unknown;
    for (let pages = 0; pages < 20; pages++) {
      const r = await post('index-range', { attr: ':item/at', limit: 7, ...(after !== undefined ? { after } : {}) });
      expect(r.status).toBe(200);
      got.push(...r.body.datoms.map((d: { e: number }) => d.e));
      if (r.body.datoms.length < 7) break;
      after = r.body.datoms[6];
      expect(Object.keys((after as { v: object }).v)).toEqual(['#inst']);
    }
    expect(got).toEqual(expected);
    const bounded = await post('index-range', { attr: ':item/at', start: { '#inst': at(30) }, end: { '#inst': at(10) }, offset: 5, limit: 3 });
    expect(bounded.body.datoms.map((d: { v: unknown }) => d.v)).toEqual([at(25), at(24), at(23)].map((x) => ({ '#inst': x })));
  });

  test('pages of an old value, after newer transactions, are pages of the old value', async () => {
    const old = await post('datoms', { index: 'avet', components: [':item/n'], basisT: itemsT, offset: 40, limit: 10 });
    const extra = await post('transact', { txData: `[[:db/retract ${ids[45]} :item/n 45] {:item/n 45}]` });
    expect(extra.status).toBe(200);
    const again = await post('datoms', { index: 'avet', components: [':item/n'], basisT: itemsT, offset: 40, limit: 10 });
    expect(again.body.datoms).toEqual(old.body.datoms);
    const cursor = await post('datoms', { index: 'avet', components: [':item/n'], basisT: itemsT, after: old.body.datoms[4], limit: 5 });
    expect(cursor.body.datoms).toEqual(old.body.datoms.slice(5));
    const now = await post('datoms', { index: 'avet', components: [':item/n'], offset: 40, limit: 10 });
    expect(now.body.datoms).not.toEqual(old.body.datoms);
  });

  test('invalid fields are incorrect, naming the field', async () => {
    const cases: Array<[string, Record<string, unknown>, string, string]> = [
      ['datoms', { index: 'eavt', offset: -1 }, 'datoms/invalid-offset', 'offset'],
      ['datoms', { index: 'eavt', offset: '1' }, 'datoms/invalid-offset', 'offset'],
      ['datoms', { index: 'eavt', limit: -2 }, 'datoms/invalid-limit', 'limit'],
      ['datoms', { index: 'eavt', limit: 1.5 }, 'datoms/invalid-limit', 'limit'],
      ['datoms', { index: 'eavt', after: 7 }, 'datoms/invalid-after', 'after'],
      ['datoms', { index: 'eavt', after: { e: 1, a: ':no/such', v: 1, tx: 1, added: true } }, 'datoms/invalid-after', 'after'],
      ['index-range', { attr: ':item/n', after: { e: 1, a: ':item/n', tx: 1, added: true } }, 'datoms/invalid-after', 'after'],
      ['index-range', { attr: ':item/n', limit: 'all' }, 'datoms/invalid-limit', 'limit'],
      ['tx-range', { offset: -3 }, 'datoms/invalid-offset', 'offset'],
      ['tx-range', { asOfT: -1 }, 'http/invalid-field', 'asOfT'],
      ['tx-range', { asOfT: 'now' }, 'http/invalid-field', 'asOfT'],
    ];
    for (const [op, body, code, field] of cases) {
      const r = await post(op, body);
      expectAnomaly(r, 'incorrect', code, new RegExp(field));
      expect([op, body, r.body.data?.field]).toEqual([op, body, field]);
    }
  });
});

describe('tx-range: offset, limit, asOfT, basisT', () => {
  test('the answer names the t of the log it read; asOfT reads the log as of a t', async () => {
    expect((await post('transact', { txData: '[{:item/n -7}]' })).status).toBe(200);
    const latest = (await http(`${sys.url}/v1/databases/${name}`, { key })).body.t as number;
    expect(latest).toBeGreaterThan(itemsT);
    const all = await post('tx-range', { start: 2, limit: 1 });
    expect(all.body).toEqual({ txs: [expect.objectContaining({ t: 2 })], basisT: latest });
    expect((await post('tx-range', { start: itemsT })).body.txs.map((x: { t: number }) => x.t)).toEqual(Array.from({ length: latest - itemsT + 1 }, (_, i) => itemsT + i));
    const pinned = await post('tx-range', { start: itemsT, asOfT: itemsT });
    expect(pinned.body.txs.map((x: { t: number }) => x.t)).toEqual([itemsT]);
    expect(pinned.body.basisT).toBe(itemsT);
    expect((await post('tx-range', { offset: 3, limit: 1 })).body.txs.map((x: { t: number }) => x.t)).toEqual([4]);
    expect((await post('tx-range', { start: 3, offset: 1000 })).body.txs).toEqual([]);
    // The whole log is above the row limit; a limit of one transaction is not.
    expectAnomaly(await post('tx-range', {}), 'incorrect', 'datoms/result-too-large', /limit/);
    expectAnomaly(await post('tx-range', { asOfT: latest + 1000 }), 'unavailable', 'db.error/basis-not-found');
  });
});

describe('the SDK across two nodes', () => {
  let two: TestSystem;
  let proxy: TestProxy;
  let client: Client;

  beforeAll(async () => {
    two = await startSystem({ nodes: 2, node: { limits: { maxResultRows: MAX_ROWS } } });
    proxy = await startProxy(() => two.nodes.map((n) => n.url));
    client = createClient({ endpoint: proxy.url, accessKey: two.adminKey });
  });
  afterAll(async () => {
    await client?.close();
    await proxy?.close();
    await two?.close();
  });

  test('pages served by either node, with transactions between them, read one value and one log', async () => {
    const db0 = `two-${randomUUID().slice(0, 8)}`;
    await client.createDatabase(db0);
    const conn = await client.connect(db0);
    await conn.transact(SCHEMA);
    for (let b = 0; b < ITEMS; b += 20) {
      await conn.transact(Array.from({ length: 20 }, (_, j) => ({ 'item/n': b + j })));
    }
    const db = await conn.db();
    const t = db.t;
    const it = db.history().iterDatoms({ index: 'avet', components: [':item/n'], chunk: 9 });
    const log = conn.iterTxRange({ chunk: 1 });
    const got: unknown[] = [(await it.next()).value.v];
    const ts: number[] = [(await log.next()).value.t];
    // Changes on the other node's side of the proxy, between pages.
    const other = createClient({ endpoint: two.nodes[1]!.url, accessKey: two.adminKey });
    const otherConn = await other.connect(db0);
    await otherConn.transact(Array.from({ length: 30 }, (_, i) => ({ 'item/n': 1000 + i })));
    await otherConn.transact('[{:item/n -1}]');
    await other.close();
    for await (const d of { [Symbol.asyncIterator]: () => it }) got.push(d.v);
    for await (const x of { [Symbol.asyncIterator]: () => log }) ts.push(x.t);
    expect(got).toEqual(Array.from({ length: ITEMS }, (_, i) => i));
    expect(ts).toEqual(Array.from({ length: t }, (_, i) => i + 1));
    for (const n of two.nodes) expect(proxy.forwarded.get(n.url) ?? 0).toBeGreaterThan(5);
  });
});
