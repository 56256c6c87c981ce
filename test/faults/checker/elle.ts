/**
 * An Elle-style list-append checker (Kingsbury & Alvaro, "Elle: Inferring Isolation Anomalies
 * from Experimental Observations", VLDB 2020). Pure TypeScript, no I/O.
 *
 * Workload: each transaction is a list of micro-ops `['append', k, e]` / `['r', k, list]` on
 * lists identified by key; every element appended to a key is unique. Because reads return whole
 * lists, each read reveals the order of every append it contains, which lets us recover:
 *
 *  - a version order per key: the longest read (every other read must be a prefix of it, else
 *    `incompatible-order`);
 *  - a dependency graph between committed transactions (ok, plus indeterminate `info` ones whose
 *    appends were observed):
 *      ww  T1 appended element e_i, T2 appended e_{i+1}
 *      wr  T2 read a list whose last element T1 appended
 *      rw  T1 read a version, T2 appended the next element (anti-dependency)
 *    plus, optionally, `realtime` edges (T1 completed before T2 was invoked) and `process` edges
 *    (T1 came before T2 on the same process) for the strict / session variants;
 *  - cycles (Tarjan SCCs, then a shortest-path search inside each SCC) classified as
 *      G0        only ww edges
 *      G1c       ww + wr, at least one wr
 *      G-single  exactly one rw
 *      G2-item   two or more rw
 *    suffixed `-process` / `-realtime` when the cycle needs a process / realtime edge;
 *  - non-cycle anomalies: G1a (aborted read), G1b (intermediate read), dirty-update,
 *    duplicate-elements, garbage-read, duplicate-appends, internal, incompatible-order, lost.
 *
 * Edges are labelled with the weakest explanation available (ww < wr < process < realtime < rw),
 * so a cycle is classified as the least severe anomaly it can be explained by.
 */
import {
  displayOp,
  Elem,
  History,
  Key,
  MicroOp,
  Op,
  OpPair,
  pairHistory,
  Process,
  Txn,
} from './history';

export type ConsistencyModel = 'serializable' | 'strong-session-serializable' | 'strict-serializable';

export interface ElleOptions {
  /**
   * 'serializable' (default): ww/wr/rw edges only.
   * 'strong-session-serializable': adds process edges.
   * 'strict-serializable' (a.k.a. strong serializable): adds realtime and process edges.
   */
  model?: ConsistencyModel;
  /** Override the model's choice of realtime edges. */
  realtime?: boolean;
  /** Override the model's choice of process edges. */
  process?: boolean;
  /**
   * What reads inside a transaction observe of the transaction's own earlier appends.
   * 'serial' (default, Elle's assumption): reads see them. 'snapshot': reads see only the state
   * before the transaction (Datomic's logically-concurrent transaction semantics), so every read of
   * a key in one transaction must return the same list.
   */
  intraTxn?: 'serial' | 'snapshot';
  /** Only ops with this `f` are list-append transactions. Default 'txn'; null = any f. */
  f?: string | null;
  /**
   * Lost-append check (default true). An acknowledged append is lost when no read ever observed it
   * although a read of its key that should include it began after the append was acknowledged.
   * Reads that should include it: ok reads marked `final: true` (the post-healing read phase), and
   * under realtime edges (strict-serializable) every ok read.
   */
  lost?: boolean;
  /** Max edge visits per cycle-search kind per SCC (default 2,000,000); see stats.truncated. */
  searchBudget?: number;
}

export type EdgeType = 'ww' | 'wr' | 'rw' | 'process' | 'realtime';

export type CycleAnomalyType =
  | 'G0'
  | 'G0-process'
  | 'G0-realtime'
  | 'G1c'
  | 'G1c-process'
  | 'G1c-realtime'
  | 'G-single'
  | 'G-single-process'
  | 'G-single-realtime'
  | 'G2-item'
  | 'G2-item-process'
  | 'G2-item-realtime';

export interface CycleStep {
  from: Op<Txn>;
  to: Op<Txn>;
  type: EdgeType;
  /** The key and element that justify a ww/wr/rw edge. */
  key?: Key;
  value?: Elem;
  explanation: string;
}

export interface CycleAnomaly {
  type: CycleAnomalyType;
  /** The transactions on the cycle, in order (the last one has an edge back to the first). */
  cycle: Op<Txn>[];
  /** cycle.length steps: cycle[i] -> cycle[(i+1) % n]. */
  steps: CycleStep[];
}

/** A read observed an element appended by a transaction that failed. */
export interface G1aAnomaly {
  op: Op<Txn>;
  key: Key;
  element: Elem;
  writer: Op<Txn>;
}

/** A read's last element was not the writer's final append to that key. */
export interface G1bAnomaly {
  op: Op<Txn>;
  key: Key;
  element: Elem;
  writer: Op<Txn>;
}

/** In the version order, a committed append directly follows an aborted one. */
export interface DirtyUpdateAnomaly {
  key: Key;
  element: Elem;
  writer: Op<Txn>;
  next: Elem;
  nextWriter: Op<Txn>;
}

export interface IncompatibleOrderAnomaly {
  key: Key;
  longest: { op: Op<Txn>; value: Elem[] };
  read: { op: Op<Txn>; value: Elem[] };
}

export interface DuplicateElementsAnomaly {
  op: Op<Txn>;
  key: Key;
  value: Elem[];
  duplicates: Elem[];
}

/** A read observed an element nobody tried to append. */
export interface GarbageReadAnomaly {
  op: Op<Txn>;
  key: Key;
  element: Elem;
}

/** The workload appended the same element to a key twice (breaks the checker's assumptions). */
export interface DuplicateAppendsAnomaly {
  key: Key;
  element: Elem;
  ops: Op<Txn>[];
}

/** A read inside a transaction disagrees with the transaction's own earlier reads/appends. */
export interface InternalAnomaly {
  op: Op<Txn>;
  /** Index of the offending micro-op. */
  mop: number;
  key: Key;
  /** The full list expected, or null when only a suffix is known. */
  expected: Elem[] | null;
  /** The transaction's own appends the read should end with (prior state unknown). */
  expectedSuffix?: Elem[];
  actual: Elem[];
}

export interface LostAnomaly {
  key: Key;
  element: Elem;
  /** The ok transaction that appended it. */
  writer: Op<Txn>;
  /** A read invoked after the append was acknowledged that does not contain it. */
  read: Op<Txn>;
}

export interface ElleAnomalies extends Partial<Record<CycleAnomalyType, CycleAnomaly[]>> {
  G1a?: G1aAnomaly[];
  G1b?: G1bAnomaly[];
  'dirty-update'?: DirtyUpdateAnomaly[];
  'incompatible-order'?: IncompatibleOrderAnomaly[];
  'duplicate-elements'?: DuplicateElementsAnomaly[];
  'garbage-read'?: GarbageReadAnomaly[];
  'duplicate-appends'?: DuplicateAppendsAnomaly[];
  internal?: InternalAnomaly[];
  lost?: LostAnomaly[];
}

export type AnomalyType = keyof ElleAnomalies;

export interface ElleStats {
  txns: { ok: number; fail: number; info: number };
  keys: number;
  reads: number;
  appends: number;
  /** Graph nodes: ok transactions + info transactions. */
  nodes: number;
  edges: Record<EdgeType, number>;
  /** Non-trivial strongly connected components of the dependency graph. */
  sccs: number;
  largestScc: number;
  /** Ok reads that count for the lost check. */
  lostCheckReads: number;
  /** True when a cycle search hit its budget (some cycles may be unreported; valid is still false). */
  truncated: boolean;
}

export interface ElleResult {
  valid: boolean;
  model: ConsistencyModel;
  /** Sorted list of the anomaly types present. */
  anomalyTypes: AnomalyType[];
  anomalies: ElleAnomalies;
  stats: ElleStats;
}

const WW = 1;
const WR = 2;
const RW = 4;
const PROC = 8;
const RT = 16;
const ALL = WW | WR | RW | PROC | RT;

interface Writer {
  pair: OpPair<Txn>;
  /** Graph node, or -1 when the writer failed. */
  node: number;
  /** The writer appended to the same key again after this element. */
  intermediate: boolean;
}

interface ReadRec {
  node: number;
  pair: OpPair<Txn>;
  list: Elem[];
  /** External read: the first read of the key in the txn, before any own append (serial). */
  ext: boolean;
}

/** Growable edge list; merged into CSR (deduplicated, bits OR-ed) by Graph. */
class EdgeBuffer {
  from = new Int32Array(1024);
  to = new Int32Array(1024);
  bits = new Uint8Array(1024);
  length = 0;
  push(a: number, b: number, bit: number): void {
    if (this.length === this.from.length) {
      const grow = <T extends Int32Array | Uint8Array>(x: T, make: (n: number) => T): T => {
        const y = make(x.length * 2);
        y.set(x);
        return y;
      };
      this.from = grow(this.from, (n) => new Int32Array(n));
      this.to = grow(this.to, (n) => new Int32Array(n));
      this.bits = grow(this.bits, (n) => new Uint8Array(n));
    }
    this.from[this.length] = a;
    this.to[this.length] = b;
    this.bits[this.length] = bit;
    this.length++;
  }
}

/** The reads of a transaction that observe the state before it (first read of a key, before any own append to it when serial). */
function extReads(txn: Txn, snapshot: boolean): [Key, Elem[]][] {
  const out: [Key, Elem[]][] = [];
  const touched = new Set<Key>();
  for (const m of txn) {
    if (m[0] === 'append') {
      if (!snapshot) touched.add(m[1]);
    } else if (!touched.has(m[1])) {
      touched.add(m[1]);
      if (m[2] !== null) out.push([m[1], m[2]]);
    }
  }
  return out;
}

function isMop(m: unknown): m is MicroOp {
  if (!Array.isArray(m) || m.length !== 3) return false;
  if (m[0] === 'append') return true;
  if (m[0] === 'r') return m[2] === null || Array.isArray(m[2]);
  return false;
}

function fmt(x: unknown): string {
  return typeof x === 'string' ? JSON.stringify(x) : String(x);
}

function listEq(a: readonly Elem[], b: readonly Elem[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** Check a list-append history. See the module comment and ElleOptions. */
export function checkListAppend(history: History, opts: ElleOptions = {}): ElleResult {
  const model = opts.model ?? 'serializable';
  const useRT = opts.realtime ?? model === 'strict-serializable';
  const useProc = opts.process ?? model !== 'serializable';
  const snapshot = opts.intraTxn === 'snapshot';
  const fName = opts.f === undefined ? 'txn' : opts.f;
  const lostCheck = opts.lost ?? true;
  const budgetPerSearch = opts.searchBudget ?? 2_000_000;

  const anomalies: ElleAnomalies = {};
  const add = <K extends AnomalyType>(k: K, a: NonNullable<ElleAnomalies[K]>[number]): void => {
    const arr = (anomalies[k] ??= [] as never) as unknown[];
    arr.push(a);
  };

  // ---- pairs and nodes ---------------------------------------------------------------------
  const all = pairHistory(history as History<Txn>).pairs.filter((p) => fName === null || p.f === fName);
  const nodes: OpPair<Txn>[] = [];
  const nodeOf = new Map<OpPair<Txn>, number>();
  const txnCounts = { ok: 0, fail: 0, info: 0 };
  for (const p of all) {
    if (!Array.isArray(p.value) || !p.value.every(isMop)) {
      throw new TypeError(`checkListAppend: op at position ${p.invokePos} is not a list of micro-ops: ${JSON.stringify(p.value)}`);
    }
    txnCounts[p.type]++;
    if (p.type !== 'fail') {
      nodeOf.set(p, nodes.length);
      nodes.push(p);
    }
  }
  const N = nodes.length;
  const show = (n: number): Op<Txn> => displayOp(nodes[n]!);
  const name = (p: OpPair<Txn>): string => `T${displayOp(p).index ?? (p.completion ? p.completePos : p.invokePos)}`;

  // ---- appends ---------------------------------------------------------------------------
  const writers = new Map<Key, Map<Elem, Writer>>();
  let appendCount = 0;
  for (const p of all) {
    const node = nodeOf.get(p) ?? -1;
    const lastByKey = new Map<Key, Writer>();
    // For ok ops use the completion value; for info/fail the invocation's (same appends).
    for (const m of p.value) {
      if (m[0] !== 'append') continue;
      appendCount++;
      const k = m[1];
      const e = m[2];
      let km = writers.get(k);
      if (!km) writers.set(k, (km = new Map()));
      const existing = km.get(e);
      if (existing) {
        add('duplicate-appends', { key: k, element: e, ops: [displayOp(existing.pair), displayOp(p)] });
        continue;
      }
      const prev = lastByKey.get(k);
      if (prev) prev.intermediate = true;
      const w: Writer = { pair: p, node, intermediate: false };
      km.set(e, w);
      lastByKey.set(k, w);
    }
  }

  // ---- reads and internal consistency ---------------------------------------------------
  const reads = new Map<Key, ReadRec[]>();
  let readCount = 0;
  for (const p of all) {
    if (p.type !== 'ok') continue;
    const node = nodeOf.get(p)!;
    // Serial: known = full list once read (copied on write); pending = own appends before the first read.
    const state = new Map<Key, { known: Elem[] | null; owned: boolean; pending: Elem[] }>();
    const txn = p.value;
    for (let i = 0; i < txn.length; i++) {
      const m = txn[i]!;
      const k = m[1];
      if (m[0] === 'append') {
        if (snapshot) continue;
        const st = state.get(k);
        if (!st) state.set(k, { known: null, owned: false, pending: [m[2]] });
        else if (st.known) {
          if (!st.owned) {
            st.known = st.known.slice();
            st.owned = true;
          }
          st.known.push(m[2]);
        } else st.pending.push(m[2]);
        continue;
      }
      const list = m[2];
      if (list === null) continue;
      readCount++;
      let rr = reads.get(k);
      if (!rr) reads.set(k, (rr = []));
      const st = state.get(k);
      if (!st) {
        rr.push({ node, pair: p, list, ext: true });
        state.set(k, { known: list, owned: false, pending: [] });
        continue;
      }
      rr.push({ node, pair: p, list, ext: false });
      if (st.known) {
        if (!listEq(st.known, list)) {
          add('internal', { op: displayOp(p), mop: i, key: k, expected: st.known.slice(), actual: list });
        }
      } else {
        const suf = st.pending;
        let ok = list.length >= suf.length;
        for (let j = 0; ok && j < suf.length; j++) if (list[list.length - suf.length + j] !== suf[j]) ok = false;
        if (!ok) add('internal', { op: displayOp(p), mop: i, key: k, expected: null, expectedSuffix: suf.slice(), actual: list });
      }
      if (!snapshot) {
        st.known = list;
        st.owned = false;
      }
    }
  }

  // ---- graph construction -----------------------------------------------------------------
  const edges = new EdgeBuffer();
  const addEdge = (a: number, b: number, bit: number): void => {
    if (a !== b) edges.push(a, b, bit);
  };
  const versions = new Map<Key, { V: Elem[]; pos: Map<Elem, number> }>();

  const keys = new Set<Key>([...writers.keys(), ...reads.keys()]);
  for (const k of keys) {
    const rr = reads.get(k) ?? [];
    const km = writers.get(k) ?? new Map<Elem, Writer>();
    let longest: ReadRec | undefined;
    for (const r of rr) if (!longest || r.list.length > longest.list.length) longest = r;
    const V: Elem[] = longest ? longest.list : [];

    // Bad positions in V (sorted): failed writer, no writer, duplicate.
    const pos = new Map<Elem, number>();
    const badV = scanBad(V, km, pos);
    versions.set(k, { V, pos });

    // ww edges and dirty updates along the version order (first occurrences only).
    let prevE: Elem | undefined;
    for (let i = 0; i < V.length; i++) {
      const e = V[i]!;
      if (pos.get(e) !== i) continue;
      if (prevE !== undefined) {
        const a = km.get(prevE);
        const b = km.get(e);
        if (a && b) {
          if (a.node >= 0 && b.node >= 0) addEdge(a.node, b.node, WW);
          else if (a.node < 0 && b.node >= 0) {
            add('dirty-update', { key: k, element: prevE, writer: displayOp(a.pair), next: e, nextWriter: displayOp(b.pair) });
          }
        }
      }
      prevE = e;
    }

    const extraObserved = new Set<Elem>();
    for (const r of rr) {
      const L = r.list;
      const isPrefix = r === longest || (L.length <= V.length && prefixOf(L, V));
      let bad: Bad[];
      if (isPrefix) {
        bad = [];
        for (const b of badV) {
          if (b.pos >= L.length) break;
          bad.push(b);
        }
      } else {
        add('incompatible-order', {
          key: k,
          longest: { op: displayOp(longest!.pair), value: V },
          read: { op: displayOp(r.pair), value: L },
        });
        for (const e of L) extraObserved.add(e);
        bad = scanBad(L, km, new Map());
      }
      if (bad.length) {
        const dups: Elem[] = [];
        for (const b of bad) {
          const e = L[b.pos]!;
          if (b.kind === 'dup') dups.push(e);
          else if (b.kind === 'garbage') add('garbage-read', { op: displayOp(r.pair), key: k, element: e });
          else if (b.kind === 'failed') add('G1a', { op: displayOp(r.pair), key: k, element: e, writer: displayOp(km.get(e)!.pair) });
        }
        if (dups.length) add('duplicate-elements', { op: displayOp(r.pair), key: k, value: L, duplicates: dups });
      }
      if (!r.ext) continue;
      const m = L.length;
      let lastWriter: Writer | undefined;
      if (m > 0) {
        const last = L[m - 1]!;
        const w = (lastWriter = km.get(last));
        if (w && w.node >= 0 && w.node !== r.node) {
          addEdge(w.node, r.node, WR);
          if (w.intermediate) add('G1b', { op: displayOp(r.pair), key: k, element: last, writer: displayOp(w.pair) });
        }
      }
      if (isPrefix && m < V.length && pos.get(V[m]!) === m) {
        const next = V[m]!;
        const w = km.get(next);
        // After an intermediate read, the next element is the same writer's: that is G1b, not rw.
        if (w && w.node >= 0 && w.node !== r.node && w.pair !== lastWriter?.pair) {
          addEdge(r.node, w.node, RW);
        }
      }
    }

    // Lost appends.
    if (lostCheck) {
      let latest: ReadRec | undefined;
      for (const r of rr) {
        const counts = useRT || r.pair.invoke.final === true || r.pair.completion?.final === true;
        if (counts && (!latest || r.pair.invokeTime > latest.pair.invokeTime)) latest = r;
      }
      if (latest) {
        for (const [e, w] of km) {
          if (w.pair.type !== 'ok' || pos.has(e) || extraObserved.has(e)) continue;
          if (latest.pair.invokeTime > w.pair.completeTime) {
            add('lost', { key: k, element: e, writer: displayOp(w.pair), read: displayOp(latest.pair) });
          }
        }
      }
    }
  }
  let lostCheckReads = 0;
  if (lostCheck) {
    for (const rr of reads.values()) {
      for (const r of rr) if (useRT || r.pair.invoke.final === true || r.pair.completion?.final === true) lostCheckReads++;
    }
  }

  // Process edges: consecutive committed transactions on one process.
  if (useProc) {
    const last = new Map<Process, number>();
    for (const p of all) {
      const n = nodeOf.get(p);
      if (n === undefined) continue;
      const prev = last.get(p.process);
      if (prev !== undefined) addEdge(prev, n, PROC);
      if (p.type === 'ok') last.set(p.process, n);
    }
  }

  // Realtime edges (transitively reduced): T1 completed before T2 was invoked.
  if (useRT) {
    type Ev = { t: number; pos: number; node: number; inv: boolean };
    const evs: Ev[] = [];
    for (let n = 0; n < N; n++) {
      const p = nodes[n]!;
      evs.push({ t: p.invokeTime, pos: p.invokePos, node: n, inv: true });
      if (p.type === 'ok') evs.push({ t: p.completeTime, pos: p.completePos, node: n, inv: false });
    }
    evs.sort((a, b) => a.t - b.t || a.pos - b.pos);
    const frontier = new Set<number>();
    const preds: (number[] | undefined)[] = new Array(N);
    for (const ev of evs) {
      if (ev.inv) {
        const ps = [...frontier];
        preds[ev.node] = ps;
        for (const f of ps) addEdge(f, ev.node, RT);
      } else {
        for (const f of preds[ev.node] ?? []) frontier.delete(f);
        frontier.add(ev.node);
      }
    }
  }

  // ---- cycles ------------------------------------------------------------------------------
  const g = new Graph(N, edges);
  const edgeCounts: Record<EdgeType, number> = { ww: 0, wr: 0, rw: 0, process: 0, realtime: 0 };
  for (let e = 0; e < g.typ.length; e++) {
    const b = g.typ[e]!;
    if (b & WW) edgeCounts.ww++;
    if (b & WR) edgeCounts.wr++;
    if (b & RW) edgeCounts.rw++;
    if (b & PROC) edgeCounts.process++;
    if (b & RT) edgeCounts.realtime++;
  }
  const writerOf = (k: Key, e: Elem): number => writers.get(k)?.get(e)?.node ?? -1;
  /** Recovers the key and element justifying a ww / wr / rw edge a -> b. */
  const justify = (a: number, b: number, type: EdgeType): { key: Key; value: Elem; prev?: Elem; len?: number } | undefined => {
    if (type === 'ww') {
      for (const m of nodes[a]!.value) {
        if (m[0] !== 'append') continue;
        const ver = versions.get(m[1]);
        const i = ver?.pos.get(m[2]);
        if (!ver || i === undefined) continue;
        let j = i + 1;
        while (j < ver.V.length && ver.pos.get(ver.V[j]!) !== j) j++;
        if (j < ver.V.length && writerOf(m[1], ver.V[j]!) === b) return { key: m[1], value: ver.V[j]!, prev: m[2] };
      }
    } else if (type === 'wr') {
      for (const [k, L] of extReads(nodes[b]!.value, snapshot)) {
        if (L.length && writerOf(k, L[L.length - 1]!) === a) return { key: k, value: L[L.length - 1]! };
      }
    } else if (type === 'rw') {
      for (const [k, L] of extReads(nodes[a]!.value, snapshot)) {
        const ver = versions.get(k);
        if (ver && L.length < ver.V.length && writerOf(k, ver.V[L.length]!) === b) return { key: k, value: ver.V[L.length]!, len: L.length };
      }
    }
    return undefined;
  };
  const ORDER = (useRT ? RT : 0) | (useProc ? PROC : 0);
  const sccs = g.tarjan(allNodes(N), ALL, null).filter((c) => c.length > 1);
  let truncated = false;
  let largestScc = 0;
  const seenCycles = new Set<string>();

  const stepFor = (a: number, b: number, bits: number): CycleStep => {
    const type = bitName(preferred(bits));
    const from = show(a);
    const to = show(b);
    const A = name(nodes[a]!);
    const B = name(nodes[b]!);
    const step: CycleStep = { from, to, type, explanation: '' };
    if (type === 'ww' || type === 'wr' || type === 'rw') {
      const why = justify(a, b, type);
      if (!why) step.explanation = `${A} ${type} ${B}`;
      else {
        step.key = why.key;
        step.value = why.value;
        if (type === 'ww') step.explanation = `${A} appended ${fmt(why.prev)} to ${fmt(why.key)}, ${B} appended the next element ${fmt(why.value)}`;
        else if (type === 'wr') step.explanation = `${B} read ${fmt(why.key)} ending in ${fmt(why.value)}, appended by ${A}`;
        else step.explanation = `${A} read ${fmt(why.key)} with ${why.len} element(s), ${B} appended the next element ${fmt(why.value)}`;
      }
    } else if (type === 'process') {
      step.explanation = `${A} and ${B} ran on process ${fmt(nodes[a]!.process)}, ${A} first`;
    } else {
      step.explanation = `${A} completed (t=${nodes[a]!.completeTime}) before ${B} was invoked (t=${nodes[b]!.invokeTime})`;
    }
    return step;
  };

  /** path = [n0, n1, ..., n0]; mask = the edge types the search was allowed to use. */
  const report = (path: number[], mask: number): void => {
    const steps: CycleStep[] = [];
    let rw = 0;
    let wr = 0;
    let rt = 0;
    let pr = 0;
    for (let i = 0; i + 1 < path.length; i++) {
      const bits = g.bits(path[i]!, path[i + 1]!) & (mask | RW);
      const s = stepFor(path[i]!, path[i + 1]!, bits);
      if (s.type === 'rw') rw++;
      else if (s.type === 'wr') wr++;
      else if (s.type === 'realtime') rt++;
      else if (s.type === 'process') pr++;
      steps.push(s);
    }
    const base = rw >= 2 ? 'G2-item' : rw === 1 ? 'G-single' : wr >= 1 ? 'G1c' : 'G0';
    const type = (base + (rt ? '-realtime' : pr ? '-process' : '')) as CycleAnomalyType;
    const cycleNodes = path.slice(0, -1);
    const sig = type + ':' + cycleNodes.slice().sort((x, y) => x - y).join(',');
    if (seenCycles.has(sig)) return;
    seenCycles.add(sig);
    add(type, { type, cycle: cycleNodes.map(show), steps });
  };

  for (const scc of sccs) {
    if (scc.length > largestScc) largestScc = scc.length;
    const sccSet = g.markA(scc);
    const variants = ORDER ? [0, ORDER] : [0];
    const searches: ((mask: number) => number[] | null)[] = [
      (mask) => g.findCycle(scc, sccSet, mask),
      (mask) => g.findCycleThrough(scc, sccSet, mask, WR, WW),
      (mask) => g.findSingleRw(scc, sccSet, mask),
      (mask) => g.findMultiRw(scc, sccSet, mask),
    ];
    let found = false;
    for (const search of searches) {
      for (const extra of variants) {
        const mask = (search === searches[0] ? WW : WW | WR) | extra;
        g.budget = budgetPerSearch;
        const path = search(mask);
        if (g.budget <= 0) truncated = true;
        if (path) {
          report(path, mask);
          found = true;
          break;
        }
      }
    }
    if (!found) {
      // Budget exhausted: an SCC always has a cycle; report one (a single BFS), classified by its edges.
      g.budget = Infinity;
      const mask = WW | WR | ORDER;
      report(g.findCycle(scc, sccSet, mask | RW)!, mask);
    }
  }

  const anomalyTypes = (Object.keys(anomalies) as AnomalyType[]).sort();
  return {
    valid: anomalyTypes.length === 0,
    model,
    anomalyTypes,
    anomalies,
    stats: {
      txns: txnCounts,
      keys: keys.size,
      reads: readCount,
      appends: appendCount,
      nodes: N,
      edges: edgeCounts,
      sccs: sccs.length,
      largestScc,
      lostCheckReads,
      truncated,
    },
  };
}

/** Alias. */
export const checkElle = checkListAppend;

interface Bad {
  pos: number;
  kind: 'failed' | 'garbage' | 'dup';
}

/** Positions of problematic elements in a list (ascending). Fills `pos` with first positions. */
function scanBad(L: readonly Elem[], km: Map<Elem, Writer>, pos: Map<Elem, number>): Bad[] {
  const bad: Bad[] = [];
  for (let i = 0; i < L.length; i++) {
    const e = L[i]!;
    if (pos.has(e)) {
      bad.push({ pos: i, kind: 'dup' });
      continue;
    }
    pos.set(e, i);
    const w = km.get(e);
    if (!w) bad.push({ pos: i, kind: 'garbage' });
    else if (w.node < 0) bad.push({ pos: i, kind: 'failed' });
  }
  return bad;
}

function prefixOf(a: readonly Elem[], b: readonly Elem[]): boolean {
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

function bitName(bit: number): EdgeType {
  switch (bit) {
    case WW:
      return 'ww';
    case WR:
      return 'wr';
    case RW:
      return 'rw';
    case PROC:
      return 'process';
    default:
      return 'realtime';
  }
}

/** The weakest explanation for an edge: ww < wr < process < realtime < rw. */
function preferred(bits: number): number {
  if (bits & WW) return WW;
  if (bits & WR) return WR;
  if (bits & PROC) return PROC;
  if (bits & RT) return RT;
  return RW;
}

function allNodes(n: number): number[] {
  const a = new Array<number>(n);
  for (let i = 0; i < n; i++) a[i] = i;
  return a;
}

/** Compressed adjacency + generation-stamped scratch arrays, so every search is O(its subgraph). */
class Graph {
  readonly off: Int32Array;
  readonly tgt: Int32Array;
  readonly typ: Uint8Array;
  budget = Infinity;

  // Membership stamps: A = the SCC under analysis, B = a sub-component.
  private readonly memA: Int32Array;
  private readonly memB: Int32Array;
  private genA = 0;
  private genB = 0;
  // Tarjan scratch.
  private readonly vis: Int32Array;
  private readonly onStack: Int32Array;
  private readonly idx: Int32Array;
  private readonly low: Int32Array;
  private readonly iter: Int32Array;
  private genV = 0;
  // BFS scratch (2 layers).
  private readonly seen: Int32Array;
  private readonly parent: Int32Array;
  private genS = 0;
  private readonly comp: Int32Array;

  constructor(readonly n: number, edges: EdgeBuffer) {
    // Counting sort by source, then merge duplicate targets within each row.
    const E = edges.length;
    const cnt = new Int32Array(n + 1);
    for (let e = 0; e < E; e++) cnt[edges.from[e]! + 1]!++;
    for (let i = 0; i < n; i++) cnt[i + 1]! += cnt[i]!;
    const rowT = new Int32Array(E);
    const rowB = new Uint8Array(E);
    const fill = cnt.slice(0, n);
    for (let e = 0; e < E; e++) {
      const at = fill[edges.from[e]!]!++;
      rowT[at] = edges.to[e]!;
      rowB[at] = edges.bits[e]!;
    }
    const slot = new Int32Array(n).fill(-1);
    const owner = new Int32Array(n).fill(-1);
    this.off = new Int32Array(n + 1);
    const tgt = new Int32Array(E);
    const typ = new Uint8Array(E);
    let m = 0;
    for (let i = 0; i < n; i++) {
      this.off[i] = m;
      for (let e = cnt[i]!; e < cnt[i + 1]!; e++) {
        const t = rowT[e]!;
        if (owner[t] === i) typ[slot[t]!]! |= rowB[e]!;
        else {
          owner[t] = i;
          slot[t] = m;
          tgt[m] = t;
          typ[m] = rowB[e]!;
          m++;
        }
      }
    }
    this.off[n] = m;
    this.tgt = tgt.slice(0, m);
    this.typ = typ.slice(0, m);
    this.memA = new Int32Array(n);
    this.memB = new Int32Array(n);
    this.vis = new Int32Array(n);
    this.onStack = new Int32Array(n);
    this.idx = new Int32Array(n);
    this.low = new Int32Array(n);
    this.iter = new Int32Array(n);
    this.seen = new Int32Array(2 * n);
    this.parent = new Int32Array(2 * n);
    this.comp = new Int32Array(n);
  }

  bits(a: number, b: number): number {
    for (let e = this.off[a]!; e < this.off[a + 1]!; e++) if (this.tgt[e] === b) return this.typ[e]!;
    return 0;
  }

  markA(nodes: number[]): number {
    const g = ++this.genA;
    for (const x of nodes) this.memA[x] = g;
    return g;
  }
  private markB(nodes: number[]): number {
    const g = ++this.genB;
    for (const x of nodes) this.memB[x] = g;
    return g;
  }

  /** Iterative Tarjan over `nodes`, following edges in `mask` to members of A (gen) or all (null). */
  tarjan(nodes: number[], mask: number, genA: number | null): number[][] {
    const { off, tgt, typ, vis, onStack, idx, low, iter, memA } = this;
    const vg = ++this.genV;
    const comps: number[][] = [];
    const S: number[] = [];
    const call: number[] = [];
    let counter = 0;
    const visit = (v: number): void => {
      vis[v] = vg;
      idx[v] = low[v] = counter++;
      iter[v] = off[v]!;
      S.push(v);
      onStack[v] = vg;
      call.push(v);
    };
    for (const s of nodes) {
      if (vis[s] === vg) continue;
      visit(s);
      while (call.length) {
        const v = call[call.length - 1]!;
        const it = iter[v]!;
        if (it < off[v + 1]!) {
          iter[v] = it + 1;
          if (!(typ[it]! & mask)) continue;
          const w = tgt[it]!;
          if (genA !== null && memA[w] !== genA) continue;
          if (vis[w] !== vg) visit(w);
          else if (onStack[w] === vg && idx[w]! < low[v]!) low[v] = idx[w]!;
        } else {
          call.pop();
          if (low[v] === idx[v]) {
            const c: number[] = [];
            let x: number;
            do {
              x = S.pop()!;
              onStack[x] = 0;
              c.push(x);
            } while (x !== v);
            comps.push(c);
          }
          if (call.length) {
            const u = call[call.length - 1]!;
            if (low[v]! < low[u]!) low[u] = low[v]!;
          }
        }
      }
    }
    return comps;
  }

  /**
   * BFS from `from` to `to` (may equal `from`) over edges in `mask` within B-members (genB) or
   * A-members (genB null). Returns [from, ..., to] or null.
   */
  private bfs(from: number, to: number, mask: number, gen: number, useB: boolean): number[] | null {
    const { off, tgt, typ, seen, parent } = this;
    const mem = useB ? this.memB : this.memA;
    const sg = ++this.genS;
    const q: number[] = [from];
    seen[from] = sg;
    for (let h = 0; h < q.length; h++) {
      const v = q[h]!;
      for (let e = off[v]!; e < off[v + 1]!; e++) {
        if (!(typ[e]! & mask)) continue;
        const w = tgt[e]!;
        if (mem[w] !== gen) continue;
        if (--this.budget <= 0) return null;
        if (w === to) {
          const path = [to];
          let x = v;
          while (x !== from) {
            path.push(x);
            x = parent[x]!;
          }
          path.push(from);
          return path.reverse();
        }
        if (seen[w] === sg) continue;
        seen[w] = sg;
        parent[w] = v;
        q.push(w);
      }
    }
    return null;
  }

  /** Any cycle using only `mask` edges (shortest through one node of a cyclic sub-component). */
  findCycle(scc: number[], genA: number, mask: number): number[] | null {
    for (const sub of this.tarjan(scc, mask, genA)) {
      if (sub.length < 2) continue;
      const gb = this.markB(sub);
      const p = this.bfs(sub[0]!, sub[0]!, mask, gb, true);
      if (p) return p;
      if (this.budget <= 0) return null;
    }
    return null;
  }

  /** A cycle over `mask` edges that uses an edge having `need` and none of `avoid`. */
  findCycleThrough(scc: number[], genA: number, mask: number, need: number, avoid: number): number[] | null {
    const { off, tgt, typ } = this;
    for (const sub of this.tarjan(scc, mask, genA)) {
      if (sub.length < 2) continue;
      const gb = this.markB(sub);
      for (const u of sub) {
        for (let e = off[u]!; e < off[u + 1]!; e++) {
          const b = typ[e]!;
          if (!(b & need) || b & avoid) continue;
          const v = tgt[e]!;
          if (this.memB[v] !== gb) continue;
          const p = this.bfs(v, u, mask, gb, true);
          if (p) return [u, ...p];
          if (this.budget <= 0) return null;
        }
      }
    }
    return null;
  }

  /** A cycle with exactly one rw edge (not explainable by `mask`) and the rest in `mask`. */
  findSingleRw(scc: number[], genA: number, mask: number): number[] | null {
    const { off, tgt, typ, comp } = this;
    const subs = this.tarjan(scc, mask, genA);
    subs.forEach((c, i) => {
      for (const x of c) comp[x] = i;
    });
    const slow: [number, number][] = [];
    for (const u of scc) {
      for (let e = off[u]!; e < off[u + 1]!; e++) {
        const b = typ[e]!;
        if (!(b & RW) || b & mask) continue;
        const v = tgt[e]!;
        if (this.memA[v] !== genA) continue;
        if (comp[u] === comp[v]) {
          const gb = this.markB(subs[comp[u]!]!);
          const p = this.bfs(v, u, mask, gb, true);
          if (p) return [u, ...p];
          if (this.budget <= 0) return null;
        } else slow.push([u, v]);
      }
    }
    // v may reach u through mask edges without u reaching v back.
    for (const [u, v] of slow) {
      const p = this.bfs(v, u, mask, genA, false);
      if (p) return [u, ...p];
      if (this.budget <= 0) return null;
    }
    return null;
  }

  /**
   * A simple cycle with two or more rw edges that `mask` cannot explain. For each such rw edge
   * u -> v, a BFS over (node, seen another rw) states finds a walk v ~> u containing another rw
   * edge; the walk is split into simple cycles and one with >= 2 rw edges is returned. (Finding
   * such a simple cycle is hard in general; this is a heuristic, like Elle's bounded searches.)
   */
  findMultiRw(scc: number[], genA: number, mask: number): number[] | null {
    const { off, tgt, typ, memA, seen, parent } = this;
    for (const u of scc) {
      for (let e0 = off[u]!; e0 < off[u + 1]!; e0++) {
        const b0 = typ[e0]!;
        if (!(b0 & RW) || b0 & mask) continue;
        const v = tgt[e0]!;
        if (memA[v] !== genA) continue;
        const sg = ++this.genS;
        const q: number[] = [v * 2];
        seen[v * 2] = sg;
        let walk: number[] | null = null;
        for (let h = 0; h < q.length && !walk; h++) {
          const s = q[h]!;
          const x = s >> 1;
          const c = s & 1;
          for (let e = off[x]!; e < off[x + 1]!; e++) {
            const b = typ[e]!;
            let c2: number;
            if (b & mask) c2 = c;
            else if (b & RW) c2 = 1;
            else continue;
            const w = tgt[e]!;
            if (memA[w] !== genA) continue;
            if (--this.budget <= 0) return null;
            if (w === u) {
              if (c2 !== 1) continue;
              walk = [u];
              let st = s;
              while (st !== v * 2) {
                walk.push(st >> 1);
                st = parent[st]!;
              }
              walk.push(v, u);
              walk.reverse();
              break;
            }
            const s2 = w * 2 + c2;
            if (seen[s2] === sg) continue;
            seen[s2] = sg;
            parent[s2] = s;
            q.push(s2);
          }
        }
        if (!walk) continue;
        for (const cyc of simpleCycles(walk)) {
          let rw = 0;
          for (let i = 0; i + 1 < cyc.length; i++) {
            const b = this.bits(cyc[i]!, cyc[i + 1]!);
            if (!(b & mask) && b & RW) rw++;
          }
          if (rw >= 2) return cyc;
        }
      }
    }
    return null;
  }
}

/** Splits a closed walk [a, ..., a] into simple cycles, each [x, ..., x]. */
function simpleCycles(walk: number[]): number[][] {
  const out: number[][] = [];
  const stack: number[] = [];
  const at = new Map<number, number>();
  for (const x of walk) {
    const i = at.get(x);
    if (i === undefined) {
      at.set(x, stack.length);
      stack.push(x);
      continue;
    }
    const cyc = stack.slice(i);
    cyc.push(x);
    out.push(cyc);
    for (const y of stack.splice(i + 1)) at.delete(y);
  }
  return out;
}

/** A short human-readable report (one line per anomaly, cycles with their steps). */
export function formatElleResult(r: ElleResult, maxPerType = 5): string {
  const lines: string[] = [`valid: ${r.valid} (${r.model})`];
  const opName = (op: Op<Txn>): string => `T${op.index ?? '?'}(p${String(op.process)})`;
  for (const t of r.anomalyTypes) {
    const list = r.anomalies[t] as unknown[];
    lines.push(`${t}: ${list.length}`);
    for (const a of list.slice(0, maxPerType)) {
      if (a && typeof a === 'object' && 'steps' in a) {
        const c = a as CycleAnomaly;
        lines.push(`  cycle ${c.cycle.map(opName).join(' -> ')}`);
        for (const s of c.steps) lines.push(`    ${s.type}: ${s.explanation}`);
      } else {
        lines.push(`  ${JSON.stringify(a, (_k, v: unknown) => (v && typeof v === 'object' && 'process' in v && 'type' in v ? opName(v as Op<Txn>) : v))}`);
      }
    }
  }
  return lines.join('\n');
}
