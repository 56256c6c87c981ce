/**
 * The fault suite's workloads, through the remote SDK, each recording a Jepsen-style history
 * (test/faults/checker) and checked by its checker:
 *
 * - **list-append** (Elle), as the Jepsen Datomic harness does it: each list is an entity with a
 *   unique-identity `:append/key` and a cardinality-many long `:append/elements`. A transaction of
 *   1–4 micro-ops turns its appends into transaction data; its reads are answered from the
 *   transaction report's `dbBefore` (Datomic has no interactive transactions: every operation in
 *   a transaction sees the database before it), queried after the commit. A read-only
 *   transaction reads a value from `conn.sync()` (the latest committed t). A read orders the
 *   elements by the t of their transaction, then by value. Keys rotate: a key retires after
 *   `maxWritesPerKey` appends and a fresh one takes its place.
 * - **bank**: accounts with a unique-identity `:account/id` and a long `:account/balance`; a
 *   transfer reads two balances and commits two `:db/cas`; reads (synced or not) must always sum
 *   to the constant total, never negative.
 * - **unique**: every write adds a new entity with a distinct `:write/value`; every acknowledged
 *   write must be found exactly once in the final read.
 *
 * Outcomes: `ok` when acknowledged; `fail` only when the system said so definitely (a failed
 * `:db/cas`, a refused request); `info` (indeterminate) for everything else that may have
 * reached the system — timeouts, `unavailable`/`interrupted`/`busy` after the SDK's retries.
 * Reads that fail are `fail` (a read changes nothing). A worker that saw `info` continues as a
 * new process (Jepsen's convention).
 */
import { isDatalithError } from '../../../services/engine/errors';
import type { Client, Connection, Db } from '../../../services/client';
import { checkBank, type BankResult } from '../checker/bank';
import { checkListAppend, formatElleResult, type ElleResult } from '../checker/elle';
import { HistoryRecorder, type Op, type Txn } from '../checker/history';
import { checkUnique, type UniqueResult } from '../checker/unique';

export const SCHEMA = `[
  {:db/ident :append/key :db/valueType :db.type/long :db/cardinality :db.cardinality/one :db/unique :db.unique/identity}
  {:db/ident :append/elements :db/valueType :db.type/long :db/cardinality :db.cardinality/many}
  {:db/ident :account/id :db/valueType :db.type/long :db/cardinality :db.cardinality/one :db/unique :db.unique/identity}
  {:db/ident :account/balance :db/valueType :db.type/long :db/cardinality :db.cardinality/one}
  {:db/ident :write/value :db/valueType :db.type/string :db/cardinality :db.cardinality/one}]`;

export type Rng = () => number;

/** Errors after which the operation definitely did not happen. */
export function definiteFailure(e: unknown): boolean {
  return isDatalithError(e) && ['conflict', 'incorrect', 'forbidden', 'not-found', 'unsupported'].includes(e.category);
}

export function errorLabel(e: unknown): string {
  if (isDatalithError(e)) return `${e.category}${e.code !== undefined ? `/${e.code}` : ''}`;
  return (e as Error)?.name ?? 'error';
}

/** A successful write's acknowledgement, for the cross-workload checks (distinct t, gaps). */
export interface Ack {
  t: number;
  time: number;
  workload: string;
}

export interface WorkloadContext {
  /** Acknowledged writes of every workload (shared). */
  acks: Ack[];
  /** Error counts by label (shared). */
  errors: Map<string, number>;
  now: () => number;
}

export interface CheckSummary {
  workload: string;
  valid: boolean;
  /** One line: counts and anomalies. */
  summary: string;
  /** Acknowledged writes missing from the final read. */
  lost: number;
  /** Anomaly names found (empty when valid). */
  anomalies: string[];
  details?: string;
}

export interface Workload {
  readonly name: string;
  readonly recorder: HistoryRecorder<unknown>;
  /** Initial data (after the schema). */
  setup(conn: Connection): Promise<void>;
  /** One operation by a worker: invoke, run, complete. */
  step(conn: Connection, worker: WorkerState): Promise<void>;
  /** The final read(s), after every fault has healed. */
  finalRead(conn: Connection): Promise<void>;
  check(): CheckSummary;
}

export interface WorkerState {
  process: number;
  rng: Rng;
  /** Gives the worker a new process id (after an `info`). */
  crash(): void;
}

function count(ctx: WorkloadContext, e: unknown): void {
  const k = errorLabel(e);
  ctx.errors.set(k, (ctx.errors.get(k) ?? 0) + 1);
}

/** Retries a read of an immutable value while the system is unavailable (reads are safe to repeat). */
async function readRetrying<T>(f: () => Promise<T>, attempts = 3): Promise<T> {
  for (let i = 0; ; i++) {
    try {
      return await f();
    } catch (e) {
      if (i + 1 >= attempts || definiteFailure(e)) throw e;
    }
  }
}

/** A write was acknowledged at t. */
function acknowledged(ctx: WorkloadContext, workload: string, t: number): void {
  ctx.acks.push({ t, time: ctx.now(), workload });
}

/**
 * Records a write that did not succeed: a definite failure is `fail`; an unknown outcome is
 * `info`, and the worker goes on as a new process (Jepsen's rule).
 */
function writeFailed(ctx: WorkloadContext, recorder: HistoryRecorder<unknown>, inv: Op<unknown>, w: WorkerState, e: unknown): void {
  count(ctx, e);
  if (definiteFailure(e)) {
    recorder.fail(inv, errorLabel(e));
  } else {
    recorder.info(inv, errorLabel(e));
    w.crash();
  }
}

/** One final read after the faults heal, of the latest value (`final: true` for the checkers). */
async function finalRead(recorder: HistoryRecorder<unknown>, conn: Connection, read: (db: Db) => Promise<unknown>): Promise<void> {
  const inv = recorder.invoke('final', 'read', null, { final: true });
  try {
    const db = await conn.sync();
    recorder.ok(inv, await readRetrying(() => read(db), 10));
  } catch (e) {
    recorder.fail(inv, errorLabel(e));
    throw e;
  }
}

// ---- list append ----------------------------------------------------------------------------

const READ_LISTS = '[:find ?k ?v ?tx :in $ [?k ...] :where [?e :append/key ?k] [?e :append/elements ?v ?tx]]';

/** The lists of `keys` in `db`: elements ordered by their transaction, then value. */
export async function readLists(db: Db, keys: number[]): Promise<Map<number, number[]>> {
  const rows = (await db.q(READ_LISTS, keys)) as Array<[number, number, number]>;
  rows.sort((a, b) => a[2] - b[2] || a[1] - b[1]);
  const out = new Map<number, number[]>(keys.map((k) => [k, []]));
  for (const [k, v] of rows) out.get(k)!.push(v);
  return out;
}

export interface ListAppendOptions {
  keys?: number;
  maxWritesPerKey?: number;
  /** Fraction of micro-ops that are appends (default 0.5). */
  appendRatio?: number;
  model?: 'strict-serializable' | 'strong-session-serializable' | 'serializable';
}

export class ListAppend implements Workload {
  readonly name = 'list-append';
  readonly recorder: HistoryRecorder<unknown>;
  private readonly active: number[] = [];
  private readonly nextValue = new Map<number, number>();
  private nextKey = 0;
  private readonly used = new Set<number>();
  private readonly keyCount: number;
  private readonly maxWrites: number;
  private readonly appendRatio: number;
  private result: ElleResult | undefined;

  constructor(private readonly ctx: WorkloadContext, private readonly opts: ListAppendOptions = {}) {
    this.recorder = new HistoryRecorder<unknown>(ctx.now);
    this.keyCount = opts.keys ?? 10;
    this.maxWrites = opts.maxWritesPerKey ?? 32;
    this.appendRatio = opts.appendRatio ?? 0.5;
    for (let i = 0; i < this.keyCount; i++) this.active.push(this.freshKey());
  }

  private freshKey(): number {
    const k = this.nextKey++;
    this.nextValue.set(k, 1);
    return k;
  }

  /** A 1–4 micro-op transaction over the active keys. */
  private generate(rng: Rng): Txn {
    const n = 1 + Math.floor(rng() * 4);
    const txn: Txn = [];
    for (let i = 0; i < n; i++) {
      const slot = Math.floor(rng() * this.active.length);
      const k = this.active[slot]!;
      this.used.add(k);
      if (rng() < this.appendRatio) {
        const v = this.nextValue.get(k)!;
        this.nextValue.set(k, v + 1);
        txn.push(['append', k, v]);
        if (v >= this.maxWrites) this.active[slot] = this.freshKey();
      } else {
        txn.push(['r', k, null]);
      }
    }
    return txn;
  }

  async setup(): Promise<void> {}

  async step(conn: Connection, w: WorkerState): Promise<void> {
    const txn = this.generate(w.rng);
    const inv = this.recorder.invoke(w.process, 'txn', txn);
    const appends = new Map<number, number[]>();
    for (const m of txn) if (m[0] === 'append') appends.set(m[1] as number, [...(appends.get(m[1] as number) ?? []), m[2] as number]);
    const readKeys = [...new Set(txn.filter((m) => m[0] === 'r').map((m) => m[1] as number))];
    let readDb: Db;
    if (appends.size > 0) {
      try {
        const txData = [...appends].map(([k, vs]) => ({ 'db/id': `k${k}`, 'append/key': k, 'append/elements': vs }));
        const report = await conn.transact(txData);
        acknowledged(this.ctx, this.name, report.dbAfter.t);
        readDb = report.dbBefore;
      } catch (e) {
        writeFailed(this.ctx, this.recorder, inv, w, e);
        return;
      }
    } else {
      try {
        readDb = await conn.sync();
      } catch (e) {
        count(this.ctx, e);
        this.recorder.fail(inv, errorLabel(e));
        return;
      }
    }
    let lists = new Map<number, number[]>();
    if (readKeys.length > 0) {
      try {
        lists = await readRetrying(() => readLists(readDb, readKeys));
      } catch (e) {
        count(this.ctx, e);
        // The appends committed (or there were none); what the reads saw is unknown.
        if (appends.size > 0) {
          this.recorder.info(inv, `read after commit: ${errorLabel(e)}`);
          w.crash();
        } else {
          this.recorder.fail(inv, errorLabel(e));
        }
        return;
      }
    }
    this.recorder.ok(inv, txn.map((m) => (m[0] === 'r' ? ['r', m[1], lists.get(m[1] as number) ?? []] : m)));
  }

  async finalRead(conn: Connection): Promise<void> {
    const keys = [...this.used].sort((a, b) => a - b);
    const db = await conn.sync();
    for (let i = 0; i < keys.length; i += 200) {
      const chunk = keys.slice(i, i + 200);
      const txn: Txn = chunk.map((k) => ['r', k, null]);
      const inv = this.recorder.invoke('final', 'txn', txn, { final: true });
      try {
        const lists = await readRetrying(() => readLists(db, chunk), 10);
        this.recorder.ok(inv, chunk.map((k) => ['r', k, lists.get(k) ?? []]));
      } catch (e) {
        this.recorder.fail(inv, errorLabel(e));
        throw e;
      }
    }
  }

  check(): CheckSummary {
    const r = checkListAppend(this.recorder.history() as Op<Txn>[], { model: this.opts.model ?? 'strict-serializable', intraTxn: 'snapshot' });
    this.result = r;
    const s = r.stats;
    const lost = r.anomalies.lost?.length ?? 0;
    return {
      workload: this.name,
      valid: r.valid,
      lost,
      anomalies: r.anomalyTypes,
      summary: `${s.txns.ok} ok / ${s.txns.fail} fail / ${s.txns.info} info txns, ${s.appends} appends, ${s.reads} reads, ${s.keys} keys, ` +
        `${r.model}: ${r.valid ? 'valid' : `INVALID (${r.anomalyTypes.join(', ')})`}`,
      ...(r.valid ? {} : { details: formatElleResult(r) }),
    };
  }

  get elle(): ElleResult | undefined {
    return this.result;
  }
}

// ---- bank -----------------------------------------------------------------------------------

const READ_BALANCES = '[:find ?id ?b :where [?a :account/id ?id] [?a :account/balance ?b]]';

export interface BankOptions {
  accounts?: number;
  /** Initial balance of each account. */
  balance?: number;
  maxTransfer?: number;
}

export class Bank implements Workload {
  readonly name = 'bank';
  readonly recorder: HistoryRecorder<unknown>;
  readonly accounts: number[];
  readonly total: number;
  private readonly balance: number;
  private readonly maxTransfer: number;

  constructor(private readonly ctx: WorkloadContext, opts: BankOptions = {}) {
    this.recorder = new HistoryRecorder<unknown>(ctx.now);
    this.accounts = Array.from({ length: opts.accounts ?? 8 }, (_, i) => i);
    this.balance = opts.balance ?? 100;
    this.total = this.accounts.length * this.balance;
    this.maxTransfer = opts.maxTransfer ?? 10;
  }

  async setup(conn: Connection): Promise<void> {
    await conn.transact(this.accounts.map((id) => ({ 'account/id': id, 'account/balance': this.balance })));
  }

  private async balances(db: Db): Promise<Record<string, number>> {
    const rows = (await db.q(READ_BALANCES)) as Array<[number, number]>;
    return Object.fromEntries(rows.map(([id, b]) => [String(id), b]));
  }

  async step(conn: Connection, w: WorkerState): Promise<void> {
    if (w.rng() < 0.3) {
      // Half the reads from a synced value, half from whatever the serving node has.
      const synced = w.rng() < 0.5;
      const inv = this.recorder.invoke(w.process, 'read', null);
      try {
        const db = synced ? await conn.sync() : await conn.db();
        this.recorder.ok(inv, await this.balances(db));
      } catch (e) {
        count(this.ctx, e);
        this.recorder.fail(inv, errorLabel(e));
      }
      return;
    }
    const from = this.accounts[Math.floor(w.rng() * this.accounts.length)]!;
    let to = this.accounts[Math.floor(w.rng() * (this.accounts.length - 1))]!;
    if (to >= from) to = this.accounts[to + 1] ?? to;
    const amount = 1 + Math.floor(w.rng() * this.maxTransfer);
    const inv = this.recorder.invoke(w.process, 'transfer', { from, to, amount });
    let b: Record<string, number>;
    try {
      b = await this.balances(await conn.db());
    } catch (e) {
      count(this.ctx, e);
      this.recorder.fail(inv, `read: ${errorLabel(e)}`);
      return;
    }
    const bf = b[String(from)];
    const bt = b[String(to)];
    if (bf === undefined || bt === undefined || bf < amount) {
      this.recorder.fail(inv, 'insufficient funds');
      return;
    }
    try {
      const report = await conn.transact([
        [':db/cas', [':account/id', from], ':account/balance', bf, bf - amount],
        [':db/cas', [':account/id', to], ':account/balance', bt, bt + amount],
      ]);
      acknowledged(this.ctx, this.name, report.dbAfter.t);
      this.recorder.ok(inv);
    } catch (e) {
      writeFailed(this.ctx, this.recorder, inv, w, e);
    }
  }

  finalRead(conn: Connection): Promise<void> {
    return finalRead(this.recorder, conn, (db) => this.balances(db));
  }

  check(): CheckSummary {
    const r: BankResult = checkBank(this.recorder.history(), { total: this.total, accounts: this.accounts.map(String) });
    const s = r.stats;
    const anomalies = Object.keys(r.errorTypes);
    if (r.error !== undefined) anomalies.push(r.error);
    return {
      workload: this.name,
      valid: r.valid,
      lost: 0,
      anomalies,
      summary: `${s.transfers.ok} ok / ${s.transfers.fail} fail / ${s.transfers.info} info transfers, ${s.reads.ok} reads, ` +
        `totals seen ${s.totals.map(([t, n]) => `${t}×${n}`).join(' ')}: ${r.valid ? 'valid' : `INVALID (${anomalies.join(', ')})`}`,
      ...(r.valid ? {} : { details: JSON.stringify(r.errors.slice(0, 5), null, 1) }),
    };
  }
}

// ---- unique writes --------------------------------------------------------------------------

const READ_VALUES = '[:find ?e ?v :where [?e :write/value ?v]]';

export class UniqueWrites implements Workload {
  readonly name = 'unique';
  readonly recorder: HistoryRecorder<unknown>;
  private next = 0;

  constructor(private readonly ctx: WorkloadContext, private readonly opts: { readRatio?: number } = {}) {
    this.recorder = new HistoryRecorder<unknown>(ctx.now);
  }

  async setup(): Promise<void> {}

  private async values(db: Db): Promise<string[]> {
    // One row per entity: a value committed twice shows up twice.
    return ((await db.q(READ_VALUES)) as Array<[number, string]>).map(([, v]) => v);
  }

  async step(conn: Connection, w: WorkerState): Promise<void> {
    if (w.rng() < (this.opts.readRatio ?? 0.05)) {
      const inv = this.recorder.invoke(w.process, 'read', null);
      try {
        this.recorder.ok(inv, await this.values(await conn.sync()));
      } catch (e) {
        count(this.ctx, e);
        this.recorder.fail(inv, errorLabel(e));
      }
      return;
    }
    const value = `w${this.next++}`;
    const inv = this.recorder.invoke(w.process, 'write', value);
    try {
      const report = await conn.transact([{ 'db/id': 'w', 'write/value': value }]);
      acknowledged(this.ctx, this.name, report.dbAfter.t);
      this.recorder.ok(inv);
    } catch (e) {
      writeFailed(this.ctx, this.recorder, inv, w, e);
    }
  }

  finalRead(conn: Connection): Promise<void> {
    return finalRead(this.recorder, conn, (db) => this.values(db));
  }

  check(): CheckSummary {
    const r: UniqueResult = checkUnique(this.recorder.history());
    const s = r.stats;
    const anomalies: string[] = [];
    if (r.lost.length > 0) anomalies.push('lost');
    if (r.duplicated.length > 0) anomalies.push('duplicated');
    if (r.aborted.length > 0) anomalies.push('aborted');
    if (r.unexpected.length > 0) anomalies.push('unexpected');
    if (r.error !== undefined) anomalies.push(r.error);
    return {
      workload: this.name,
      valid: r.valid,
      lost: r.lost.length,
      anomalies,
      summary: `${s.writes.ok} ok / ${s.writes.fail} fail / ${s.writes.info} info writes, final read ${s.finalSize} values ` +
        `(${s.recovered} indeterminate found), lost ${r.lost.length}, duplicated ${r.duplicated.length}: ${r.valid ? 'valid' : `INVALID (${anomalies.join(', ')})`}`,
      ...(r.valid ? {} : { details: JSON.stringify({ lost: r.lost.slice(0, 5).map((x) => x.value), duplicated: r.duplicated.slice(0, 5) }) }),
    };
  }
}

export type { Client };
