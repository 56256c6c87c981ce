/**
 * A Jepsen-style history model for the fault-injection suite. Pure: no I/O, no clock of its own.
 *
 * A history is a sequence of operations in the order they happened. Every client operation is an
 * `invoke` followed, on the same process, by exactly one completion: `ok` (it happened), `fail`
 * (it definitely did not happen) or `info` (indeterminate: it may or may not have happened, at any
 * time after its invocation). A process that saw `info` is considered crashed, as in Jepsen; a
 * well-behaved harness gives its next operation a fresh process id. An `info` operation with no
 * pending invocation on its process (e.g. a nemesis event) is a standalone event and is not paired.
 *
 * For list-append transactions, `f` is `'txn'` and the value is a list of micro-ops:
 * `['append', key, element]` and `['r', key, list | null]` (null in the invocation; the `ok`
 * completion carries what the read returned).
 */

export type Process = number | string;
export type OpType = 'invoke' | 'ok' | 'fail' | 'info';

export interface Op<V = unknown> {
  process: Process;
  type: OpType;
  f: string;
  value: V;
  /** Wall-clock time of the event, any monotonic unit (ms from performance.now() is fine). */
  time: number;
  /** Position in the history; optional — helpers use array order when absent. */
  index?: number;
  /** Error carried by fail/info completions (free-form). */
  error?: unknown;
  /** Marks reads issued in the final, post-healing read phase (used by the lost-append check). */
  final?: boolean;
  /** Which node served the operation, when known (free-form, for reports). */
  node?: string;
}

export type Key = number | string;
export type Elem = number | string;
export type AppendMop = ['append', Key, Elem];
export type ReadMop = ['r', Key, Elem[] | null];
export type MicroOp = AppendMop | ReadMop;
export type Txn = MicroOp[];
export type TxnOp = Op<Txn>;
export type History<V = unknown> = readonly Op<V>[];

export class HistoryError extends Error {
  constructor(message: string, readonly op?: Op) {
    super(message);
    this.name = 'HistoryError';
  }
}

/** An invocation together with its completion. */
export interface OpPair<V = unknown> {
  invoke: Op<V>;
  /** Undefined when the history ended before the operation completed (treated as `info`). */
  completion: Op<V> | undefined;
  /** Effective outcome: 'ok', 'fail', or 'info' (including never-completed). */
  type: 'ok' | 'fail' | 'info';
  process: Process;
  f: string;
  /** The completion's value for `ok` (reads filled in), the invocation's value otherwise. */
  value: V;
  invokeTime: number;
  /** Completion time; `Infinity` for `info`: the operation may take effect at any later time. */
  completeTime: number;
  /** Positions of the invocation and the completion in the history array (-1 if none). */
  invokePos: number;
  completePos: number;
}

/** Returns a copy of the history where every op carries `index` = its position. */
export function indexHistory<V>(history: History<V>): Op<V>[] {
  return history.map((op, i) => ({ ...op, index: i }));
}

/**
 * Pairs each invocation with its completion (same process, next event on it). Standalone `info`
 * events (no pending invocation on that process, e.g. nemesis ops) are returned in `standalone`.
 * Throws HistoryError on a malformed history: a second invocation while one is pending on the same
 * process, or an ok/fail completion with nothing pending.
 */
export function pairHistory<V>(history: History<V>): { pairs: OpPair<V>[]; standalone: Op<V>[] } {
  const pending = new Map<Process, OpPair<V>>();
  const pairs: OpPair<V>[] = [];
  const standalone: Op<V>[] = [];
  for (let i = 0; i < history.length; i++) {
    const op = history[i]!;
    if (op.type === 'invoke') {
      if (pending.has(op.process)) {
        throw new HistoryError(`process ${String(op.process)} invoked again while an op is pending (position ${i})`, op);
      }
      const p: OpPair<V> = {
        invoke: op,
        completion: undefined,
        type: 'info',
        process: op.process,
        f: op.f,
        value: op.value,
        invokeTime: op.time,
        completeTime: Infinity,
        invokePos: i,
        completePos: -1,
      };
      pending.set(op.process, p);
      pairs.push(p);
      continue;
    }
    const p = pending.get(op.process);
    if (p === undefined) {
      if (op.type === 'info') {
        standalone.push(op);
        continue;
      }
      throw new HistoryError(`process ${String(op.process)} completed (${op.type}) with no pending invocation (position ${i})`, op);
    }
    pending.delete(op.process);
    p.completion = op;
    p.completePos = i;
    p.type = op.type as 'ok' | 'fail' | 'info';
    if (op.type === 'ok') {
      p.value = op.value;
      p.completeTime = op.time;
    } else if (op.type === 'fail') {
      p.completeTime = op.time;
    }
  }
  return { pairs, standalone };
}

/** Convenience: just the pairs. */
export function pairs<V>(history: History<V>): OpPair<V>[] {
  return pairHistory(history).pairs;
}

/** Map from each invocation op to its completion op (absent if it never completed). */
export function completions<V>(history: History<V>): Map<Op<V>, Op<V>> {
  const m = new Map<Op<V>, Op<V>>();
  for (const p of pairs(history)) if (p.completion) m.set(p.invoke, p.completion);
  return m;
}

/** The op to show for a pair in reports: its completion when it has one, else its invocation. */
export function displayOp<V>(p: OpPair<V>): Op<V> {
  return p.completion ?? p.invoke;
}

/**
 * Records a history as a harness runs. The clock is injected so this stays pure; pass e.g.
 * `() => performance.now()`. JavaScript is single-threaded, so the array order is the real order of
 * events and the recorded times are monotonic when the clock is.
 *
 *   const h = new HistoryRecorder(() => performance.now());
 *   const inv = h.invoke(p, 'txn', [['append', 'x', 1], ['r', 'y', null]]);
 *   ... h.ok(inv, [['append', 'x', 1], ['r', 'y', [3, 4]]])  |  h.fail(inv, err)  |  h.info(inv, err)
 */
export class HistoryRecorder<V = unknown> {
  readonly ops: Op<V>[] = [];
  constructor(private readonly clock: () => number) {}

  invoke(process: Process, f: string, value: V, extra?: Partial<Op<V>>): Op<V> {
    return this.push({ ...extra, process, type: 'invoke', f, value, time: this.clock() });
  }
  ok(inv: Op<V>, value: V = inv.value, extra?: Partial<Op<V>>): Op<V> {
    return this.complete(inv, 'ok', value, extra);
  }
  fail(inv: Op<V>, error?: unknown, extra?: Partial<Op<V>>): Op<V> {
    return this.complete(inv, 'fail', inv.value, { ...extra, error });
  }
  info(inv: Op<V>, error?: unknown, extra?: Partial<Op<V>>): Op<V> {
    return this.complete(inv, 'info', inv.value, { ...extra, error });
  }
  /** A standalone event, e.g. a nemesis action. */
  event(process: Process, f: string, value: V, extra?: Partial<Op<V>>): Op<V> {
    return this.push({ ...extra, process, type: 'info', f, value, time: this.clock() });
  }
  history(): Op<V>[] {
    return this.ops.slice();
  }

  private complete(inv: Op<V>, type: OpType, value: V, extra?: Partial<Op<V>>): Op<V> {
    const { final, node } = inv;
    const base: Partial<Op<V>> = {};
    if (final !== undefined) base.final = final;
    if (node !== undefined) base.node = node;
    return this.push({ ...base, ...extra, process: inv.process, type, f: inv.f, value, time: this.clock() });
  }
  private push(op: Op<V>): Op<V> {
    op.index = this.ops.length;
    this.ops.push(op);
    return op;
  }
}
