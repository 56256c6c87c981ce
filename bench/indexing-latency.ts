/**
 * `npm run bench:indexing-latency` — transaction latency while the indexing job runs, against
 * the same load with no job, in one run on the same data (issue 13: "p99 transact latency during
 * indexing ≤ 2× without").
 *
 * DynamoDB (dynalite) and S3 (s3rver) run as their own processes, as under `npm start`; this
 * process is the node: `Databases`, the transactor and `Indexing`. It first builds a database of
 * `--datoms` datoms (not indexed), then runs the same load — `--clients` loops, each committing
 * small transactions — in alternating phases of `--phase-s` seconds: without indexing, and with
 * indexing jobs back to back (the first writes the whole database; later ones what changed, and
 * each moves the value onto its new root). Prints p50/p99/max per kind and the ratio of p99s.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { monitorEventLoopDelay, type IntervalHistogram } from 'node:perf_hooks';
import { Command } from 'commander';
import { spawnChild, type ChildHandle } from '../services/local/process';
import { CatalogStore, createDynamoClient, createS3Client, IndexRootStore, SegmentStore, ensureTables } from '../services/node/storage';
import { LogStore } from '../services/node/log';
import { Databases } from '../services/node/databases';
import { Indexing } from '../services/node/indexing/durable';
import { SegmentCache } from '../services/node/indexing/segment-cache';

const LOCAL = path.join(__dirname, '..', 'services', 'local');
const RATIO_FLOOR = 2;

function percentile(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] ?? NaN;
}

async function main(): Promise<void> {
  process.env['AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED'] ??= 'true';
  const o = new Command()
    .option('--datoms <n>', 'datoms in the database before the load', (v) => Number(v), 400_000)
    .option('--clients <n>', 'concurrent transacting loops', (v) => Number(v), 4)
    .option('--phase-s <s>', 'seconds per phase', (v) => Number(v), 8)
    .option('--rounds <n>', 'pairs of phases (without, with indexing)', (v) => Number(v), 2)
    .parse().opts<{ datoms: number; clients: number; phaseS: number; rounds: number }>();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'datalith-ixlat-'));
  const children: ChildHandle<string>[] = [];
  const server = async (name: string, entry: string, sub: string): Promise<string> => {
    const h = await spawnChild<string>({
      name, entry: path.join(LOCAL, entry), args: ['--dir', path.join(dir, sub), '--port', '0'],
      ready: (m) => (typeof m['endpoint'] === 'string' ? m['endpoint'] : undefined), readyTimeoutMs: 60_000,
      logFile: path.join(dir, `${sub}.log`),
    });
    children.push(h);
    return h.info;
  };
  try {
    const dynamo = createDynamoClient({ endpoint: await server('dynalite', 'dynalite-server.ts', 'storage') });
    const s3 = createS3Client({ endpoint: await server('s3rver', 's3rver-server.ts', 'segments') });
    await ensureTables(dynamo);
    const segments = new SegmentStore(s3);
    await segments.ensureBucket();
    const indexing = new Indexing({
      segments, roots: new IndexRootStore(dynamo), cache: new SegmentCache(256 * 1024 * 1024),
      thresholdDatoms: 1e12, tailMaxDatoms: 0, index: true, nodeId: 'bench',
    });
    const databases = new Databases(new CatalogStore(dynamo), new LogStore(dynamo), indexing);
    await databases.create('lat');
    const host = await databases.host('lat');
    await host.transact([
      { ':db/ident': ':p/id', ':db/valueType': ':db.type/long', ':db/cardinality': ':db.cardinality/one', ':db/unique': ':db.unique/identity' },
      { ':db/ident': ':p/name', ':db/valueType': ':db.type/string', ':db/cardinality': ':db.cardinality/one' },
      { ':db/ident': ':p/age', ':db/valueType': ':db.type/long', ':db/cardinality': ':db.cardinality/one' },
    ]);
    let next = 0;
    const person = (): Record<string, unknown> => {
      const id = next++;
      return { ':p/id': id, ':p/name': `name-${(id * 7919) % 100_003}`, ':p/age': id % 90 };
    };
    const building = performance.now();
    while (next * 4 < o.datoms) await host.transact(Array.from({ length: 1_000 }, person));
    console.log(`bench:indexing-latency — ${o.clients} clients committing 5-person transactions, ${o.rounds} × (${o.phaseS} s without indexing, ${o.phaseS} s with jobs back to back)`);
    console.log(`  database: ${host.db.t} transactions, ~${next * 4} datoms, built in ${((performance.now() - building) / 1000).toFixed(1)} s, not indexed yet`);

    const samples = { without: [] as number[], with: [] as number[] };
    // How long the event loop was held (this process is the node): the job's own share of the latency.
    const loop = { without: monitorEventLoopDelay({ resolution: 1 }), with: monitorEventLoopDelay({ resolution: 1 }) };
    let jobs = 0;
    const phase = async (kind: 'without' | 'with'): Promise<void> => {
      const end = performance.now() + o.phaseS * 1000;
      let indexingLoop: Promise<void> = Promise.resolve();
      if (kind === 'with') {
        indexingLoop = (async () => {
          while (performance.now() < end) {
            await indexing.start(host);
            jobs++;
          }
        })();
      }
      loop[kind].enable();
      await Promise.all(Array.from({ length: o.clients }, async () => {
        while (performance.now() < end) {
          const t0 = performance.now();
          await host.transact(Array.from({ length: 5 }, person));
          samples[kind].push(performance.now() - t0);
        }
      }));
      loop[kind].disable();
      await indexingLoop;
    };
    for (let r = 0; r < o.rounds; r++) {
      await phase('without');
      await phase('with');
    }
    const line = (k: 'without' | 'with'): string => {
      const xs = samples[k];
      const h: IntervalHistogram = loop[k];
      return `${k === 'with' ? 'during indexing ' : 'without indexing'}: ${xs.length} transactions, p50 ${percentile(xs, 50).toFixed(1)} ms, p99 ${percentile(xs, 99).toFixed(1)} ms, max ${Math.max(...xs).toFixed(1)} ms; ` +
        `event loop delay p99 ${(h.percentile(99) / 1e6).toFixed(1)} ms, max ${(h.max / 1e6).toFixed(1)} ms`;
    };
    console.log(`  ${line('without')}`);
    console.log(`  ${line('with')}  (${jobs} jobs, ${indexing.stats.segmentsWritten} segments written, failures ${indexing.stats.failures})`);
    const ratio = percentile(samples.with, 99) / percentile(samples.without, 99);
    const pass = ratio <= RATIO_FLOOR && indexing.stats.failures === 0;
    console.log(`${pass ? 'PASS' : 'FAIL'}: p99 during indexing / p99 without = ${ratio.toFixed(2)}× (floor ≤ ${RATIO_FLOOR}×), indexedT ${host.indexedT} of t ${host.db.t}`);
    dynamo.destroy();
    s3.destroy();
    process.exitCode = pass ? 0 : 1;
  } finally {
    await Promise.all(children.map((c) => c.stop()));
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

void main();
