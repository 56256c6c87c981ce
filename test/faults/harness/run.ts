/**
 * One fault scenario: a fresh database on a running fault cluster, the three workloads under
 * concurrent workers, the nemesis injecting and healing one fault kind in cycles, then — once
 * every fault has healed — final reads and the checkers.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Client, Connection } from '../../../services/client';
import type { Op } from '../checker/history';
import { prng } from '../checker/simulate';
import type { FaultCluster } from './cluster';
import type { Fault } from './faults';
import { Bank, ListAppend, SCHEMA, UniqueWrites, type Ack, type BankOptions, type CheckSummary, type ListAppendOptions, type Workload, type WorkloadContext } from './workloads';

export interface ScenarioOptions {
  /** null: no fault (a control run). */
  fault: Fault | null;
  db: string;
  seed?: number;
  /** Concurrent workers per workload. */
  workers?: { append?: number; bank?: number; unique?: number };
  /** Healthy time before the first fault. */
  warmupMs?: number;
  /** How long each fault lasts. */
  faultMs?: number;
  /** Healthy time after each heal. */
  recoverMs?: number;
  cycles?: number;
  /** Per-call timeout of the workers' clients (retries included). */
  clientTimeoutMs?: number;
  listAppend?: ListAppendOptions;
  bank?: BankOptions;
  /** More data in the database before the workloads start (e.g. to make loading it slow). */
  preload?: (conn: Connection) => Promise<void>;
  log?: (line: string) => void;
}

export interface ScenarioResult {
  fault: string;
  db: string;
  durationMs: number;
  valid: boolean;
  checks: CheckSummary[];
  /** Acknowledged writes missing from the final reads (every workload). */
  lost: number;
  /** Acknowledged write transactions (every workload). */
  acks: number;
  /** Acknowledged transactions sharing a t with another one (must be 0). */
  sharedTs: number;
  /** Longest time between two acknowledged writes while the workers ran (ms). */
  maxGapMs: number;
  /** When the longest gap began, relative to the first fault's injection (ms; NaN without fault). */
  maxGapAtMs: number;
  errors: Record<string, number>;
  /** Node processes that ended (killed or crashed) and were replaced during the scenario. */
  restarts: number;
  /** performance.now() of each acknowledged write, of each fault injection and of each heal. */
  ackTimes: number[];
  faultTimes: number[];
  healTimes: number[];
  /** Acknowledged writes after the last heal (the system came back). */
  acksAfterHeal: number;
  /** The recorded histories, by workload. */
  histories: Record<string, Op<unknown>[]>;
  /** Node processes that exited on their own during the scenario (must be 0). */
  crashes: string[];
  events: string[];
  /** Where a failed scenario's histories were saved. */
  savedTo?: string;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/**
 * A connection whose client has seen the database's latest t: a new client's first `conn.db()`
 * may otherwise be any older value a node holds — consistent, but perhaps from before the
 * workloads' setup (no accounts yet), which Datalith allows as Datomic does without `sync`.
 */
async function connectRetrying(client: Client, db: string, deadlineMs = 60_000): Promise<Connection> {
  const end = Date.now() + deadlineMs;
  for (;;) {
    try {
      const conn = await client.connect(db);
      await conn.sync();
      return conn;
    } catch (e) {
      if (Date.now() > end) throw e;
      await sleep(200);
    }
  }
}

export async function runScenario(fc: FaultCluster, o: ScenarioOptions): Promise<ScenarioResult> {
  const log = o.log ?? (() => {});
  const t0 = performance.now();
  const ctx: WorkloadContext = { acks: [], errors: new Map(), now: () => performance.now() };
  const events: string[] = [];
  const seed = o.seed ?? 1;
  const append = new ListAppend(ctx, o.listAppend);
  const bank = new Bank(ctx, o.bank);
  const unique = new UniqueWrites(ctx);
  const workloads: Workload[] = [append, bank, unique];
  const event = (what: string): void => {
    const at = ((performance.now() - t0) / 1000).toFixed(2);
    events.push(`${at}s ${what}`);
    log(`  [${o.db}] ${at}s ${what}`);
    for (const w of workloads) w.recorder.event('nemesis', 'fault', what);
  };

  const restartsBefore = fc.cluster.nodes.reduce((n, x) => n + x.restarts, 0);
  const crashesBefore = fc.crashes().length;
  const admin = fc.client(30_000);
  await admin.createDatabase(o.db);
  const adminConn = await admin.connect(o.db);
  await adminConn.transact(SCHEMA);
  await o.preload?.(adminConn);
  for (const w of workloads) await w.setup(adminConn);

  // Workers.
  let stopping = false;
  let nextProcess = 0;
  const counts = { append: o.workers?.append ?? 4, bank: o.workers?.bank ?? 2, unique: o.workers?.unique ?? 2 };
  const runners: Promise<void>[] = [];
  let workerIndex = 0;
  const startWorkers = (w: Workload, n: number): void => {
    for (let i = 0; i < n; i++) {
      const rng = prng(seed * 1_000 + workerIndex++);
      runners.push((async () => {
        const client = fc.client(o.clientTimeoutMs ?? 10_000);
        const conn = await connectRetrying(client, o.db);
        const st = {
          process: nextProcess++,
          rng,
          crash() { st.process = nextProcess++; },
        };
        while (!stopping) await w.step(conn, st);
      })());
    }
  };
  startWorkers(append, counts.append);
  startWorkers(bank, counts.bank);
  startWorkers(unique, counts.unique);

  // Nemesis.
  let firstFaultAt = NaN;
  let lastHealAt = NaN;
  const faultTimes: number[] = [];
  const healTimes: number[] = [];
  let failure: unknown;
  try {
    await sleep(o.warmupMs ?? 1_000);
    const cycles = o.fault === null ? 0 : o.cycles ?? 1;
    for (let c = 0; c < cycles; c++) {
      if (Number.isNaN(firstFaultAt)) firstFaultAt = performance.now();
      faultTimes.push(performance.now());
      const heal = await o.fault!.inject({ fc, db: o.db, event });
      await sleep(o.faultMs ?? 3_000);
      await heal();
      lastHealAt = performance.now();
      healTimes.push(lastHealAt);
      await sleep(o.recoverMs ?? 1_500);
    }
    if (cycles === 0) await sleep((o.faultMs ?? 3_000) + (o.recoverMs ?? 1_500));
  } catch (e) {
    failure = e;
  } finally {
    stopping = true;
    await Promise.allSettled(runners);
  }
  const runEnd = performance.now();
  const runnerErrors = (await Promise.allSettled(runners)).filter((r) => r.status === 'rejected');
  if (failure !== undefined) throw failure;
  if (runnerErrors.length > 0) throw (runnerErrors[0] as PromiseRejectedResult).reason;

  // Heal everything (already healed by the nemesis), then the final reads.
  await fc.cluster.waitHealthy(undefined, 60_000);
  const reader = fc.client(60_000);
  const readerConn = await connectRetrying(reader, o.db);
  for (const w of workloads) await w.finalRead(readerConn);
  event('final reads done');

  const checks = workloads.map((w) => w.check());
  // Cross-workload: every acknowledged transaction has its own t.
  const byT = new Map<number, number>();
  for (const a of ctx.acks) byT.set(a.t, (byT.get(a.t) ?? 0) + 1);
  const sharedTs = [...byT.values()].filter((n) => n > 1).reduce((s, n) => s + n, 0);
  const { gap, at } = longestGap(ctx.acks, runEnd);
  const result: ScenarioResult = {
    fault: o.fault?.name ?? 'none',
    db: o.db,
    durationMs: Math.round(performance.now() - t0),
    valid: checks.every((c) => c.valid) && sharedTs === 0 && fc.crashes().length === crashesBefore,
    checks,
    lost: checks.reduce((s, c) => s + c.lost, 0),
    acks: ctx.acks.length,
    ackTimes: ctx.acks.map((a) => a.time),
    faultTimes,
    healTimes,
    acksAfterHeal: ctx.acks.filter((a) => Number.isNaN(lastHealAt) || a.time > lastHealAt).length,
    histories: Object.fromEntries(workloads.map((w) => [w.name, w.recorder.history()])),
    sharedTs,
    maxGapMs: Math.round(gap),
    maxGapAtMs: Number.isNaN(firstFaultAt) ? NaN : Math.round(at - firstFaultAt),
    errors: Object.fromEntries([...ctx.errors].sort((a, b) => b[1] - a[1])),
    restarts: fc.cluster.nodes.reduce((n, x) => n + x.restarts, 0) - restartsBefore,
    crashes: fc.crashes().slice(crashesBefore).map((e) => `${String(e['id'])} ${String(e['reason'])}`),
    events,
  };
  if (!result.valid || result.lost > 0) result.savedTo = saveFailure(fc, result);
  return result;
}

/** Writes a failed scenario's report and histories (and keeps the cluster's logs) for study. */
function saveFailure(fc: FaultCluster, r: ScenarioResult): string {
  const dir = path.join(os.tmpdir(), 'datalith-fault-failures');
  fs.mkdirSync(dir, { recursive: true });
  const file = path.join(dir, `${r.db}-${Date.now()}.json`);
  fs.writeFileSync(file, JSON.stringify({ report: formatResult(r), dataDir: fc.dataDir, clusterEvents: fc.events, ...r }, null, 1));
  fc.keepDataDir();
  return file;
}

/** The longest time without an acknowledged write, from the first acknowledgement to `end`. */
export function longestGap(acks: readonly Ack[], end: number): { gap: number; at: number } {
  const times = acks.map((a) => a.time).sort((a, b) => a - b);
  let gap = 0;
  let at = NaN;
  for (let i = 1; i <= times.length; i++) {
    const prev = times[i - 1]!;
    const next = i < times.length ? times[i]! : end;
    if (next - prev > gap) {
      gap = next - prev;
      at = prev;
    }
  }
  return { gap, at };
}

export function formatResult(r: ScenarioResult): string {
  const lines = [
    `${r.valid ? 'PASS' : 'FAIL'} ${r.fault} (db ${r.db}, ${(r.durationMs / 1000).toFixed(1)} s): ${r.acks} acknowledged writes, ` +
      `lost ${r.lost}, shared t ${r.sharedTs}, longest gap between acknowledged writes ${r.maxGapMs} ms, node restarts ${r.restarts}, crashes ${r.crashes.length === 0 ? 0 : r.crashes.join('; ')}`,
    ...r.checks.map((c) => `  ${c.workload}: ${c.summary}`),
    `  errors seen by clients: ${Object.keys(r.errors).length === 0 ? 'none' : Object.entries(r.errors).map(([k, n]) => `${k}×${n}`).join(', ')}`,
    `  nemesis: ${r.events.join('; ')}`,
  ];
  for (const c of r.checks) if (c.details !== undefined) lines.push(`  ${c.workload} details:\n${c.details}`);
  if (r.savedTo !== undefined) lines.push(`  histories saved to ${r.savedTo}`);
  return lines.join('\n');
}
