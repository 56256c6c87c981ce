/**
 * `npm run bench:failover` (issue 5): a 2-node local cluster (node processes, dynalite, the load
 * balancer, the supervisor), a steady write load through the load balancer — list-append
 * transactions, unique writes and bank transfers from concurrent writers using the remote SDK —
 * and kill -9 of the database's preferred node, several times. Printed: the longest gap between
 * acknowledged writes (around each kill and over the whole run), acknowledged writes lost (every
 * acknowledged write must be in the final reads), and the anomalies the checkers found
 * (Elle-style list append under strict serializability, unique writes, bank totals).
 *
 * Floors: gap ≤ 1 s, 0 lost, 0 anomalies (exit code 1 otherwise). For reference, Datomic
 * On-Prem's active/standby transactor failover takes about 3–11 s.
 *
 * The database also holds the DataScript benchmark's 20,000 people (bench/data.ts), so that a
 * node joining — the replacement, preferred again — has a real log to replay.
 *
 * BENCH_KILLS (default 3), BENCH_WRITERS (default 12: 8 list-append, 4 unique, plus 2 bank),
 * BENCH_KILL_EVERY_MS (default 8000: time between kills), BENCH_PEOPLE (default 20000).
 */
import { startFaultCluster } from '../test/faults/harness/cluster';
import { killPreferred, pausePreferred } from '../test/faults/harness/faults';
import { formatResult, runScenario } from '../test/faults/harness/run';
import { DATALITH_SCHEMA, datalithEntity, people } from './data';

const KILLS = Number(process.env.BENCH_KILLS ?? 3);
const WRITERS = Number(process.env.BENCH_WRITERS ?? 12);
const KILL_EVERY_MS = Number(process.env.BENCH_KILL_EVERY_MS ?? 8_000);
const PEOPLE = Number(process.env.BENCH_PEOPLE ?? 20_000);
const GAP_FLOOR_MS = 1_000;

async function main(): Promise<void> {
  process.env['AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED'] ??= 'true';
  const appendWriters = Math.max(1, Math.round((WRITERS * 2) / 3));
  const uniqueWriters = Math.max(1, WRITERS - appendWriters);
  const fc = await startFaultCluster({ nodes: 2 });
  let ok = false;
  try {
    process.stdout.write(`bench:failover — kill -9 of the preferred node, ${KILLS}×, under a steady write load\n`);
    process.stdout.write(`  2 nodes behind the load balancer; ${appendWriters} list-append + ${uniqueWriters} unique-write + 2 bank writers (remote SDK); ` +
      `the database also holds ${PEOPLE.toLocaleString('en-US')} people\n`);
    const r = await runScenario(fc, {
      fault: killPreferred,
      db: `failover-${Date.now()}`,
      seed: 42,
      warmupMs: 3_000,
      faultMs: Math.round(KILL_EVERY_MS * 0.6),
      recoverMs: Math.round(KILL_EVERY_MS * 0.4),
      cycles: KILLS,
      clientTimeoutMs: 10_000,
      workers: { append: appendWriters, unique: uniqueWriters, bank: 2 },
      listAppend: { keys: 20, appendRatio: 0.7 },
      preload: async (conn) => {
        if (PEOPLE <= 0) return;
        await conn.transact(DATALITH_SCHEMA);
        const folks = people(PEOPLE);
        for (let i = 0; i < folks.length; i += 2_000) await conn.transact(folks.slice(i, i + 2_000).map(datalithEntity));
      },
    });

    // Gaps: around each kill, and over the whole run.
    const acks = [...r.ackTimes].sort((a, b) => a - b);
    const gapAround = (from: number, to: number): { gap: number; before: number } => {
      let gap = 0;
      let before = 0;
      for (let i = 1; i < acks.length; i++) {
        const a = acks[i - 1]!;
        const b = acks[i]!;
        if (b < from || a > to) continue;
        if (b - a > gap) {
          gap = b - a;
          before = a - from;
        }
      }
      return { gap, before };
    };
    const failed = fc.events.filter((e) => e['event'] === 'node-failed');
    const replaced = fc.events.filter((e) => e['event'] === 'node-replaced');
    // Cluster events carry Date.now(); acknowledgements performance.now().
    const perf = (at: unknown): number => (at as number) - performance.timeOrigin;
    r.faultTimes.forEach((t, i) => {
      const f = failed[i];
      const rep = replaced[i];
      const back = rep !== undefined ? perf(rep['at']) : t + KILL_EVERY_MS * 0.6;
      const atKill = gapAround(t - 500, back);
      const atJoin = gapAround(back, back + 3_000);
      const replacedIn = f !== undefined && rep !== undefined ? `${(((rep['at'] as number) - (f['at'] as number)) / 1000).toFixed(1)} s` : '?';
      process.stdout.write(`  kill ${i + 1}: ${String(f?.['id'] ?? '?')} (preferred node); replaced by the supervisor in ${replacedIn}; ` +
        `longest gap between acknowledged writes: ${Math.round(atKill.gap)} ms after the kill, ${Math.round(atJoin.gap)} ms when the replacement joined\n`);
    });
    const seconds = (acks.at(-1)! - acks[0]!) / 1000;
    const anomalies = r.checks.flatMap((c) => c.anomalies.map((a) => `${c.workload}:${a}`));
    if (r.sharedTs > 0) anomalies.push(`shared-t×${r.sharedTs}`);
    for (const c of r.crashes) anomalies.push(`node crash (${c})`);
    const infos = Object.entries(r.errors).filter(([k]) => !k.startsWith('conflict')).reduce((s, [, n]) => s + n, 0);
    process.stdout.write('\n');
    process.stdout.write(`  acknowledged writes:                    ${r.acks} (${Math.round(r.acks / seconds)}/s over ${seconds.toFixed(1)} s); client errors other than cas conflicts: ${infos}\n`);
    process.stdout.write(`  longest gap between acknowledged writes: ${r.maxGapMs} ms (floor ≤ ${GAP_FLOOR_MS} ms)\n`);
    process.stdout.write(`  acknowledged writes lost:               ${r.lost} (floor 0)\n`);
    process.stdout.write(`  anomalies found:                        ${anomalies.length === 0 ? '0' : anomalies.join(', ')} (floor 0; ${r.checks.map((c) => c.workload).join(', ')} checkers)\n`);
    process.stdout.write(`  reference: Datomic On-Prem active/standby transactor failover ≈ 3–11 s\n\n`);
    process.stdout.write(`${formatResult(r)}\n`);
    // Pauses: SIGSTOP of the preferred node for the fault window, then SIGCONT (issue 12).
    process.stdout.write(`\nSIGSTOP of the preferred node, ${KILLS}× for ${(KILL_EVERY_MS * 0.6 / 1000).toFixed(1)} s each, then SIGCONT\n`);
    const p = await runScenario(fc, {
      fault: pausePreferred, db: `pause-${Date.now()}`, seed: 43, warmupMs: 2_000,
      faultMs: Math.round(KILL_EVERY_MS * 0.6), recoverMs: Math.round(KILL_EVERY_MS * 0.4), cycles: KILLS,
      clientTimeoutMs: 10_000, workers: { append: appendWriters, unique: uniqueWriters, bank: 2 }, listAppend: { keys: 20, appendRatio: 0.7 },
    });
    const pauseAnomalies = p.checks.flatMap((c) => c.anomalies.map((a) => `${c.workload}:${a}`));
    process.stdout.write(`${formatResult(p)}\n`);
    process.stdout.write(`  longest gap between acknowledged writes, pauses: ${p.maxGapMs} ms (floor ≤ ${GAP_FLOOR_MS} ms); kills: ${r.maxGapMs} ms\n`);
    ok = r.maxGapMs <= GAP_FLOOR_MS && r.lost === 0 && anomalies.length === 0 && r.valid &&
      p.maxGapMs <= GAP_FLOOR_MS && p.lost === 0 && pauseAnomalies.length === 0 && p.valid;
    process.stdout.write(`\n${ok ? 'PASS' : 'FAIL'}: kill gap ${r.maxGapMs} ms, pause gap ${p.maxGapMs} ms ≤ ${GAP_FLOOR_MS} ms, lost ${r.lost + p.lost} = 0, anomalies ${anomalies.length + pauseAnomalies.length} = 0\n`);
  } finally {
    await fc.stop();
  }
  process.exit(ok ? 0 : 1);
}

main().catch((e: unknown) => {
  process.stderr.write(`bench:failover failed: ${(e as Error)?.stack ?? String(e)}\n`);
  process.exit(1);
});
