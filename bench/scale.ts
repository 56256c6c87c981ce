/**
 * `npm run bench:scale` (issue 13): memory and start time do not grow with the database.
 *
 * For each size (default 100 k, 1 M and 10 M datoms; `--sizes 100k,1m`, `--quick` = 100k,1m) it
 * starts its own storage (dynalite and s3rver as child processes, one data directory per size),
 * builds the database through the transactor of a node process (the people of
 * bench/scale-data.ts: unique id, name, age, unique email, a city ref, 6 friends; transactions
 * of about `--tx-datoms` datoms, `--in-flight` of them at once), waits until the durable index
 * covers the log (`indexedT === t`, or the tail below the indexing threshold) and stops that
 * node. Then, on freshly started node processes on the same storage (`--cache-size-mb 256`):
 *
 * - time to first answer of a pull by lookup ref `[:person/id N]` (one fresh node) and of an
 *   aggregate whose cost does not grow with the size — count and mean age of one person's 6
 *   friends (another fresh node) — from the process start and from the node's ready line; and
 *   the storage round trips (`GET /v1/status` segments.roundTrips) of just that read, taken
 *   after the database was opened by `GET /v1/databases/:name`;
 * - a query mix (`--mix` operations, `--concurrency` in flight: 50% pulls by lookup ref, 30%
 *   friends of friends, 20% count and mean age of the ~100 people of one city): one pass from
 *   the cold cache, then `--warm-rounds` (3) warm ones, the fastest counting; node RSS
 *   (/proc/<pid>/status VmRSS, sampled every 20 ms) over all of them, and the segment cache hit
 *   rate of the cold pass and of the fastest warm one;
 * - the same mix on today's all-in-memory engine: a node started on the same storage without a
 *   segment store, which replays the whole log (sizes up to `--baseline-max`, default 1m: a node
 *   holding 10 M datoms in memory needs more than its default heap); both nodes run side by side
 *   and their warm passes alternate, so the machine's other work falls on both alike.
 *
 * Every answer is checked against the generator. Floors (exit code 1 when one fails):
 * first answer at 10 M ≤ 3× the time at 100 k (from the node's ready line, so the process
 * start, the same at every size, does not dilute the ratio); node RSS ≤ 768 MB at 10 M over the
 * mix; ≤ 4 storage round trips for the cold point read, at every size; no wrong answers.
 * Goal (printed, not judged): first answer ≤ 1 s at 10 M.
 *
 * `--dir DIR` keeps the storage there and reuses a size already built with the same generator
 * and transaction size (`--rebuild` builds again); without it, a temporary directory is removed
 * at the end.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Command, InvalidArgumentError } from 'commander';
import { createClient, type Db } from '../services/client';
import { DEFAULT_NODE_ENTRY } from '../services/local/main';
import { spawnChild, type ChildHandle } from '../services/local/process';
import { median } from './data';
import {
  batchTx, CITY_AGGREGATE, cityName, expectedCityAggregates, expectedFriendsAggregate, expectedFriendsOfFriends, expectedPull,
  FRIENDS_AGGREGATE, FRIENDS_OF_FRIENDS, GENERATOR_VERSION, hash32, planScale, POINT_SELECTOR, PULL_SELECTOR, queryMix, SCALE_SCHEMA,
  type MixKind, type MixOp, type ScalePlan,
} from './scale-data';

const DB = 'people';
const LOCAL = path.join(__dirname, '..', 'services', 'local');
const FIRST_ANSWER_RATIO = 3;
const FIRST_ANSWER_GOAL_MS = 1_000;
const RSS_FLOOR_BYTES = 768 * 1024 * 1024;
const ROUND_TRIP_FLOOR = 4;
/** The node's default indexing threshold (DATALITH_INDEX_THRESHOLD_DATOMS). */
/** The bench's index threshold (the node's default is 200,000): a fresh node opens with at most this tail. */
const DEFAULT_INDEX_THRESHOLD = 50_000;
const MB = 1024 * 1024;
/** The measured nodes' query timeout: time to first answer is measured, not cut off. */
const READ_TIMEOUT_MS = 600_000;
const KINDS: readonly MixKind[] = ['pull', 'fof', 'city'];

// ---- options ----------------------------------------------------------------------------------

/** `100k`, `1m`, `10M`, `250000` → datoms. */
export function parseSize(s: string): number {
  const m = /^(\d+(?:\.\d+)?)([km]?)$/i.exec(s.trim());
  const n = m === null ? NaN : Number(m[1]) * ({ '': 1, k: 1e3, m: 1e6 }[m[2]!.toLowerCase()] ?? NaN);
  if (!Number.isInteger(n) || n < 1_000) throw new InvalidArgumentError(`a size is a datom count of at least 1000, as 100k, 1m or 250000; got ${JSON.stringify(s)}`);
  return n;
}

export function sizeLabel(n: number): string {
  if (n >= 1e6 && n % 1e5 === 0) return `${n / 1e6}M`;
  if (n >= 1e3 && n % 100 === 0) return `${n / 1e3}k`;
  return String(n);
}

function intOption(name: string, min: number) {
  return (v: string): number => {
    const n = Number(v);
    if (!/^\d+$/.test(v) || n < min) throw new InvalidArgumentError(`${name} must be an integer ≥ ${min}`);
    return n;
  };
}

interface Options {
  sizes: number[];
  cacheSizeMb: number;
  indexThreshold?: number;
  keepTail?: boolean;
  buildIndexThreshold: number;
  buildHeapMb?: number;
  txDatoms: number;
  inFlight: number;
  mix: number;
  warmRounds: number;
  concurrency: number;
  baselineMax: number;
  queryWorkers?: number;
  indexTimeoutS: number;
  dir?: string;
  rebuild: boolean;
}

function parseOptions(argv: string[]): Options {
  const program = new Command()
    .name('npm run bench:scale --')
    .description('Databases of 100k, 1M and 10M datoms built through the transactor, measured on freshly started nodes.')
    .option('--sizes <list>', 'comma-separated datom counts (100k, 1m, 10m, 250000)', (v) => v.split(',').map(parseSize), [100_000, 1_000_000, 10_000_000])
    .option('--quick', '100k and 1m only')
    .option('--cache-size-mb <mb>', 'segment cache of the measured nodes (DATALITH_CACHE_SIZE_MB)', intOption('--cache-size-mb', 1), 256)
    .option('--index-threshold <datoms>', `tail datoms that start background indexing (DATALITH_INDEX_THRESHOLD_DATOMS; default ${DEFAULT_INDEX_THRESHOLD})`, intOption('--index-threshold', 1))
    .option('--tx-datoms <n>', 'datoms per transaction while building', intOption('--tx-datoms', 20), 5_000)
    .option('--in-flight <n>', 'transactions in flight while building', intOption('--in-flight', 1), 4)
    .option('--mix <n>', 'operations in each pass of the query mix', intOption('--mix', 1), 2_000)
    .option('--warm-rounds <n>', 'warm passes of the mix after the cold one (the fastest counts)', intOption('--warm-rounds', 1), 3)
    .option('--concurrency <n>', 'operations of the mix in flight', intOption('--concurrency', 1), 4)
    .option('--baseline-max <size>', 'largest size also measured on the all-in-memory engine (0: none)', (v) => (v === '0' ? 0 : parseSize(v)), 1_000_000)
    .option('--query-workers <n>', 'DATALITH_QUERY_WORKERS of every node (default the node\'s)', intOption('--query-workers', 0))
    .option('--index-timeout-s <s>', 'longest wait for the index to cover the log after building', intOption('--index-timeout-s', 1), 1_800)
    .option('--dir <dir>', 'keep the storage here and reuse sizes already built')
    .option('--build-index-threshold <datoms>', 'the building node\'s index threshold (default 2,000,000: a bulk load indexes in few large jobs, each rewriting the segments it touched)', intOption('--build-index-threshold', 1), 2_000_000)
    .option('--build-heap-mb <mb>', 'V8 heap limit of the building node (a bulk load with a high --build-index-threshold holds its tail in memory; default Node\'s)', intOption('--build-heap-mb', 256))
    .option('--keep-tail', 'do not request a last indexing after the build: fresh nodes open with a tail below the threshold')
    .option('--rebuild', 'build again even when --dir holds the size')
    .showHelpAfterError();
  program.parse(argv);
  const o = program.opts<Omit<Options, 'rebuild'> & { quick?: boolean; rebuild?: boolean }>();
  return { ...o, sizes: o.quick === true ? [100_000, 1_000_000] : o.sizes, rebuild: o.rebuild === true };
}

// ---- processes --------------------------------------------------------------------------------

/** Every child this bench started and has not stopped, so an error stops them all. */
const children = new Set<ChildHandle<unknown>>();

async function stopChild(h: ChildHandle<unknown>, graceMs = 30_000): Promise<void> {
  await h.stop(graceMs);
  children.delete(h);
}

interface Storage {
  dir: string;
  dynamo: string;
  s3: string;
  stop(): Promise<void>;
}

async function startStorage(dir: string): Promise<Storage> {
  const server = async (name: string, entry: string, sub: string): Promise<ChildHandle<string>> => {
    const h = await spawnChild<string>({
      name,
      entry: path.join(LOCAL, entry),
      args: ['--dir', path.join(dir, sub), '--port', '0'],
      ready: (m) => (typeof m['endpoint'] === 'string' ? m['endpoint'] : undefined),
      readyTimeoutMs: 60_000,
      logFile: path.join(dir, 'logs', `${sub}.log`),
    });
    children.add(h);
    return h;
  };
  const dynamo = await server('storage (dynalite)', 'dynalite-server.ts', 'storage');
  const s3 = await server('segments (s3rver)', 's3rver-server.ts', 'segments');
  return {
    dir,
    dynamo: dynamo.info,
    s3: s3.info,
    stop: async () => { await Promise.all([stopChild(dynamo), stopChild(s3)]); },
  };
}

interface NodeRun {
  id: string;
  url: string;
  pid: number;
  /** performance.now() before the spawn, and when its ready line was read. */
  spawnedAt: number;
  readyAt: number;
  handle: ChildHandle<{ url: string }>;
}

interface NodeSpec {
  id: string;
  /** With the segment store (DATALITH_S3_ENDPOINT) or without it: today's all-in-memory engine. */
  segments: boolean;
  /** The building node's index threshold (a bulk load indexes in few, large jobs). */
  indexThreshold?: number;
  /** Query workers for this node (else --query-workers, else the node's default). */
  queryWorkers?: number;
  /** V8's old-space limit of the node process (MB; else Node's default). */
  heapMb?: number;
}

let nodeCount = 0;

async function startNodeProcess(storage: Storage, o: Options, adminKey: string, spec: NodeSpec): Promise<NodeRun> {
  const id = `${spec.id}-${++nodeCount}`;
  const env: Record<string, string> = {
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
    PORT: '0',
    HOST: '127.0.0.1',
    DATALITH_NODE_ID: id,
    DATALITH_STORAGE_ENDPOINT: storage.dynamo,
    DATALITH_ADMIN_KEY: adminKey,
    DATALITH_CREATE_TABLES: '1',
    DATALITH_LOG_LEVEL: 'warn',
    // Empty is unset (services/node/config.ts): the all-in-memory node has no segment store.
    DATALITH_S3_ENDPOINT: spec.segments ? storage.s3 : '',
    DATALITH_SEGMENT_BUCKET: spec.segments ? 'datalith-segments' : '',
    DATALITH_CACHE_SIZE_MB: String(o.cacheSizeMb),
    DATALITH_INDEX_THRESHOLD_DATOMS: String(spec.indexThreshold ?? o.indexThreshold ?? DEFAULT_INDEX_THRESHOLD),
    DATALITH_QUERY_WORKERS: (spec.queryWorkers ?? o.queryWorkers) === undefined ? '' : String(spec.queryWorkers ?? o.queryWorkers),
    // A read may wait for the node to load the database: replaying a large log takes longer than the default 30 s.
    DATALITH_QUERY_TIMEOUT_MS: String(READ_TIMEOUT_MS),
    DATALITH_MAX_QUERY_TIMEOUT_MS: String(READ_TIMEOUT_MS),
    ...(spec.heapMb !== undefined ? { NODE_OPTIONS: `${process.env['NODE_OPTIONS'] ?? ''} --max-old-space-size=${spec.heapMb}`.trim() } : {}),
  };
  const spawnedAt = performance.now();
  const handle = await spawnChild<{ url: string }>({
    name: `node ${id}`,
    entry: DEFAULT_NODE_ENTRY,
    args: ['--cache-size-mb', String(o.cacheSizeMb)],
    env,
    ready: (m) => (m['event'] === 'listening' && typeof m['url'] === 'string' ? { url: m['url'] } : undefined),
    readyTimeoutMs: 120_000,
    logFile: path.join(storage.dir, 'logs', `${id}.log`),
  });
  const readyAt = performance.now();
  children.add(handle);
  return { id, url: handle.info.url, pid: handle.pid, spawnedAt, readyAt, handle };
}

// ---- what a node tells ------------------------------------------------------------------------

interface Described {
  t: number;
  /** The t the durable index covers; absent from nodes without it. */
  indexedT?: number;
  /** Datoms in the log after indexedT. */
  tailDatoms?: number;
}

interface SegmentCounters {
  cacheBytes: number;
  cacheLimitBytes: number;
  hits: number;
  misses: number;
  fetches: number;
  roundTrips: number;
  fetchedBytes: number;
  /** Nodes decoded again from the cache's stored bytes (evicted from the decoded tier). */
  decodes: number;
}

interface NodeStatus {
  nodeId: string;
  rssBytes: number;
  segments: SegmentCounters;
  databases: Record<string, Described>;
}

async function getJson(url: string, key: string): Promise<{ status: number; body: unknown }> {
  const r = await fetch(url, { headers: { authorization: `Bearer ${key}` } });
  const text = await r.text();
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch { /* not JSON: kept as text */ }
  return { status: r.status, body };
}

async function describe(node: NodeRun, key: string): Promise<Described> {
  const r = await getJson(`${node.url}/v1/databases/${DB}`, key);
  if (r.status !== 200) throw new Error(`GET /v1/databases/${DB} on ${node.id}: ${r.status} ${JSON.stringify(r.body).slice(0, 300)}`);
  return r.body as Described;
}

/** `GET /v1/status`, or undefined while the node does not serve it (404). */
async function nodeStatus(node: NodeRun, key: string): Promise<NodeStatus | undefined> {
  const r = await getJson(`${node.url}/v1/status`, key);
  if (r.status === 404) return undefined;
  if (r.status !== 200) throw new Error(`GET /v1/status on ${node.id}: ${r.status} ${JSON.stringify(r.body).slice(0, 300)}`);
  const s = r.body as Partial<NodeStatus> & { segments?: Record<string, number> | null; workerSegments?: Record<string, number> | null };
  // A node without a segment store (the all-in-memory baseline) has no cache: zeros.
  if (s.segments === null) s.segments = { hits: 0, misses: 0, fetches: 0, roundTrips: 0, fetchedBytes: 0, decodes: 0, bytes: 0, limitBytes: 0, cacheBytes: 0, cacheLimitBytes: 0 };
  if (typeof s.segments?.['roundTrips'] !== 'number') throw new Error(`GET /v1/status on ${node.id} has no segments.roundTrips: ${JSON.stringify(s).slice(0, 300)}`);
  // The event loop's cache and the query workers' (each has its own share), summed.
  const sum: Record<string, number> = { ...s.segments };
  for (const [k, v] of Object.entries(s.workerSegments ?? {})) if (typeof v === 'number') sum[k] = (sum[k] ?? 0) + v;
  sum['cacheBytes'] = sum['bytes'] ?? 0;
  sum['cacheLimitBytes'] = sum['limitBytes'] ?? 0;
  return { ...s, segments: sum as unknown as SegmentCounters } as NodeStatus;
}

type CounterDelta = Pick<SegmentCounters, 'hits' | 'misses' | 'fetches' | 'roundTrips' | 'fetchedBytes' | 'decodes'>;

function delta(a: NodeStatus | undefined, b: NodeStatus | undefined): CounterDelta | undefined {
  if (a === undefined || b === undefined) return undefined;
  const d = (k: keyof CounterDelta): number => (b.segments[k] ?? 0) - (a.segments[k] ?? 0);
  return { hits: d('hits'), misses: d('misses'), fetches: d('fetches'), roundTrips: d('roundTrips'), fetchedBytes: d('fetchedBytes'), decodes: d('decodes') };
}

/** A process's resident set (VmRSS) and its peak (VmHWM), in bytes; undefined when it is gone. */
export function readRss(pid: number): { rss: number; hwm: number } | undefined {
  let text: string;
  try {
    text = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  } catch {
    return undefined;
  }
  const kb = (field: string): number => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(text)?.[1] ?? NaN) * 1024;
  return { rss: kb('VmRSS'), hwm: kb('VmHWM') };
}

/** Samples a process's RSS every `everyMs` until stopped; the largest sample is what counts. */
export class RssSampler {
  private maxRss = 0;
  private samples = 0;
  private readonly timer: NodeJS.Timeout;

  constructor(private readonly pid: number, everyMs = 20) {
    this.sample();
    this.timer = setInterval(() => this.sample(), everyMs);
  }

  private sample(): void {
    const r = readRss(this.pid);
    if (r === undefined || !Number.isFinite(r.rss)) return;
    this.samples++;
    this.maxRss = Math.max(this.maxRss, r.rss);
  }

  /** The largest RSS sampled (NaN when no sample could be read), and the count of samples. */
  stop(): { max: number; samples: number } {
    clearInterval(this.timer);
    this.sample();
    return { max: this.samples > 0 ? this.maxRss : NaN, samples: this.samples };
  }
}

// ---- formatting -------------------------------------------------------------------------------

const n0 = (x: number): string => Math.round(x).toLocaleString('en-US');
const ms = (x: number | undefined): string => (x === undefined || !Number.isFinite(x) ? 'n/a' : x >= 10_000 ? `${(x / 1000).toFixed(1)} s` : x >= 1_000 ? `${(x / 1000).toFixed(2)} s` : x >= 10 ? `${x.toFixed(0)} ms` : `${x.toFixed(1)} ms`);
const mb = (b: number | undefined): string => (b === undefined || !Number.isFinite(b) ? 'n/a' : `${(b / MB).toFixed(0)} MB`);
const pct = (x: number | undefined): string => (x === undefined || !Number.isFinite(x) ? 'n/a' : `${(x * 100).toFixed(1)}%`);
const ratio = (x: number | undefined): string => (x === undefined || !Number.isFinite(x) ? 'n/a' : `${x.toFixed(2)}×`);
const out = (s = ''): void => { process.stdout.write(`${s}\n`); };

/** Canonical JSON: object keys sorted, so answers compare whatever order a node built them in. */
function canonical(x: unknown): string {
  return JSON.stringify(x, (_k, v: unknown) => (v !== null && typeof v === 'object' && !Array.isArray(v)
    ? Object.fromEntries(Object.entries(v as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : 1)))
    : v));
}

const close = (a: number, b: number): boolean => Math.abs(a - b) <= 1e-9 * Math.max(1, Math.abs(b));

// ---- building ---------------------------------------------------------------------------------

interface Built {
  generator: number;
  plan: ScalePlan;
  txDatoms: number;
  datoms: number;
  t: number;
  buildMs: number;
  buildRssMax: number;
  indexWaitMs?: number;
  indexedT?: number;
  tailDatoms?: number;
}

const builtFile = (dir: string): string => path.join(dir, 'built.json');

function reusable(dir: string, plan: ScalePlan, o: Options): Built | undefined {
  try {
    const b = JSON.parse(fs.readFileSync(builtFile(dir), 'utf8')) as Built;
    return b.generator === GENERATOR_VERSION && b.txDatoms === o.txDatoms && canonical(b.plan) === canonical(plan) ? b : undefined;
  } catch {
    return undefined;
  }
}

async function build(storage: Storage, plan: ScalePlan, o: Options, key: string): Promise<Built> {
  const node = await startNodeProcess(storage, o, key, { id: 'build', segments: true, indexThreshold: o.buildIndexThreshold, heapMb: o.buildHeapMb });
  const rss = new RssSampler(node.pid, 500);
  const client = createClient({ endpoint: node.url, accessKey: key, timeout: READ_TIMEOUT_MS + 60_000 });
  try {
    await client.createDatabase(DB);
    const conn = await client.connect(DB);
    const t0 = performance.now();
    let datoms = (await conn.transact(SCALE_SCHEMA)).txData.length;
    let next = 0;
    let done = 0;
    let nextReport = 0.1;
    await Promise.all(Array.from({ length: o.inFlight }, async () => {
      for (let b = next++; b < plan.transactions; b = next++) {
        const r = await conn.transact(batchTx(plan, b));
        datoms += r.txData.length;
        done++;
        if (done / plan.transactions >= nextReport) {
          nextReport += 0.1;
          out(`    … ${n0(datoms)} datoms in ${done} transactions, ${ms(performance.now() - t0)}; node RSS ${mb(readRss(node.pid)?.rss)}`);
        }
      }
    }));
    const buildMs = performance.now() - t0;
    const built: Built = { generator: GENERATOR_VERSION, plan, txDatoms: o.txDatoms, datoms, t: (await describe(node, key)).t, buildMs, buildRssMax: NaN };
    // The durable index must cover the log (or leave a tail below the threshold) before the node stops.
    const w0 = performance.now();
    // Like Datomic's requestIndex: the last tail (below the threshold) is indexed too, so a
    // fresh node opens with the root and no tail (`--keep-tail` measures the tail's cost instead).
    if (o.keepTail !== true) {
      const r = await fetch(`${node.url}/v1/databases/${DB}/request-index`, { method: 'POST', headers: { authorization: `Bearer ${key}` } });
      if (r.status !== 202) throw new Error(`POST request-index: ${r.status} ${await r.text()}`);
    }
    const threshold = o.keepTail === true ? o.indexThreshold ?? DEFAULT_INDEX_THRESHOLD : 1;
    for (;;) {
      const d = await describe(node, key);
      if (d.indexedT === undefined) break;
      built.indexedT = d.indexedT;
      built.tailDatoms = d.tailDatoms;
      if (d.indexedT === d.t || (d.tailDatoms !== undefined && d.tailDatoms < threshold)) {
        built.indexWaitMs = performance.now() - w0;
        break;
      }
      if (performance.now() - w0 > o.indexTimeoutS * 1000) {
        throw new Error(`the index did not cover the log within ${o.indexTimeoutS} s: indexedT ${d.indexedT}, t ${d.t}, tail ${d.tailDatoms} datoms`);
      }
      await new Promise((r) => setTimeout(r, 500));
    }
    built.buildRssMax = rss.stop().max;
    return built;
  } finally {
    rss.stop();
    await client.close();
    await stopChild(node.handle);
  }
}

// ---- reads on fresh nodes ---------------------------------------------------------------------

interface FirstAnswer {
  node: NodeRun;
  db: Db;
  close(): Promise<void>;
  /** Process start → ready line. */
  startupMs: number;
  /** Ready → the database opened (`GET /v1/databases/:name`, twice: connect and db()). */
  openMs: number;
  /** The read alone. */
  readMs: number;
  fromStartMs: number;
  fromReadyMs: number;
  counters?: CounterDelta;
  opened: Described;
  correct: boolean;
  answer: unknown;
}

async function firstAnswer(storage: Storage, o: Options, key: string, spec: NodeSpec, read: (db: Db) => Promise<{ answer: unknown; correct: boolean }>): Promise<FirstAnswer> {
  const node = await startNodeProcess(storage, o, key, spec);
  const client = createClient({ endpoint: node.url, accessKey: key, timeout: READ_TIMEOUT_MS + 60_000 });
  try {
    const conn = await client.connect(DB);
    const db = await conn.db();
    const openedAt = performance.now();
    const before = await nodeStatus(node, key);
    const r0 = performance.now();
    const r = await read(db);
    const answeredAt = performance.now();
    const after = await nodeStatus(node, key);
    const counters = delta(before, after);
    return {
      node, db,
      close: async () => { await client.close(); await stopChild(node.handle); },
      startupMs: node.readyAt - node.spawnedAt,
      openMs: openedAt - node.readyAt,
      readMs: answeredAt - r0,
      fromStartMs: answeredAt - node.spawnedAt,
      fromReadyMs: answeredAt - node.readyAt,
      ...(counters !== undefined ? { counters } : {}),
      opened: await describe(node, key),
      ...r,
    };
  } catch (e) {
    await client.close();
    await stopChild(node.handle);
    throw e;
  }
}

const probeId = (plan: ScalePlan, salt: number): number => 1 + (hash32(plan.people, salt) % plan.people);

async function pullPerson(plan: ScalePlan, db: Db, id: number): Promise<{ answer: unknown; correct: boolean }> {
  const answer = await db.pull(PULL_SELECTOR, [':person/id', id]);
  return { answer, correct: canonical(answer) === canonical(expectedPull(plan, id)) };
}

/** The cold point read: POINT_SELECTOR by lookup ref. */
async function pointRead(plan: ScalePlan, db: Db, id: number): Promise<{ answer: unknown; correct: boolean }> {
  const answer = await db.pull(POINT_SELECTOR, [':person/id', id]);
  const { 'person/city': _city, ...expected } = expectedPull(plan, id);
  return { answer, correct: canonical(answer) === canonical(expected) };
}

async function friendsAggregate(plan: ScalePlan, db: Db, id: number): Promise<{ answer: unknown; correct: boolean }> {
  const answer = (await db.q(FRIENDS_AGGREGATE, id)) as Array<[number, number]>;
  const [count, avg] = expectedFriendsAggregate(plan, id);
  return { answer, correct: answer.length === 1 && answer[0]![0] === count && close(answer[0]![1], avg) };
}

interface MixPass {
  ms: number;
  latencies: Record<MixKind, number[]>;
  wrong: number;
  errors: number;
  firstError?: string;
  counters?: CounterDelta;
}

async function runMix(node: NodeRun, key: string, db: Db, plan: ScalePlan, ops: readonly MixOp[], cities: Map<number, [number, number]>, concurrency: number): Promise<MixPass> {
  const latencies: Record<MixKind, number[]> = { pull: [], fof: [], city: [] };
  let wrong = 0;
  let errors = 0;
  let firstError: string | undefined;
  const check = async (op: MixOp): Promise<boolean> => {
    if (op.kind === 'pull') return (await pullPerson(plan, db, op.arg)).correct;
    if (op.kind === 'fof') {
      const rows = (await db.q(FRIENDS_OF_FRIENDS, op.arg)) as Array<[number]>;
      return canonical(rows.map((r) => r[0]).sort((a, b) => a - b)) === canonical(expectedFriendsOfFriends(plan, op.arg));
    }
    const rows = (await db.q(CITY_AGGREGATE, cityName(op.arg))) as Array<[number, number]>;
    const want = cities.get(op.arg);
    return want === undefined ? rows.length === 0 : rows.length === 1 && rows[0]![0] === want[0] && close(rows[0]![1], want[1]);
  };
  const before = await nodeStatus(node, key);
  const t0 = performance.now();
  let next = 0;
  await Promise.all(Array.from({ length: concurrency }, async () => {
    for (let i = next++; i < ops.length; i = next++) {
      const op = ops[i]!;
      const s = performance.now();
      try {
        if (!(await check(op))) wrong++;
        latencies[op.kind].push(performance.now() - s);
      } catch (e) {
        errors++;
        firstError ??= `${op.kind} ${op.arg}: ${(e as Error).message}`;
      }
    }
  }));
  const elapsed = performance.now() - t0;
  const counters = delta(before, await nodeStatus(node, key));
  return { ms: elapsed, latencies, wrong, errors, ...(firstError !== undefined ? { firstError } : {}), ...(counters !== undefined ? { counters } : {}) };
}

const hitRate = (c: CounterDelta | undefined): number | undefined => (c === undefined || c.hits + c.misses === 0 ? undefined : c.hits / (c.hits + c.misses));

interface MixResult {
  cold: MixPass;
  /** The fastest warm round (wrong answers and errors: of every round). */
  warm: MixPass;
  warmRoundsMs: number[];
  rssMax: number;
  hwm: number;
  status?: NodeStatus;
}

/**
 * One fresh node answering the mix: a pass from the cold cache, then warm passes — interleaved
 * with the other node's when two are compared, so that the machine's other work falls on both
 * alike — with its RSS sampled from the first pass to the last.
 */
class MixSession {
  private readonly rss: RssSampler;
  private cold: MixPass | undefined;
  private readonly warm: MixPass[] = [];

  constructor(
    private readonly f: FirstAnswer,
    private readonly key: string,
    private readonly plan: ScalePlan,
    private readonly ops: readonly MixOp[],
    private readonly cities: Map<number, [number, number]>,
    private readonly concurrency: number,
  ) {
    this.rss = new RssSampler(f.node.pid);
  }

  private pass(): Promise<MixPass> {
    return runMix(this.f.node, this.key, this.f.db, this.plan, this.ops, this.cities, this.concurrency);
  }

  async coldPass(): Promise<void> {
    this.cold = await this.pass();
  }

  async warmPass(): Promise<void> {
    this.warm.push(await this.pass());
  }

  async result(): Promise<MixResult> {
    const { max } = this.rss.stop();
    const status = await nodeStatus(this.f.node, this.key);
    // The fastest warm pass counts (the others lost time to the machine's other work); every pass's answers are checked.
    const fastest = this.warm.reduce((a, b) => (b.ms < a.ms ? b : a));
    const sum = (f: (p: MixPass) => number): number => this.warm.reduce((n, p) => n + f(p), 0);
    return {
      cold: this.cold!, warm: { ...fastest, wrong: sum((p) => p.wrong), errors: sum((p) => p.errors) }, warmRoundsMs: this.warm.map((p) => p.ms),
      rssMax: max, hwm: readRss(this.f.node.pid)?.hwm ?? NaN, ...(status !== undefined ? { status } : {}),
    };
  }

  async close(): Promise<void> {
    this.rss.stop();
    await this.f.close();
  }
}

function describeMix(label: string, p: MixPass): string {
  const p50 = KINDS.map((k) => `${k} ${ms(median(p.latencies[k]))}`).join(', ');
  const c = p.counters;
  const cache = c === undefined ? 'cache counters n/a (GET /v1/status not served)'
    : `cache hit rate ${pct(hitRate(c))} (${n0(c.hits)} hits, ${n0(c.misses)} misses; ${n0(c.fetches)} segments fetched in ${n0(c.roundTrips)} round trips, ${mb(c.fetchedBytes)}; ${n0(c.decodes)} decoded again from stored bytes)`;
  const bad = p.wrong + p.errors > 0 ? `; ${p.wrong} WRONG answers, ${p.errors} errors${p.firstError !== undefined ? ` (first: ${p.firstError})` : ''}` : '';
  return `  mix, ${label}: ${n0(p.latencies.pull.length + p.latencies.fof.length + p.latencies.city.length)} ops in ${ms(p.ms)}; p50 ${p50}; ${cache}${bad}`;
}

// ---- one size ---------------------------------------------------------------------------------

export interface SizeResult {
  size: number;
  built: Built;
  reused: boolean;
  pull: FirstAnswerSummary;
  aggregate: FirstAnswerSummary;
  mix: MixResult;
  baseline?: { firstPull: FirstAnswerSummary; mix: MixResult } | { error: string };
}

type FirstAnswerSummary = Omit<FirstAnswer, 'node' | 'db' | 'close'>;

const summary = (f: FirstAnswer): FirstAnswerSummary => {
  const { node: _n, db: _d, close: _c, ...rest } = f;
  return rest;
};

function describeFirst(label: string, f: FirstAnswerSummary): string {
  const rt = f.counters === undefined ? 'storage round trips n/a (GET /v1/status not served)'
    : `storage round trips ${f.counters.roundTrips} (${f.counters.fetches} segments, ${mb(f.counters.fetchedBytes)})`;
  return `  first answer, ${label}: ${ms(f.fromStartMs)} from process start, ${ms(f.fromReadyMs)} from ready ` +
    `(start ${ms(f.startupMs)}, open ${ms(f.openMs)}, read ${ms(f.readMs)}); ${rt}; answer ${f.correct ? 'correct' : `WRONG ${canonical(f.answer).slice(0, 200)}`}`;
}

async function measureSize(size: number, root: string, o: Options, key: string): Promise<SizeResult> {
  const plan = planScale(size, o.txDatoms);
  const dir = path.join(root, sizeLabel(size));
  out(`\n${sizeLabel(size)} datoms: ${n0(plan.people)} people in ${n0(plan.cities)} cities, ${n0(plan.transactions)} transactions of ${plan.batch} people`);
  let built = o.rebuild ? undefined : reusable(dir, plan, o);
  const reused = built !== undefined;
  if (!reused) fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(dir, { recursive: true });
  const storage = await startStorage(dir);
  try {
    if (built === undefined) {
      built = await build(storage, plan, o, key);
      fs.writeFileSync(builtFile(dir), `${JSON.stringify(built, null, 2)}\n`);
    }
    const idx = built.indexedT === undefined ? 'indexedT not reported (no durable index on this node): not waited for'
      : `indexedT ${built.indexedT} of t ${built.t}, tail ${n0(built.tailDatoms ?? NaN)} datoms, after waiting ${ms(built.indexWaitMs)}`;
    out(`  build${reused ? ' (kept from an earlier run in --dir)' : ''}: ${n0(built.datoms)} datoms, t ${built.t}, in ${ms(built.buildMs)} ` +
      `(${n0(built.datoms / (built.buildMs / 1000))} datoms/s); ${idx}; building node RSS max ${mb(built.buildRssMax)}`);

    const durable: NodeSpec = { id: `durable-${sizeLabel(size)}`, segments: true };
    const pullId = probeId(plan, 1);
    // The cold point read on the event loop, where opening the database (describe) loaded its root
    // and schema: its round trips are the read's alone. (On a query worker, the first read also
    // opens the worker's replica: the aggregate below measures that path.)
    const pull = await firstAnswer(storage, o, key, { ...durable, queryWorkers: 0 }, (db) => pointRead(plan, db, pullId));
    await pull.close();
    out(`  fresh node: ready ${ms(pull.startupMs)} after process start; opened the database with indexedT ${pull.opened.indexedT ?? 'n/a'}, ` +
      `tail ${pull.opened.tailDatoms === undefined ? 'n/a' : `${n0(pull.opened.tailDatoms)} datoms`}`);
    out(describeFirst(`point read, pull ${POINT_SELECTOR} [:person/id ${pullId}]`, pull));

    const aggId = probeId(plan, 2);
    const agg = await firstAnswer(storage, o, key, durable, (db) => friendsAggregate(plan, db, aggId));
    out(describeFirst(`aggregate (count, mean age of the 6 friends of [:person/id ${aggId}])`, agg));

    const ops = queryMix(plan, o.mix, size);
    const cities = expectedCityAggregates(plan, new Set(ops.filter((x) => x.kind === 'city').map((x) => x.arg)));
    const durableMix = new MixSession(agg, key, plan, ops, cities, o.concurrency);
    let baseline: { first: FirstAnswer; mix: MixSession } | { error: string } | undefined;
    let mix: MixResult;
    let baseMix: MixResult | undefined;
    try {
      await durableMix.coldPass();
      if (size <= o.baselineMax) {
        try {
          const first = await firstAnswer(storage, o, key, { id: `memory-${sizeLabel(size)}`, segments: false }, (db) => pointRead(plan, db, pullId));
          baseline = { first, mix: new MixSession(first, key, plan, ops, cities, o.concurrency) };
          await baseline.mix.coldPass();
        } catch (e) {
          if (baseline !== undefined && 'mix' in baseline) await baseline.mix.close();
          baseline = { error: (e as Error).message.split('\n')[0]!.slice(0, 300) };
        }
      }
      const base = baseline !== undefined && 'mix' in baseline ? baseline.mix : undefined;
      for (let i = 0; i < o.warmRounds; i++) {
        await durableMix.warmPass();
        await base?.warmPass();
      }
      mix = await durableMix.result();
      baseMix = await base?.result();
    } finally {
      await durableMix.close();
      if (baseline !== undefined && 'mix' in baseline) await baseline.mix.close();
    }
    out(describeMix('cold cache', mix.cold));
    out(describeMix(`warm, fastest of ${mix.warmRoundsMs.map(ms).join(', ')}`, mix.warm));
    const cache = mix.status === undefined ? '' : `; segment cache ${mb(mix.status.segments.cacheBytes)} of ${mb(mix.status.segments.cacheLimitBytes)}`;
    out(`  node RSS over the mix: max ${mb(mix.rssMax)} (peak since start ${mb(mix.hwm)}; floor ≤ ${mb(RSS_FLOOR_BYTES)} at 10M)${cache}`);

    const result: SizeResult = { size, built, reused, pull: summary(pull), aggregate: summary(agg), mix };
    if (baseline !== undefined && 'first' in baseline && baseMix !== undefined) {
      const bmix = baseMix;
      result.baseline = { firstPull: summary(baseline.first), mix: bmix };
      const bad = bmix.warm.wrong + bmix.warm.errors + bmix.cold.wrong + bmix.cold.errors;
      out(`  all-in-memory engine (a node without a segment store, replaying the log): first pull ${ms(baseline.first.fromReadyMs)} from ready; ` +
        `mix warm ${ms(bmix.warm.ms)} (fastest of ${bmix.warmRoundsMs.map(ms).join(', ')}, interleaved with the durable node's), ` +
        `p50 ${KINDS.map((k) => `${k} ${ms(median(bmix.warm.latencies[k]))}`).join(', ')}; RSS max ${mb(bmix.rssMax)}` +
        `${bad > 0 ? `; ${bmix.warm.wrong + bmix.cold.wrong} WRONG, ${bmix.warm.errors + bmix.cold.errors} errors` : ''}`);
      out(`  warm mix, durable ÷ all-in-memory: ${ratio(mix.warm.ms / bmix.warm.ms)} the time ` +
        `(p50 ${KINDS.map((k) => `${k} ${ratio(median(mix.warm.latencies[k]) / median(bmix.warm.latencies[k]))}`).join(', ')})`);
    } else if (baseline !== undefined && 'error' in baseline) {
      result.baseline = { error: baseline.error };
      out(`  all-in-memory engine: failed (${baseline.error})`);
    } else {
      out(`  all-in-memory engine: not measured above --baseline-max ${sizeLabel(o.baselineMax)} (a node replaying ${sizeLabel(size)} datoms holds them all in its heap)`);
    }
    return result;
  } finally {
    await storage.stop();
  }
}

// ---- the verdict ------------------------------------------------------------------------------

export type Verdict = 'PASS' | 'FAIL' | 'N/A';

/** The floors, judged on what was measured (N/A for what was not: a size left out, a counter the node does not report). */
export function verdicts(results: SizeResult[]): Array<{ v: Verdict; text: string }> {
  const small = results.find((r) => r.size === 100_000) ?? results.find((r) => r.size <= 100_000);
  const big = results.find((r) => r.size >= 10_000_000);
  const lines: Array<{ v: Verdict; text: string }> = [];
  for (const [label, pick] of [['pull', (r: SizeResult) => r.pull], ['aggregate', (r: SizeResult) => r.aggregate]] as const) {
    if (small === undefined || big === undefined) {
      lines.push({ v: 'N/A', text: `first answer (${label}) at 10M ≤ ${FIRST_ANSWER_RATIO}× at 100k: needs both sizes (--sizes 100k,10m)` });
      continue;
    }
    const x = pick(big).fromReadyMs / pick(small).fromReadyMs;
    lines.push({ v: x <= FIRST_ANSWER_RATIO ? 'PASS' : 'FAIL', text: `first answer (${label}) from ready: ${sizeLabel(big.size)} ${ms(pick(big).fromReadyMs)} ÷ ${sizeLabel(small.size)} ${ms(pick(small).fromReadyMs)} = ${ratio(x)} (floor ≤ ${FIRST_ANSWER_RATIO}×)` });
  }
  if (big === undefined) {
    lines.push({ v: 'N/A', text: `node RSS over the mix ≤ ${mb(RSS_FLOOR_BYTES)} at 10M: 10M not measured` });
  } else {
    lines.push({ v: big.mix.rssMax <= RSS_FLOOR_BYTES ? 'PASS' : 'FAIL', text: `node RSS over the mix at ${sizeLabel(big.size)}: ${mb(big.mix.rssMax)} (floor ≤ ${mb(RSS_FLOOR_BYTES)}, --cache-size-mb as given)` });
  }
  for (const r of results) {
    const rt = r.pull.counters?.roundTrips;
    lines.push(rt === undefined
      ? { v: 'N/A', text: `cold point read at ${sizeLabel(r.size)}: storage round trips not reported (GET /v1/status)` }
      : { v: rt <= ROUND_TRIP_FLOOR ? 'PASS' : 'FAIL', text: `cold point read at ${sizeLabel(r.size)}: ${rt} storage round trips (floor ≤ ${ROUND_TRIP_FLOOR})` });
  }
  const wrong = results.reduce((s, r) => s + (r.pull.correct ? 0 : 1) + (r.aggregate.correct ? 0 : 1) + r.mix.cold.wrong + r.mix.warm.wrong + r.mix.cold.errors + r.mix.warm.errors, 0);
  lines.push(results.length === 0 ? { v: 'N/A', text: 'answers of the durable nodes: no size measured' }
    : { v: wrong === 0 ? 'PASS' : 'FAIL', text: `answers of the durable nodes: ${wrong} wrong or failed (floor 0)` });
  return lines;
}

function printSummary(results: SizeResult[]): void {
  const cols = results.map((r) => sizeLabel(r.size));
  const first = results[0];
  const last = results.at(-1);
  const ratioHead = results.length > 1 && first !== undefined && last !== undefined ? `${sizeLabel(last.size)} ÷ ${sizeLabel(first.size)}` : '';
  const rows: Array<[string, (r: SizeResult) => number | undefined, (x: number | undefined) => string]> = [
    ['build', (r) => r.built.buildMs, ms],
    ['first pull, from process start', (r) => r.pull.fromStartMs, ms],
    ['first pull, from ready', (r) => r.pull.fromReadyMs, ms],
    ['first aggregate, from ready', (r) => r.aggregate.fromReadyMs, ms],
    ['cold point read, round trips', (r) => r.pull.counters?.roundTrips, (x) => (x === undefined ? 'n/a' : String(x))],
    ['node RSS max over the mix', (r) => r.mix.rssMax, mb],
    ['cache hit rate, cold mix', (r) => hitRate(r.mix.cold.counters), pct],
    ['cache hit rate, warm mix', (r) => hitRate(r.mix.warm.counters), pct],
    ['warm mix', (r) => r.mix.warm.ms, ms],
    ['warm mix, all-in-memory', (r) => (r.baseline !== undefined && 'mix' in r.baseline ? r.baseline.mix.warm.ms : undefined), ms],
    ['warm mix, durable ÷ in-memory', (r) => (r.baseline !== undefined && 'mix' in r.baseline ? r.mix.warm.ms / r.baseline.mix.warm.ms : undefined), ratio],
    ['first pull from ready, in-memory', (r) => (r.baseline !== undefined && 'mix' in r.baseline ? r.baseline.firstPull.fromReadyMs : undefined), ms],
    ['node RSS max, in-memory', (r) => (r.baseline !== undefined && 'mix' in r.baseline ? r.baseline.mix.rssMax : undefined), mb],
  ];
  const w = 34;
  out(`\n  ${''.padEnd(w)}${cols.map((c) => c.padStart(11)).join('')}${ratioHead.padStart(14)}`);
  for (const [label, get, fmt] of rows) {
    const vals = results.map(get);
    const a = vals[0];
    const b = vals.at(-1);
    const growth = results.length > 1 && a !== undefined && b !== undefined && fmt !== pct && fmt !== ratio ? ratio(b / a) : '';
    out(`  ${label.padEnd(w)}${vals.map((v) => fmt(v).padStart(11)).join('')}${growth.padStart(14)}`);
  }
}

async function main(): Promise<void> {
  process.env['AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED'] ??= 'true';
  const o = parseOptions(process.argv);
  const root = o.dir !== undefined ? path.resolve(o.dir) : fs.mkdtempSync(path.join(os.tmpdir(), 'datalith-bench-scale-'));
  fs.mkdirSync(root, { recursive: true });
  const keyFile = path.join(root, 'admin-key');
  if (!fs.existsSync(keyFile)) fs.writeFileSync(keyFile, `scale-${Math.random().toString(36).slice(2)}${Date.now().toString(36)}\n`, { mode: 0o600 });
  const key = fs.readFileSync(keyFile, 'utf8').trim();
  const results: SizeResult[] = [];
  let failed = false;
  try {
    out(`bench:scale — databases of ${o.sizes.map(sizeLabel).join(', ')} datoms built through the transactor, measured on freshly started nodes`);
    out(`  ${os.availableParallelism()} cores, ${(os.totalmem() / 1024 ** 3).toFixed(0)} GiB, Node ${process.version}; measured nodes: --cache-size-mb ${o.cacheSizeMb}, ` +
      `index threshold ${n0(o.indexThreshold ?? DEFAULT_INDEX_THRESHOLD)} tail datoms, ` +
      `query workers ${o.queryWorkers ?? "the node's default"}`);
    out(`  build: transactions of ~${n0(o.txDatoms)} datoms, ${o.inFlight} in flight; mix: ${n0(o.mix)} ops (50% pull by lookup ref, 30% friends of friends, ` +
      `20% count and mean age of one city's ~100 people), ${o.concurrency} in flight, a cold pass then ${o.warmRounds} warm ones; data in ${root}`);
    // A size that fails is reported and judged FAIL; the other sizes are still measured.
    const failures: Array<{ size: number; error: string }> = [];
    for (const size of o.sizes) {
      try {
        results.push(await measureSize(size, root, o, key));
      } catch (e) {
        const error = String((e as Error)?.message ?? e).split('\n')[0]!.slice(0, 500);
        failures.push({ size, error });
        out(`  ${sizeLabel(size)} FAILED: ${error}${o.dir !== undefined ? ` (node logs in ${path.join(root, sizeLabel(size), 'logs')})` : ''}`);
      }
    }
    if (results.length > 0) printSummary(results);
    out();
    const lines = [...verdicts(results), ...failures.map((f) => ({ v: 'FAIL' as const, text: `${sizeLabel(f.size)}: ${f.error}` }))];
    for (const l of lines) out(`${l.v}: ${l.text}`);
    failed = lines.some((l) => l.v === 'FAIL');
    const big = results.find((r) => r.size >= 10_000_000);
    if (big !== undefined) {
      const worst = Math.max(big.pull.fromReadyMs, big.aggregate.fromReadyMs);
      out(`GOAL ${worst <= FIRST_ANSWER_GOAL_MS ? 'met' : 'not met'}: first answer at ${sizeLabel(big.size)} ≤ ${ms(FIRST_ANSWER_GOAL_MS)} ` +
        `(pull ${ms(big.pull.fromReadyMs)}, aggregate ${ms(big.aggregate.fromReadyMs)} from ready; ${ms(big.pull.fromStartMs)} and ${ms(big.aggregate.fromStartMs)} from process start)`);
    }
  } finally {
    for (const h of [...children]) await stopChild(h, 5_000).catch(() => {});
    if (o.dir === undefined) fs.rmSync(root, { recursive: true, force: true });
  }
  process.exit(failed ? 1 : 0);
}

if (require.main === module) {
  main().catch((e: unknown) => {
    process.stderr.write(`bench:scale failed: ${(e as Error)?.stack ?? String(e)}\n`);
    for (const h of children) h.signal('SIGKILL');
    process.exit(1);
  });
}
