/**
 * Test support for the checkers (pure, no I/O): build histories by hand, and simulate a serial
 * list-append database to produce valid histories with realistic concurrency.
 */
import { Elem, Key, Op, OpType, Process, Txn } from './history';
import { mulberry32 } from '../../../bench/data';

export const append = (k: Key, e: Elem): ['append', Key, Elem] => ['append', k, e];
export const read = (k: Key, list: Elem[] | null): ['r', Key, Elem[] | null] => ['r', k, list];

/** The invocation form of a transaction: reads carry null. */
export function invocationOf(txn: Txn): Txn {
  return txn.map((m) => (m[0] === 'r' ? read(m[1], null) : m));
}

export interface TxnSpec {
  /** Completed transaction (reads filled in, as an ok completion would carry it). */
  txn: Txn;
  type?: 'ok' | 'fail' | 'info';
  /** Defaults to a fresh process per transaction. */
  process?: Process;
  /** [invoke time, completion time]; completion undefined = never completes. Default sequential. */
  at?: [number, number | undefined];
  final?: boolean;
}

interface Ev {
  time: number;
  seq: number;
  op: Op<Txn>;
}

/**
 * Builds a history from transaction specs. Without `at`, transaction i runs alone over
 * [10i, 10i+5]. Events are ordered by time; at equal times completions come before invocations.
 */
export function buildHistory(specs: TxnSpec[]): Op<Txn>[] {
  const evs: Ev[] = [];
  let seq = 0;
  specs.forEach((s, i) => {
    const [t0, t1] = s.at ?? [10 * i, 10 * i + 5];
    const process = s.process ?? i;
    const type = s.type ?? 'ok';
    const inv = invocationOf(s.txn);
    const extra = s.final ? { final: true } : {};
    evs.push({ time: t0, seq: seq++, op: { process, type: 'invoke', f: 'txn', value: inv, time: t0, ...extra } });
    if (t1 !== undefined) {
      const value = type === 'ok' ? s.txn : inv;
      evs.push({ time: t1, seq: seq++, op: { process, type: type as OpType, f: 'txn', value, time: t1, ...extra } });
    }
  });
  evs.sort((a, b) => a.time - b.time || Number(a.op.type === 'invoke') - Number(b.op.type === 'invoke') || a.seq - b.seq);
  return evs.map((e, i) => ({ ...e.op, index: i }));
}

/** A transaction's shape before simulation; elements are assigned by the simulator. */
export interface PlannedTxn {
  mops: { f: 'append' | 'r'; key: Key }[];
  outcome: 'ok' | 'fail' | 'info';
  /** For info: whether the transaction actually took effect. */
  applied?: boolean;
  /** Time from invocation to the serialization point, and from it to completion (>= 0). */
  before: number;
  after: number;
}

export interface SimulateOptions {
  /** What reads see of their own transaction's earlier appends (see ElleOptions.intraTxn). */
  intraTxn?: 'serial' | 'snapshot';
  /** Add a final read of every key (on fresh processes, marked final) after everything. */
  finalReads?: boolean;
  /** Time between consecutive serialization points (default 10). */
  spacing?: number;
  /**
   * Make the database broken on purpose: reads of transaction i see the state as of transaction
   * i - readLag(i) (appends still go to the latest state) — a snapshot-isolation-like bug.
   */
  readLag?: (i: number) => number;
}

/**
 * Runs the plan against a serial list-append database, in plan order. Transaction i takes effect
 * at time spacing*i; it is invoked `before` earlier and completes `after` + 1 later, so the
 * history is strict serializable by construction, with overlapping transactions. Processes are
 * reused when free (never after an info completion, as in Jepsen). Elements are unique per key.
 */
export function simulateSerial(plan: PlannedTxn[], opts: SimulateOptions = {}): Op<Txn>[] {
  const spacing = opts.spacing ?? 10;
  const snapshot = opts.intraTxn === 'snapshot';
  const db = new Map<Key, Elem[]>();
  const next = new Map<Key, number>();
  const specs: TxnSpec[] = [];
  const procFree: number[] = []; // per process: time it becomes free (Infinity after an info)
  const pickProcess = (t: number): number => {
    for (let p = 0; p < procFree.length; p++) {
      if (procFree[p]! < t) return p;
    }
    procFree.push(-Infinity);
    return procFree.length - 1;
  };
  // Per key: (transaction index, list length after it) on every change, to serve lagged reads.
  const lens = new Map<Key, [number, number][]>();
  const lengthAsOf = (k: Key, i: number): number => {
    const h = lens.get(k);
    if (!h) return 0;
    let lo = 0;
    let hi = h.length - 1;
    let ans = 0;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      if (h[mid]![0] < i) {
        ans = h[mid]![1];
        lo = mid + 1;
      } else hi = mid - 1;
    }
    return ans;
  };
  plan.forEach((pt, i) => {
    const c = spacing * (i + 1);
    const t0 = c - pt.before;
    const t1 = c + 1 + pt.after;
    const effective = pt.outcome === 'ok' || (pt.outcome === 'info' && pt.applied === true);
    const lag = opts.readLag ? opts.readLag(i) : 0;
    const txn: Txn = [];
    const own = new Map<Key, Elem[]>();
    for (const m of pt.mops) {
      if (m.f === 'append') {
        const e = next.get(m.key) ?? 1;
        next.set(m.key, e + 1);
        txn.push(append(m.key, e));
        const o = own.get(m.key);
        if (o) o.push(e);
        else own.set(m.key, [e]);
      } else {
        const cur = db.get(m.key) ?? [];
        const seen = lag > 0 ? cur.slice(0, lengthAsOf(m.key, i - lag)) : cur.slice();
        if (!snapshot) seen.push(...(own.get(m.key) ?? []));
        txn.push(read(m.key, seen));
      }
    }
    if (effective) {
      for (const [k, o] of own) {
        const l = db.get(k) ?? [];
        l.push(...o);
        db.set(k, l);
        let h = lens.get(k);
        if (!h) lens.set(k, (h = []));
        h.push([i, l.length]);
      }
    }
    const process = pickProcess(t0);
    procFree[process] = pt.outcome === 'info' ? Infinity : t1;
    specs.push({ txn, type: pt.outcome, process, at: [t0, t1] });
  });
  if (opts.finalReads) {
    const tEnd = spacing * (plan.length + 2) + Math.max(0, ...plan.map((p) => p.after)) + 1;
    const keys = [...new Set([...next.keys()])];
    keys.forEach((k, j) => {
      specs.push({ txn: [read(k, (db.get(k) ?? []).slice())], process: `final-${j}`, at: [tEnd + j, tEnd + j + 1], final: true });
    });
  }
  return buildHistory(specs);
}

/** Small deterministic PRNG (mulberry32, the benches' generator) for large generated plans. */
export const prng = mulberry32;

/**
 * A random plan like Jepsen's append workload: `activeKeys` keys at a time, rotating to fresh keys
 * every `rotateEvery` transactions, 1–4 micro-ops per transaction, some failures and infos.
 */
export function randomPlan(
  rand: () => number,
  n: number,
  o: { activeKeys?: number; rotateEvery?: number; maxConcurrency?: number; failRate?: number; infoRate?: number } = {},
): PlannedTxn[] {
  const activeKeys = o.activeKeys ?? 10;
  const rotateEvery = o.rotateEvery ?? 300;
  const conc = o.maxConcurrency ?? 10;
  const failRate = o.failRate ?? 0.05;
  const infoRate = o.infoRate ?? 0.01;
  const plan: PlannedTxn[] = [];
  for (let i = 0; i < n; i++) {
    const base = activeKeys * Math.floor(i / rotateEvery);
    const len = 1 + Math.floor(rand() * 4);
    const mops: PlannedTxn['mops'] = [];
    for (let j = 0; j < len; j++) mops.push({ f: rand() < 0.5 ? 'append' : 'r', key: base + Math.floor(rand() * activeKeys) });
    const x = rand();
    const outcome = x < failRate ? 'fail' : x < failRate + infoRate ? 'info' : 'ok';
    plan.push({ mops, outcome, applied: rand() < 0.5, before: Math.floor(rand() * conc * 5), after: Math.floor(rand() * conc * 5) });
  }
  return plan;
}
