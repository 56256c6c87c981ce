/**
 * Immutable database values.
 *
 * A DbState holds the current datoms in four covering indexes, the history in the same four
 * orders (one Retraction record per retracted datom, standing for its assertion and its
 * retraction), the transaction log, and the schema. A Db is a view of one state: the current value, or a filtered one (asOf, since,
 * history) that shares all the state's structure.
 */
import { SortedSet, type Probe, type RangeCursor } from './btree';
import {
  CURRENT_ORDER, Datom, Retraction, FIRST_USER_EID, HISTORY_ORDER, TX0, tToTx, txToT, type IndexName,
} from './datom';
import { describeValue, incorrect } from './errors';
import { EdnList, Keyword } from './edn';
import {
  bootstrapDatoms, buildSchema, attributeFromDatoms, SYS, type Attribute, type Schema,
} from './schema';
import { coerceScalar, compareValues, type TupleElementType, type Value } from './values';

export type Indexes = { readonly [K in IndexName]: SortedSet<Datom> };

export interface TxLogEntry {
  readonly t: number;
  readonly tx: number;
  readonly instant: number; // ms since epoch
  readonly data: readonly Datom[];
}

export interface DbState {
  readonly t: number;
  readonly current: Indexes;
  /** Retraction records (see datom.ts), in the orders of the current indexes. */
  readonly history: Indexes;
  readonly log: SortedSet<TxLogEntry>;
  readonly schema: Schema;
  /** Highest entity id allocated so far. */
  readonly maxEid: number;
  readonly lastInstant: number;
}

const cmpLog = (x: TxLogEntry, y: TxLogEntry): number => x.t - y.t;

export function emptyIndexes(order: typeof CURRENT_ORDER | typeof HISTORY_ORDER): Indexes {
  return {
    eavt: SortedSet.empty(order.eavt),
    aevt: SortedSet.empty(order.aevt),
    avet: SortedSet.empty(order.avet),
    vaet: SortedSet.empty(order.vaet),
  };
}

const num = (x: number, y: number): number => (x < y ? -1 : x > y ? 1 : 0);

/** Probe matching datoms whose leading components equal the given ones (undefined = open). */
export function prefixProbe(index: IndexName, c0: unknown, c1: unknown, c2: unknown): Probe<Datom> {
  if (c0 === undefined) return () => 0;
  switch (index) {
    case 'eavt': {
      const e = c0 as number;
      if (c1 === undefined) return (d) => num(d.e, e);
      const a = c1 as number;
      if (c2 === undefined) return (d) => num(d.e, e) || num(d.a, a);
      const v = c2 as Value;
      return (d) => num(d.e, e) || num(d.a, a) || compareValues(d.v, v);
    }
    case 'aevt': {
      const a = c0 as number;
      if (c1 === undefined) return (d) => num(d.a, a);
      const e = c1 as number;
      if (c2 === undefined) return (d) => num(d.a, a) || num(d.e, e);
      const v = c2 as Value;
      return (d) => num(d.a, a) || num(d.e, e) || compareValues(d.v, v);
    }
    case 'avet': {
      const a = c0 as number;
      if (c1 === undefined) return (d) => num(d.a, a);
      const v = c1 as Value;
      if (c2 === undefined) return (d) => num(d.a, a) || compareValues(d.v, v);
      const e = c2 as number;
      return (d) => num(d.a, a) || compareValues(d.v, v) || num(d.e, e);
    }
    case 'vaet': {
      const v = c0 as Value;
      if (c1 === undefined) return (d) => compareValues(d.v, v);
      const a = c1 as number;
      if (c2 === undefined) return (d) => compareValues(d.v, v) || num(d.a, a);
      const e = c2 as number;
      return (d) => compareValues(d.v, v) || num(d.a, a) || num(d.e, e);
    }
  }
}

export interface ValueBound {
  readonly value: Value;
  readonly inclusive: boolean;
}

export interface DbFilter {
  /** Only transactions with t <= asOfT. */
  readonly asOfT: number | null;
  /** Only transactions with t > sinceT. */
  readonly sinceT: number | null;
  /** Include retracted assertions and retractions (datoms with added = false). */
  readonly history: boolean;
}

const NO_FILTER: DbFilter = { asOfT: null, sinceT: null, history: false };
const NO_SCAN_OPTIONS: ScanOptions = {};

/** Where a page of an index read starts (see Db.scanRange). */
export interface ScanOptions {
  /** Resume strictly after this datom, one the same value yielded from the same index. */
  readonly after?: Datom | undefined;
  /** Drop this many datoms first. */
  readonly skip?: number | undefined;
}

export class Db {
  constructor(
    readonly state: DbState,
    readonly filter: DbFilter = NO_FILTER,
  ) {}

  /** Basis t: the last transaction this value includes. */
  get t(): number {
    return this.state.t;
  }
  get asOfT(): number | null {
    return this.filter.asOfT;
  }
  get sinceT(): number | null {
    return this.filter.sinceT;
  }
  get isHistory(): boolean {
    return this.filter.history;
  }
  get isFiltered(): boolean {
    return this.filter !== NO_FILTER && (this.filter.asOfT !== null || this.filter.sinceT !== null || this.filter.history);
  }
  get schema(): Schema {
    return this.state.schema;
  }

  // ---- time --------------------------------------------------------------------------------

  /** Resolves a t, a transaction id, or a Date to a t of this database. */
  timePoint(point: number | bigint | Date, what: string): number {
    if (point instanceof Date) {
      const ms = point.getTime();
      if (Number.isNaN(ms)) throw incorrect('db.error/invalid-time-point', `${what}: invalid Date`);
      // The last transaction whose instant is at or before the date.
      let found = -1;
      this.state.log.forRange(() => 0, (x) => (x.instant <= ms ? 0 : 1), (x) => {
        found = x.t;
      });
      return found === -1 ? 0 : found;
    }
    const n = typeof point === 'bigint' ? Number(point) : point;
    if (typeof n !== 'number' || !Number.isInteger(n) || n < 0) {
      throw incorrect('db.error/invalid-time-point', `${what} expects a t, a transaction id or a Date, got ${describeValue(point)}`);
    }
    return n >= TX0 ? txToT(n) : n;
  }

  asOf(point: number | bigint | Date): Db {
    const t = this.timePoint(point, 'asOf');
    const asOfT = this.filter.asOfT === null ? t : Math.min(t, this.filter.asOfT);
    return new Db(this.state, { ...this.filter, asOfT });
  }

  since(point: number | bigint | Date): Db {
    const t = this.timePoint(point, 'since');
    const sinceT = this.filter.sinceT === null ? t : Math.max(t, this.filter.sinceT);
    return new Db(this.state, { ...this.filter, sinceT });
  }

  history(): Db {
    return new Db(this.state, { ...this.filter, history: true });
  }

  /** The same database without filters. */
  unfiltered(): Db {
    return this.isFiltered ? new Db(this.state) : this;
  }

  // ---- schema and identity -------------------------------------------------------------------

  attr(id: number): Attribute | undefined {
    return this.state.schema.attrs.get(id);
  }

  /** Attribute named by ident (':ns/name', 'ns/name', a Keyword) or id; undefined if none. */
  attrOf(x: unknown): Attribute | undefined {
    if (typeof x === 'number') return this.state.schema.attrs.get(x);
    const k = attrText(x);
    if (k === undefined) return undefined;
    const id = this.state.schema.idents.get(k);
    return id === undefined ? undefined : this.state.schema.attrs.get(id);
  }

  /** Like attrOf, but throws `incorrect` naming the attribute when it does not exist. */
  requireAttr(x: unknown): Attribute {
    const a = this.attrOf(x);
    if (a === undefined) {
      throw incorrect('db.error/not-an-attribute', `${describeIdent(x)} is not an attribute`, { attribute: describeIdent(x) });
    }
    return a;
  }

  ident(id: number): string | undefined {
    return this.state.schema.identOf.get(id);
  }

  /** Entity id of an ident, or undefined. */
  identId(ident: string): number | undefined {
    return this.state.schema.idents.get(ident);
  }

  /**
   * Resolves an entity identifier — an entity id, an ident (':ns/name' or Keyword), or a lookup
   * ref [attr, value] on a unique attribute — to an entity id; undefined if nothing matches.
   * Throws `incorrect` for something that is not an entity identifier at all.
   */
  entid(x: unknown): number | undefined {
    if (typeof x === 'number') {
      if (!Number.isInteger(x) || x < 0) throw incorrect('db.error/invalid-entity-id', `Invalid entity id ${describeValue(x)}`);
      return x;
    }
    if (typeof x === 'bigint') return this.entid(Number(x));
    const k = identText(x);
    if (k !== undefined) return this.state.schema.idents.get(k);
    if (Array.isArray(x) && x.length === 2) {
      const attr = this.attrOf(x[0]);
      if (attr === undefined) {
        throw incorrect('db.error/lookup-ref-attr-not-unique', `Lookup ref attribute ${describeIdent(x[0])} is not an attribute`, { lookupRef: describeValue(x) });
      }
      if (attr.unique === null) {
        throw incorrect('db.error/lookup-ref-attr-not-unique', `Lookup ref attribute ${attr.ident} is not unique`, { lookupRef: describeValue(x) });
      }
      const v = this.normalizeLookupValue(attr, x[1]);
      if (v === undefined) return undefined;
      // Against this value, filters included: a since value cannot see an identity asserted
      // before its point (Datomic's documented since example), an asOf value sees the past one.
      const d = this.firstDatom('avet', attr.id, v);
      return d?.e;
    }
    throw incorrect('db.error/invalid-entity-id', `Invalid entity identifier ${describeValue(x)}`, { value: describeValue(x) });
  }

  /** entid that throws `incorrect` naming the identifier when nothing matches. */
  requireEntid(x: unknown): number {
    const e = this.entid(x);
    if (e === undefined) {
      throw incorrect('db.error/not-an-entity', `Unable to resolve entity: ${describeValue(x)}`, { entity: describeValue(x) });
    }
    return e;
  }

  /**
   * The stored form of a lookup ref's value: refs resolved (undefined when they name nothing),
   * keywords as text, tuples element by element (composites by their members' types). A value
   * of the wrong type is kept as given, so it simply matches nothing.
   */
  private normalizeLookupValue(attr: Attribute, v: unknown): Value | undefined {
    if (v instanceof EdnList) v = v.items;
    if (attr.valueType === 'tuple') {
      if (!Array.isArray(v)) return v as Value;
      const out: Value[] = [];
      for (let i = 0; i < v.length; i++) {
        const x: unknown = v[i];
        if (x === null || x === undefined) {
          out.push(null);
          continue;
        }
        const t = attr.tupleAttrs
          ? this.attr(attr.tupleAttrs[i] ?? -1)?.valueType
          : attr.tupleTypes ? attr.tupleTypes[i] : attr.tupleType;
        if (t === 'ref') {
          const e = this.entid(x instanceof EdnList ? x.items : x);
          if (e === undefined) return undefined;
          out.push(e);
        } else out.push(t === undefined || t === null || t === 'tuple' ? (x as Value) : lookupScalar(attr.ident, t, x));
      }
      return out;
    }
    if (attr.valueType === 'ref') return this.entid(v);
    return lookupScalar(attr.ident, attr.valueType, v);
  }

  // ---- index access --------------------------------------------------------------------------

  /**
   * Calls fn for every datom of `index` matching the given components (in the index's order;
   * undefined = any; attributes as ids, refs as entity ids), honouring this value's filters.
   * fn returning false stops the walk.
   */
  forDatoms(index: IndexName, c0: unknown, c1: unknown, c2: unknown, c3: unknown, fn: (d: Datom) => boolean | void): void {
    const { probe, rest } = componentsRange(index, c0, c1, c2, c3);
    this.forRange(index, probe, probe, rest === null ? fn : (d) => (rest(d) ? fn(d) : undefined));
  }

  /**
   * forDatoms for a page: the datoms strictly after `opts.after` (a datom this value yielded),
   * without the first `opts.skip` of them. See scanRange.
   */
  forDatomsFrom(index: IndexName, c0: unknown, c1: unknown, c2: unknown, c3: unknown, opts: ScanOptions, fn: (d: Datom) => boolean | void): void {
    const { probe, rest } = componentsRange(index, c0, c1, c2, c3);
    if (rest === null) {
      this.scanRange(index, probe, probe, opts, fn);
      return;
    }
    // Components that do not bound the range filter it, so the skip counts what passes them.
    let skip = opts.skip ?? 0;
    this.scanRange(index, probe, probe, { after: opts.after }, (d) => {
      if (!rest(d)) return undefined;
      if (skip > 0) {
        skip--;
        return undefined;
      }
      return fn(d);
    });
  }

  /**
   * The transactions a filtered value sees (minTx < tx <= maxTx), and `byTx`: no retraction can
   * matter, so the current datoms filtered by their tx are the answer.
   */
  private txWindow(hist: SortedSet<Datom>): { maxTx: number; minTx: number; byTx: boolean } {
    const f = this.filter;
    const maxTx = f.asOfT === null ? Infinity : tToTx(f.asOfT);
    const minTx = f.sinceT === null ? -Infinity : tToTx(f.sinceT);
    return { maxTx, minTx, byTx: !f.history && (f.asOfT === null || hist.size === 0 || maxTx >= tToTx(this.state.t)) };
  }

  /** Calls fn for every datom of `index` between two probes, honouring the filters. */
  forRange(index: IndexName, lo: Probe<Datom>, hi: Probe<Datom>, fn: (d: Datom) => boolean | void): void {
    // Filtered values merge the current and history indexes lazily: a caller that stops early
    // (firstDatom, a limit) reads only what it used, and nothing is copied into arrays.
    this.scanRange(index, lo, hi, NO_SCAN_OPTIONS, fn);
  }

  /**
   * forRange for paging, honouring the filters: starts strictly after `opts.after` — a datom
   * this value yielded from this index, compared in the value's own order (e, a, v for current,
   * asOf and since values, which hold at most one datom per fact; e, a, v, tx, added for history
   * values) — and drops the first `opts.skip` datoms from there. On an unfiltered value the skip
   * costs O(log n) (subtree sizes); on a filtered one it walks. Filtered values are merged from
   * the current and history indexes lazily, so a page costs its own length plus O(log n), not
   * the rest of the range.
   */
  scanRange(index: IndexName, lo: Probe<Datom>, hi: Probe<Datom>, opts: ScanOptions, fn: (d: Datom) => boolean | void): void {
    const f = this.filter;
    const after = opts.after;
    const from = after === undefined ? lo : pastProbe(lo, after, CURRENT_ORDER[index], f.history);
    const cur = this.state.current[index];
    let skip = opts.skip ?? 0;
    if (!this.isFiltered) {
      cur.forRangeFrom(from, hi, skip, fn);
      return;
    }
    const emit = skip <= 0 ? fn : (d: Datom): boolean | void => {
      if (skip > 0) {
        skip--;
        return undefined;
      }
      return fn(d);
    };
    const hist = this.state.history[index];
    const { maxTx, minTx, byTx } = this.txWindow(hist);
    if (byTx) {
      cur.forRange(from, hi, (d) => (d.tx <= maxTx && d.tx > minTx ? emit(d) : undefined));
      return;
    }
    const next = mergedEvents(cur.cursor(from, hi), hist.cursor(from, hi), HISTORY_ORDER[index]);
    if (f.history) {
      const order = HISTORY_ORDER[index];
      for (let d = next(); d !== undefined; d = next()) {
        // The cursor's fact may have events on both sides of it.
        if (after !== undefined && order(d, after) <= 0) continue;
        if (d.tx <= maxTx && d.tx > minTx && emit(d) === false) return;
      }
      return;
    }
    // asOf, as forRange: for each (e, a, v) the last event at or before the basis decides.
    const same = CURRENT_ORDER[index];
    for (let d = next(); d !== undefined;) {
      const n = next();
      const superseded = n !== undefined && same(d, n) === 0 && n.tx <= maxTx;
      if (!superseded && d.tx <= maxTx && d.added && d.tx > minTx && emit(d) === false) return;
      d = n;
    }
  }

  datoms(index: IndexName, c0?: unknown, c1?: unknown, c2?: unknown, c3?: unknown): Datom[] {
    const out: Datom[] = [];
    this.forDatoms(index, c0, c1, c2, c3, (d) => {
      out.push(d);
    });
    return out;
  }

  firstDatom(index: IndexName, c0?: unknown, c1?: unknown, c2?: unknown): Datom | undefined {
    let found: Datom | undefined;
    this.forDatoms(index, c0, c1, c2, undefined, (d) => {
      found = d;
      return false;
    });
    return found;
  }

  /**
   * Estimated number of datoms matching the leading components, in O(log n), from the current
   * index (filters are ignored: it is for planning).
   */
  estimateCount(index: IndexName, c0?: unknown, c1?: unknown, c2?: unknown): number {
    const probe = prefixProbe(index, c0, c0 === undefined ? undefined : c1, c0 === undefined || c1 === undefined ? undefined : c2);
    return this.state.current[index].countRange(probe, probe);
  }

  /** AVET datoms of one attribute with values between optional bounds. */
  forAvetRange(attrId: number, lo: ValueBound | null, hi: ValueBound | null, fn: (d: Datom) => boolean | void): void {
    const [loProbe, hiProbe] = avetProbes(attrId, lo, hi);
    this.forRange('avet', loProbe, hiProbe, fn);
  }

  /** forAvetRange for a page (see scanRange). */
  forAvetRangeFrom(attrId: number, lo: ValueBound | null, hi: ValueBound | null, opts: ScanOptions, fn: (d: Datom) => boolean | void): void {
    const [loProbe, hiProbe] = avetProbes(attrId, lo, hi);
    this.scanRange('avet', loProbe, hiProbe, opts, fn);
  }

  /** Estimated number of AVET datoms of an attribute between bounds. */
  estimateAvetRange(attrId: number, lo: ValueBound | null, hi: ValueBound | null): number {
    const [loProbe, hiProbe] = avetProbes(attrId, lo, hi);
    return this.state.current.avet.countRange(loProbe, hiProbe);
  }

  /** Values of attribute a on entity e (honouring filters). */
  values(e: number, a: number): Value[] {
    const out: Value[] = [];
    this.forDatoms('eavt', e, a, undefined, undefined, (d) => {
      out.push(d.v);
    });
    return out;
  }

  /** Transactions with start <= t < end (both optional), from the log. */
  txRange(start?: number | Date | null, end?: number | Date | null): TxLogEntry[] {
    const [lo, hi] = this.txProbes(start, end);
    return this.state.log.rangeToArray(lo, hi);
  }

  /**
   * The transactions of txRange(start, end) with t <= opts.maxT (when given), without the first
   * opts.skip of them (skipped in O(log n)); fn returning false stops the walk.
   */
  forTxRange(start: number | Date | null | undefined, end: number | Date | null | undefined, opts: { skip?: number; maxT?: number }, fn: (entry: TxLogEntry) => boolean | void): void {
    const [lo, hi] = this.txProbes(start, end);
    const maxT = opts.maxT;
    this.state.log.forRangeFrom(lo, maxT === undefined ? hi : (x) => (x.t > maxT ? 1 : hi(x)), opts.skip ?? 0, fn);
  }

  private txProbes(start?: number | Date | null, end?: number | Date | null): [Probe<TxLogEntry>, Probe<TxLogEntry>] {
    const s = start === undefined || start === null ? 0 : this.timePoint(start, 'txRange start');
    const e = end === undefined || end === null ? Infinity : this.timePoint(end, 'txRange end');
    // A Date bounds by instant (instants increase with t): transactions at or after the start
    // instant, and strictly before the end instant.
    const lo = start instanceof Date
      ? (x: TxLogEntry) => (x.instant < start.getTime() ? -1 : 0)
      : (x: TxLogEntry) => (x.t < s ? -1 : 0);
    const hi = end instanceof Date
      ? (x: TxLogEntry) => (x.instant < end.getTime() ? 0 : 1)
      : (x: TxLogEntry) => (x.t < e ? 0 : 1);
    return [lo, hi];
  }

  stats(): { datoms: number; attrs: Record<string, { count: number }>; t: number } {
    const attrs: Record<string, { count: number }> = {};
    for (const a of this.state.schema.attrs.values()) {
      const count = this.estimateCount('aevt', a.id);
      if (count > 0) attrs[a.ident] = { count };
    }
    // Datomic: ":datoms — total count of datoms in the (history) database": current datoms plus
    // the retracted assertions and their retractions.
    return { datoms: this.state.current.eavt.size + 2 * this.state.history.eavt.size, attrs, t: this.state.t };
  }
}

function lookupScalar(ident: string, type: TupleElementType, v: unknown): Value {
  try {
    return coerceScalar(ident, type, v);
  } catch {
    return v instanceof Keyword ? v.toString() : (v as Value);
  }
}

/** Probes for the AVET datoms of one attribute between optional value bounds. */
function avetProbes(attrId: number, lo: ValueBound | null, hi: ValueBound | null): [Probe<Datom>, Probe<Datom>] {
  const bound = (b: ValueBound | null, side: -1 | 1): Probe<Datom> => {
    if (b === null) return (d) => num(d.a, attrId);
    // At the bound itself: inside when inclusive, else just outside on this side.
    const atBound = b.inclusive ? 0 : side;
    return (d) => num(d.a, attrId) || ((c) => (c === 0 ? atBound : c))(compareValues(d.v, b.value));
  };
  return [bound(lo, -1), bound(hi, 1)];
}

/** The range and the residual filter of a components lookup: the leading run of given components bounds it, the rest filter. */
function componentsRange(index: IndexName, c0: unknown, c1: unknown, c2: unknown, c3: unknown): { probe: Probe<Datom>; rest: ((d: Datom) => boolean) | null } {
  const lead = c0 === undefined ? 0 : c1 === undefined ? 1 : c2 === undefined ? 2 : 3;
  const checks: Array<[number, unknown]> = [];
  if (lead === 0 && c1 !== undefined) checks.push([1, c1]);
  if (lead <= 1 && c2 !== undefined) checks.push([2, c2]);
  let rest: ((d: Datom) => boolean) | null = null;
  const txc = c3 === undefined ? undefined : (c3 as number);
  if (checks.length > 0 || txc !== undefined) {
    rest = (d) => {
      for (const [i, v] of checks) {
        const x = componentOf(index, d, i);
        if (typeof x === 'object' || typeof v === 'object' ? compareValues(x as Value, v as Value) !== 0 : x !== v) return false;
      }
      return txc === undefined || d.tx === txc;
    };
  }
  const probe = prefixProbe(index, c0, lead >= 2 ? c1 : undefined, lead >= 3 ? c2 : undefined);
  return { probe, rest };
}

/** Where a page resumes: lo, and past `after` (or at its fact, `atFact`, for history values). */
function pastProbe(lo: Probe<Datom>, after: Datom, order: (x: Datom, y: Datom) => number, atFact: boolean): Probe<Datom> {
  return (d) => {
    const c = lo(d);
    if (c < 0) return c;
    const o = order(d, after);
    return o < 0 || (o === 0 && !atFact) ? -1 : c;
  };
}

/**
 * The current datoms and the history events (each record as its assertion, then its
 * retraction) of two cursors, merged lazily in history order — the order forRange builds.
 */
function mergedEvents(cur: RangeCursor<Datom>, hist: RangeCursor<Datom>, cmp: (x: Datom, y: Datom) => number): () => Datom | undefined {
  let retraction: Datom | undefined;
  const nextEvent = (): Datom | undefined => {
    if (retraction !== undefined) {
      const r = retraction;
      retraction = undefined;
      return r;
    }
    const r = hist.next() as Retraction | undefined;
    if (r === undefined) return undefined;
    retraction = r;
    return r.assertion();
  };
  let a = cur.next();
  let b = nextEvent();
  return () => {
    if (b === undefined || (a !== undefined && cmp(a, b) <= 0)) {
      const x = a;
      if (x !== undefined) a = cur.next();
      return x;
    }
    const y = b;
    b = nextEvent();
    return y;
  };
}

function componentOf(index: IndexName, d: Datom, i: number): unknown {
  switch (index) {
    case 'eavt': return i === 0 ? d.e : i === 1 ? d.a : d.v;
    case 'aevt': return i === 0 ? d.a : i === 1 ? d.e : d.v;
    case 'avet': return i === 0 ? d.a : i === 1 ? d.v : d.e;
    case 'vaet': return i === 0 ? d.v : i === 1 ? d.a : d.e;
  }
}

/** ':ns/name' for keyword-like input (Keyword, ':ns/name', 'ns/name'), else undefined. */
export function identText(x: unknown): string | undefined {
  if (x instanceof Keyword) return x.toString();
  if (typeof x === 'string' && x.length > 0) {
    if (x.charCodeAt(0) === 58) return x;
    if (x.indexOf('/') > 0 && !/\s/.test(x)) return `:${x}`;
  }
  return undefined;
}

/** An attribute name as ':ns/name': a Keyword, or a string with or without the colon. */
export function attrText(x: unknown): string | undefined {
  if (x instanceof Keyword) return x.toString();
  if (typeof x === 'string' && x.length > 0) return x.charCodeAt(0) === 58 ? x : `:${x}`;
  return undefined;
}

function describeIdent(x: unknown): string {
  return attrText(x) ?? describeValue(x);
}

/** A new, empty database value: the system schema at t = 0. */
export function emptyDb(): Db {
  const boot = bootstrapDatoms();
  const eavt = SortedSet.fromSorted([...boot].sort(CURRENT_ORDER.eavt), CURRENT_ORDER.eavt);
  const aevt = SortedSet.fromSorted([...boot].sort(CURRENT_ORDER.aevt), CURRENT_ORDER.aevt);
  const avet = SortedSet.fromSorted([...boot].sort(CURRENT_ORDER.avet), CURRENT_ORDER.avet);
  const refs = boot.filter((d) => d.a === SYS.valueType || d.a === SYS.cardinality || d.a === SYS.unique);
  const vaet = SortedSet.fromSorted(refs.sort(CURRENT_ORDER.vaet), CURRENT_ORDER.vaet);
  const idents = new Map<string, number>();
  const identOf = new Map<number, string>();
  for (const d of boot) {
    if (d.a === SYS.ident) {
      idents.set(d.v as string, d.e);
      identOf.set(d.e, d.v as string);
    }
  }
  const attrs = new Map<number, Attribute>();
  const byEntity = new Map<number, Datom[]>();
  for (const d of boot) {
    const list = byEntity.get(d.e);
    if (list) list.push(d);
    else byEntity.set(d.e, [d]);
  }
  for (const [e, ds] of byEntity) {
    const a = attributeFromDatoms(e, ds, idents);
    if (a) attrs.set(e, a);
  }
  const log = SortedSet.fromSorted<TxLogEntry>([], cmpLog);
  return new Db({
    t: 0,
    current: { eavt, aevt, avet, vaet },
    history: emptyIndexes(HISTORY_ORDER),
    log,
    schema: buildSchema(attrs, idents, identOf),
    maxEid: FIRST_USER_EID - 1,
    lastInstant: 0,
  });
}

export { cmpLog };
