/**
 * A database value of the in-process client: an engine value plus the database name. The
 * node's HTTP API answers with the same engine functions, so local and remote results agree.
 *
 * A value of the durable local mode may live on index segments: every read runs through the
 * engine's `runLoading`, which fetches what a read misses and runs it again.
 *
 * Cancellation: a call checks its `signal` before it evaluates (an iterator, before each page)
 * and rejects as the remote client does (`client/aborted`). Evaluation is synchronous: once it
 * has begun, nothing can run to abort it, and it completes (a query's `timeout` bounds it).
 */
import { type Db as EngineDb, pullManySelector, pullSelector, q as engineQ, transact, incorrect, api, runLoading, SegmentMiss, isCollectingMisses } from '../engine';
import { abortable, throwIfAborted, throwIfOptionsAborted } from './abort';
import { datomsArgs, indexRangeArgs, iterDatomsArgs, iterIndexRangeArgs, iterTxRangeArgs, paged, txRangeArgs } from './paging';
import type { AbortOptions, ChunkArgs, Datom, Db, DatomsArgs, DbStats, IndexName, IndexRangeArgs, QueryMap, TimePoint, TxRangeEntry, TxReport } from './types';

export class LocalDb implements Db {
  private value: EngineDb | (() => EngineDb);

  /**
   * `engine` may be a function for a value not resolved yet: `asOf(date)` on segments may need
   * the log's segments to find its t, and is resolved by the first read (which loads them).
   */
  constructor(engine: EngineDb | (() => EngineDb), readonly dbName: string) {
    this.value = engine;
  }

  get engine(): EngineDb {
    if (typeof this.value !== 'function') return this.value;
    const v = this.value();
    // Resolved while misses are being collected, it may rest on empty stand-ins: not kept.
    if (!isCollectingMisses()) this.value = v;
    return v;
  }

  get t(): number {
    return this.engine.t;
  }
  get asOfT(): number | null {
    return this.engine.asOfT;
  }
  get sinceT(): number | null {
    return this.engine.sinceT;
  }
  get isHistory(): boolean {
    return this.engine.isHistory;
  }

  asOf(point: TimePoint): Db {
    return this.derived((db) => db.asOf(point));
  }
  since(point: TimePoint): Db {
    return this.derived((db) => db.since(point));
  }

  /** A filtered value; one that needs segments not loaded yet (a Date on a durable log) waits for its first read. */
  private derived(f: (db: EngineDb) => EngineDb): Db {
    try {
      return new LocalDb(f(this.engine), this.dbName);
    } catch (e) {
      if (!(e instanceof SegmentMiss)) throw e;
      return new LocalDb(() => f(this.engine), this.dbName);
    }
  }
  history(): Db {
    return new LocalDb(this.engine.history(), this.dbName);
  }

  async q(query: unknown, ...inputs: unknown[]): Promise<any> {
    return runLoading(() => runLocalQuery(query, inputs, this));
  }

  async pull(selector: unknown, eid: unknown, options?: AbortOptions): Promise<Record<string, unknown> | null> {
    throwIfOptionsAborted(options, 'pull');
    return runLoading(() => pullSelector(this.engine, selector, eid));
  }

  async pullMany(selector: unknown, eids: unknown[], options?: AbortOptions): Promise<Array<Record<string, unknown> | null>> {
    throwIfOptionsAborted(options, 'pullMany');
    if (!Array.isArray(eids)) throw incorrect('pull/invalid-eids', 'pullMany expects an array of entity identifiers');
    return runLoading(() => pullManySelector(this.engine, selector, eids));
  }

  datoms(index: IndexName, ...components: unknown[]): Promise<Datom[]>;
  datoms(args: DatomsArgs): Promise<Datom[]>;
  async datoms(index: IndexName | DatomsArgs, ...components: unknown[]): Promise<Datom[]> {
    const a = datomsArgs(index, components);
    throwIfAborted(a.signal, 'datoms');
    return runLoading(() => api.datoms(this.engine, a.index, a.components, Infinity, a.page));
  }

  indexRange(attr: string, start?: unknown, end?: unknown): Promise<Datom[]>;
  indexRange(args: IndexRangeArgs): Promise<Datom[]>;
  async indexRange(attr: string | IndexRangeArgs, start?: unknown, end?: unknown): Promise<Datom[]> {
    const a = indexRangeArgs(attr, start, end);
    throwIfAborted(a.signal, 'indexRange');
    return runLoading(() => api.indexRange(this.engine, a.attr, a.start, a.end, Infinity, a.page));
  }

  async *iterDatoms(args: DatomsArgs & ChunkArgs): AsyncGenerator<Datom, void, undefined> {
    const a = iterDatomsArgs(args);
    yield* paged<Datom>(a.walk, (offset, limit, after) => runLoading(() => api.datoms(this.engine, a.index, a.components, Infinity, { offset, limit, after })), a.signal, 'iterDatoms');
  }

  async *iterIndexRange(args: IndexRangeArgs & ChunkArgs): AsyncGenerator<Datom, void, undefined> {
    const a = iterIndexRangeArgs(args);
    yield* paged<Datom>(a.walk, (offset, limit, after) => runLoading(() => api.indexRange(this.engine, a.attr, a.start, a.end, Infinity, { offset, limit, after })), a.signal, 'iterIndexRange');
  }

  async with(txData: unknown, options?: AbortOptions): Promise<TxReport> {
    throwIfOptionsAborted(options, 'with');
    const r = await runLoading(() => transact(this.engine, txData));
    return localReport(r, this.dbName);
  }

  async stats(options?: AbortOptions): Promise<DbStats> {
    throwIfOptionsAborted(options, 'stats');
    return runLoading(() => this.engine.stats());
  }
}

export function localReport(r: ReturnType<typeof transact>, name: string): TxReport {
  return {
    dbBefore: new LocalDb(r.dbBefore, name),
    dbAfter: new LocalDb(r.dbAfter, name),
    txData: r.txData.map((d) => api.publicDatom(r.dbAfter, d)),
    tempids: r.tempids,
  };
}

function isQueryMap(x: unknown): x is QueryMap {
  return typeof x === 'object' && x !== null && !Array.isArray(x) && !(x instanceof Map) && 'query' in x;
}

/** Runs a query where sources are LocalDb values: `db.q` passes itself as the first source. */
export function runLocalQuery(query: unknown, inputs: unknown[], self?: LocalDb): unknown {
  let q = query;
  let args = inputs;
  let opts: { timeout?: number; offset?: number; limit?: number } = {};
  if (isQueryMap(query)) {
    q = query.query;
    args = query.args ?? inputs;
    opts = { timeout: query.timeout, offset: query.offset, limit: query.limit };
    throwIfOptionsAborted(query, 'q');
  }
  if (self !== undefined && !(args[0] instanceof LocalDb)) args = [self, ...args];
  const engineArgs = args.map((a) => (a instanceof LocalDb ? a.engine : a));
  return engineQ(q, engineArgs, opts);
}

/**
 * The log of an in-process database, `conn.txRange` and `conn.iterTxRange`: `current()` is the
 * connection's latest engine value. An iteration reads the value its first page found, so
 * transactions committed meanwhile are not part of it.
 */
export async function localTxRange(current: () => Promise<EngineDb>, range: unknown): Promise<TxRangeEntry[]> {
  const a = txRangeArgs(range);
  const db = await abortable(current(), a.signal, 'txRange');
  return runLoading(() => api.txRange(db, a.start as TimePoint | null | undefined, a.end as TimePoint | null | undefined, a.page));
}

export async function* localIterTxRange(current: () => Promise<EngineDb>, range: unknown): AsyncGenerator<TxRangeEntry, void, undefined> {
  const a = iterTxRangeArgs(range);
  let db: EngineDb | undefined;
  yield* paged<TxRangeEntry>(a.walk, async (offset, limit, last) => {
    db ??= await abortable(current(), a.signal, 'iterTxRange');
    const start = last === undefined ? a.start as TimePoint | null | undefined : last.t + 1;
    const value = db;
    return runLoading(() => api.txRange(value, start, a.end as TimePoint | null | undefined, { offset, limit }));
  }, a.signal, 'iterTxRange');
}
