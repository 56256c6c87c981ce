/**
 * The client contract (DESIGN.md, "Public contract"): one API for the remote client (HTTP to the
 * load balancer) and the in-process one. Everything that reads returns a Promise; filtering a
 * database value (asOf, since, history) is synchronous.
 */
export type IndexName = 'eavt' | 'aevt' | 'avet' | 'vaet';

/** A datom as it crosses the API: `a` is the attribute's ident (':person/age'). */
export interface Datom {
  readonly e: number;
  readonly a: string;
  readonly v: unknown;
  readonly tx: number;
  readonly added: boolean;
}

export interface TxReport {
  readonly dbBefore: Db;
  readonly dbAfter: Db;
  readonly txData: Datom[];
  /** Tempid string → entity id. */
  readonly tempids: Record<string, number>;
}

/**
 * Cancellation, as fetch and Node's own APIs take it: aborting `signal` rejects the call with
 * `interrupted` (`client/aborted`, the message naming the operation). Over HTTP it also stops
 * retries and backoff and aborts the request in flight, and the node cancels a query, pull,
 * `with` or `stats` it has not finished; a signal already aborted rejects before anything is
 * sent. In process, the signal is checked before the call starts (and before each page of an
 * iterator): an evaluation, which is synchronous, is not interrupted once it has begun.
 * A transaction aborted after it was sent may still commit (docs/sdk.md, "Cancellation").
 */
export interface AbortOptions {
  readonly signal?: AbortSignal;
}

export interface TransactOptions extends AbortOptions {
  /** Idempotency key: a retry with an id already committed returns the original result. */
  readonly txId?: string;
  /** Milliseconds before the call gives up (remote client). */
  readonly timeout?: number;
}

export interface QueryMap extends AbortOptions {
  readonly query: unknown;
  readonly args?: unknown[];
  /** Milliseconds; the query is abandoned shortly after with category 'interrupted'. */
  readonly timeout?: number;
  readonly offset?: number;
  readonly limit?: number;
}

/**
 * Datomic's arg-map of `datoms`: `db.datoms({ index, components?, offset?, limit? })`.
 *
 * Defaults: `offset` 0; `limit` -1, all of them — the same answer as the positional form
 * `db.datoms(index, ...components)`. (Datomic's client API defaults `:limit` to 1000; here an
 * absent limit never cuts an answer short. A remote answer above the node's row limit is
 * refused, `datoms/result-too-large`: page it with `offset`/`limit`, or walk it with `iterDatoms`.)
 */
export interface DatomsArgs extends AbortOptions {
  readonly index: IndexName;
  /** Leading components in the index's order (as the positional form's `...components`). */
  readonly components?: readonly unknown[];
  /** Datoms to leave out first; default 0. */
  readonly offset?: number;
  /** The most datoms to answer; default -1: all of them. */
  readonly limit?: number;
}

/**
 * Datomic's arg-map of `index-range`: `db.indexRange({ attr, start?, end?, offset?, limit? })`,
 * the AVET datoms of `attr` with start <= v < end. Defaults as DatomsArgs: offset 0, limit -1 (all).
 */
export interface IndexRangeArgs extends AbortOptions {
  readonly attr: string;
  readonly start?: unknown;
  readonly end?: unknown;
  readonly offset?: number;
  readonly limit?: number;
}

/**
 * `conn.txRange({ start?, end?, offset?, limit? })`: the transactions with start <= t < end;
 * `offset` and `limit` count transactions. Defaults: offset 0, limit -1 (all).
 */
export interface TxRangeArgs extends AbortOptions {
  readonly start?: TimePoint | null;
  readonly end?: TimePoint | null;
  readonly offset?: number;
  readonly limit?: number;
}

/** The iterators' page size. */
export interface ChunkArgs {
  /**
   * How many datoms (transactions, for `iterTxRange`) each request fetches; default 1000, as
   * Datomic's `:chunk`. Over HTTP a page the node refuses as too large is fetched again in halves.
   */
  readonly chunk?: number;
}

export interface TxRangeEntry {
  readonly t: number;
  readonly data: Datom[];
}

export interface DbStats {
  readonly datoms: number;
  readonly attrs: Record<string, { count: number }>;
  readonly t: number;
  /** The t the durable index covers (0: none yet, or an in-memory database). From a node only. */
  readonly indexedT?: number;
  /** Datoms logged after indexedT, held in memory by the node (docs/indexing.md). From a node only. */
  readonly tailDatoms?: number;
}

export type TimePoint = number | Date;

export interface Db {
  /** Basis t: the last transaction this value includes. */
  readonly t: number;
  readonly asOfT: number | null;
  readonly sinceT: number | null;
  readonly isHistory: boolean;
  readonly dbName: string;
  asOf(point: TimePoint): Db;
  since(point: TimePoint): Db;
  history(): Db;
  q(query: unknown | QueryMap, ...inputs: unknown[]): Promise<any>;
  pull(selector: unknown, eid: unknown, options?: AbortOptions): Promise<Record<string, unknown> | null>;
  pullMany(selector: unknown, eids: unknown[], options?: AbortOptions): Promise<Array<Record<string, unknown> | null>>;
  /** The datoms of an index whose leading components are `components`, in index order. */
  datoms(index: IndexName, ...components: unknown[]): Promise<Datom[]>;
  /** Datomic's arg-map form; `limit` defaults to -1 (all), see DatomsArgs. */
  datoms(args: DatomsArgs): Promise<Datom[]>;
  /** AVET datoms of `attr` with start <= v < end. */
  indexRange(attr: string, start?: unknown, end?: unknown): Promise<Datom[]>;
  /** Datomic's arg-map form; `limit` defaults to -1 (all), see IndexRangeArgs. */
  indexRange(args: IndexRangeArgs): Promise<Datom[]>;
  /**
   * Every datom of `datoms(args)`, fetched `chunk` at a time (default 1000), without the row
   * limit of one answer: `for await (const d of db.iterDatoms({ index: 'aevt', components: [':person/name'] }))`.
   * All pages read this value, so transactions meanwhile change nothing; each page resumes after
   * the last datom of the one before, so no page rescans the range. `offset` and `limit` apply to
   * the whole walk (default 0 and -1: everything). Invalid arguments reject the first `next()`;
   * an aborted `signal` rejects the `next()` that would fetch the next page (and a page in flight).
   */
  iterDatoms(args: DatomsArgs & ChunkArgs): AsyncIterableIterator<Datom>;
  /** Every datom of `indexRange(args)`, fetched `chunk` at a time; as iterDatoms. */
  iterIndexRange(args: IndexRangeArgs & ChunkArgs): AsyncIterableIterator<Datom>;
  with(txData: unknown, options?: AbortOptions): Promise<TxReport>;
  stats(options?: AbortOptions): Promise<DbStats>;
}

export interface Connection {
  readonly dbName: string;
  transact(txData: unknown, options?: TransactOptions): Promise<TxReport>;
  db(options?: AbortOptions): Promise<Db>;
  /** A value at least as recent as t (or as the latest committed transaction). */
  sync(t?: number, options?: AbortOptions): Promise<Db>;
  /** The log: transactions with start <= t < end; `offset`/`limit` count transactions (default 0 and -1: all). */
  txRange(range?: TxRangeArgs): Promise<TxRangeEntry[]>;
  /**
   * Every transaction of `txRange(range)`, fetched `chunk` transactions at a time (default 1000),
   * without the row limit of one answer. The walk reads the log as it was at its first page:
   * transactions committed meanwhile are not included. Invalid arguments reject the first `next()`.
   */
  iterTxRange(range?: TxRangeArgs & ChunkArgs): AsyncIterableIterator<TxRangeEntry>;
}

export interface Client {
  createDatabase(name: string): Promise<boolean>;
  deleteDatabase(name: string): Promise<boolean>;
  listDatabases(): Promise<string[]>;
  connect(name: string): Promise<Connection>;
  close(): Promise<void>;
}

export interface LocalClientOptions {
  readonly local: { readonly dir?: string };
}
export interface RemoteClientOptions {
  readonly endpoint: string;
  readonly accessKey?: string;
  /** Default per-call timeout in ms (retries of busy/unavailable happen within it). */
  readonly timeout?: number;
}
export type ClientOptions = LocalClientOptions | RemoteClientOptions;
