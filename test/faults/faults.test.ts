/**
 * The fault-injection suite (docs/faults.md): one local cluster (2 node processes, dynalite
 * storage behind a fault proxy, the load balancer, the supervisor), and for each fault a fresh
 * database under the list-append, bank and unique-writes workloads through the remote SDK.
 * After every fault has healed: final reads, then the checkers — Elle-style list append
 * (strict serializable, Datomic's snapshot semantics inside a transaction), bank totals, unique
 * writes — must all be valid, with no acknowledged write lost, no two acknowledged transactions
 * at one t, and no node process dying on its own.
 *
 * `npm test` runs the short version (a few seconds per fault). `npm run test:faults`
 * (FAULTS_LONG=1) runs each fault in several cycles over ~40 s with more keys and workers, plus a
 * control run and a mixed run. FAULTS_VERBOSE=1 prints every report; FAULTS_KEEP=1 keeps the
 * data directory (node logs) of the run.
 */
import { request } from 'undici';
import { checkListAppend } from './checker/elle';
import type { Op, Txn } from './checker/history';
import { prng } from './checker/simulate';
import { checkUnique } from './checker/unique';
import { startFaultCluster, type FaultCluster } from './harness/cluster';
import { cutNodes, killPreferred, mixed, pausePreferred, storageCrash, storageDown, storageSlow, type Fault } from './harness/faults';
import { formatResult, runScenario, type ScenarioResult } from './harness/run';

const LONG = process.env.FAULTS_LONG === '1';
const VERBOSE = LONG || process.env.FAULTS_VERBOSE === '1';

const PLAN = LONG
  ? { warmupMs: 2_000, faultMs: 8_000, recoverMs: 4_000, cycles: 3, clientTimeoutMs: 3_000, keys: 25, workers: { append: 10, bank: 3, unique: 3 } }
  : { warmupMs: 800, faultMs: 2_500, recoverMs: 1_000, cycles: 1, clientTimeoutMs: 2_000, keys: 10, workers: { append: 5, bank: 2, unique: 2 } };

jest.setTimeout(LONG ? 600_000 : 60_000);

let fc: FaultCluster;
const results: ScenarioResult[] = [];
const started = Date.now();

beforeAll(async () => {
  fc = await startFaultCluster({ nodes: 2 });
});

afterAll(async () => {
  await fc?.stop();
  if (VERBOSE && results.length > 0) {
    process.stdout.write(`\nFault suite (${LONG ? 'long' : 'short'}, ${((Date.now() - started) / 1000).toFixed(1)} s):\n${results.map(formatResult).join('\n')}\n`);
  }
});

async function scenario(fault: Fault | null, seed: number, cycles = PLAN.cycles): Promise<ScenarioResult> {
  const r = await runScenario(fc, {
    fault,
    db: `faults-${fault?.name ?? 'none'}-${seed}`,
    seed,
    warmupMs: PLAN.warmupMs,
    faultMs: PLAN.faultMs,
    recoverMs: PLAN.recoverMs,
    cycles,
    clientTimeoutMs: PLAN.clientTimeoutMs,
    workers: PLAN.workers,
    listAppend: { keys: PLAN.keys },
  });
  results.push(r);
  const report = formatResult(r);
  // The whole report is the failure message.
  expect(r.valid && r.lost === 0 && r.sharedTs === 0 && r.crashes.length === 0 ? 'valid' : report).toBe('valid');
  expect(r.checks.map((c) => [c.workload, c.valid])).toEqual([['list-append', true], ['bank', true], ['unique', true]]);
  expect(r.acks).toBeGreaterThan(0);
  // The system came back: writes acknowledged after the last heal.
  expect(r.acksAfterHeal).toBeGreaterThan(0);
  return r;
}

if (LONG) {
  test('control: no fault', async () => {
    await scenario(null, 100, 3);
  });
}

test('kill -9 of the preferred node under load: replaced; nothing lost, no anomaly', async () => {
  const r = await scenario(killPreferred, 1);
  expect(r.restarts).toBe(PLAN.cycles);
});

test('SIGSTOP / SIGCONT of the preferred node (resumed, not replaced): nothing lost, no anomaly', async () => {
  const r = await scenario(pausePreferred, 2);
  expect(r.restarts).toBe(0);
});

test('storage unreachable, then back: nodes survive; nothing lost, no anomaly', async () => {
  const r = await scenario(storageDown, 3);
  expect(r.restarts).toBe(0);
});

test('storage slow (+250 ms per round trip): nothing lost, no anomaly', async () => {
  await scenario(storageSlow(250), 4);
});

test('node-to-node forwarding cut: both nodes commit to the same database; the conditional write keeps the log consistent', async () => {
  const r = await scenario(cutNodes, 5);
  // The switch does what it says: a transaction sent to the node that is not preferred is
  // committed there while cut (no x-datalith-committed-by), forwarded once healed.
  const preferred = await fc.preferredNode(r.db);
  const other = fc.cluster.nodes.find((n) => n.id !== preferred.id)!;
  const send = async (): Promise<string | undefined> => {
    const res = await request(`${other.url}/v1/databases/${r.db}/transact`, {
      method: 'POST',
      headers: { authorization: `Bearer ${fc.cluster.accessKey}`, 'content-type': 'application/json' },
      body: JSON.stringify({ txData: '[{:write/value "direct"}]' }),
    });
    await res.body.text();
    expect(res.statusCode).toBe(200);
    const by = res.headers['x-datalith-committed-by'];
    return typeof by === 'string' ? by : undefined;
  };
  fc.cutNodes(true);
  try {
    expect(await send()).toBeUndefined();
  } finally {
    fc.cutNodes(false);
  }
  expect(await send()).toBe(preferred.id);
});

test('storage server killed (-9) and restarted: nothing lost, no anomaly', async () => {
  const r = await scenario(storageCrash, 6);
  expect(r.restarts).toBe(0);
});

if (LONG) {
  test('mixed: a random fault each cycle', async () => {
    await scenario(mixed(prng(7)), 7, 6);
  });
}

test('the checkers flag anomalies injected into a recorded history', () => {
  const r = results.find((x) => x.histories['list-append']!.length > 0);
  expect(r).toBeDefined();
  const h = r!.histories['list-append']! as Op<Txn>[];
  expect(checkListAppend(h, { model: 'strict-serializable', intraTxn: 'snapshot' }).valid).toBe(true);
  // List append: an acknowledged element that no read returns → lost.
  const finalOk = h.filter((op) => op.final === true && op.type === 'ok');
  const withElements = finalOk.flatMap((op) => op.value.filter((m) => m[0] === 'r' && (m[2] as unknown[]).length > 0).map((m) => ({ op, m })));
  expect(withElements.length).toBeGreaterThan(0);
  const { op: victim, m: mop } = withElements[0]!;
  const key = mop[1];
  const elements = mop[2] as unknown[];
  const gone = elements.at(-1);
  const dropped = h.map((op) => (op.type !== 'ok' || op.f !== 'txn' ? op : {
    ...op,
    value: op.value.map((m) => (m[0] === 'r' && m[1] === key && Array.isArray(m[2]) ? ['r', key, m[2].filter((x) => x !== gone)] : m)) as Txn,
  }));
  const lost = checkListAppend(dropped, { model: 'strict-serializable', intraTxn: 'snapshot' });
  expect(lost.valid).toBe(false);
  expect(lost.anomalyTypes).toContain('lost');
  // List append: two reads that disagree on the order of a key's elements → incompatible order.
  const swapped = h.map((op) => (op !== victim ? op : {
    ...op,
    value: op.value.map((m) => (m !== mop ? m : ['r', m[1], [...(m[2] as unknown[])].reverse()])) as Txn,
  }));
  if ((mop[2] as unknown[]).length > 1) expect(checkListAppend(swapped, { model: 'strict-serializable', intraTxn: 'snapshot' }).valid).toBe(false);
  // Unique writes: a value twice in the final read → duplicated; one missing → lost.
  const u = r!.histories['unique']!;
  const final = u.find((op) => op.final === true && op.type === 'ok')!;
  const values = final.value as string[];
  expect(values.length).toBeGreaterThan(0);
  const dup = checkUnique(u.map((op) => (op !== final ? op : { ...op, value: [...values, values[0]] })));
  expect(dup.duplicated.length).toBe(1);
  const missing = checkUnique(u.map((op) => (op !== final ? op : { ...op, value: values.slice(1) })));
  expect(missing.lost.length).toBe(1);
});
