/**
 * The transactor evaluates a large transaction in slices of the event loop (services/node/
 * event-loop.ts): other work runs while it is evaluated, before its entry is appended, and the
 * result is the one an evaluation in one go gives.
 */
import type { LogEntry } from '../../services/node/log';
import { DatabaseHost } from '../../services/node/log/transactor';
import { useStorage } from './storage-fixture';

const storage = useStorage();

test('other work runs while a large transaction is evaluated, before its entry is appended', async () => {
  const rec = await storage.catalog.createDatabase('slices');
  const log = storage.log;
  const appended: Array<{ last: number; otherWorkRan: boolean }> = [];
  let otherWorkRan = false;
  // The real log store, watched: what had happened when each entry was handed to it.
  const watched = Object.create(log) as typeof log;
  watched.appendEntry = (entry: LogEntry) => {
    appended.push({ last: entry.last, otherWorkRan });
    return log.appendEntry(entry);
  };
  const host = new DatabaseHost('slices', rec.id, watched);
  await host.transact('[{:db/ident :item/n :db/valueType :db.type/long :db/cardinality :db.cardinality/one}]');
  const n = 50_000;
  const committing = host.transact(Array.from({ length: n }, (_, i) => ({ 'item/n': i })));
  setImmediate(() => {
    otherWorkRan = true;
  });
  const r = await committing;
  expect(r.txData).toHaveLength(n + 2); // and its :db/txInstant and :db/txId
  expect(appended.map((a) => a.otherWorkRan)).toEqual([false, true]);
  const replayed = new DatabaseHost('slices', rec.id, log);
  await replayed.catchUp();
  expect(replayed.db.t).toBe(r.t);
  expect(replayed.db.datoms('aevt', replayed.db.attrOf(':item/n')!.id)).toHaveLength(n);
});
