/**
 * `npm run bench:log`: what the log costs and what group commit buys (issue 4).
 *
 * Storage is dynalite in its own process; the node is its own process too, so this process only
 * generates load. Two measurements, each a ratio taken in this one run:
 *
 * 1. Group commit. A latency proxy adds 5 ms to every DynamoDB round trip, as real DynamoDB
 *    answers in milliseconds. One database can then commit at most 1 / round-trip transactions
 *    per second without batching (the serial limit, from a raw conditional PutItem measured
 *    through the same proxy). 64 concurrent clients through the HTTP API must reach >= 10x it.
 * 2. The log's cost. Without added latency, transactions per second through the node at 64
 *    concurrent clients against the rate of a no-op request (GET /health) at the same
 *    concurrency — the HTTP path's own ceiling on this machine. Must be >= 0.5x.
 *
 * Also printed: p50/p99 latency, mean batch size (transactions per log entry), and single-client
 * transaction latency next to one raw conditional PutItem.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PutItemCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { Pool } from 'undici';
import { startFaultProxy } from '../services/local/fault-proxy';
import { createDynamoClient, ensureTables, CatalogStore } from '../services/node/storage';
import { LogStore } from '../services/node/log';
import { spawnDynaliteProcess } from '../services/local/dynalite';
import { median } from './data';
import { DatabaseHost } from '../services/node/log/transactor';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 5);
const CONCURRENCY = 64;
const DELAY_MS = 5;
const KEY = randomBytes(24).toString('hex');
const repo = path.resolve(__dirname, '..');

interface NodeProc { url: string; proc: ChildProcess }

async function startNodeProcess(storageEndpoint: string, nodeId: string): Promise<NodeProc> {
  const entry = process.env.BENCH_NODE_ENTRY ? ['--enable-source-maps', path.resolve(process.env.BENCH_NODE_ENTRY)] : ['--import', 'tsx', path.join(repo, 'services/node/main.ts')];
  const proc = spawn(process.execPath, [...(process.env.BENCH_NODE_ARGS?.split(' ').filter(Boolean) ?? []), ...entry], {
    cwd: repo,
    env: {
      ...process.env,
      PORT: '0',
      HOST: '127.0.0.1',
      DATALITH_STORAGE_ENDPOINT: storageEndpoint,
      DATALITH_NODE_ID: nodeId,
      DATALITH_ADMIN_KEY: KEY,
      DATALITH_CREATE_TABLES: '1',
      DATALITH_LOG_LEVEL: 'warn',
    },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const port = await new Promise<number>((resolve, reject) => {
    let buf = '';
    proc.stdout!.on('data', (c: Buffer) => {
      buf += c.toString();
      for (const line of buf.split('\n')) {
        try {
          const msg = JSON.parse(line) as { event?: string; port?: number };
          if (msg.event === 'listening' && msg.port) resolve(msg.port);
        } catch { /* partial line */ }
      }
    });
    proc.on('exit', (code) => reject(new Error(`node exited with ${code}`)));
  });
  return { url: `http://127.0.0.1:${port}`, proc };
}

/** CPU seconds (user + system) a process has used, from /proc (Linux). */
function cpuSeconds(pid: number | undefined): number {
  try {
    const f = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return (Number(f[11]) + Number(f[12])) / 100;
  } catch {
    return NaN;
  }
}

interface Run { perSecond: number; p50: number; p99: number; count: number }

/** `CONCURRENCY` loops calling `call` for SECONDS; returns the rate and latencies. */
async function load(concurrency: number, call: () => Promise<void>): Promise<Run> {
  const latencies: number[] = [];
  const end = performance.now() + SECONDS * 1000;
  const start = performance.now();
  await Promise.all(Array.from({ length: concurrency }, async () => {
    while (performance.now() < end) {
      const t0 = performance.now();
      await call();
      latencies.push(performance.now() - t0);
    }
  }));
  const elapsed = (performance.now() - start) / 1000;
  latencies.sort((a, b) => a - b);
  return {
    perSecond: latencies.length / elapsed,
    p50: latencies[Math.floor(latencies.length * 0.5)] ?? NaN,
    p99: latencies[Math.floor(latencies.length * 0.99)] ?? NaN,
    count: latencies.length,
  };
}

function client(url: string): { post: (p: string, body: unknown) => Promise<unknown>; get: (p: string) => Promise<void>; close: () => Promise<void> } {
  const pool = new Pool(url, { connections: CONCURRENCY, pipelining: 1 });
  const headers = { 'content-type': 'application/json', authorization: `Bearer ${KEY}` };
  return {
    async post(p, body) {
      const res = await pool.request({ path: p, method: 'POST', headers, body: JSON.stringify(body) });
      const text = await res.body.text();
      if (res.statusCode >= 300) throw new Error(`${p}: ${res.statusCode} ${text}`);
      return JSON.parse(text);
    },
    async get(p) {
      const res = await pool.request({ path: p, method: 'GET', headers });
      await res.body.dump();
      if (res.statusCode >= 300) throw new Error(`${p}: ${res.statusCode}`);
    },
    close: () => pool.close(),
  };
}

const SCHEMA = '[{:db/ident :event/id :db/valueType :db.type/uuid :db/cardinality :db.cardinality/one :db/unique :db.unique/identity} {:db/ident :event/n :db/valueType :db.type/long :db/cardinality :db.cardinality/one}]';

async function setupDatabase(c: ReturnType<typeof client>, name: string): Promise<void> {
  await c.post('/v1/databases', { name });
  await c.post(`/v1/databases/${name}/transact`, { txData: SCHEMA });
}

let n = 0;
const tx = (c: ReturnType<typeof client>, name: string) => async (): Promise<void> => {
  await c.post(`/v1/databases/${name}/transact`, { txData: [{ 'event/id': randomUUID(), 'event/n': n++ }], txId: randomUUID() });
};

async function rawPutLatency(dynamo: DynamoDBClient): Promise<number> {
  const times: number[] = [];
  for (let i = 0; i < 60; i++) {
    const t0 = performance.now();
    await dynamo.send(new PutItemCommand({
      TableName: 'datalith-log',
      Item: { db: { S: `raw-${process.pid}` }, t: { N: String(i + 1) }, body: { B: randomBytes(200) } },
      ConditionExpression: 'attribute_not_exists(t)',
    }));
    if (i >= 10) times.push(performance.now() - t0);
  }
  return median(times);
}

async function meanBatch(dynamo: DynamoDBClient, name: string): Promise<number> {
  const rec = await new CatalogStore(dynamo).getDatabase(name);
  const entries = await new LogStore(dynamo).readEntries(rec!.id, 0);
  const txs = entries.reduce((s, e) => s + e.txs.length, 0);
  return txs / entries.length;
}

/** The transactor with no HTTP in front: `callers` loops transacting into a fresh database. */
async function transactorAlone(dynamo: DynamoDBClient, callers: number): Promise<{ perSecond: number; cpuPerTx: number; callers: number }> {
  const rec = await new CatalogStore(dynamo).createDatabase(`alone-${process.pid}`);
  const host = new DatabaseHost('alone', rec.id, new LogStore(dynamo));
  await host.transact(SCHEMA);
  let k = 0;
  const call = async (): Promise<void> => {
    await host.transact([{ 'event/id': randomUUID(), 'event/n': k++ }], randomUUID());
  };
  await load(callers, call); // warm up
  const c0 = process.cpuUsage();
  const run = await load(callers, call);
  const c = process.cpuUsage(c0);
  return { perSecond: run.perSecond, cpuPerTx: (c.user + c.system) / run.count, callers };
}

async function main(): Promise<void> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'datalith-bench-log-'));
  const storage = await spawnDynaliteProcess({ dir: path.join(dir, 'storage') });
  const u = new URL(storage.endpoint);
  const proxy = await startFaultProxy({ host: u.hostname, port: Number(u.port) }, { delayMs: DELAY_MS });
  const direct = createDynamoClient({ endpoint: storage.endpoint });
  const slow = createDynamoClient({ endpoint: proxy.endpoint });
  await ensureTables(direct);
  const nodes: NodeProc[] = [];
  try {
    console.log(`bench:log — ${SECONDS} s per run, ${CONCURRENCY} concurrent clients, ${os.cpus().length} cores, Node ${process.version}`);

    // 1. Group commit with +5 ms per storage round trip.
    if (process.env.BENCH_ONLY !== 'tx' && process.env.BENCH_ONLY !== 'cost') {
    const slowNode = await startNodeProcess(proxy.endpoint, 'bench-slow');
    nodes.push(slowNode);
    const cs = client(slowNode.url);
    await setupDatabase(cs, 'slow');
    const put = await rawPutLatency(slow);
    const serialLimit = 1000 / put;
    const single = await load(1, tx(cs, 'slow'));
    const grouped = await load(CONCURRENCY, tx(cs, 'slow'));
    const batch = await meanBatch(direct, 'slow');
    console.log(`\n1. group commit, +${DELAY_MS} ms per DynamoDB round trip`);
    console.log(`   raw conditional PutItem (single client): ${put.toFixed(2)} ms → serial limit ${serialLimit.toFixed(0)} tx/s`);
    console.log(`   single client transact: p50 ${single.p50.toFixed(2)} ms (${(single.p50 / put).toFixed(2)}× one PutItem)`);
    console.log(`   ${CONCURRENCY} clients: ${grouped.perSecond.toFixed(0)} tx/s, p50 ${grouped.p50.toFixed(1)} ms, p99 ${grouped.p99.toFixed(1)} ms, mean batch ${batch.toFixed(1)} tx/entry`);
    console.log(`   ratio to the serial limit: ${(grouped.perSecond / serialLimit).toFixed(1)}× (floor 10×)`);
    await cs.close();
    slowNode.proc.kill('SIGTERM');
    }

    // 2. The log's cost against a no-op request, no added latency.
    const fastNode = await startNodeProcess(storage.endpoint, 'bench-fast');
    nodes.push(fastNode);
    const cf = client(fastNode.url);
    await setupDatabase(cf, 'fast');
    if (process.env.BENCH_ONLY !== 'tx') await load(CONCURRENCY, () => cf.get('/health')); // warm up
    const cpu = (): [number, number] => [cpuSeconds(fastNode.proc.pid), cpuSeconds(storage.pid)];
    const u0 = process.cpuUsage();
    const c0 = cpu();
    const health = process.env.BENCH_ONLY === 'tx' ? { perSecond: NaN, p50: NaN, p99: NaN, count: 1 } : await load(CONCURRENCY, () => cf.get('/health'));
    const c1 = cpu();
    const u1 = process.cpuUsage();
    const txs = await load(CONCURRENCY, tx(cf, 'fast'));
    const c2 = cpu();
    const u2 = process.cpuUsage();
    const lg = (a: NodeJS.CpuUsage, b: NodeJS.CpuUsage, k: number): string => `${((b.user + b.system - a.user - a.system) / k).toFixed(0)} µs`;
    const batch2 = await meanBatch(direct, 'fast');
    console.log(`\n2. the log's cost, no added latency`);
    console.log(`   GET /health: ${health.perSecond.toFixed(0)} req/s, p50 ${health.p50.toFixed(2)} ms, p99 ${health.p99.toFixed(2)} ms`);
    console.log(`   transact:    ${txs.perSecond.toFixed(0)} tx/s, p50 ${txs.p50.toFixed(2)} ms, p99 ${txs.p99.toFixed(2)} ms, mean batch ${batch2.toFixed(1)} tx/entry`);
    const per = (a: number, b: number, k: number): string => `${((b - a) * 1e6 / k).toFixed(0)} µs`;
    console.log(`   CPU per request — health: node ${per(c0[0], c1[0], health.count)}, load generator ${lg(u0, u1, health.count)}; transact: node ${per(c1[0], c2[0], txs.count)}, storage ${per(c1[1], c2[1], txs.count)}, load generator ${lg(u1, u2, txs.count)}`);
    console.log(`   ratio transact ÷ health: ${(txs.perSecond / health.perSecond).toFixed(2)}× (floor 0.5×)`);
    // What the machine allows at all: the load generator and the storage server share its cores
    // with the node, and a transaction costs the node at least what a no-op request does. So
    // even a transaction that was otherwise free could not go faster than this.
    const othersPerTx = (u2.user + u2.system - u1.user - u1.system) / txs.count + ((c2[1] - c1[1]) * 1e6) / txs.count;
    const nodePerNoop = ((c1[0] - c0[0]) * 1e6) / health.count;
    const ceiling = (os.cpus().length * 1e6) / (othersPerTx + nodePerNoop);
    console.log(`   bound: ${othersPerTx.toFixed(0)} µs of load generator and storage CPU per transaction, plus the node's ${nodePerNoop.toFixed(0)} µs for any request, on ${os.cpus().length} cores → at most ${ceiling.toFixed(0)} tx/s if the transaction itself were free: ${(ceiling / health.perSecond).toFixed(2)}× health`);

    // And what the transaction itself costs: the transactor alone (no HTTP) in this process,
    // against the same storage, with as many concurrent callers as the batches above held.
    const alone = await transactorAlone(direct, Math.max(1, Math.round(batch2)));
    const nodeBound = 1e6 / (nodePerNoop + alone.cpuPerTx);
    console.log(`   transactor alone (no HTTP, ${alone.callers} callers): ${alone.perSecond.toFixed(0)} tx/s at ${alone.cpuPerTx.toFixed(0)} µs of CPU per transaction → a node's one thread, with HTTP as cheap as a no-op, could do at most ${nodeBound.toFixed(0)} tx/s: ${(nodeBound / health.perSecond).toFixed(2)}× health`);
    await cf.close();
    fastNode.proc.kill('SIGTERM');
    await new Promise((r) => fastNode.proc.once('exit', r));
  } finally {
    for (const nd of nodes) nd.proc.kill('SIGKILL');
    direct.destroy();
    slow.destroy();
    await proxy.close();
    storage.kill();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
