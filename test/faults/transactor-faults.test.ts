/**
 * Two faults of the transactor found by the fault suite, pinned down deterministically with an
 * in-memory log whose reads the test holds back:
 *
 * 1. `sync` (and refusing a transaction) must see every entry written before the call. Joining
 *    a catch-up already in flight is not enough: its read of the log may predate an entry another
 *    node wrote and acknowledged since — a stale `sync` breaks strict serializability.
 * 2. A catch-up that fails while a batch is being committed (storage unavailable after an append
 *    conflict) must fail the waiting transactions, not leave them hanging with an unhandled
 *    rejection (which ends the node process: with storage down, every node of the cluster died).
 */
import { DatalithError } from '../../services/engine/errors';
import type { LogEntry, LogStore } from '../../services/node/log/log-store';
import { DatabaseHost } from '../../services/node/log/transactor';

const SCHEMA = '[{:db/ident :x/v :db/valueType :db.type/long :db/cardinality :db.cardinality/one}]';

/** One shared log; each host gets a view whose reads can be held back. */
class MemoryLog {
  readonly entries: LogEntry[] = [];
  readFailure: Error | undefined;

  view(): { store: LogStore; hold(): void; release(): void } {
    let held: Array<() => void> | undefined;
    const log = this;
    const store = {
      appendEntry: async (entry: LogEntry): Promise<void> => {
        if (this.entries.some((e) => e.t === entry.t)) throw new DatalithError('conflict', `log entry ${entry.t} exists`, 'log/append-conflict');
        this.entries.push(entry);
      },
      // One page: the read happens when the first page is asked for; it arrives when released.
      readEntryPages: async function* (_db: string, afterT: number): AsyncGenerator<LogEntry[]> {
        if (log.readFailure !== undefined) throw log.readFailure;
        const snapshot = log.entries.filter((e) => e.t > afterT).sort((a, b) => a.t - b.t);
        if (held !== undefined) await new Promise<void>((r) => held!.push(r));
        yield snapshot;
      },
    };
    return {
      store: store as unknown as LogStore,
      hold: () => { held ??= []; },
      release: () => {
        const waiting = held ?? [];
        held = undefined;
        for (const r of waiting) r();
      },
    };
  }
}

/** Two hosts on one log, both at the schema; B's reads can be held back. */
async function twoHostsInStep(): Promise<{ a: DatabaseHost; b: DatabaseHost; viewB: ReturnType<MemoryLog['view']> }> {
  const log = new MemoryLog();
  const viewB = log.view();
  const a = new DatabaseHost('d', 'id', log.view().store);
  const b = new DatabaseHost('d', 'id', viewB.store);
  await a.transact(SCHEMA);
  await b.catchUp();
  return { a, b, viewB };
}

test('catchUpFresh: a catch-up in flight that read the log before an acknowledged write is not enough', async () => {
  const { a, b, viewB } = await twoHostsInStep();

  // B starts a catch-up (a poll, say) whose read happens before A's next commit...
  viewB.hold();
  const poll = b.catchUp();
  const acked = await a.transact([[':db/add', 'e', ':x/v', 1]]);
  // ...and a sync arrives at B after A acknowledged.
  const joined = b.catchUp();
  const fresh = b.catchUpFresh();
  viewB.release();
  await poll;
  expect((await joined).t).toBeLessThan(acked.t); // the race: joining sees the old log
  expect((await fresh).t).toBe(acked.t); // a fresh read sees the acknowledged write
  expect(b.db.t).toBe(acked.t);
});

test('awaitBasis: a joined stale catch-up is followed by a fresh one instead of a spurious basis-not-found', async () => {
  const { a, b, viewB } = await twoHostsInStep();
  viewB.hold();
  const poll = b.catchUp();
  const acked = await a.transact([[':db/add', 'e', ':x/v', 1]]);
  const basis = b.awaitBasis(acked.t);
  viewB.release();
  await poll;
  await Promise.resolve();
  viewB.release();
  expect((await basis).t).toBe(acked.t);
});

test('a catch-up failing during a commit fails the waiting transactions (no hang, no unhandled rejection)', async () => {
  const log = new MemoryLog();
  const a = new DatabaseHost('d', 'id', log.view().store);
  const b = new DatabaseHost('d', 'id', log.view().store);
  await a.transact(SCHEMA);
  // B has not seen A's entry: its append conflicts, and the catch-up after it fails.
  log.readFailure = new DatalithError('unavailable', 'storage unavailable during Query', 'storage/unavailable');
  const unhandled: unknown[] = [];
  const onUnhandled = (e: unknown): void => { unhandled.push(e); };
  process.on('unhandledRejection', onUnhandled);
  try {
    let timer: NodeJS.Timeout | undefined;
    const outcome = await Promise.race([
      b.transact(SCHEMA).then(() => 'committed', (e: unknown) => e),
      new Promise((r) => { timer = setTimeout(() => r('hung'), 2_000); }),
    ]);
    clearTimeout(timer);
    expect(outcome).toMatchObject({ category: 'unavailable', code: 'storage/unavailable' });
    // The host keeps working once storage is back.
    log.readFailure = undefined;
    const r = await b.transact([[':db/add', 'e', ':x/v', 2]]);
    expect(r.t).toBe(2);
    await new Promise((res) => setImmediate(res));
    expect(unhandled).toEqual([]);
  } finally {
    process.off('unhandledRejection', onUnhandled);
  }
});
