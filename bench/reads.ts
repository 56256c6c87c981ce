/**
 * `npm run bench:reads` (issue 5): more nodes serve more queries.
 *
 * The DataScript benchmark's 20,000 people (bench/data.ts) in one database of a local cluster;
 * query throughput through the load balancer with 1, 2 and 3 nodes, measured by a separate load
 * generator process (the remote SDK, a fixed number of queries in flight). The queries do their
 * work on the node — joins and aggregates over whole attributes, small answers — so what another
 * node adds is CPU for queries, not HTTP overhead:
 *
 *   [:find (count ?e) (avg ?a) :where [?e :name "Ivan"] [?e :age ?a] [?e :sex :male]]
 *   [:find ?n (count ?e) (avg ?s) :where [?e :name ?n] [?e :salary ?s]]            (group by)
 *   … (QUERIES below)
 *
 * Each node is one process evaluating queries on one query worker thread
 * (DATALITH_QUERY_WORKERS=1; docs/adr/007-query-workers.md), i.e. one core's worth of query
 * CPU per node. The load balancer runs in this process, the load generator in its own; both
 * share the machine's cores with the nodes. Floor: 2 nodes ≥ 1.5× the throughput of 1 node
 * (exit code 1 otherwise).
 *
 * The machine may be shared (other processes steal CPU now and then): the node counts are
 * measured in BENCH_ROUNDS interleaved rounds (default 2) and each count's best round counts.
 *
 * BENCH_SECONDS (default 8 per measurement), BENCH_CONCURRENCY (default 6 queries in flight),
 * BENCH_NODES (default 1,2,3), BENCH_QUERY_WORKERS (default 1 per node), BENCH_ROUNDS.
 */
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { createClient } from '../services/client/index';
import { startLocalCluster, type LocalCluster } from '../services/local/main';
import { DATALITH_SCHEMA, datalithEntity, people } from './data';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 8);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 6);
const NODE_COUNTS = (process.env.BENCH_NODES ?? '1,2,3').split(',').map(Number);
const QUERY_WORKERS = process.env.BENCH_QUERY_WORKERS ?? '1';
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 2);
const FLOOR = 1.5;
const DB = 'people';

export const QUERIES: readonly string[] = [
  '[:find (count ?e) (avg ?a) :where [?e :name "Ivan"] [?e :age ?a] [?e :sex :male]]',
  '[:find ?n (count ?e) (avg ?s) :where [?e :name ?n] [?e :salary ?s]]',
  '[:find ?sex (max ?a) (min ?a) (count ?e) :where [?e :last-name "Ivanov"] [?e :sex ?sex] [?e :age ?a]]',
  '[:find ?n ?ln (count ?e) :where [?e :name ?n] [?e :last-name ?ln] [?e :age ?a] [(< ?a 50)]]',
  '[:find (count ?e) (sum ?s) :where [?e :name ?n] [?e :age ?a] [?e :salary ?s] [(> ?a 20)]]',
];

interface LoadSpec {
  endpoint: string;
  accessKey: string;
  seconds: number;
  warmupSeconds: number;
  concurrency: number;
}

interface LoadResult {
  queries: number;
  errors: number;
  seconds: number;
  p50: number;
  p99: number;
  cpuMs: number;
}

const quantile = (xs: number[], q: number): number => {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))]!;
};

/** The load generator (its own process): `concurrency` loops of queries for `seconds`. */
async function loadGenerator(spec: LoadSpec): Promise<void> {
  const client = createClient({ endpoint: spec.endpoint, accessKey: spec.accessKey, timeout: 60_000 });
  const conn = await client.connect(DB);
  const db = await conn.db();
  const start = performance.now();
  const measureFrom = start + spec.warmupSeconds * 1000;
  const end = measureFrom + spec.seconds * 1000;
  const latencies: number[] = [];
  let errors = 0;
  let cpu0: NodeJS.CpuUsage | undefined;
  let next = 0;
  await Promise.all(Array.from({ length: spec.concurrency }, async () => {
    for (;;) {
      const t = performance.now();
      if (t >= end) return;
      if (cpu0 === undefined && t >= measureFrom) cpu0 = process.cpuUsage();
      const query = QUERIES[next++ % QUERIES.length]!;
      try {
        await db.q(query);
        const done = performance.now();
        if (t >= measureFrom && done <= end) latencies.push(done - t);
      } catch {
        errors++;
      }
    }
  }));
  const cpu = process.cpuUsage(cpu0);
  await client.close();
  const out: LoadResult = {
    queries: latencies.length,
    errors,
    seconds: spec.seconds,
    p50: quantile(latencies, 0.5),
    p99: quantile(latencies, 0.99),
    cpuMs: (cpu.user + cpu.system) / 1000,
  };
  process.stdout.write(`${JSON.stringify(out)}\n`);
}

function runLoadGenerator(spec: LoadSpec): Promise<LoadResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', __filename, '--load', JSON.stringify(spec)], {
      stdio: ['ignore', 'pipe', 'inherit'],
      env: { ...process.env, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
    });
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (s: string) => { out += s; });
    child.once('error', reject);
    child.once('exit', (code) => {
      const line = out.trim().split('\n').at(-1) ?? '';
      try {
        if (code !== 0) throw new Error(`exit code ${code}`);
        resolve(JSON.parse(line) as LoadResult);
      } catch (e) {
        reject(new Error(`load generator failed (${(e as Error).message}): ${out.slice(0, 500)}`));
      }
    });
  });
}

async function load(endpoint: string, accessKey: string): Promise<void> {
  const client = createClient({ endpoint, accessKey, timeout: 120_000 });
  await client.createDatabase(DB);
  const conn = await client.connect(DB);
  await conn.transact(DATALITH_SCHEMA);
  const folks = people();
  for (let i = 0; i < folks.length; i += 2_000) await conn.transact(folks.slice(i, i + 2_000).map(datalithEntity));
  await client.close();
}

/** Every node's query worker has loaded the database (first queries straight to each node). */
async function warmNodes(cluster: LocalCluster): Promise<void> {
  await Promise.all(cluster.nodes.map(async (n) => {
    const c = createClient({ endpoint: n.url, accessKey: cluster.accessKey, timeout: 120_000 });
    const db = await (await c.connect(DB)).db();
    for (const query of QUERIES) await db.q(query);
    await c.close();
  }));
}

async function main(): Promise<void> {
  process.env['AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED'] ??= 'true';
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'datalith-bench-reads-'));
  const nodeEnv = { DATALITH_QUERY_WORKERS: QUERY_WORKERS, DATALITH_LOG_LEVEL: 'warn' };
  const rows: Array<{ nodes: number; r: LoadResult }> = [];
  try {
    process.stdout.write(`bench:reads — query throughput through the load balancer, ${os.availableParallelism()} cores\n`);
    process.stdout.write(`  20,000 people; ${QUERIES.length} node-side queries in rotation; ${QUERY_WORKERS} query worker per node; ` +
      `${CONCURRENCY} queries in flight from a load generator process; ${SECONDS} s per node count\n`);
    let loaded = false;
    for (let round = 1; round <= ROUNDS; round++) {
      for (const n of NODE_COUNTS) {
        const cluster = await startLocalCluster({ nodes: n, port: 0, dataDir, nodeEnv, childLogs: 'none', stopGraceMs: 2_000 });
        try {
          if (!loaded) {
            const t = performance.now();
            await load(cluster.endpoint, cluster.accessKey);
            loaded = true;
            process.stdout.write(`  loaded 20,000 people in ${((performance.now() - t) / 1000).toFixed(1)} s\n`);
          }
          await warmNodes(cluster);
          const r = await runLoadGenerator({ endpoint: cluster.endpoint, accessKey: cluster.accessKey, seconds: SECONDS, warmupSeconds: 2, concurrency: CONCURRENCY });
          rows.push({ nodes: n, r });
          process.stdout.write(`  round ${round}, ${n} node${n === 1 ? ': ' : 's:'} ${(r.queries / r.seconds).toFixed(1)} queries/s (p50 ${r.p50.toFixed(0)} ms, p99 ${r.p99.toFixed(0)} ms, ` +
            `${r.errors} errors; load generator CPU ${((r.cpuMs / (r.seconds * 1000)) * 100).toFixed(0)}% of a core)\n`);
        } finally {
          await cluster.stop();
        }
      }
    }
  } finally {
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
  /** The best round of a node count. */
  const rate = (n: number): number | undefined => {
    const rs = rows.filter((x) => x.nodes === n).map((x) => x.r.queries / x.r.seconds);
    return rs.length === 0 ? undefined : Math.max(...rs);
  };
  const one = rate(1);
  process.stdout.write('\n  nodes  queries/s (best round)  vs 1 node\n');
  for (const nodes of NODE_COUNTS) {
    const q = rate(nodes)!;
    process.stdout.write(`  ${String(nodes).padEnd(5)}  ${q.toFixed(1).padStart(22)}  ${one === undefined ? '' : `${(q / one).toFixed(2)}×`}\n`);
  }
  const two = rate(2);
  if (one === undefined || two === undefined) {
    process.stdout.write('\n(ratio needs BENCH_NODES to include 1 and 2)\n');
    return;
  }
  const ratio = two / one;
  const ok = ratio >= FLOOR && rows.every((x) => x.r.errors === 0);
  process.stdout.write(`\n${ok ? 'PASS' : 'FAIL'}: 2 nodes ÷ 1 node = ${ratio.toFixed(2)}× (floor ≥ ${FLOOR}× on this ${os.availableParallelism()}-core machine; each node is one process)\n`);
  process.exitCode = ok ? 0 : 1;
}

if (process.argv[2] === '--load') {
  loadGenerator(JSON.parse(process.argv[3]!) as LoadSpec).catch((e: unknown) => {
    process.stderr.write(`load generator: ${(e as Error)?.stack ?? String(e)}\n`);
    process.exit(1);
  });
} else {
  main().catch((e: unknown) => {
    process.stderr.write(`bench:reads failed: ${(e as Error)?.stack ?? String(e)}\n`);
    process.exit(1);
  });
}
