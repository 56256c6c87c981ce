/**
 * One database on one node: its current value, rebuilt from the log, and the transactor that
 * appends to the log with conditional writes (DESIGN.md, "The log protocol").
 *
 * Group commit: transactions arriving while an append is in flight queue up and go out together
 * as one log entry at the next append, each with its own t. On a conditional-write conflict the
 * node catches up with a strongly consistent read and re-evaluates the whole batch against the
 * new value (so a :db/cas may now fail, for its caller only), then tries again at the new tail.
 * A caller is answered only after its entry is durably written.
 */
import { randomUUID } from 'node:crypto';
import { Datom, tToTx } from '../engine/datom';
import { Db, emptyDb } from '../engine/db';
import { busy, DatalithError, incorrect, isDatalithError, notFound, unavailable } from '../engine/errors';
import { Edit } from '../engine/btree';
import { applyDatoms, transact, type TxReport } from '../engine/transact';
import { fromWire, toWire } from '../engine/wire';
import type { Value } from '../engine/values';
import { MAX_ITEM_BYTES, MAX_TX_BYTES, type LogEntry, type LogStore } from './storage/log-store';
import type { TransactorObserver } from './metrics';

/** Documented cap on datoms per transaction (docs/limits.md). */
export const MAX_TX_DATOMS = 100_000;
/**
 * Attempts at the conditional append before a batch fails with `busy` — at least this many, and
 * more while `APPEND_BUDGET_MS` has not passed since the batch's first attempt.
 */
export const MAX_APPEND_ATTEMPTS = 12;
/** How long a batch keeps retrying lost conditional appends (ms; see `MAX_APPEND_ATTEMPTS`). */
export const APPEND_BUDGET_MS = 2_000;
/** Backoff after the n-th lost append: full jitter in [0, min(cap, base × 2^n)) ms. */
export const CONFLICT_BACKOFF_BASE_MS = 2;
export const CONFLICT_BACKOFF_CAP_MS = 25;
/** Transactions that may wait for one database before new ones get `busy`. */
export const MAX_PENDING_PER_DATABASE = 2_000;
/**
 * The transaction id of the entry that closes a deleted database's log. Appended with the same
 * conditional write as any entry, it makes every later append to that log conflict, so a node
 * that has not heard of the deletion finds out on its next write (or catch-up) and never
 * acknowledges a transaction into a deleted database.
 */
export const DELETED_TX_ID = 'datalith/database-deleted';
/** Anomaly code of an operation on a host whose log was closed by a deletion. */
export const DELETED_CODE = 'db.error/db-deleted';
/** Transaction ids remembered for idempotent retries. */
const REMEMBERED_TX_IDS = 200_000;

export interface CommittedTx {
  readonly t: number;
  readonly tempids: Record<string, number>;
}

/**
 * A refusal written to the log. A transaction whose outcome its client does not know (a retry
 * after a timeout or a lost connection, or a transaction a node commits itself after forwarding
 * it failed) may still be in flight elsewhere: a node that dies mid-append can have its write
 * land later, or its transactor re-evaluate the batch after a conflict. So a node refuses such
 * a transaction only by writing the refusal into the log (in an empty transaction that seals the
 * tail), and every node that reads it refuses that transaction id from then on, with the same
 * error. Either the refusal or the transaction is in the log first; never both.
 */
export interface RecordedRefusal {
  readonly txId: string;
  readonly category: DatalithError['category'];
  readonly code?: string;
  readonly message: string;
}

/** A recorded refusal keeps this much of its error's message. */
const REFUSAL_MESSAGE_CHARS = 500;

export interface TransactResult {
  readonly t: number;
  readonly dbBefore: Db;
  readonly dbAfter: Db;
  readonly txData: readonly Datom[];
  readonly tempids: Record<string, number>;
  /** True when the transaction id had already been committed: nothing new was written. */
  readonly duplicate: boolean;
}

interface Pending {
  readonly txData: unknown;
  readonly txId: string;
  /** Its client does not know whether an earlier attempt committed: refuse only in the log. */
  readonly inDoubt: boolean;
  readonly resolve: (r: TransactResult) => void;
  readonly reject: (e: unknown) => void;
}

interface TxPayload {
  readonly instant: number;
  readonly tempids: Record<string, number>;
  readonly datoms: Array<[number, number, unknown, 0 | 1]>;
  /** Refusals sealed by this transaction (an empty one); absent in almost every entry. */
  readonly refused?: readonly RecordedRefusal[];
}

export function encodeTx(r: TxReport, refused?: readonly RecordedRefusal[]): Uint8Array {
  const payload: TxPayload = {
    instant: r.dbAfter.state.lastInstant,
    tempids: r.tempids,
    datoms: r.txData.map((d) => [d.e, d.a, toWire(d.v), d.added ? 1 : 0]),
    ...(refused !== undefined && refused.length > 0 ? { refused } : {}),
  };
  return Buffer.from(JSON.stringify(payload));
}

export function decodeTx(t: number, bytes: Uint8Array): { instant: number; tempids: Record<string, number>; datoms: Datom[]; refused: readonly RecordedRefusal[] } {
  const p = JSON.parse(Buffer.from(bytes).toString('utf8')) as TxPayload;
  const tx = tToTx(t);
  return {
    instant: p.instant,
    tempids: p.tempids,
    datoms: p.datoms.map(([e, a, v, added]) => new Datom(e, a, fromWire(v) as Value, tx, added === 1)),
    refused: p.refused ?? [],
  };
}

function recordRefusal(txId: string, e: DatalithError): RecordedRefusal {
  const message = e.message.length > REFUSAL_MESSAGE_CHARS ? `${e.message.slice(0, REFUSAL_MESSAGE_CHARS)}…` : e.message;
  return { txId, category: e.category, ...(e.code !== undefined ? { code: e.code } : {}), message };
}

function refusalError(r: RecordedRefusal): DatalithError {
  return new DatalithError(r.category, r.message, r.code, { txId: r.txId, recorded: true });
}

export interface TransactorMetrics {
  transactions: number;
  entries: number;
  conflicts: number;
  batchSizes: number;
}

export class DatabaseHost {
  private current: Db = emptyDb();
  private readonly pending: Pending[] = [];
  private flushing = false;
  private catchingUp: Promise<Db> | null = null;
  private nextCatchUp: Promise<Db> | null = null;
  private readonly committed = new Map<string, CommittedTx>();
  private readonly refused = new Map<string, RecordedRefusal>();
  /** The log ends with a deletion entry: the database is gone. */
  private deleted = false;
  readonly metrics: TransactorMetrics = { transactions: 0, entries: 0, conflicts: 0, batchSizes: 0 };
  /** Called after the value advances (a commit here or entries read from the log). */
  onAdvance: ((t: number) => void) | null = null;
  /** Receives commits, conflicts and catch-ups (the node's metrics). */
  observer: TransactorObserver | null = null;

  constructor(
    readonly name: string,
    readonly dbId: string,
    private readonly log: LogStore,
  ) {}

  get db(): Db {
    return this.current;
  }

  get isDeleted(): boolean {
    return this.deleted;
  }

  private deletedError(): DatalithError {
    return notFound(DELETED_CODE, `Database ${this.name} has been deleted`, { dbName: this.name });
  }

  /**
   * Closes the log with a deletion entry at the tail (idempotent). Called before the catalog
   * entry is removed, so no node can commit into this log afterwards.
   */
  async closeLog(): Promise<void> {
    for (let attempt = 0; attempt < MAX_APPEND_ATTEMPTS; attempt++) {
      await this.catchUp();
      if (this.deleted) return;
      const t = this.current.t + 1;
      try {
        await this.log.appendEntry({ db: this.dbId, t, last: t, txs: [{ t, txId: DELETED_TX_ID, payload: new Uint8Array(0) }] });
        this.deleted = true;
        return;
      } catch (e) {
        if (!(isDatalithError(e) && e.category === 'conflict')) throw e;
      }
    }
    throw busy('db.error/append-contention', `Could not close the log of ${this.name}: other writers keep winning; retry`);
  }

  get pendingCount(): number {
    return this.pending.length;
  }

  /** Reads log entries after the current t (strongly consistent) and applies them. */
  catchUp(): Promise<Db> {
    if (this.catchingUp) return this.catchingUp;
    this.catchingUp = (async () => {
      try {
        // Page by page: the next page is read while this one is replayed.
        let first = true;
        for await (const entries of this.log.readEntryPages(this.dbId, this.current.t, { consistent: true })) {
          for (const entry of entries) {
            // Replaying a long log (a node loading a database) lets other requests through
            // between entries instead of holding the event loop for the whole replay.
            if (!first) await new Promise<void>((r) => setImmediate(r));
            first = false;
            this.applyEntry(entry);
          }
        }
        return this.current;
      } finally {
        this.catchingUp = null;
      }
    })();
    return this.catchingUp;
  }

  /**
   * A catch-up whose read of the log begins after this call, so the value has every entry
   * written before it (what `sync` promises, and what refusing a transaction needs). Joining a
   * catch-up already in flight would not do: its read may predate an entry another node wrote
   * and acknowledged since. Callers arriving during one catch-up share the next.
   */
  catchUpFresh(): Promise<Db> {
    const inFlight = this.catchingUp;
    if (!inFlight) return this.catchUp();
    this.nextCatchUp ??= inFlight.catch(() => undefined).then(() => {
      this.nextCatchUp = null;
      return this.catchUp();
    });
    return this.nextCatchUp;
  }

  private applyEntry(entry: LogEntry): void {
    let state = this.current.state;
    // One edit for the whole entry: its transactions update the nodes they created in place.
    const edit = new Edit();
    try {
      for (const tx of entry.txs) {
        if (tx.t <= state.t) continue;
        if (tx.txId === DELETED_TX_ID) {
          this.deleted = true;
          break;
        }
        if (tx.t !== state.t + 1) {
          throw new DatalithError('fault', `Log of database ${this.name} has a gap: expected t ${state.t + 1}, found ${tx.t}`, 'log/gap');
        }
        const decoded = decodeTx(tx.t, tx.payload);
        state = applyDatoms(state, decoded.datoms, decoded.instant, edit);
        this.remember(tx.txId, { t: tx.t, tempids: decoded.tempids });
        for (const r of decoded.refused) this.rememberRefusal(r);
      }
    } finally {
      edit.live = false;
    }
    if (state !== this.current.state) {
      this.observer?.caughtUp(state.t - this.current.t);
      this.current = new Db(state);
      this.onAdvance?.(state.t);
    }
  }

  private remember(txId: string, c: CommittedTx): void {
    bounded(this.committed, txId, c);
  }

  private rememberRefusal(r: RecordedRefusal): void {
    bounded(this.refused, r.txId, r);
  }

  /** A value at least as recent as t, catching up with the log when needed. */
  async awaitBasis(t: number | undefined): Promise<Db> {
    if (this.deleted) throw this.deletedError();
    if (t === undefined || t <= this.current.t) return this.current;
    await this.catchUp();
    if (this.deleted) throw this.deletedError();
    // A catch-up already in flight may have read the log before t was written.
    if (this.current.t < t) await this.catchUpFresh();
    if (this.current.t >= t) return this.current;
    throw unavailable('db.error/basis-not-found', `Database ${this.name} has no transaction at t ${t} yet (latest is ${this.current.t})`, { t, latest: this.current.t });
  }

  /** The result of a transaction id already committed, if it is. */
  committedResult(txId: string): TransactResult | undefined {
    const c = this.committed.get(txId);
    if (!c) return undefined;
    const db = this.current;
    const entry = db.state.log.get({ t: c.t, tx: 0, instant: 0, data: [] });
    return {
      t: c.t,
      dbBefore: db.asOf(c.t - 1),
      dbAfter: db.asOf(c.t),
      txData: entry?.data ?? [],
      tempids: c.tempids,
      duplicate: true,
    };
  }

  /**
   * Commits a transaction; `inDoubt` when its client does not know whether an earlier attempt
   * with this id committed (then a refusal is written to the log before it is answered).
   */
  transact(txData: unknown, txId: string = randomUUID(), opts: { inDoubt?: boolean } = {}): Promise<TransactResult> {
    const done = this.committedResult(txId);
    if (done) return Promise.resolve(done);
    const refusal = this.refused.get(txId);
    if (refusal) return Promise.reject(refusalError(refusal));
    if (this.deleted) return Promise.reject(this.deletedError());
    if (this.pending.length >= MAX_PENDING_PER_DATABASE) {
      return Promise.reject(busy('db.error/too-many-pending', `Database ${this.name} has ${this.pending.length} transactions waiting; retry later`));
    }
    const arrived = performance.now();
    return new Promise<TransactResult>((resolve, reject) => {
      const observed = (r: TransactResult): void => {
        if (!r.duplicate) this.observer?.committed(performance.now() - arrived);
        resolve(r);
      };
      this.pending.push({ txData, txId, inDoubt: opts.inDoubt === true, resolve: observed, reject });
      if (!this.flushing) void this.flush();
    });
  }

  private async flush(): Promise<void> {
    this.flushing = true;
    try {
      while (this.pending.length > 0) {
        const batch = this.pending.splice(0, this.pending.length);
        try {
          await this.commitBatch(batch);
        } catch (e) {
          // A catch-up failed (storage unavailable): answer every caller still waiting instead
          // of leaving them hanging (and the rejection unhandled, which ends the process).
          // Indeterminate, as for any storage failure: a retry with the same id is safe.
          const err = isDatalithError(e) ? e : unavailable('storage/unavailable', `Storage is unavailable: ${(e as Error)?.message ?? String(e)}`);
          for (const p of batch) p.reject(err);
        }
      }
    } finally {
      this.flushing = false;
    }
  }

  /** Evaluates a batch against the latest value and appends it; retries on conflicts. */
  private async commitBatch(batch: Pending[]): Promise<void> {
    let queue = batch;
    let verifiedAt = -1;
    let since = 0;
    for (let attempt = 0; queue.length > 0; attempt++) {
      if (attempt === 0) since = performance.now();
      if (attempt >= MAX_APPEND_ATTEMPTS && performance.now() - since >= APPEND_BUDGET_MS) {
        for (const p of queue) p.reject(busy('db.error/append-contention', `Could not commit to ${this.name} after ${attempt} attempts in ${Math.round(performance.now() - since)} ms: other writers keep winning; retry`));
        return;
      }
      if (this.catchingUp) await this.catchingUp;
      if (this.deleted) {
        for (const p of queue) {
          const done = this.committedResult(p.txId);
          if (done) p.resolve(done);
          else p.reject(this.deletedError());
        }
        return;
      }
      const base = this.current;
      let spec = base;
      const accepted: Array<{ p: Pending; r: TxReport; bytes: Uint8Array }> = [];
      let failed: Array<{ p: Pending; e: unknown }> = [];
      const duplicates: Pending[] = [];
      let size = 200 + Buffer.byteLength(this.dbId);
      let overflow: Pending[] = [];
      for (let i = 0; i < queue.length; i++) {
        const p = queue[i]!;
        if (this.committed.has(p.txId)) {
          duplicates.push(p);
          continue;
        }
        const recorded = this.refused.get(p.txId);
        if (recorded) {
          failed.push({ p, e: refusalError(recorded) });
          continue;
        }
        try {
          const r = transact(spec, p.txData, { maxDatoms: MAX_TX_DATOMS });
          const bytes = encodeTx(r);
          if (bytes.byteLength > MAX_TX_BYTES) {
            throw incorrect('db.error/transaction-too-large', `Transaction of ${bytes.byteLength} bytes exceeds the limit of ${MAX_TX_BYTES} bytes`, { bytes: bytes.byteLength, limit: MAX_TX_BYTES });
          }
          // An entry holds what fits in one item; a single big transaction goes alone (chunked).
          if (accepted.length > 0 && size + bytes.byteLength > MAX_ITEM_BYTES) {
            overflow = queue.slice(i);
            break;
          }
          accepted.push({ p, r, bytes });
          size += bytes.byteLength + 16 + Buffer.byteLength(p.txId);
          spec = r.dbAfter;
        } catch (e) {
          failed.push({ p, e });
        }
      }
      // Refusals of transactions in doubt are written to the log, in an empty transaction at
      // the end of this entry, before anyone is told (see RecordedRefusal).
      let sealed: RecordedRefusal[] = [];
      const toSeal = failed.filter((f) => f.p.inDoubt && isDatalithError(f.e) && !this.refused.has(f.p.txId));
      if (toSeal.length > 0) {
        const records = toSeal.map((f) => recordRefusal(f.p.txId, f.e as DatalithError));
        const r = transact(spec, []);
        const bytes = encodeTx(r, records);
        if (accepted.length > 0 && size + bytes.byteLength > MAX_ITEM_BYTES) {
          // No room in this entry: they are evaluated again for the next one.
          const later = new Set(toSeal.map((f) => f.p));
          failed = failed.filter((f) => !later.has(f.p));
          overflow = [...later, ...overflow];
        } else {
          accepted.push({ p: sealingTransaction(), r, bytes });
          spec = r.dbAfter;
          sealed = records;
        }
      }
      if (accepted.length === 0) {
        // Failures count only against the latest value: a node that has not seen the newest
        // entries (a new attribute, say) must catch up before it may refuse a transaction.
        if (failed.length > 0 && verifiedAt !== base.t) {
          await this.catchUpFresh();
          verifiedAt = this.current.t;
          continue;
        }
        for (const f of failed) f.p.reject(f.e);
        for (const p of duplicates) p.resolve(this.committedResult(p.txId)!);
        queue = overflow;
        attempt = -1;
        continue;
      }
      const first = base.t + 1;
      const entry: LogEntry = {
        db: this.dbId,
        t: first,
        last: first + accepted.length - 1,
        txs: accepted.map((a, i) => ({ t: first + i, txId: a.p.txId, payload: a.bytes })),
      };
      try {
        await this.log.appendEntry(entry);
      } catch (e) {
        if (isDatalithError(e) && e.category === 'conflict') {
          this.metrics.conflicts++;
          this.observer?.conflict();
          // Jittered, so two writers on one tail stop losing to each other in lockstep.
          await conflictBackoff(attempt);
          await this.catchUpFresh();
          continue; // re-evaluate everything against the new value
        }
        if (isDatalithError(e) && e.category === 'incorrect') {
          for (const p of queue) p.reject(e);
          return;
        }
        // Storage failed: the entry may or may not be written. Callers retry with the same
        // transaction id, which makes the retry safe either way.
        const err = isDatalithError(e) ? e : unavailable('storage/unavailable', `Storage is unavailable: ${(e as Error).message}`);
        for (const p of queue) p.reject(err);
        return;
      }
      // Durable: advance, then answer.
      if (this.current === base) {
        this.current = spec;
        for (const a of accepted) this.remember(a.p.txId, { t: a.r.dbAfter.t, tempids: a.r.tempids });
        for (const r of sealed) this.rememberRefusal(r);
        this.metrics.transactions += accepted.length;
        this.metrics.entries++;
        this.metrics.batchSizes += accepted.length;
        this.onAdvance?.(spec.t);
      } else {
        // A catch-up ran meanwhile and applied our own entry from the log.
        await this.catchUp();
      }
      for (const a of accepted) {
        a.p.resolve({ t: a.r.dbAfter.t, dbBefore: a.r.dbBefore, dbAfter: a.r.dbAfter, txData: a.r.txData, tempids: a.r.tempids, duplicate: false });
      }
      for (const f of failed) f.p.reject(f.e);
      for (const p of duplicates) p.resolve(this.committedResult(p.txId)!);
      queue = overflow;
      attempt = -1;
    }
  }
}

/** Waits a random time in [0, min(cap, base × 2^attempt)) ms (exponential backoff, full jitter). */
function conflictBackoff(attempt: number): Promise<void> {
  const ms = Math.random() * Math.min(CONFLICT_BACKOFF_CAP_MS, CONFLICT_BACKOFF_BASE_MS * 2 ** attempt);
  return new Promise((r) => setTimeout(r, ms));
}

/** The empty transaction that carries refusals into the log; nobody waits for it. */
function sealingTransaction(): Pending {
  return { txData: [], txId: `datalith/refusals/${randomUUID()}`, inDoubt: false, resolve: () => undefined, reject: () => undefined };
}

/** Adds to a map that keeps only the most recent `REMEMBERED_TX_IDS` keys. */
function bounded<V>(m: Map<string, V>, key: string, value: V): void {
  m.set(key, value);
  if (m.size > REMEMBERED_TX_IDS) {
    const oldest = m.keys().next().value;
    if (oldest !== undefined) m.delete(oldest);
  }
}
