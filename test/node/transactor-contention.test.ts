/**
 * Two writers forced onto one tail — what the `nodes-cut` fault does to a cluster: two nodes
 * commit to one database concurrently, each racing the other for the conditional append. The
 * loser of a race catches up and tries again after a jittered, growing backoff, for at least
 * `MAX_APPEND_ATTEMPTS` attempts and `APPEND_BUDGET_MS`; at the rates bench:failover runs
 * (14 writers, about 200 transactions a second in all), no transaction may end in `busy`.
 * Without the backoff a loser retried at once, in step with the winner, and gave up after 12
 * quick attempts (1–2 transactions in `busy` per run here, every run of three).
 */
import { startFaultProxy, type FaultProxy } from '../../services/local/fault-proxy';
import { CatalogStore, createDynamoClient, ensureTables } from '../../services/node/storage';
import { LogStore } from '../../services/node/log';
import { spawnDynaliteProcess, type DynaliteProcess } from '../../services/local/dynalite';
import { DatabaseHost } from '../../services/node/log/transactor';
import { isDatalithError } from '../../services/engine/errors';

const SCHEMA = `[{:db/ident :item/key :db/valueType :db.type/long :db/cardinality :db.cardinality/one :db/unique :db.unique/identity}
  {:db/ident :item/writer :db/valueType :db.type/string :db/cardinality :db.cardinality/one}]`;

/** bench:failover: 8 list-append + 4 unique + 2 bank writers over two nodes. */
const WRITERS_PER_HOST = 7;
const TXS_PER_WRITER = 60;
/** Between a writer's transactions: a remote client's round trip through the load balancer and its own work. */
const CLIENT_PAUSE_MS = 50;
/** Storage latency each way (the proxy), as from a node to DynamoDB. */
const STORAGE_DELAY_MS = 3;

// Storage in its own process, as in the local cluster, so the two hosts here have this process's core.
let storage: DynaliteProcess;
let proxy: FaultProxy;
beforeAll(async () => {
  storage = await spawnDynaliteProcess();
  const u = new URL(storage.endpoint);
  proxy = await startFaultProxy({ host: u.hostname, port: Number(u.port) }, { delayMs: STORAGE_DELAY_MS, responseDelayMs: STORAGE_DELAY_MS });
});
afterAll(async () => {
  await proxy.close();
  await storage.stop();
});

const pause = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

test('two hosts on one log, closed-loop writers on both: every transaction commits, none ends in busy', async () => {
  // Each host on its own client, as two nodes would be.
  const clients = [createDynamoClient({ endpoint: proxy.endpoint }), createDynamoClient({ endpoint: proxy.endpoint })];
  try {
    await ensureTables(clients[0]!);
    const id = (await new CatalogStore(clients[0]!).createDatabase('contention')).id;
    const hosts = clients.map((c) => new DatabaseHost('contention', id, new LogStore(c)));
    await hosts[0]!.transact(SCHEMA);
    await hosts[1]!.catchUp();
    const outcomes = new Map<string, number>();
    let key = 0;
    const writer = async (host: DatabaseHost, name: string): Promise<void> => {
      for (let i = 0; i < TXS_PER_WRITER; i++) {
        let outcome = 'ok';
        try {
          await host.transact([{ 'item/key': key++, 'item/writer': name }]);
        } catch (e) {
          outcome = isDatalithError(e) ? `${e.category} ${e.code ?? ''}` : String(e);
        }
        outcomes.set(outcome, (outcomes.get(outcome) ?? 0) + 1);
        await pause(CLIENT_PAUSE_MS);
      }
    };
    await Promise.all(hosts.flatMap((h, hi) => Array.from({ length: WRITERS_PER_HOST }, (_, w) => writer(h, `${hi}-${w}`))));
    const total = 2 * WRITERS_PER_HOST * TXS_PER_WRITER;
    expect(Object.fromEntries(outcomes)).toEqual({ ok: total });
    // The hosts did race, and both committed (otherwise this shows nothing).
    expect(hosts[0]!.metrics.conflicts + hosts[1]!.metrics.conflicts).toBeGreaterThan(0);
    expect(hosts.map((h) => h.metrics.transactions)).toEqual([WRITERS_PER_HOST * TXS_PER_WRITER + 1, WRITERS_PER_HOST * TXS_PER_WRITER]);
    const reader = new DatabaseHost('contention', id, new LogStore(clients[0]!));
    await reader.catchUp();
    expect(reader.db.t).toBe(1 + total);
  } finally {
    for (const c of clients) c.destroy();
  }
});
