/**
 * A database value of the remote client: a descriptor the node turns back into an engine value
 * (services/node/reads/db-values.ts) — the database name, its basis t, the time filters and the
 * speculative transactions of `with`. Filtering is synchronous and local; everything that reads
 * is one request carrying the descriptor, so a value keeps meaning the same snapshot however
 * far the database has moved on.
 */
import { TX0, txToT, describeValue, incorrect, unsupported, toWire } from '../engine';
import { signalOf } from './abort';
import type { CallOptions, HttpTransport } from './remote-http';
import { datomsArgs, indexRangeArgs, iterDatomsArgs, iterIndexRangeArgs, paged, type PageFields } from './paging';
import type { AbortOptions, ChunkArgs, Datom, DatomsArgs, Db, DbStats, IndexName, IndexRangeArgs, QueryMap, TimePoint, TxReport } from './types';

/** A speculative transaction as the node replays it: wire-encoded data and its instant. */
export interface SpeculativeTx {
  readonly txData: unknown;
  readonly instant: number;
}

export interface RemoteDbSpec {
  /** The committed t the value is based on (the node catches up to it before answering). */
  readonly basisT: number;
  readonly asOf: readonly TimePoint[];
  readonly since: readonly TimePoint[];
  readonly history: boolean;
  readonly with: readonly SpeculativeTx[];
}

export const basisSpec = (t: number): RemoteDbSpec => ({ basisT: t, asOf: [], since: [], history: false, with: [] });

/** Where a remote value's requests go: the client's transport and its view of each database. */
export interface RemoteSession {
  readonly transport: HttpTransport;
  /** Records a t seen for a database (read-your-writes). */
  observe(dbName: string, t: number): void;
}

export const dbPath = (name: string, op?: string): string =>
  `/v1/databases/${encodeURIComponent(name)}${op === undefined ? '' : `/${op}`}`;

/** Validates a time point as the engine does, so a bad one fails at the same call. */
function checkTimePoint(point: unknown, what: string): TimePoint {
  if (point instanceof Date) {
    if (Number.isNaN(point.getTime())) throw incorrect('db.error/invalid-time-point', `${what}: invalid Date`);
    return point;
  }
  const n = typeof point === 'bigint' ? Number(point) : point;
  if (typeof n !== 'number' || !Number.isInteger(n) || n < 0) {
    throw incorrect('db.error/invalid-time-point', `${what} expects a t, a transaction id or a Date, got ${describeValue(point)}`);
  }
  return n >= TX0 ? txToT(n) : n;
}

/** Adds a point, keeping one number (the tightest bound) plus any Dates. */
function addPoint(points: readonly TimePoint[], p: TimePoint, tighter: (a: number, b: number) => number): TimePoint[] {
  if (p instanceof Date) return [...points, p];
  const n = points.find((x): x is number => typeof x === 'number');
  const dates = points.filter((x): x is Date => x instanceof Date);
  return [n === undefined ? p : tighter(n, p), ...dates];
}

function wirePoints(points: readonly TimePoint[]): unknown {
  if (points.length === 0) return undefined;
  return points.length === 1 ? toWire(points[0]) : points.map(toWire);
}

export function isQueryMap(x: unknown): x is QueryMap {
  return typeof x === 'object' && x !== null && !Array.isArray(x) && !(x instanceof Map) && 'query' in x;
}

export class RemoteDb implements Db {
  constructor(
    readonly session: RemoteSession,
    readonly dbName: string,
    /** Basis t: the last transaction this value includes (speculative ones too). */
    readonly t: number,
    readonly spec: RemoteDbSpec,
  ) {}

  /**
   * The asOf point as a t. A Date is resolved by the node when the value is read, so a value
   * filtered by a Date alone reports null here.
   */
  get asOfT(): number | null {
    const n = this.spec.asOf.find((x): x is number => typeof x === 'number');
    return n ?? null;
  }
  get sinceT(): number | null {
    const n = this.spec.since.find((x): x is number => typeof x === 'number');
    return n ?? null;
  }
  get isHistory(): boolean {
    return this.spec.history;
  }

  asOf(point: TimePoint): Db {
    const p = checkTimePoint(point, 'asOf');
    return new RemoteDb(this.session, this.dbName, this.t, { ...this.spec, asOf: addPoint(this.spec.asOf, p, Math.min) });
  }
  since(point: TimePoint): Db {
    const p = checkTimePoint(point, 'since');
    return new RemoteDb(this.session, this.dbName, this.t, { ...this.spec, since: addPoint(this.spec.since, p, Math.max) });
  }
  history(): Db {
    return new RemoteDb(this.session, this.dbName, this.t, { ...this.spec, history: true });
  }

  /** The descriptor fields the node reads (docs/http-api.md, "Database values"). */
  descriptor(): Record<string, unknown> {
    const s = this.spec;
    const out: Record<string, unknown> = { basisT: s.basisT };
    const asOf = wirePoints(s.asOf);
    if (asOf !== undefined) out.asOf = asOf;
    const since = wirePoints(s.since);
    if (since !== undefined) out.since = since;
    if (s.history) out.history = true;
    if (s.with.length > 0) out.with = s.with;
    return out;
  }

  private call(op: string, fields: Record<string, unknown>, opts: CallOptions = {}): Promise<any> {
    return this.session.transport.call('POST', dbPath(this.dbName, op), { ...this.descriptor(), ...fields }, opts);
  }

  async q(query: unknown, ...inputs: unknown[]): Promise<any> {
    return runRemoteQuery(query, inputs, this);
  }

  async pull(selector: unknown, eid: unknown, options?: AbortOptions): Promise<Record<string, unknown> | null> {
    const signal = signalOf(options, 'pull');
    return (await this.call('pull', { selector: toWire(selector), eid: toWire(eid) }, { signal })).result;
  }

  async pullMany(selector: unknown, eids: unknown[], options?: AbortOptions): Promise<Array<Record<string, unknown> | null>> {
    const signal = signalOf(options, 'pullMany');
    if (!Array.isArray(eids)) throw incorrect('pull/invalid-eids', 'pullMany expects an array of entity identifiers');
    return (await this.call('pull-many', { selector: toWire(selector), eids: toWire(eids) }, { signal, operation: 'pullMany' })).result;
  }

  datoms(index: IndexName, ...components: unknown[]): Promise<Datom[]>;
  datoms(args: DatomsArgs): Promise<Datom[]>;
  async datoms(index: IndexName | DatomsArgs, ...components: unknown[]): Promise<Datom[]> {
    const a = datomsArgs(index, components);
    return this.datomsPage(a.index, a.components, a.page, { signal: a.signal });
  }

  indexRange(attr: string, start?: unknown, end?: unknown): Promise<Datom[]>;
  indexRange(args: IndexRangeArgs): Promise<Datom[]>;
  async indexRange(attr: string | IndexRangeArgs, start?: unknown, end?: unknown): Promise<Datom[]> {
    const a = indexRangeArgs(attr, start, end);
    return this.indexRangePage(a.attr, a.start, a.end, a.page, { signal: a.signal, operation: 'indexRange' });
  }

  /** Every page reads this value: the descriptor names it (basis, filters, speculative transactions). */
  async *iterDatoms(args: DatomsArgs & ChunkArgs): AsyncGenerator<Datom, void, undefined> {
    const a = iterDatomsArgs(args);
    const opts = { signal: a.signal, operation: 'iterDatoms' };
    yield* paged<Datom>(a.walk, (offset, limit, after) => this.datomsPage(a.index, a.components, { offset, limit, after }, opts), a.signal, opts.operation);
  }

  async *iterIndexRange(args: IndexRangeArgs & ChunkArgs): AsyncGenerator<Datom, void, undefined> {
    const a = iterIndexRangeArgs(args);
    const opts = { signal: a.signal, operation: 'iterIndexRange' };
    yield* paged<Datom>(a.walk, (offset, limit, after) => this.indexRangePage(a.attr, a.start, a.end, { offset, limit, after }, opts), a.signal, opts.operation);
  }

  private async datomsPage(index: unknown, components: readonly unknown[], page: RemotePage, opts: CallOptions): Promise<Datom[]> {
    return (await this.call('datoms', { index: toWire(index), components: components.map(toWire), ...pageBody(page) }, opts)).datoms;
  }

  private async indexRangePage(attr: unknown, start: unknown, end: unknown, page: RemotePage, opts: CallOptions): Promise<Datom[]> {
    const fields: Record<string, unknown> = { attr: toWire(attr) };
    if (start !== undefined) fields.start = toWire(start);
    if (end !== undefined) fields.end = toWire(end);
    return (await this.call('index-range', { ...fields, ...pageBody(page) }, opts)).datoms;
  }

  async with(txData: unknown, options?: AbortOptions): Promise<TxReport> {
    const signal = signalOf(options, 'with');
    const wired = toWire(txData);
    const r = await this.call('with', { txData: wired }, { signal }) as { t: number; txData: Datom[]; tempids: Record<string, number>; instant: number };
    const after = new RemoteDb(this.session, this.dbName, r.t, { ...this.spec, with: [...this.spec.with, { txData: wired, instant: r.instant }] });
    return { dbBefore: this, dbAfter: after, txData: r.txData, tempids: r.tempids };
  }

  async stats(options?: AbortOptions): Promise<DbStats> {
    return this.call('stats', {}, { signal: signalOf(options, 'stats') });
  }
}

/** A page as the HTTP API takes it: offset, limit, and the last datom of the page before. */
export type RemotePage = PageFields & { readonly after?: unknown };

/** The page fields of a request body (absent ones left out, so a request without a page is as before). */
export function pageBody(page: RemotePage): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  if (page.offset !== undefined && page.offset !== 0) out.offset = page.offset;
  if (page.limit !== undefined && page.limit !== Infinity) out.limit = page.limit;
  if (page.after !== undefined) out.after = toWire(page.after);
  return out;
}

/** A report of a committed transaction, as `conn.transact` returns it. */
export function remoteReport(session: RemoteSession, dbName: string, r: { t: number; basisT: number; txData: Datom[]; tempids: Record<string, number> }): TxReport {
  return {
    dbBefore: new RemoteDb(session, dbName, r.basisT, basisSpec(r.basisT)),
    dbAfter: new RemoteDb(session, dbName, r.t, basisSpec(r.t)),
    txData: r.txData,
    tempids: r.tempids,
  };
}

/** The wire form of a query input: a database value as `{ "#db": descriptor }`. */
function encodeInput(x: unknown): unknown {
  return x instanceof RemoteDb ? { '#db': { name: x.dbName, ...x.descriptor() } } : toWire(x);
}

/**
 * Runs a query whose sources are remote values (all through one client): `db.q` passes itself
 * as the first source unless the first input already is a database value.
 */
export async function runRemoteQuery(query: unknown, inputs: readonly unknown[], self?: RemoteDb): Promise<any> {
  let q = query;
  let args: readonly unknown[] = inputs;
  let opts: { timeout?: number; offset?: number; limit?: number } = {};
  let signal: AbortSignal | undefined;
  if (isQueryMap(query)) {
    q = query.query;
    args = query.args ?? inputs;
    opts = { timeout: query.timeout, offset: query.offset, limit: query.limit };
    signal = signalOf(query, 'q');
  }
  if (self !== undefined && !(args[0] instanceof RemoteDb)) args = [self, ...args];
  const dbs = args.filter((a): a is RemoteDb => a instanceof RemoteDb);
  const first = dbs[0];
  if (first === undefined) throw unsupported('client/unsupported', 'q needs at least one database value as a source');
  if (dbs.some((d) => d.session.transport !== first.session.transport)) {
    throw unsupported('client/mixed-sources', 'A query cannot join database values from different clients (endpoints)');
  }
  const body: Record<string, unknown> = { query: toWire(q) };
  if (args[0] instanceof RemoteDb) Object.assign(body, args[0].descriptor(), { args: args.slice(1).map(encodeInput) });
  else body.inputs = args.map(encodeInput);
  if (opts.timeout !== undefined) body.timeout = opts.timeout;
  if (opts.offset !== undefined) body.offset = opts.offset;
  if (opts.limit !== undefined) body.limit = opts.limit;
  const transport = first.session.transport;
  // The query's own timeout bounds the call, with a margin for the round trip.
  const timeout = opts.timeout === undefined ? undefined : Math.max(transport.timeout, opts.timeout + 5_000);
  const path = dbPath((args[0] instanceof RemoteDb ? args[0] : first).dbName, 'q');
  const r = await transport.call('POST', path, body, { ...(timeout === undefined ? {} : { timeout }), signal });
  return r.result;
}
