/**
 * Database values named by requests. A client's `Db` is a descriptor — database name, basis t,
 * time filters and speculative transactions — and the node turns it back into an engine value:
 *
 *   1. catch up with the log to at least the basis t (read-your-writes across nodes);
 *   2. the value at exactly the basis: the current value when it is at the basis, a recent value
 *      kept in a small cache, or (for reads) the current value filtered `asOf` the basis;
 *   3. re-apply the speculative transactions of `with` (each with the instant it first had, so
 *      entity ids and instants come out the same every time);
 *   4. the filters: asOf, since, history.
 *
 * Speculative transactions and `stats` need the unfiltered value at exactly the basis; when the
 * cache lacks it, it is rebuilt from the value's own log (rare: an old basis).
 */
import { type Db as EngineDb, describeValue, incorrect, transact, fromWire, rebuildAt } from '../../engine';
import type { Databases } from '../databases';
import type { DatabaseHost } from '../log/transactor';
import { MAX_TX_DATOMS } from '../log/transactor';
import type { Body } from '../http/body';

export type TimePoint = number | Date;

/** A speculative transaction of a `with` chain, replayed at the instant it first had. */
export interface SpeculativeTx {
  readonly txData: unknown;
  readonly instant: number;
}

export interface DbSpec {
  readonly basisT: number | undefined;
  readonly asOf: readonly TimePoint[];
  readonly since: readonly TimePoint[];
  readonly history: boolean;
  readonly with: readonly SpeculativeTx[];
}

function timePoints(raw: unknown, field: string): TimePoint[] {
  if (raw === undefined || raw === null) return [];
  const items = Array.isArray(raw) ? raw : [raw];
  return items.map((x) => {
    const p = fromWire(x);
    if (typeof p === 'number' && Number.isSafeInteger(p) && p >= 0) return p;
    if (typeof p === 'bigint' && p >= 0n && p <= BigInt(Number.MAX_SAFE_INTEGER)) return Number(p);
    if (p instanceof Date) return p;
    throw incorrect('db.error/invalid-time-point', `${field} expects a t, a transaction id or a Date, got ${describeValue(p)}`, { field });
  });
}

/** The descriptor fields of a body (`basisT`, `asOf`, `since`, `history`, `with`). */
export function parseDbSpec(o: Body, maxWithChain: number, where = 'database value'): DbSpec {
  const basisT = o.basisT;
  if (basisT !== undefined && basisT !== null && (typeof basisT !== 'number' || !Number.isSafeInteger(basisT) || basisT < 0)) {
    throw incorrect('http/invalid-field', `${where}: basisT must be a non-negative integer, got ${describeValue(basisT)}`, { field: 'basisT' });
  }
  const history = o.history;
  if (history !== undefined && history !== null && typeof history !== 'boolean') {
    throw incorrect('http/invalid-field', `${where}: history must be true or false, got ${describeValue(history)}`, { field: 'history' });
  }
  const rawWith = o.with;
  let chain: SpeculativeTx[] = [];
  if (rawWith !== undefined && rawWith !== null) {
    if (!Array.isArray(rawWith)) throw incorrect('http/invalid-field', `${where}: with must be an array of { txData, instant }`, { field: 'with' });
    if (rawWith.length > maxWithChain) {
      throw incorrect('db.error/with-chain-too-long', `${where}: at most ${maxWithChain} speculative transactions may be chained, got ${rawWith.length}`, { limit: maxWithChain });
    }
    chain = rawWith.map((x) => {
      const e = x as { txData?: unknown; instant?: unknown } | null;
      if (typeof e !== 'object' || e === null || e.txData === undefined || typeof e.instant !== 'number' || !Number.isSafeInteger(e.instant)) {
        throw incorrect('http/invalid-field', `${where}: each element of with must be { txData, instant }`, { field: 'with' });
      }
      return { txData: fromWire(e.txData), instant: e.instant };
    });
  }
  return {
    basisT: typeof basisT === 'number' ? basisT : undefined,
    asOf: timePoints(o.asOf, 'asOf'),
    since: timePoints(o.since, 'since'),
    history: history === true,
    with: chain,
  };
}

/** A `{ "#db": {...} }` input of a query, or undefined for any other input. */
export function dbInput(x: unknown): Body | undefined {
  if (typeof x !== 'object' || x === null || Array.isArray(x)) return undefined;
  const keys = Object.keys(x);
  if (keys.length !== 1 || keys[0] !== '#db') return undefined;
  const d = (x as Body)['#db'];
  if (typeof d !== 'object' || d === null || Array.isArray(d)) {
    throw incorrect('http/invalid-field', 'A {"#db": …} input must hold a database descriptor object');
  }
  return d as Body;
}

export interface ResolvedDb {
  readonly host: DatabaseHost;
  /** The latest value this node has (at or after the basis). */
  readonly latest: EngineDb;
  /** The value the descriptor names. */
  readonly db: EngineDb;
}

/** Recently seen unfiltered values, by database id and t. */
class RecentValues {
  private readonly values = new Map<string, EngineDb>();
  constructor(private readonly capacity: number) {}

  private key(dbId: string, t: number): string {
    return `${dbId}@${t}`;
  }

  get(dbId: string, t: number): EngineDb | undefined {
    const k = this.key(dbId, t);
    const v = this.values.get(k);
    if (v !== undefined) {
      this.values.delete(k);
      this.values.set(k, v);
    }
    return v;
  }

  /**
   * Forgets the database's values older than `t` (its new durable root): they hold the
   * in-memory trees the rebase released. A read at such a basis rebuilds its value.
   */
  forgetBefore(dbId: string, t: number): void {
    const prefix = `${dbId}@`;
    for (const [k, v] of this.values) if (k.startsWith(prefix) && v.t < t) this.values.delete(k);
  }

  remember(dbId: string, db: EngineDb): void {
    if (db.isFiltered) return;
    const k = this.key(dbId, db.t);
    if (this.values.has(k)) return;
    this.values.set(k, db);
    if (this.values.size > this.capacity) {
      const oldest = this.values.keys().next().value;
      if (oldest !== undefined) this.values.delete(oldest);
    }
  }
}

export class DbValues {
  private readonly recent: RecentValues;

  constructor(
    private readonly databases: Databases,
    cacheSize = 128,
  ) {
    this.recent = new RecentValues(cacheSize);
    databases.onRebase.push((dbId, t) => this.recent.forgetBefore(dbId, t));
  }

  /** Remembers a value (e.g. a transaction's dbBefore and dbAfter) for reads at its basis. */
  remember(host: DatabaseHost, db: EngineDb): void {
    this.recent.remember(host.dbId, db);
  }

  /** The host of a database, caught up to at least `basisT`. */
  async latest(name: string, basisT: number | undefined): Promise<{ host: DatabaseHost; latest: EngineDb }> {
    const { host, latest } = await this.databases.withHost(name, async (host) => ({ host, latest: await host.awaitBasis(basisT) }));
    this.remember(host, latest);
    return { host, latest };
  }

  /**
   * The engine value a descriptor names. `exact` asks for the unfiltered value at exactly the
   * basis (speculative transactions and stats need it); reads accept the current value filtered
   * as of the basis, which holds the same datoms.
   */
  async resolve(name: string, spec: DbSpec, opts: { exact?: boolean } = {}): Promise<ResolvedDb> {
    const { host, latest } = await this.latest(name, spec.basisT);
    const exact = opts.exact === true || spec.with.length > 0;
    let db = this.atBasis(host, latest, spec.basisT, exact);
    for (const tx of spec.with) {
      db = transact(db, tx.txData, { now: tx.instant, maxDatoms: MAX_TX_DATOMS }).dbAfter;
    }
    for (const p of spec.asOf) db = db.asOf(p);
    for (const p of spec.since) db = db.since(p);
    if (spec.history) db = db.history();
    return { host, latest, db };
  }

  private atBasis(host: DatabaseHost, latest: EngineDb, basisT: number | undefined, exact: boolean): EngineDb {
    if (basisT === undefined || basisT >= latest.t) return latest;
    const cached = this.recent.get(host.dbId, basisT);
    if (cached !== undefined) return cached;
    if (!exact) return latest.asOf(basisT);
    const rebuilt = rebuildAt(latest, basisT);
    this.recent.remember(host.dbId, rebuilt);
    return rebuilt;
  }
}

