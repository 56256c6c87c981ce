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

export interface TransactOptions {
  /** Idempotency key: a retry with an id already committed returns the original result. */
  readonly txId?: string;
  /** Milliseconds before the call gives up (remote client). */
  readonly timeout?: number;
}

export interface QueryMap {
  readonly query: unknown;
  readonly args?: unknown[];
  /** Milliseconds; the query is abandoned shortly after with category 'interrupted'. */
  readonly timeout?: number;
  readonly offset?: number;
  readonly limit?: number;
}

export interface TxRangeEntry {
  readonly t: number;
  readonly data: Datom[];
}

export interface DbStats {
  readonly datoms: number;
  readonly attrs: Record<string, { count: number }>;
  readonly t: number;
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
  pull(selector: unknown, eid: unknown): Promise<Record<string, unknown> | null>;
  pullMany(selector: unknown, eids: unknown[]): Promise<Array<Record<string, unknown> | null>>;
  datoms(index: IndexName, ...components: unknown[]): Promise<Datom[]>;
  /** AVET datoms of `attr` with start <= v < end. */
  indexRange(attr: string, start?: unknown, end?: unknown): Promise<Datom[]>;
  with(txData: unknown): Promise<TxReport>;
  stats(): Promise<DbStats>;
}

export interface Connection {
  readonly dbName: string;
  transact(txData: unknown, options?: TransactOptions): Promise<TxReport>;
  db(): Promise<Db>;
  /** A value at least as recent as t (or as the latest committed transaction). */
  sync(t?: number): Promise<Db>;
  txRange(range?: { start?: TimePoint | null; end?: TimePoint | null }): Promise<TxRangeEntry[]>;
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
