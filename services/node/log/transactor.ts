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
import {
  Datom, Db, emptyDb, busy, DatalithError, incorrect, isDatalithError, notFound, unavailable, findTxId, transact, transactSteps,
  type TxReport, Replay, checkClientTxId, RESERVED_TX_ID_PREFIX, SYS, SegmentMiss, collectMisses, missingForApply, restoreState, type DbState,
} from '../../engine';
import { evaluate, withSegments, type DatabaseSegments } from '../indexing/segment-cache';
import type { DurableRootSource } from '../indexing/durable';
import { runInSlices } from '../event-loop';
import { entryBaseBytes, entryTxBytes, MAX_ITEM_BYTES, MAX_TX_BYTES, type LogEntry, type LogStore } from './log-store';
import type { TransactorObserver } from '../metrics';
import { closesLog, decodeTx, encodeTx, encodeTxSized, recordRefusal, refusalError, type RecordedRefusal } from './payload';

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
/** Anomaly code of an operation on a host whose log was closed by a deletion. */
export const DELETED_CODE = 'db.error/db-deleted';
/**
 * Outcomes of recent transaction ids kept in memory (a cache: the log and the `:db/txId` and
 * `:db/refusedTxId` index entries remember every id for the life of the database).
 */
const CACHED_OUTCOMES = 50_000;

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

/** What became of a transaction id, as the log records it. */
type Outcome =
  | { readonly kind: 'committed'; readonly t: number; readonly tempids: Record<string, number> }
  | { readonly kind: 'refused'; readonly refusal: RecordedRefusal };

/**
 * One transaction id in a batch: its first copy is evaluated, later copies (followers) get the
 * same answer. Copies of one id travel together, so they can never land in different entries.
 */
interface Slot {
  readonly leader: Pending;
  readonly followers: Pending[];
}

/** How a host keeps its value on durable index segments (absent: wholly in memory, replayed from the log). */
export interface HostDurability {
  readonly segments: DatabaseSegments;
  readonly roots: DurableRootSource;
  /** Tail datoms above which transactions are refused with `busy` until indexing catches up; 0: never. */
  readonly tailMaxDatoms: number;
  /** Called when the tail grows (after commits here and catch-ups): may start indexing. */
  onTail?(host: DatabaseHost, committedHere: boolean): void;
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
  /** Recent outcomes by transaction id (see CACHED_OUTCOMES). */
  private readonly outcomes = new Map<string, Outcome>();
  /** The log ends with a deletion entry: the database is gone. */
  private deleted = false;
  readonly metrics: TransactorMetrics = { transactions: 0, entries: 0, conflicts: 0, batchSizes: 0 };
  /** Called after the value moved onto a newer durable root (the root's t). */
  onRebase: ((t: number) => void) | null = null;
  /** Called after the value advances (a commit here or entries read from the log). */
  onAdvance: ((t: number) => void) | null = null;
  /** Receives commits, conflicts and catch-ups (the node's metrics). */
  observer: TransactorObserver | null = null;

  private readonly cachedOutcomes: number;
  readonly durability: HostDurability | null;
  /** The t the durable index covers (0: none yet), and the datoms logged after it. */
  private indexed = 0;
  private tail = 0;

  constructor(
    readonly name: string,
    readonly dbId: string,
    private readonly log: LogStore,
    opts: { cachedOutcomes?: number; durability?: HostDurability } = {},
  ) {
    this.cachedOutcomes = opts.cachedOutcomes ?? CACHED_OUTCOMES;
    this.durability = opts.durability ?? null;
  }

  /** The t the durable index covers (0 before the first indexing, or without durability). */
  get indexedT(): number {
    return this.indexed;
  }

  /** Datoms in the log after indexedT: what this node holds in memory beyond the durable index. */
  get tailDatoms(): number {
    return this.tail;
  }

  /**
   * Starts the value from the database's durable root, when it has one: the trees stay in
   * storage, their root segments are fetched, and the log is read from the root's t on.
   */
  async open(): Promise<void> {
    const d = this.durability;
    if (d === null || this.current.t > 0) return;
    const root = await d.roots.get(this.dbId);
    if (root === undefined) return;
    let state: DbState;
    try {
      await d.segments.fetch(root.addrs);
      // Every segment a pass misses at once (the current and history schema chains together).
      state = await evaluate(() => restoreState(root.root, d.segments));
    } catch (e) {
      // A root whose segments are not in this segment store (tables restored or moved without
      // their bucket): the log is whole, so the value is replayed from it, as without segments.
      if (isDatalithError(e) && e.code === 'segment/missing') return;
      throw e;
    }
    if (this.current.t === 0) {
      this.current = new Db(state);
      this.indexed = root.root.t;
      this.tail = 0;
    }
  }

  /**
   * Moves the value onto a newer durable root (after an indexing here or elsewhere): the root's
   * trees plus the transactions after it, replayed from the in-memory log, so what the tail
   * held in memory is released. Nothing changes for readers: the value answers the same.
   */
  async rebase(root: { t: number; state: () => DbState }): Promise<boolean> {
    const d = this.durability;
    if (d === null || root.t <= this.indexed || root.t > this.current.t) return false;
    let state = await evaluate(root.state);
    let tail = 0;
    for (;;) {
      if (this.deleted) return false;
      const from = this.current;
      if (from.t === state.t) {
        // Synchronously after the check: nothing can advance the value in between.
        this.current = new Db(state);
        this.indexed = root.t;
        this.tail = tail;
        this.onRebase?.(root.t);
        return true;
      }
      const after = state.t;
      const entries = await evaluate(() => from.txRange(after + 1, from.t + 1));
      for (const e of entries) {
        state = await this.applyLoaded(state, [e.data], [e.instant]);
        tail += e.data.length;
        await new Promise<void>((r) => setImmediate(r));
      }
    }
  }

  /**
   * Applies transactions to a state, fetching first the segments they will touch (all of a
   * level at once), then again for what the apply still meets.
   */
  private async applyLoaded(state: DbState, datoms: readonly (readonly Datom[])[], instants: readonly number[]): Promise<DbState> {
    const segs = this.durability?.segments;
    for (;;) {
      if (segs !== undefined) await this.prefetch(state, datoms.flat());
      try {
        const replay = new Replay(state);
        try {
          for (let i = 0; i < datoms.length; i++) replay.apply(datoms[i]!, instants[i]!);
        } finally {
          replay.close();
        }
        return replay.state;
      } catch (e) {
        if (!(e instanceof SegmentMiss) || segs === undefined) throw e;
        await segs.fetch(e.addrs);
      }
    }
  }

  /** Fetches, level by level, the segments applying `datoms` to `state` will touch. */
  private async prefetch(state: DbState, datoms: readonly Datom[]): Promise<void> {
    const segs = this.durability?.segments;
    // Nothing to apply (an empty page: the log has nothing after the root) touches nothing.
    if (segs === undefined || datoms.length === 0) return;
    for (let round = 0; round < 16; round++) {
      const missing = new Set<string>();
      try {
        missingForApply(state, datoms, missing);
      } catch (e) {
        if (!(e instanceof SegmentMiss)) throw e;
        for (const a of e.addrs) missing.add(a);
      }
      if (missing.size === 0) return;
      await segs.fetch([...missing]);
    }
  }

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
        await this.log.appendEntry({ db: this.dbId, t, last: t, txs: [{ t, txId: `${RESERVED_TX_ID_PREFIX}log-closed`, payload: new Uint8Array(0), control: 'closed' }] });
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
          // On durable segments: the paths the whole page touches, fetched together.
          if (this.durability !== null && this.current.state.current.eavt.store !== null) await this.prefetch(this.current.state, this.pageDatoms(entries));
          for (const entry of entries) {
            // Replaying a long log (a node loading a database) lets other requests through
            // between entries instead of holding the event loop for the whole replay.
            if (!first) await new Promise<void>((r) => setImmediate(r));
            first = false;
            await this.applyEntryLoaded(entry);
          }
        }
        this.durability?.onTail?.(this, false);
        return this.current;
      } finally {
        this.catchingUp = null;
      }
    })();
    return this.catchingUp;
  }

  /** The datoms of the transactions in `entries` after the current value. */
  private pageDatoms(entries: readonly LogEntry[]): Datom[] {
    const datoms: Datom[] = [];
    for (const entry of entries) {
      for (const tx of entry.txs) if (tx.t > this.current.t && !closesLog(tx)) for (const d of decodeTx(tx.t, tx.payload).datoms) datoms.push(d);
    }
    return datoms;
  }

  /** applyEntry, with the segments it touches fetched first (and again for what it still misses). */
  private async applyEntryLoaded(entry: LogEntry): Promise<void> {
    const segs = this.durability?.segments;
    if (segs === undefined || this.current.state.current.eavt.store === null) {
      this.applyEntry(entry);
      return;
    }
    const datoms = this.pageDatoms([entry]);
    for (;;) {
      await this.prefetch(this.current.state, datoms);
      try {
        this.applyEntry(entry);
        return;
      } catch (e) {
        if (!(e instanceof SegmentMiss)) throw e;
        await segs.fetch(e.addrs);
      }
    }
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
    // One replay for the whole entry: its transactions update the nodes they created in place.
    const replay = new Replay(this.current.state);
    let tailAdded = 0;
    try {
      for (const tx of entry.txs) {
        if (tx.t <= replay.state.t) continue;
        if (closesLog(tx)) {
          this.deleted = true;
          break;
        }
        if (tx.t !== replay.state.t + 1) {
          throw new DatalithError('fault', `Log of database ${this.name} has a gap: expected t ${replay.state.t + 1}, found ${tx.t}`, 'log/gap');
        }
        const decoded = decodeTx(tx.t, tx.payload);
        replay.apply(decoded.datoms, decoded.instant);
        tailAdded += decoded.datoms.length;
        // The index answers for transactions that carry their ids; only those logged before
        // `:db/txId` existed are remembered here. The first commit of an id is its outcome
        // (such logs may hold an id twice).
        if (decoded.datoms.some((d) => d.a === SYS.txId || d.a === SYS.refusedTxId)) continue;
        if (!this.outcomes.has(tx.txId)) this.remember(tx.txId, { kind: 'committed', t: tx.t, tempids: decoded.tempids });
        for (const r of decoded.refused) this.remember(r.txId, { kind: 'refused', refusal: r });
      }
    } finally {
      replay.close();
    }
    const state = replay.state;
    if (state !== this.current.state) {
      this.observer?.caughtUp(state.t - this.current.t);
      this.tail += tailAdded;
      this.current = new Db(state);
      this.onAdvance?.(state.t);
    }
  }

  /** Caches an outcome; the cache keeps the most recent ids (CACHED_OUTCOMES by default). */
  private remember(txId: string, o: Outcome): void {
    this.outcomes.delete(txId);
    this.outcomes.set(txId, o);
    if (this.outcomes.size > this.cachedOutcomes) {
      const oldest = this.outcomes.keys().next().value;
      if (oldest !== undefined) this.outcomes.delete(oldest);
    }
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

  /**
   * isKnown, synchronously when the id's index entry is loaded (every batch slot asks: no extra
   * turn of the event loop on the commit path), through the segment fetches otherwise.
   */
  private knownAt(txId: string, db: Db): boolean | Promise<boolean> {
    try {
      return this.isKnown(txId, db);
    } catch (e) {
      if (!(e instanceof SegmentMiss)) throw e;
      return withSegments(() => this.isKnown(txId, db));
    }
  }

  /** Whether `db` (or the cache) knows what became of `txId`. */
  private isKnown(txId: string, db: Db): boolean {
    return this.outcomes.has(txId) || findTxId(db, txId) !== undefined;
  }

  /**
   * What the log says became of `txId` at or before the current value: from the cache, else
   * from the index (`:db/txId`, `:db/refusedTxId`) and the log transaction it names.
   */
  async outcomeOf(txId: string): Promise<Outcome | undefined> {
    const cached = this.outcomes.get(txId);
    if (cached) return cached;
    const db = this.current;
    const found = await withSegments(() => findTxId(db, txId));
    if (found === undefined) return undefined;
    const tx = await this.log.readTx(this.dbId, found.t);
    if (tx === undefined) throw new DatalithError('fault', `Log of database ${this.name} has no transaction at t ${found.t}, which the index names for ${txId}`, 'log/missing-tx');
    const decoded = decodeTx(found.t, tx.payload);
    let o: Outcome;
    if (found.refused) {
      const refusal = decoded.refused.find((r) => r.txId === txId)
        ?? { txId, category: 'conflict', code: 'db.error/refused', message: `Transaction ${txId} was refused` };
      o = { kind: 'refused', refusal };
    } else {
      o = { kind: 'committed', t: found.t, tempids: decoded.tempids };
    }
    this.remember(txId, o);
    return o;
  }

  /** The answer every caller of a known transaction id gets: the original result, or its refusal. */
  private async answerKnown(txId: string): Promise<TransactResult> {
    const o = await this.outcomeOf(txId);
    if (o === undefined) throw new DatalithError('fault', `Transaction id ${txId} is not in the log of ${this.name}`, 'log/missing-tx');
    if (o.kind === 'refused') throw refusalError(o.refusal);
    return withSegments(() => this.resultAt(o.t, o.tempids));
  }

  private resultAt(t: number, tempids: Record<string, number>): TransactResult {
    const db = this.current;
    const entry = db.state.log.get({ t, tx: 0, instant: 0, data: [] });
    return { t, dbBefore: db.asOf(t - 1), dbAfter: db.asOf(t), txData: entry?.data ?? [], tempids, duplicate: true };
  }

  /**
   * Commits a transaction; `inDoubt` when its client does not know whether an earlier attempt
   * with this id committed, or when other copies of the id may be in flight (a client-chosen
   * id): then a refusal is written to the log before it is answered.
   */
  transact(txData: unknown, txId: string = randomUUID(), opts: { inDoubt?: boolean } = {}): Promise<TransactResult> {
    try {
      checkClientTxId(txId);
    } catch (e) {
      return Promise.reject(e);
    }
    let known: boolean | Promise<boolean>;
    try {
      known = this.knownAt(txId, this.current);
    } catch (e) {
      return Promise.reject(e);
    }
    // The id's index entry was in a segment not loaded yet: now it is; go on.
    if (typeof known !== 'boolean') return known.then(() => this.transact(txData, txId, opts));
    if (known) return this.answerKnown(txId);
    if (this.deleted) return Promise.reject(this.deletedError());
    const max = this.durability?.tailMaxDatoms ?? 0;
    if (max > 0 && this.tail > max) {
      this.durability?.onTail?.(this, true);
      return Promise.reject(busy('db.error/indexing-behind', `Database ${this.name} has ${this.tail} datoms not yet indexed (the limit is ${max}): indexing is behind; retry later`, { tailDatoms: this.tail, limit: max }));
    }
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

  /** Answers every copy of a known id with what the log recorded for it. */
  private answerSlotKnown(slot: Slot): void {
    const answer = this.answerKnown(slot.leader.txId);
    for (const p of [slot.leader, ...slot.followers]) answer.then(p.resolve, p.reject);
  }

  /**
   * Commits a batch: evaluate it against the latest value into one entry (`planEntry`), seal the
   * refusals that must be recorded (`sealRefusals`), append with the conditional write, then
   * advance and answer (`advance`, `answer`). A lost race backs off, catches up and evaluates
   * the batch again; what did not fit in the entry goes round again.
   */
  private async commitBatch(batch: Pending[]): Promise<void> {
    let queue = slotsOf(batch);
    let verifiedAt = -1;
    let since = 0;
    for (let attempt = 0; queue.length > 0; attempt++) {
      if (attempt === 0) since = performance.now();
      if (attempt >= MAX_APPEND_ATTEMPTS && performance.now() - since >= APPEND_BUDGET_MS) {
        rejectSlots(queue, busy('db.error/append-contention', `Could not commit to ${this.name} after ${attempt} attempts in ${Math.round(performance.now() - since)} ms: other writers keep winning; retry`));
        return;
      }
      if (this.catchingUp) await this.catchingUp;
      const base = this.current;
      if (this.deleted) {
        for (const s of queue) {
          if (this.isKnown(s.leader.txId, base)) this.answerSlotKnown(s);
          else rejectSlots([s], this.deletedError());
        }
        return;
      }
      const plan = await this.planEntry(queue, base);
      await this.sealRefusals(plan);
      if (plan.accepted.length === 0) {
        // Failures count only against the latest value: a node that has not seen the newest
        // entries (a new attribute, say) must catch up before it may refuse a transaction.
        if (plan.failed.length > 0 && verifiedAt !== base.t) {
          await this.catchUpFresh();
          verifiedAt = this.current.t;
          continue;
        }
      } else {
        const appended = await this.append(plan, base);
        if (appended === 'conflict') {
          // Jittered, so two writers on one tail stop losing to each other in lockstep.
          await conflictBackoff(attempt);
          await this.catchUpFresh();
          continue; // re-evaluate everything against the new value
        }
        if (appended !== 'written') {
          rejectSlots(queue, appended);
          return;
        }
        await this.advance(plan, base);
      }
      this.answer(plan);
      queue = plan.overflow;
      attempt = -1;
    }
  }

  /** Evaluates slots in order against `base` while they fit in one log entry. */
  private async planEntry(queue: readonly Slot[], base: Db): Promise<EntryPlan> {
    const plan: EntryPlan = { spec: base, accepted: [], failed: [], known: [], sealed: [], overflow: [], size: entryBaseBytes(this.dbId) };
    for (let i = 0; i < queue.length; i++) {
      const s = queue[i]!;
      // Committed or refused before this batch's base: every copy gets that answer.
      if (await this.knownAt(s.leader.txId, base)) {
        plan.known.push(s);
        continue;
      }
      try {
        // In slices: a large transaction must not hold the event loop (docs/limits.md).
        const r = await runInSlices(transactSteps(plan.spec, s.leader.txData, { maxDatoms: MAX_TX_DATOMS, txId: s.leader.txId }));
        const { bytes, bodyBytes } = encodeTxSized(r);
        if (bodyBytes > MAX_TX_BYTES) {
          throw incorrect('db.error/transaction-too-large', `Transaction of ${bodyBytes} bytes exceeds the limit of ${MAX_TX_BYTES} bytes`, { bytes: bodyBytes, limit: MAX_TX_BYTES });
        }
        // An entry holds what fits in one item; a single big transaction goes alone (chunked).
        if (plan.accepted.length > 0 && plan.size + entryTxBytes(s.leader.txId, bytes.byteLength) > MAX_ITEM_BYTES) {
          plan.overflow = queue.slice(i);
          break;
        }
        plan.accepted.push({ s, r, bytes });
        plan.size += entryTxBytes(s.leader.txId, bytes.byteLength);
        plan.spec = r.dbAfter;
      } catch (e) {
        if (e instanceof SegmentMiss && this.durability !== null) {
          // The evaluation needs segments not loaded: fetch every one a pass of it would miss
          // (its lookups all at once), and evaluate it again.
          const spec = plan.spec;
          const all = collectMisses(() => transact(spec, s.leader.txData, { maxDatoms: MAX_TX_DATOMS, txId: s.leader.txId }));
          await this.durability.segments.fetch([...e.addrs, ...(all.get(e.store) ?? [])]);
          i--;
          continue;
        }
        plan.failed.push({ s, e });
      }
    }
    return plan;
  }

  /**
   * Refusals of transactions in doubt (or with copies in flight) go into the log, in an empty
   * transaction at the end of the entry, before anyone is told (RecordedRefusal, ADR 008/011).
   */
  private async sealRefusals(plan: EntryPlan): Promise<void> {
    const toSeal = plan.failed.filter((f) => isDatalithError(f.e) && slotInDoubt(f.s));
    if (toSeal.length === 0) return;
    const records = toSeal.map((f) => recordRefusal(f.s.leader.txId, f.e as DatalithError));
    const spec = plan.spec;
    const r = await withSegments(() => transact(spec, [], { refusedTxIds: records.map((x) => x.txId) }));
    const bytes = encodeTx(r, records);
    const seal = sealingSlot();
    if (plan.accepted.length > 0 && plan.size + entryTxBytes(seal.leader.txId, bytes.byteLength) > MAX_ITEM_BYTES) {
      // No room in this entry: they are evaluated again for the next one.
      const later = new Set(toSeal.map((f) => f.s));
      plan.failed = plan.failed.filter((f) => !later.has(f.s));
      plan.overflow = [...later, ...plan.overflow];
      return;
    }
    plan.accepted.push({ s: seal, r, bytes });
    plan.spec = r.dbAfter;
    plan.sealed = records;
  }

  /** The conditional append of the planned entry: written, lost to another writer, or an error for every caller. */
  private async append(plan: EntryPlan, base: Db): Promise<'written' | 'conflict' | DatalithError> {
    const first = base.t + 1;
    const entry: LogEntry = {
      db: this.dbId,
      t: first,
      last: first + plan.accepted.length - 1,
      txs: plan.accepted.map((a, i) => ({ t: first + i, txId: a.s.leader.txId, payload: a.bytes })),
    };
    try {
      await this.log.appendEntry(entry);
      return 'written';
    } catch (e) {
      if (isDatalithError(e) && e.category === 'conflict') {
        this.metrics.conflicts++;
        this.observer?.conflict();
        return 'conflict';
      }
      // Storage failed: the entry may or may not be written. Callers retry with the same
      // transaction id, which makes the retry safe either way.
      return isDatalithError(e) ? e : unavailable('storage/unavailable', `Storage is unavailable: ${(e as Error).message}`);
    }
  }

  /** The entry is durable: the value moves to it, and the outcomes are remembered. */
  private async advance(plan: EntryPlan, base: Db): Promise<void> {
    if (this.current !== base) {
      // A catch-up ran meanwhile and applied our own entry from the log.
      await this.catchUp();
      return;
    }
    this.current = plan.spec;
    for (const a of plan.accepted) this.tail += a.r.txData.length;
    for (const a of plan.accepted) this.remember(a.s.leader.txId, { kind: 'committed', t: a.r.dbAfter.t, tempids: a.r.tempids });
    for (const r of plan.sealed) this.remember(r.txId, { kind: 'refused', refusal: r });
    this.metrics.transactions += plan.accepted.length;
    this.metrics.entries++;
    this.metrics.batchSizes += plan.accepted.length;
    this.onAdvance?.(plan.spec.t);
    this.durability?.onTail?.(this, true);
  }

  /** Answers every copy in the plan: commits, refusals (saying whether recorded), known ids. */
  private answer(plan: EntryPlan): void {
    for (const a of plan.accepted) {
      const result: TransactResult = { t: a.r.dbAfter.t, dbBefore: a.r.dbBefore, dbAfter: a.r.dbAfter, txData: a.r.txData, tempids: a.r.tempids, duplicate: false };
      a.s.leader.resolve(result);
      for (const p of a.s.followers) p.resolve({ ...result, duplicate: true });
    }
    // A refusal now in the log says so, to its first callers as to every later one.
    const sealedIds = new Set(plan.sealed.map((r) => r.txId));
    for (const f of plan.failed) {
      const err = sealedIds.has(f.s.leader.txId) && isDatalithError(f.e)
        ? new DatalithError(f.e.category, f.e.message, f.e.code, { ...f.e.data, txId: f.s.leader.txId, recorded: true })
        : f.e;
      rejectSlots([f.s], err);
    }
    for (const s of plan.known) this.answerSlotKnown(s);
  }
}

/** One attempt at a log entry: what was evaluated into it, what failed, what waits for the next. */
interface EntryPlan {
  /** The value after the accepted transactions. */
  spec: Db;
  accepted: Array<{ s: Slot; r: TxReport; bytes: Uint8Array }>;
  failed: Array<{ s: Slot; e: unknown }>;
  /** Ids the log already answers. */
  known: Slot[];
  /** Refusals this entry records. */
  sealed: RecordedRefusal[];
  /** Slots that did not fit: the next entry's. */
  overflow: Slot[];
  /** The entry's size so far (entryBaseBytes + entryTxBytes). */
  size: number;
}

function rejectSlots(slots: readonly Slot[], err: unknown): void {
  for (const s of slots) for (const p of [s.leader, ...s.followers]) p.reject(err);
}

/** Groups a batch by transaction id, in arrival order of each id's first copy. */
function slotsOf(batch: readonly Pending[]): Slot[] {
  const byId = new Map<string, Slot>();
  for (const p of batch) {
    const s = byId.get(p.txId);
    if (s) s.followers.push(p);
    else byId.set(p.txId, { leader: p, followers: [] });
  }
  return [...byId.values()];
}

/** Waits a random time in [0, min(cap, base × 2^attempt)) ms (exponential backoff, full jitter). */
function conflictBackoff(attempt: number): Promise<void> {
  const ms = Math.random() * Math.min(CONFLICT_BACKOFF_CAP_MS, CONFLICT_BACKOFF_BASE_MS * 2 ** attempt);
  return new Promise((r) => setTimeout(r, ms));
}

/** A slot's refusal must be recorded when any copy is in doubt, or when there are copies at all. */
function slotInDoubt(s: Slot): boolean {
  return s.leader.inDoubt || s.followers.length > 0;
}

/** The empty transaction that carries refusals into the log; nobody waits for it. */
function sealingSlot(): Slot {
  return { leader: { txData: [], txId: `${RESERVED_TX_ID_PREFIX}refusals/${randomUUID()}`, inDoubt: false, resolve: () => undefined, reject: () => undefined }, followers: [] };
}
