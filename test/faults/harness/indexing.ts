/**
 * The harness of the indexing fault tests (test/faults/indexing-faults.test.ts): storage for node
 * processes (dynalite and s3rver in the test process, each behind a TCP fault proxy), node
 * processes started as `npm start` starts them (services/local/process.ts), a node in the test
 * process without a segment store (it replays the whole log: the reference every read is
 * compared with), a write workload whose every transaction carries a unique `:tx/key`, the reads
 * that are compared, and waiting on `GET /v1/status` with deadlines that say what they waited for.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { createClient, type Client, type Connection } from '../../../services/client';
import { isDatalithError } from '../../../services/engine/errors';
import { startDynaliteInProcess, type DynaliteHandle } from '../../../services/local/dynalite';
import { startFaultProxy, type FaultProxy } from '../../../services/local/fault-proxy';
import { DEFAULT_NODE_ENTRY } from '../../../services/local/local-cluster';
import { spawnChild, type ChildHandle } from '../../../services/local/process';
import { startS3rverInProcess, type S3rverHandle } from '../../../services/local/s3rver';
import { startNode, type RunningNode } from '../../../services/node/main';
import { createDynamoClient, ensureTables, IndexRootStore, type IndexRoot } from '../../../services/node/storage';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { HistoryRecorder, type Op } from '../checker/history';
import { checkUnique, type UniqueResult } from '../checker/unique';
import { errorLabel } from './workloads';

export const ADMIN_KEY = 'indexing-faults-admin-key';
const BUCKET = 'datalith-index-faults';

export const SCHEMA = `[
  {:db/ident :tx/key :db/valueType :db.type/string :db/cardinality :db.cardinality/one :db/unique :db.unique/identity}
  {:db/ident :p/id :db/valueType :db.type/long :db/cardinality :db.cardinality/one :db/unique :db.unique/identity}
  {:db/ident :p/group :db/valueType :db.type/keyword :db/cardinality :db.cardinality/one}
  {:db/ident :p/val :db/valueType :db.type/long :db/cardinality :db.cardinality/one}
  {:db/ident :p/friend :db/valueType :db.type/ref :db/cardinality :db.cardinality/many}]`;

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/**
 * Polls `f` until it answers something other than undefined/false. On timeout it fails naming
 * `what`, the last error `f` threw, and what `state()` says then (e.g. the last status seen).
 */
export async function waitFor<T>(what: string, f: () => Promise<T | undefined | false>, timeoutMs: number, intervalMs = 25, state?: () => unknown): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let error: string | undefined;
  for (;;) {
    try {
      const r = await f();
      if (r !== undefined && r !== false) return r;
      error = undefined;
    } catch (e) {
      error = `${errorLabel(e)}: ${(e as Error).message}`;
    }
    if (Date.now() >= deadline) {
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${error !== undefined ? `; last error: ${error}` : ''}${state !== undefined ? `; state: ${JSON.stringify(state())}` : ''}`);
    }
    await sleep(intervalMs);
  }
}

/** Rejects with `message` after `ms` (the timer is cleared when `p` settles first). */
export async function within<T>(p: Promise<T>, ms: number, message: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([p, new Promise<never>((_, reject) => { timer = setTimeout(() => reject(new Error(`${message} (after ${ms} ms)`)), ms); })]);
  } finally {
    clearTimeout(timer);
  }
}

export interface IndexingStorage {
  /** dynalite itself (the test's own reads of roots, the replay node). */
  readonly dynamoEndpoint: string;
  readonly s3Endpoint: string;
  /** What the node processes use: proxies in front of dynalite and s3rver. */
  readonly dynamoProxy: FaultProxy;
  readonly s3Proxy: FaultProxy;
  readonly bucket: string;
  readonly roots: IndexRootStore;
  /** Node logs (`<dir>/logs`). */
  readonly dir: string;
  close(): Promise<void>;
}

export async function startIndexingStorage(): Promise<IndexingStorage> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'datalith-index-faults-'));
  const opened: Array<() => Promise<void>> = [];
  const closeAll = async (): Promise<void> => {
    for (const c of opened.reverse()) await c().catch(() => {});
  };
  try {
    const dynamo: DynaliteHandle = await startDynaliteInProcess();
    opened.push(() => dynamo.close());
    const s3: S3rverHandle = await startS3rverInProcess();
    opened.push(() => s3.close());
    const client: DynamoDBClient = createDynamoClient({ endpoint: dynamo.endpoint });
    opened.push(async () => client.destroy());
    await ensureTables(client);
    const dynamoProxy = await startFaultProxy({ host: '127.0.0.1', port: dynamo.port });
    opened.push(() => dynamoProxy.close());
    const s3Proxy = await startFaultProxy({ host: '127.0.0.1', port: s3.port });
    opened.push(() => s3Proxy.close());
    return {
      dynamoEndpoint: dynamo.endpoint,
      s3Endpoint: s3.endpoint,
      dynamoProxy,
      s3Proxy,
      bucket: BUCKET,
      roots: new IndexRootStore(client),
      dir,
      close: async () => {
        await closeAll();
        if (process.env.FAULTS_KEEP !== '1') fs.rmSync(dir, { recursive: true, force: true });
      },
    };
  } catch (e) {
    await closeAll();
    fs.rmSync(dir, { recursive: true, force: true });
    throw e;
  }
}

/** GET /v1/status, as services/node/http/operations.ts answers it. */
export interface NodeStatus {
  nodeId: string;
  indexing: { jobs: number; failures: number; segmentsWritten: number; lostRaces: number; inFlight: number; thresholdDatoms: number; tailMaxDatoms: number } | null;
  databases: Record<string, { t: number; indexedT: number; tailDatoms: number }>;
}

export async function nodeStatus(url: string, accessKey = ADMIN_KEY): Promise<NodeStatus> {
  const res = await fetch(`${url}/v1/status`, { headers: { authorization: `Bearer ${accessKey}` }, signal: AbortSignal.timeout(5_000) });
  if (res.status !== 200) throw new Error(`GET ${url}/v1/status: HTTP ${res.status} ${await res.text()}`);
  return await res.json() as NodeStatus;
}

export interface NodeProcess {
  readonly name: string;
  readonly url: string;
  readonly pid: number;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  readonly alive: boolean;
  status(): Promise<NodeStatus>;
  /** SIGTERM, then SIGKILL after 3 s. */
  stop(): Promise<void>;
  /** The last lines of its log. */
  tail(): string;
  /** Its whole log. */
  log(): string;
}

/**
 * A node process on the storage (through its proxies), on a free port, with a small index
 * threshold. It joins no one: node-to-node requests are off, so it commits what it receives.
 */
export async function spawnIndexingNode(storage: IndexingStorage, name: string, env: Record<string, string> = {}): Promise<NodeProcess> {
  const logFile = path.join(storage.dir, 'logs', `${name}.log`);
  const h: ChildHandle<{ url: string }> = await spawnChild({
    name: `node ${name}`,
    entry: DEFAULT_NODE_ENTRY,
    env: {
      PORT: '0',
      HOST: '127.0.0.1',
      DATALITH_NODE_ID: name,
      DATALITH_ADMIN_KEY: ADMIN_KEY,
      DATALITH_STORAGE_ENDPOINT: storage.dynamoProxy.endpoint,
      DATALITH_S3_ENDPOINT: storage.s3Proxy.endpoint,
      DATALITH_SEGMENT_BUCKET: storage.bucket,
      DATALITH_CREATE_TABLES: '1',
      DATALITH_FORWARDING: 'off',
      DATALITH_QUERY_WORKERS: '0',
      DATALITH_LOG_LEVEL: 'warn',
      AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
      ...env,
    },
    ready: (m) => (m['event'] === 'listening' && typeof m['url'] === 'string' ? { url: m['url'] } : undefined),
    readyTimeoutMs: 60_000,
    logFile,
  });
  return {
    name,
    url: h.info.url,
    pid: h.pid,
    exited: h.exited,
    get alive() { return h.alive; },
    status: () => nodeStatus(h.info.url),
    stop: () => h.stop(3_000),
    tail: () => h.tail(),
    log: () => fs.readFileSync(logFile, 'utf8'),
  };
}

/** A node in this process without a segment store: every database replayed wholly from the log. */
export function startReplayNode(dynamoEndpoint: string, tables: { catalogTable?: string; logTable?: string } = {}, accessKey = ADMIN_KEY): Promise<RunningNode> {
  return startNode({
    port: 0, host: '127.0.0.1', adminKey: accessKey, storageEndpoint: dynamoEndpoint, ...tables,
    createTables: false, queryWorkers: 0, pollIntervalMs: 0, logLevel: 'silent',
  }, { cluster: false });
}

/** A node in this process opening databases from their durable roots (a fresh node, not indexing anything itself unless written to). */
export function startSegmentNode(dynamoEndpoint: string, s3Endpoint: string, bucket: string, tables: { catalogTable?: string; logTable?: string } = {}, accessKey = ADMIN_KEY): Promise<RunningNode> {
  return startNode({
    port: 0, host: '127.0.0.1', adminKey: accessKey, storageEndpoint: dynamoEndpoint, s3Endpoint, segmentBucket: bucket, ...tables,
    createTables: false, queryWorkers: 0, pollIntervalMs: 0, logLevel: 'silent',
  }, { cluster: false });
}

export function client(url: string, timeoutMs = 10_000, accessKey = ADMIN_KEY): Client {
  return createClient({ endpoint: url, accessKey, timeout: timeoutMs });
}

/** Everything the comparisons read from a database at its latest t (after the writes stopped). */
export async function answers(url: string, db: string, accessKey = ADMIN_KEY): Promise<Record<string, unknown>> {
  const c = client(url, 30_000, accessKey);
  try {
    const v = await (await c.connect(db)).sync();
    const sorted = (rows: unknown[]): unknown[] => [...rows].sort((a, b) => (JSON.stringify(a) < JSON.stringify(b) ? -1 : 1));
    const people = (await v.q('[:find [?e ...] :where [?e :p/id]]') as number[] | null ?? []).sort((a, b) => a - b);
    const sample = [people[0], people[Math.floor(people.length / 3)], people[Math.floor((2 * people.length) / 3)], people.at(-1)].filter((e): e is number => e !== undefined);
    const stats = await v.stats();
    return {
      t: v.t,
      keys: (await v.q('[:find [?k ...] :where [_ :tx/key ?k]]') as string[] | null ?? []).sort(),
      values: await v.q('[:find (count ?e) (sum ?v) (min ?v) (max ?v) :where [?e :p/val ?v]]'),
      groups: sorted(await v.q('[:find ?g (count ?e) :where [?e :p/group ?g]]') as unknown[]),
      friends: await v.q('[:find (count ?f) . :where [?e :p/friend ?f]]'),
      pulls: await v.pullMany('[* {:p/friend [:p/id]}]', sample),
      history: sorted(await v.history().q('[:find ?added (count ?tx) :where [?e :p/val ?v ?tx ?added]]') as unknown[]),
      asOf: await v.asOf(Math.max(1, Math.floor(v.t / 2))).q('[:find (count ?e) . :where [?e :tx/key]]'),
      since: await v.since(Math.max(1, Math.floor(v.t / 2))).q('[:find (count ?e) . :where [?e :tx/key]]'),
      aevt: (await v.datoms('aevt', ':p/group')).length,
      stats: { t: stats.t, datoms: stats.datoms, attrs: stats.attrs },
    };
  } finally {
    await c.close();
  }
}

export type Outcome = 'ok' | 'fail' | 'info';

/**
 * The write workload: every transaction asserts an entity with a unique `:tx/key`, eight people
 * (`:p/id`, `:p/group`, `:p/val`, friends within the transaction) and upserts a `:p/val` of an
 * earlier person (history records). Outcomes are recorded as the fault suite records them
 * (test/faults/checker/history.ts): `ok` acknowledged; `fail` definitely refused — here a `busy`
 * `db.error/indexing-behind`, which the node answers before a transaction is queued; `info`
 * anything else (unknown outcome), after which the worker goes on as a new process.
 */
export class KeyedWrites {
  readonly recorder = new HistoryRecorder<unknown>(() => performance.now());
  /** Error labels of the writes that were not acknowledged, with counts. */
  readonly errors = new Map<string, number>();
  /** Each completed write in order: its key, outcome, label and the time (performance.now()). */
  readonly outcomes: Array<{ key: string; type: Outcome; error?: string; at: number; t?: number }> = [];
  private seq = 0;
  private nextProcess = 0;

  constructor(readonly tag: string) {}

  /** Transaction data of the n-th write. */
  static txData(key: string, n: number): unknown {
    const people = Array.from({ length: 8 }, (_, i) => {
      const id = n * 8 + i;
      return { ':db/id': `p${i}`, ':p/id': id, ':p/group': `:g/g${id % 7}`, ':p/val': id % 100, ...(i > 0 ? { ':p/friend': ['p0', `p${i - 1}`] } : {}) };
    });
    return [{ ':tx/key': key, ':p/val': n }, ...people, ...(n > 0 ? [{ ':p/id': (n * 37) % (n * 8), ':p/val': 1000 + n }] : [])];
  }

  get acknowledged(): string[] {
    return this.outcomes.filter((o) => o.type === 'ok').map((o) => o.key);
  }

  /** Counts by outcome and error label (for reports and timeout messages). */
  summary(): { ok: number; fail: number; info: number; errors: Record<string, number> } {
    return { ok: this.count('ok'), fail: this.count('fail'), info: this.count('info'), errors: Object.fromEntries(this.errors) };
  }

  count(type: Outcome): number {
    return this.outcomes.filter((o) => o.type === type).length;
  }

  /** One write through `conn`; never throws. */
  async write(conn: Connection, process: number, opts: { timeoutMs: number; signal?: AbortSignal }): Promise<{ type: Outcome; error?: string }> {
    const n = this.seq++;
    const key = `${this.tag}-${n}`;
    const inv = this.recorder.invoke(process, 'write', key);
    try {
      const r = await conn.transact(KeyedWrites.txData(key, n), { timeout: opts.timeoutMs, ...(opts.signal !== undefined ? { signal: opts.signal } : {}) });
      this.recorder.ok(inv);
      this.outcomes.push({ key, type: 'ok', at: performance.now(), t: r.dbAfter.t });
      return { type: 'ok' };
    } catch (e) {
      const label = errorLabel(e);
      this.errors.set(label, (this.errors.get(label) ?? 0) + 1);
      const refused = isDatalithError(e) && e.category === 'busy' && e.code === 'db.error/indexing-behind';
      if (refused) this.recorder.fail(inv, label);
      else this.recorder.info(inv, label);
      this.outcomes.push({ key, type: refused ? 'fail' : 'info', error: label, at: performance.now() });
      return { type: refused ? 'fail' : 'info', error: label };
    }
  }

  /**
   * `writers` concurrent loops, one write at a time each, over the given connections in turn,
   * until `stop()`, which resolves when every loop has ended: it aborts the writes in flight, or
   * with `{ finish: true }` lets them complete.
   */
  run(conns: readonly Connection[], writers: number, timeoutMs: number): { stop(opts?: { finish?: boolean }): Promise<void> } {
    const abort = new AbortController();
    let stopping = false;
    const loops = Array.from({ length: writers }, async (_, w) => {
      let process = this.nextProcess++;
      while (!stopping) {
        const r = await this.write(conns[w % conns.length]!, process, { timeoutMs, signal: abort.signal });
        if (r.type === 'info') process = this.nextProcess++;
      }
    });
    return {
      stop: async (opts = {}) => {
        stopping = true;
        if (opts.finish !== true) abort.abort();
        await Promise.all(loops);
      },
    };
  }

  /** The unique checker against a final read of every `:tx/key` at the latest t. */
  async check(url: string, db: string, accessKey = ADMIN_KEY): Promise<UniqueResult> {
    const c = client(url, 30_000, accessKey);
    try {
      const inv = this.recorder.invoke('final', 'read', null, { final: true });
      const v = await (await c.connect(db)).sync();
      this.recorder.ok(inv, await v.q('[:find [?k ...] :where [_ :tx/key ?k]]') ?? []);
      return checkUnique(this.recorder.history() as Op[]);
    } finally {
      await c.close();
    }
  }
}

/** The stored root of a database by name (its id from the node's description). */
export async function storedRoot(roots: IndexRootStore, url: string, db: string, accessKey = ADMIN_KEY): Promise<IndexRoot | undefined> {
  const res = await fetch(`${url}/v1/databases/${encodeURIComponent(db)}`, { headers: { authorization: `Bearer ${accessKey}` }, signal: AbortSignal.timeout(10_000) });
  if (res.status !== 200) throw new Error(`GET ${url}/v1/databases/${db}: HTTP ${res.status} ${await res.text()}`);
  const { id } = await res.json() as { id: string };
  return roots.get(id);
}
