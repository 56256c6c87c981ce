/**
 * Fault tests of durable indexing with real node processes (docs/faults.md, "Indexing"):
 *
 * - **kill -9 at each step of a job**: a node process started with
 *   `DATALITH_FAULT_INDEXING_KILL_AT=<step>` (services/node/indexing/fault-injection.ts) SIGKILLs
 *   itself when its first job reaches the step, under a write load through the SDK. A fresh node
 *   process on the same storage must answer exactly as a node that replays the whole log (no
 *   segment store), hold every acknowledged transaction (a unique `:tx/key` each), open from the
 *   stored root if one was stored, and complete a new job of its own.
 * - **S3 unreachable mid-job**: transactions are acknowledged while S3 is down, until the tail
 *   passes its maximum; then `busy` `db.error/indexing-behind` is the only refusal. The job fails
 *   and backs off, and completes once S3 is back.
 * - **DynamoDB unreachable at the root advance** (long run): the job fails after its puts, the
 *   stored root stays as it was, and a later job completes.
 * - **two node processes indexing one database at once** (long run): a local cluster of 2 nodes
 *   with node-to-node requests cut, so both commit and both index; one root, no failures other
 *   than lost races, reads on both nodes agree with a full replay.
 *
 * `npm test` runs one kill point and the S3 outage; `npm run test:faults` (FAULTS_LONG=1) every
 * kill point, the DynamoDB outage and the two indexers. FAULTS_KEEP=1 keeps the node logs.
 */
import type { LocalNodeInfo } from '../../services/local/main';
import type { RunningNode } from '../../services/node/main';
import { createDynamoClient, IndexRootStore } from '../../services/node/storage';
import { startFaultCluster } from './harness/cluster';
import {
  ADMIN_KEY, answers, client, KeyedWrites, nodeStatus, SCHEMA, spawnIndexingNode, startIndexingStorage, startReplayNode, startSegmentNode, storedRoot, waitFor, within,
  type IndexingStorage, type NodeProcess, type NodeStatus,
} from './harness/indexing';

const LONG = process.env.FAULTS_LONG === '1';
const VERBOSE = LONG || process.env.FAULTS_VERBOSE === '1';
/** Datoms in the tail that start a job: a write is about 45 datoms, so a job every ~9 writes. */
const THRESHOLD = 400;
const KILL_POINTS = LONG ? ['segment-put:3', 'segments-written', 'root-advanced', 'rebased'] : ['root-advanced'];

jest.setTimeout(LONG ? 300_000 : 90_000);

let storage: IndexingStorage;
let replay: RunningNode;
const nodes: NodeProcess[] = [];
const report: string[] = [];

beforeAll(async () => {
  storage = await startIndexingStorage();
  replay = await startReplayNode(storage.dynamoEndpoint);
});

afterEach(async () => {
  storage.s3Proxy.setDown(false);
  storage.s3Proxy.delayMs = 0;
  storage.dynamoProxy.setDown(false);
  await Promise.all(nodes.splice(0).map((n) => n.stop()));
});

afterAll(async () => {
  await replay?.close();
  await storage?.close();
  if (VERBOSE && report.length > 0) process.stdout.write(`\nIndexing faults (${LONG ? 'long' : 'short'}):\n${report.join('\n')}\n`);
});

async function spawn(name: string, env: Record<string, string> = {}): Promise<NodeProcess> {
  const n = await spawnIndexingNode(storage, name, { DATALITH_INDEX_THRESHOLD_DATOMS: String(THRESHOLD), ...env });
  nodes.push(n);
  return n;
}

/** Runs `f`; a failure carries the tail of every node's log. */
async function withLogs(f: () => Promise<void>): Promise<void> {
  try {
    await f();
  } catch (e) {
    const logs = nodes.map((n) => `--- ${n.name} (pid ${n.pid}) ---\n${n.tail().split('\n').slice(-30).join('\n')}`).join('\n');
    if (e instanceof Error) e.message += `\n${logs}`;
    throw e;
  }
}

const dbOf = (s: NodeStatus, db: string): NodeStatus['databases'][string] => {
  const d = s.databases[db];
  if (d === undefined) throw new Error(`${s.nodeId} has not loaded ${db}: ${JSON.stringify(s.databases)}`);
  return d;
};

/** Polls the node's GET /v1/status until `pred` holds; a timeout shows the last status and the writes so far. */
async function untilStatus(node: NodeProcess, what: string, pred: (s: NodeStatus) => boolean, opts: { timeoutMs?: number; intervalMs?: number; writes?: KeyedWrites } = {}): Promise<NodeStatus> {
  let last: NodeStatus | undefined;
  return waitFor(`${what} (GET /v1/status of ${node.name})`, async () => {
    last = await node.status();
    return pred(last) && last;
  }, opts.timeoutMs ?? 30_000, opts.intervalMs ?? 25, () => ({ status: last, writes: opts.writes?.summary() }));
}

async function newDatabase(url: string, db: string): Promise<void> {
  const c = client(url);
  try {
    await c.createDatabase(db);
    await (await c.connect(db)).transact(SCHEMA);
  } finally {
    await c.close();
  }
}

/** Every acknowledged write is there exactly once, nothing refused is, nothing unknown twice. */
async function expectNothingLost(writes: KeyedWrites, url: string, db: string, accessKey = ADMIN_KEY): Promise<void> {
  const u = await writes.check(url, db, accessKey);
  expect({ lost: u.lost.map((l) => l.value), duplicated: u.duplicated, aborted: u.aborted.map((a) => a.value), unexpected: u.unexpected }).toEqual({ lost: [], duplicated: [], aborted: [], unexpected: [] });
  expect(u.valid).toBe(true);
}

/** The node's reads equal the full replay's (same t, same answers). */
async function expectSameAsReplay(url: string, db: string): Promise<Record<string, unknown>> {
  const expected = await answers(replay.url, db);
  expect(await answers(url, db)).toEqual(expected);
  return expected;
}

/**
 * Writes one at a time through `url` until a job starts there, then waits until it (and any it
 * starts) is done and the durable index covers the whole log.
 */
async function indexToTheEnd(node: NodeProcess, writes: KeyedWrites, db: string): Promise<NodeStatus> {
  const c = client(node.url, 20_000);
  try {
    const conn = await c.connect(db);
    const jobs = (await node.status()).indexing!.jobs;
    await waitFor(`a job to start on ${node.name}`, async () => {
      const r = await writes.write(conn, -1, { timeoutMs: 20_000 });
      if (r.type !== 'ok') throw new Error(`a write on ${node.name} was not acknowledged: ${r.error}`);
      return (await node.status()).indexing!.jobs > jobs;
    }, 30_000, 0, () => writes.summary());
    return await untilStatus(node, 'indexedT to reach t', (s) => s.indexing!.inFlight === 0 && dbOf(s, db).indexedT === dbOf(s, db).t, { writes });
  } finally {
    await c.close();
  }
}

describe('kill -9 of a node at each step of an indexing job', () => {
  for (const point of KILL_POINTS) {
    const step = point.split(':')[0]!;
    const rootExpected = step === 'root-advanced' || step === 'rebased';
    it(`killed at ${point}: a fresh node has every acknowledged transaction, ${rootExpected ? 'opens from the stored root' : 'finds no root'}, agrees with a full replay and completes a job`, () => withLogs(async () => {
      const db = `kill-${point.replace(':', '-')}`;
      const victim = await spawn(`${db}-victim`, { DATALITH_FAULT_INDEXING_KILL_AT: point });
      await newDatabase(victim.url, db);
      const writes = new KeyedWrites(db);
      const c = client(victim.url, 5_000);
      // Segment puts take 100 ms more, so a put still in flight at the kill is lost with the
      // process (a root must never name one).
      storage.s3Proxy.delayMs = 100;
      const run = writes.run([await c.connect(db)], 3, 5_000);
      const died = await within(victim.exited, 30_000, `${victim.name} did not SIGKILL itself at ${point} (it writes ${THRESHOLD}-datom jobs)`);
      await run.stop();
      await c.close();
      storage.s3Proxy.delayMs = 0;
      expect(died.signal).toBe('SIGKILL');
      expect(victim.tail()).toContain('fault injection: SIGKILL at an indexing step');
      expect(writes.count('ok')).toBeGreaterThan(0);
      const { ok: acked, info: unknown } = writes.summary();

      // What the victim left: a root only once its first job advanced it.
      const root = await storedRoot(storage.roots, replay.url, db);
      if (rootExpected) expect(root).toMatchObject({ writtenBy: victim.name, indexedT: expect.any(Number) });
      else expect(root).toBeUndefined();

      const fresh = await spawn(`${db}-fresh`);
      const before = await expectSameAsReplay(fresh.url, db);
      const opened = dbOf(await fresh.status(), db);
      expect(opened.indexedT).toBe(root?.indexedT ?? 0);
      expect(opened.t).toBe(before['t']);
      await expectNothingLost(writes, fresh.url, db);

      // A new job on the fresh node completes, over whatever the victim left.
      const done = await indexToTheEnd(fresh, writes, db);
      expect(done.indexing).toMatchObject({ failures: 0, lostRaces: 0 });
      const after = await storedRoot(storage.roots, replay.url, db);
      expect(after).toMatchObject({ writtenBy: fresh.name, indexedT: dbOf(done, db).t });
      const final = await expectSameAsReplay(fresh.url, db);
      await expectNothingLost(writes, fresh.url, db);
      // And the new root opens on yet another node.
      const opener = await startSegmentNode(storage.dynamoEndpoint, storage.s3Endpoint, storage.bucket);
      try {
        expect(await answers(opener.url, db)).toEqual(final);
      } finally {
        await opener.close();
      }
      report.push(`  kill at ${point}: ${acked} acknowledged / ${unknown} unknown writes to the victim; root left ${root === undefined ? 'none' : `t ${root.indexedT}`}, ` +
        `fresh node opened at indexedT ${opened.indexedT} of t ${opened.t}, its job indexed to t ${dbOf(done, db).t}; lost 0`);
    }));
  }
});

/**
 * A node with a database under 3 writers until a first root, then the writes pause until its jobs
 * are done; then, with segment puts `putDelayMs` slower, writes again until the next job is in
 * flight. The caller injects its fault then; the writes go on until it stops them.
 */
async function midJob(db: string, env: Record<string, string>, opts: { putDelayMs: number; writeTimeoutMs: number }) {
  const node = await spawn(db, env);
  await newDatabase(node.url, db);
  const writes = new KeyedWrites(db);
  const c = client(node.url);
  const conn = await c.connect(db);
  let run = writes.run([conn], 3, opts.writeTimeoutMs);
  const close = async (): Promise<void> => {
    await run.stop();
    await c.close();
  };
  try {
    await untilStatus(node, 'a first root', (s) => dbOf(s, db).indexedT > 0, { writes });
    await run.stop({ finish: true });
    const settled = await untilStatus(node, 'the jobs to finish', (s) => s.indexing!.inFlight === 0, { writes });
    expect(writes.count('ok')).toBe(writes.outcomes.length);
    storage.s3Proxy.delayMs = opts.putDelayMs;
    run = writes.run([conn], 3, opts.writeTimeoutMs);
    const atCut = await untilStatus(node, 'a job in flight', (s) => s.indexing!.jobs > settled.indexing!.jobs && s.indexing!.inFlight > 0, { intervalMs: 10, writes });
    return { node, writes, settled, atCut, run: { stop: (o?: { finish?: boolean }) => run.stop(o) }, close };
  } catch (e) {
    await close();
    throw e;
  }
}

describe('storage faults during a job', () => {
  it('S3 unreachable mid-job: transactions acknowledged up to the tail maximum, then only busy indexing-behind; the job fails, backs off, completes once S3 is back', () => withLogs(async () => {
    const db = 's3-outage';
    const tailMax = 6 * THRESHOLD;
    // 1.–2. A first root, then a job caught with its puts in flight: S3 now refuses connections
    // and cuts the open ones.
    const { node, writes, settled, atCut, run, close } = await midJob(db, { DATALITH_TAIL_MAX_DATOMS: String(tailMax) }, { putDelayMs: 300, writeTimeoutMs: 2_500 });
    try {
      const indexedT0 = dbOf(settled, db).indexedT;
      storage.s3Proxy.setDown(true);
      storage.s3Proxy.delayMs = 0;
      const downAt = performance.now();
      const cutAt = writes.outcomes.length;
      await untilStatus(node, 'the job to fail', (s) => s.indexing!.failures >= 1, { writes });

      // 3. Writes are acknowledged until the tail passes its maximum; then refused with busy.
      await waitFor('writes refused with busy indexing-behind', async () => writes.outcomes.slice(cutAt).filter((o) => o.type === 'fail').length >= 3, 30_000, 25, () => writes.summary());
      const over = await node.status();
      const during = writes.outcomes.slice(cutAt);
      const firstRefused = during.findIndex((o) => o.type === 'fail');
      expect(dbOf(atCut, db).tailDatoms).toBeLessThan(tailMax);
      expect(dbOf(over, db).tailDatoms).toBeGreaterThan(tailMax);
      expect(dbOf(over, db).indexedT).toBe(indexedT0);
      expect(firstRefused).toBeGreaterThan(0);
      expect(during.slice(0, firstRefused).filter((o) => o.type !== 'ok')).toEqual([]);
      expect(new Set(during.filter((o) => o.type !== 'ok').map((o) => o.error))).toEqual(new Set(['busy/db.error/indexing-behind']));
      // Backoff: a job after 1, 2, 4 … s of outage, not one per commit or refusal (each refused
      // write is many busy answers: the SDK retries them until its timeout).
      const outageS = (performance.now() - downAt) / 1000;
      const attempts = over.indexing!.failures;
      expect(attempts).toBeLessThanOrEqual(2 + Math.ceil(Math.log2(1 + outageS)));

      // 4. S3 back: a job completes, the tail shrinks, writes are acknowledged again.
      storage.s3Proxy.setDown(false);
      const upAt = writes.outcomes.length;
      const healed = await untilStatus(node, 'a job to complete after S3 is back', (s) => dbOf(s, db).indexedT > indexedT0, { timeoutMs: 60_000, writes });
      await waitFor('writes acknowledged again', async () => writes.outcomes.slice(upAt).some((o) => o.type === 'ok'), 30_000, 25, () => writes.summary());
      await run.stop({ finish: true });
      expect(writes.count('info')).toBe(0);
      const done = await indexToTheEnd(node, writes, db);
      expect(done.indexing!.lostRaces).toBe(0);
      expect((await storedRoot(storage.roots, replay.url, db))?.indexedT).toBe(dbOf(done, db).t);
      await expectNothingLost(writes, node.url, db);
      await expectSameAsReplay(node.url, db);
      report.push(`  S3 down ${outageS.toFixed(1)} s from mid-job: ${firstRefused} writes acknowledged during the outage until the tail passed ${tailMax} datoms ` +
        `(${dbOf(atCut, db).tailDatoms} at the cut, ${dbOf(over, db).tailDatoms} then), ${during.filter((o) => o.type === 'fail').length} refused busy; ${attempts} failed job attempts; ` +
        `after S3 came back indexedT ${indexedT0} → ${dbOf(healed, db).indexedT}; ${writes.count('ok')} acknowledged in all, lost 0`);
    } finally {
      await close();
    }
  }));

  if (LONG) {
    it('DynamoDB unreachable at the root advance: the job fails after its puts, the stored root stays, a later job completes', () => withLogs(async () => {
      const db = 'dynamo-outage';
      // Puts take 1.5 s each: DynamoDB goes down while they are in flight, before the advance.
      const { node, writes, run, close } = await midJob(db, {}, { putDelayMs: 1_500, writeTimeoutMs: 4_000 });
      try {
        const rootBefore = await storedRoot(storage.roots, replay.url, db);
        storage.dynamoProxy.setDown(true);
        const failed = await untilStatus(node, 'the job to fail', (s) => s.indexing!.failures >= 1, { timeoutMs: 60_000, writes });
        storage.s3Proxy.delayMs = 0;
        // The job failed at the root's conditional write, not at a put.
        const jobFailures = node.log().split('\n').filter((l) => l.includes('indexing failed'));
        expect(jobFailures.length).toBeGreaterThan(0);
        expect(jobFailures.every((l) => l.includes('storage unavailable during PutItem') && l.includes('indexedT'))).toBe(true);
        expect(await storedRoot(storage.roots, replay.url, db)).toEqual(rootBefore);
        storage.dynamoProxy.setDown(false);
        await run.stop({ finish: true });
        const done = await indexToTheEnd(node, writes, db);
        expect(dbOf(done, db).indexedT).toBeGreaterThan(rootBefore!.indexedT);
        expect((await storedRoot(storage.roots, replay.url, db))?.indexedT).toBe(dbOf(done, db).t);
        await expectNothingLost(writes, node.url, db);
        await expectSameAsReplay(node.url, db);
        report.push(`  DynamoDB down at the root advance: ${failed.indexing!.failures} failed job(s), root stayed at t ${rootBefore!.indexedT}, then indexed to t ${dbOf(done, db).t}; ` +
          `${writes.count('ok')} acknowledged / ${writes.count('info')} unknown writes, lost 0`);
      } finally {
        await close();
      }
    }));
  }
});

if (LONG) {
  describe('two node processes indexing one database at once', () => {
    it('both commit and index, jobs in flight on both at once: one root, no failures but lost races, both nodes and a full replay agree', async () => {
      // Segment puts 50 ms slower (the suite's s3rver behind its proxy), so jobs overlap.
      storage.s3Proxy.delayMs = 50;
      const fc = await startFaultCluster({
        nodes: 2, s3Endpoint: storage.s3Proxy.endpoint, nodeEnv: { DATALITH_INDEX_THRESHOLD_DATOMS: String(THRESHOLD), DATALITH_QUERY_WORKERS: '0' },
      });
      const key = fc.cluster.accessKey;
      const dynamo = createDynamoClient({ endpoint: fc.cluster.storage.endpoint });
      const roots = new IndexRootStore(dynamo);
      let full: RunningNode | undefined;
      try {
        fc.cutNodes(true);
        const [a, b] = fc.cluster.nodes as [LocalNodeInfo, LocalNodeInfo];
        const db = 'two-indexers';
        const admin = client(fc.cluster.endpoint, 10_000, key);
        await admin.createDatabase(db);
        await (await admin.connect(db)).transact(SCHEMA);
        await admin.close();
        const ca = client(a.url, 10_000, key);
        const cb = client(b.url, 10_000, key);
        const writes = new KeyedWrites(db);
        const run = writes.run([await ca.connect(db), await cb.connect(db)], 4, 10_000);
        const seen: Record<string, number[]> = { [a.id]: [], [b.id]: [] };
        const rootTs: number[] = [];
        const writers = new Set<string>();
        const status = (url: string): Promise<NodeStatus> => nodeStatus(url, key);
        let overlaps = 0;
        try {
          await waitFor('both nodes to index several times, at once at least once', async () => {
            const both = await Promise.all([a, b].map((n) => status(n.url)));
            if (both.every((s) => s.indexing!.inFlight > 0)) overlaps++;
            for (const [i, n] of [a, b].entries()) {
              const d = both[i]!.databases[db];
              if (d !== undefined && d.indexedT !== seen[n.id]!.at(-1)) seen[n.id]!.push(d.indexedT);
            }
            const r = await storedRoot(roots, a.url, db, key);
            if (r !== undefined && r.indexedT !== rootTs.at(-1)) {
              rootTs.push(r.indexedT);
              writers.add(r.writtenBy);
            }
            return overlaps > 0 && [a, b].every((n) => seen[n.id]!.filter((t) => t > 0).length >= 3);
          }, 120_000, 20, () => ({ overlaps, seen, rootTs, writes: writes.summary() }));
        } finally {
          await run.stop({ finish: true });
          await ca.close();
          await cb.close();
        }
        const settled = await waitFor('both nodes to finish their jobs', async () => {
          const s = await Promise.all([a, b].map((n) => status(n.url)));
          return s.every((x) => x.indexing!.inFlight === 0) && s;
        }, 30_000);
        for (const s of settled) {
          expect(s.indexing).toMatchObject({ failures: 0 });
          expect(s.indexing!.jobs).toBeGreaterThan(0);
        }
        // The root only moved forward.
        expect(rootTs).toEqual([...rootTs].sort((x, y) => x - y));
        const root = await storedRoot(roots, a.url, db, key);
        expect(root).toBeDefined();
        full = await startReplayNode(fc.cluster.storage.endpoint, {}, key);
        const expected = await answers(full.url, db, key);
        expect(root!.indexedT).toBeLessThanOrEqual(expected['t'] as number);
        expect(await answers(a.url, db, key)).toEqual(expected);
        expect(await answers(b.url, db, key)).toEqual(expected);
        const opener = await startSegmentNode(fc.cluster.storage.endpoint, fc.cluster.segments.endpoint, fc.cluster.segments.bucket, {}, key);
        try {
          expect(await answers(opener.url, db, key)).toEqual(expected);
        } finally {
          await opener.close();
        }
        await expectNothingLost(writes, a.url, db, key);
        const lostRaces = settled.map((s) => s.indexing!.lostRaces);
        report.push(`  two indexers: ${writes.count('ok')} acknowledged / ${writes.count('info')} unknown writes through both nodes; jobs ${settled.map((s) => s.indexing!.jobs).join(' + ')}, ` +
          `lost races ${lostRaces.join(' + ')}, failures 0; both in flight in ${overlaps} status polls; indexedT seen ${a.id} ${seen[a.id]!.join(',')} / ${b.id} ${seen[b.id]!.join(',')}; roots by ${[...writers].sort().join(', ')}; lost 0`);
        expect(fc.crashes()).toEqual([]);
      } finally {
        await full?.close();
        dynamo.destroy();
        await fc.stop();
      }
    });
  });
}
