/**
 * A transaction in doubt (a retry whose first attempt may still commit) is refused only through
 * the log: the refusal is written first, in an empty transaction, so the first attempt can no
 * longer commit anywhere. Transactor-level against dynalite, and over HTTP.
 */
import { randomUUID } from 'node:crypto';
import type { LogEntry, LogStore } from '../../services/node/log';
import { DatabaseHost } from '../../services/node/log/transactor';
import { DatalithError } from '../../services/engine/errors';
import { ATTEMPT_HEADER } from '../../services/engine/wire';
import { http, startSystem, type TestSystem } from './http/harness';
import { useStorage } from './storage-fixture';

const storage = useStorage();

const SCHEMA = '[{:db/ident :acct/v :db/valueType :db.type/long :db/cardinality :db.cardinality/one}]';

/** A log whose appends wait until the test lets each one through, as a paused node's would. */
function heldLog(inner: LogStore): { log: LogStore; held: Array<() => void>; hold: boolean } {
  const state = { hold: true, held: [] as Array<() => void>, log: undefined as unknown as LogStore };
  state.log = Object.create(inner, {
    appendEntry: {
      value: async (entry: LogEntry): Promise<void> => {
        if (state.hold) await new Promise<void>((resolve) => state.held.push(resolve));
        return inner.appendEntry(entry);
      },
    },
  }) as LogStore;
  return state;
}

async function until(cond: () => boolean): Promise<void> {
  for (let i = 0; i < 500 && !cond(); i++) await new Promise((r) => setTimeout(r, 10));
  expect(cond()).toBe(true);
}

async function caught(p: Promise<unknown>): Promise<DatalithError> {
  try {
    await p;
  } catch (e) {
    expect(e).toBeInstanceOf(DatalithError);
    return e as DatalithError;
  }
  throw new Error('expected a refusal');
}

async function setUp(name: string): Promise<{ id: string; a: DatabaseHost; e: number; gate: ReturnType<typeof heldLog> }> {
  const { id } = await storage.catalog.createDatabase(name);
  const setup = new DatabaseHost(name, id, storage.log);
  await setup.transact(SCHEMA);
  const e = (await setup.transact([{ 'db/id': 'acct', 'acct/v': 0 }])).tempids['acct']!;
  const gate = heldLog(storage.log);
  const a = new DatabaseHost(name, id, gate.log);
  await a.catchUp();
  return { id, a, e, gate };
}

test('a retry refused on one node while its first attempt waits on another: the first attempt never commits', async () => {
  const { id, a, e, gate } = await setUp('in-doubt');
  // Node A: an unrelated write goes out and is held; meanwhile Y (v := 1) and X (cas 1 -> 2,
  // valid only after Y) queue, and go out together once it is through.
  const z = a.transact([[':db/add', 'other', ':acct/v', 5]]);
  await until(() => gate.held.length === 1);
  const y = a.transact([[':db/add', e, ':acct/v', 1]]);
  const x = a.transact([[':db/cas', e, ':acct/v', 1, 2]], 'tx-X');
  gate.held[0]!();
  await z;
  await until(() => gate.held.length === 2); // the entry [Y, X] is in flight

  // The client gave up on A and retries X on node B, where the value is still 0.
  const b = new DatabaseHost('in-doubt', id, storage.log);
  await b.catchUp();
  const refusedOnB = await caught(b.transact([[':db/cas', e, ':acct/v', 1, 2]], 'tx-X', { inDoubt: true }));
  expect(refusedOnB.code).toBe('db.error/cas-failed');

  // A's write now arrives: it conflicts with B's sealed refusal, A catches up and refuses X too.
  gate.hold = false;
  gate.held[1]!();
  expect((await y).t).toBeGreaterThan(0);
  const refusedOnA = await caught(x);
  expect({ category: refusedOnA.category, code: refusedOnA.code }).toEqual({ category: 'conflict', code: 'db.error/cas-failed' });

  // From the log alone: X is not there, the value is Y's, and X stays refused even though its
  // compare would now succeed.
  const c = new DatabaseHost('in-doubt', id, storage.log);
  await c.catchUp();
  expect(c.db.datoms('eavt', e, c.db.attrOf(':acct/v')!.id).map((d) => d.v)).toEqual([1]);
  const entries = await storage.log.readEntries(id, 0, { consistent: true });
  expect(entries.flatMap((en) => en.txs.map((t) => t.txId))).not.toContain('tx-X');
  const again = await caught(c.transact([[':db/cas', e, ':acct/v', 1, 2]], 'tx-X'));
  expect(again.code).toBe('db.error/cas-failed');
  expect(again.data).toMatchObject({ txId: 'tx-X', recorded: true });
});

test('a refusal not in doubt writes nothing, and the same id may commit later', async () => {
  const { id, e } = await setUp('not-in-doubt');
  const h = new DatabaseHost('not-in-doubt', id, storage.log);
  await h.catchUp();
  const t0 = h.db.t;
  expect((await caught(h.transact([[':db/cas', e, ':acct/v', 7, 8]], 'tx-1'))).code).toBe('db.error/cas-failed');
  const fresh = new DatabaseHost('not-in-doubt', id, storage.log);
  await fresh.catchUp();
  expect(fresh.db.t).toBe(t0);
  await h.transact([[':db/add', e, ':acct/v', 7]]);
  expect((await h.transact([[':db/cas', e, ':acct/v', 7, 8]], 'tx-1')).duplicate).toBe(false);
});

test('a refusal in doubt costs one empty transaction and is the answer for that id everywhere', async () => {
  const { id, e } = await setUp('sealed');
  const h = new DatabaseHost('sealed', id, storage.log);
  await h.catchUp();
  const t0 = h.db.t;
  expect((await caught(h.transact([[':db/cas', e, ':acct/v', 7, 8]], 'tx-2', { inDoubt: true }))).code).toBe('db.error/cas-failed');
  expect(h.db.t).toBe(t0 + 1);
  // Only the transaction's instant: nothing else changed.
  expect(h.db.datoms('eavt', e, h.db.attrOf(':acct/v')!.id).map((d) => d.v)).toEqual([0]);
  const other = new DatabaseHost('sealed', id, storage.log);
  await other.catchUp();
  await other.transact([[':db/add', e, ':acct/v', 7]]);
  expect((await caught(other.transact([[':db/cas', e, ':acct/v', 7, 8]], 'tx-2'))).code).toBe('db.error/cas-failed');
});

describe('over HTTP', () => {
  let sys: TestSystem;
  beforeAll(async () => {
    sys = await startSystem();
  });
  afterAll(async () => {
    await sys.close();
  });

  test(`${ATTEMPT_HEADER} marks a retry: its refusal is recorded, so the id never commits`, async () => {
    const name = `refuse-${randomUUID().slice(0, 8)}`;
    const key = sys.adminKey;
    const tx = (txData: unknown, txId?: string, headers: Record<string, string> = {}, extra: Record<string, unknown> = {}) =>
      http(`${sys.url}/v1/databases/${name}/transact`, { key, body: { txData, ...(txId ? { txId } : {}), ...extra }, headers });
    expect((await http(`${sys.url}/v1/databases`, { key, body: { name } })).status).toBe(201);
    expect((await tx(SCHEMA)).status).toBe(200);
    const e = (await tx([{ 'db/id': 'a', 'acct/v': 0 }])).body.tempids.a as number;
    const cas = [[':db/cas', e, ':acct/v', 1, 2]];

    const retried = await tx(cas, 'r-1', { [ATTEMPT_HEADER]: '2' });
    expect({ status: retried.status, code: retried.body.code }).toEqual({ status: 409, code: 'db.error/cas-failed' });
    // A first attempt under an id made for this call alone (as the SDK's are): nothing recorded.
    const first = await tx(cas, 'f-1', {}, { txIdGenerated: true });
    expect(first.status).toBe(409);
    // A first attempt under an id the caller chose: other copies may be in flight, so it is recorded.
    const chosen = await tx(cas, 'c-1');
    expect(chosen.status).toBe(409);
    expect((await tx([[':db/add', e, ':acct/v', 1]])).status).toBe(200);
    // Now the compare holds: the ids refused in doubt stay refused, the other one commits.
    for (const id of ['r-1', 'c-1']) {
      const again = await tx(cas, id);
      expect({ status: again.status, code: again.body.code }).toEqual({ status: 409, code: 'db.error/cas-failed' });
    }
    expect((await tx(cas, 'f-1', {}, { txIdGenerated: true })).status).toBe(200);
  });
});
