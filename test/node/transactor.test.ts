/**
 * The conditional-write transactor against dynalite: concurrent writers on two hosts racing for
 * one database lose nothing, duplicate nothing, reorder nothing; every t is used once.
 */
import type { CatalogStore } from '../../services/node/storage';
import type { LogStore } from '../../services/node/log';
import { DatabaseHost, MAX_TX_DATOMS } from '../../services/node/log/transactor';
import { DatalithError } from '../../services/engine/errors';
import { useStorage } from './storage-fixture';

const storage = useStorage();
let log: LogStore;
let catalog: CatalogStore;
beforeAll(() => {
  log = storage.log;
  catalog = storage.catalog;
});

const SCHEMA = `[{:db/ident :item/key :db/valueType :db.type/long :db/cardinality :db.cardinality/one :db/unique :db.unique/identity}
  {:db/ident :item/writer :db/valueType :db.type/string :db/cardinality :db.cardinality/one}
  {:db/ident :counter/value :db/valueType :db.type/long :db/cardinality :db.cardinality/one}]`;

async function freshDatabase(name: string): Promise<string> {
  const rec = await catalog.createDatabase(name);
  return rec.id;
}

test('two hosts racing on one database: every acknowledged transaction is in the log exactly once, t is dense', async () => {
  const id = await freshDatabase('race');
  const a = new DatabaseHost('race', id, log);
  const b = new DatabaseHost('race', id, log);
  await a.transact(SCHEMA);
  await b.catchUp();
  const acks: Array<{ key: number; t: number }> = [];
  const writes: Array<Promise<void>> = [];
  for (let i = 0; i < 120; i++) {
    const host = i % 2 === 0 ? a : b;
    writes.push(host.transact([{ 'item/key': i, 'item/writer': host === a ? 'a' : 'b' }]).then((r) => {
      acks.push({ key: i, t: r.t });
    }));
  }
  await Promise.all(writes);
  expect(acks).toHaveLength(120);
  // Each acknowledged transaction got its own t, and the ts are exactly 2..121.
  const ts = acks.map((x) => x.t).sort((x, y) => x - y);
  expect(ts).toEqual(Array.from({ length: 120 }, (_, i) => i + 2));
  // A third host rebuilt from the log sees the same datoms, in the acknowledged order.
  const c = new DatabaseHost('race', id, log);
  await c.catchUp();
  expect(c.db.t).toBe(121);
  const keyAttr = c.db.attrOf(':item/key')!.id;
  for (const { key, t } of acks) {
    const d = c.db.firstDatom('avet', keyAttr, key);
    expect(d).toBeDefined();
    expect(d!.tx - (c.db.state.log.get({ t, tx: 0, instant: 0, data: [] })!.tx)).toBe(0);
  }
  expect(c.db.estimateCount('aevt', keyAttr)).toBe(120);
  // Conflicts happened and batches formed (group commit).
  expect(a.metrics.conflicts + b.metrics.conflicts).toBeGreaterThan(0);
  expect(a.metrics.entries + b.metrics.entries).toBeLessThan(120);
});

test('a cas re-evaluated after losing the race fails for its caller only', async () => {
  const id = await freshDatabase('cas');
  const a = new DatabaseHost('cas', id, log);
  const b = new DatabaseHost('cas', id, log);
  const r = await a.transact(`${SCHEMA.slice(0, -1)} {:db/id "c" :db/ident :the/counter}]`);
  void r;
  await a.transact([[':db/add', ':the/counter', ':counter/value', 0]]);
  await b.catchUp();
  // Both hosts believe the counter is 0; both try cas 0 → their own value.
  const results = await Promise.allSettled([
    a.transact([[':db/cas', ':the/counter', ':counter/value', 0, 1]]),
    b.transact([[':db/cas', ':the/counter', ':counter/value', 0, 2]]),
    b.transact([{ 'item/key': 999 }]),
  ]);
  const ok = results.filter((x) => x.status === 'fulfilled');
  const failed = results.filter((x): x is PromiseRejectedResult => x.status === 'rejected');
  expect(ok).toHaveLength(2);
  expect(failed).toHaveLength(1);
  expect((failed[0]!.reason as DatalithError).code).toBe('db.error/cas-failed');
  await a.catchUp();
  const v = a.db.values(a.db.entid(':the/counter')!, a.db.attrOf(':counter/value')!.id)[0];
  expect([1, 2]).toContain(v);
});

test('idempotent retries: the same transaction id commits once, on any host', async () => {
  const id = await freshDatabase('idem');
  const a = new DatabaseHost('idem', id, log);
  const b = new DatabaseHost('idem', id, log);
  await a.transact(SCHEMA);
  const first = await a.transact([{ 'item/key': 1 }], 'tx-1');
  // b has not seen the commit: its attempt conflicts, catches up, and finds the id.
  const again = await b.transact([{ 'item/key': 1, 'item/writer': 'retry' }], 'tx-1');
  expect(again.duplicate).toBe(true);
  expect(again.t).toBe(first.t);
  expect(b.db.t).toBe(first.t);
  const same = await a.transact([{ 'item/key': 1 }], 'tx-1');
  expect(same.duplicate).toBe(true);
  expect(await log.latestT(id)).toBe(first.t);
});

test('big transactions are chunked into the log; too many datoms are refused and nothing is written', async () => {
  const id = await freshDatabase('big');
  const a = new DatabaseHost('big', id, log);
  await a.transact(SCHEMA);
  const many = Array.from({ length: 6000 }, (_, i) => ({ 'item/key': i, 'item/writer': 'x'.repeat(60) }));
  const r = await a.transact(many);
  expect(r.t).toBe(2);
  const rebuilt = new DatabaseHost('big', id, log);
  await rebuilt.catchUp();
  expect(rebuilt.db.estimateCount('aevt', rebuilt.db.attrOf(':item/key')!.id)).toBe(6000);
  const tooMany = Array.from({ length: MAX_TX_DATOMS + 1 }, (_, i) => [':db/add', `e${i}`, ':counter/value', i]);
  const err = await a.transact(tooMany).catch((e: unknown) => e);
  expect((err as DatalithError).category).toBe('incorrect');
  expect(await log.latestT(id)).toBe(2);
});
