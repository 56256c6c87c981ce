/**
 * The database operations of the client contract, over engine values, with the public value
 * forms (attributes as idents). The in-process client and the node's HTTP API both call these,
 * so local and remote answers are the same.
 */
import { Datom, TX0, type IndexName, INDEX_NAMES } from './datom';
import { Db, identText } from './db';
import { Keyword } from './edn';
import { describeValue, incorrect } from './errors';
import { coerceScalar, type Value } from './values';

export interface PublicDatom {
  readonly e: number;
  readonly a: string;
  readonly v: unknown;
  readonly tx: number;
  readonly added: boolean;
}

export function publicDatom(db: Db, d: Datom): PublicDatom {
  return { e: d.e, a: db.ident(d.a) ?? String(d.a), v: d.v, tx: d.tx, added: d.added };
}

/**
 * A page of datoms, index-range or tx-range: Datomic's `:offset` and `:limit`, and for datoms
 * and index-range a seek cursor. Unchecked: the functions below check every field, so the
 * in-process client and the HTTP API refuse the same things the same way.
 */
export interface PageArgs {
  /** Datoms (or transactions) to leave out first; default 0. */
  readonly offset?: unknown;
  /** The most to answer; -1 or absent: all of them. */
  readonly limit?: unknown;
  /**
   * datoms, index-range: the last datom of the previous page, `{ e, a, v, tx, added }` as the
   * same database value answered it. The page starts strictly after it in the index's order.
   */
  readonly after?: unknown;
}

/** A tx-range page: offset and limit count transactions; `maxT` leaves out transactions after it. */
export interface TxPageArgs {
  readonly offset?: unknown;
  readonly limit?: unknown;
  readonly maxT?: number | undefined;
}

/** `offset`: absent or a non-negative integer. `op` names the operation in the message. */
export function checkOffset(offset: unknown, op: string): number {
  if (offset === undefined || offset === null) return 0;
  if (typeof offset !== 'number' || !Number.isSafeInteger(offset) || offset < 0) {
    throw incorrect('datoms/invalid-offset', `${op}: offset must be a non-negative integer, got ${describeValue(offset)}`, { field: 'offset', value: describeValue(offset) });
  }
  return offset;
}

/** `limit`: absent or -1 (all: Infinity), or a non-negative integer. */
export function checkLimit(limit: unknown, op: string): number {
  if (limit === undefined || limit === null || limit === -1) return Infinity;
  if (typeof limit !== 'number' || !Number.isSafeInteger(limit) || limit < 0) {
    throw incorrect('datoms/invalid-limit', `${op}: limit must be -1 (all) or a non-negative integer, got ${describeValue(limit)}`, { field: 'limit', value: describeValue(limit) });
  }
  return limit;
}

/** The engine datom a page cursor names (see PageArgs.after). */
function afterDatom(db: Db, after: unknown, op: string): Datom | undefined {
  if (after === undefined || after === null) return undefined;
  const bad = (why: string) => incorrect('datoms/invalid-after', `${op}: after must be the last datom of the previous page, { e, a, v, tx, added }: ${why}`, { field: 'after', value: describeValue(after) });
  if (typeof after !== 'object' || Array.isArray(after)) throw bad(`got ${describeValue(after)}`);
  const { e, a, v, tx, added } = after as Record<string, unknown>;
  if (typeof e !== 'number' || !Number.isSafeInteger(e) || e < 0) throw bad('e is not an entity id');
  if (typeof tx !== 'number' || !Number.isSafeInteger(tx) || tx < 0) throw bad('tx is not a transaction id');
  if (typeof added !== 'boolean') throw bad('added is not a boolean');
  if (v === undefined || v === null) throw bad('v is missing');
  const attr = typeof a === 'number' || typeof a === 'string' || a instanceof Keyword ? db.attrOf(a) : undefined;
  if (attr === undefined) throw bad(`a is not an attribute of this database: ${describeValue(a)}`);
  return new Datom(e, attr.id, (v instanceof Keyword ? v.toString() : v) as Value, tx, added);
}

/** Collects datoms of a walk into public form, up to `limit`; stops once past `max`. */
function collect(db: Db, limit: number, max: number, walk: (fn: (d: Datom) => boolean | void) => void): PublicDatom[] {
  const out: PublicDatom[] = [];
  if (limit === 0) return out;
  walk((d) => {
    out.push(publicDatom(db, d));
    if (out.length > max || out.length >= limit) return false;
  });
  return out;
}

export function checkIndexName(index: unknown): IndexName {
  if (typeof index === 'string') {
    const name = index.replace(/^:/, '') as IndexName;
    if ((INDEX_NAMES as readonly string[]).includes(name)) return name;
  }
  if (index instanceof Keyword && (INDEX_NAMES as readonly string[]).includes(index.name)) return index.name as IndexName;
  throw incorrect('datoms/invalid-index', `Unknown index ${describeValue(index)}: expected one of eavt, aevt, avet, vaet`, { field: 'index', index: describeValue(index) });
}

/** A value component for attribute `attrId`, in stored form (refs resolved, keywords as text). */
function valueComponent(db: Db, attrId: number | undefined, v: unknown): Value | undefined {
  if (v === undefined || v === null) return undefined;
  const attr = attrId === undefined ? undefined : db.attr(attrId);
  if (attr?.valueType === 'ref') return db.entid(v) ?? -1;
  if (v instanceof Keyword) return v.toString();
  if (attr && attr.valueType !== 'tuple') {
    try {
      return coerceScalar(attr.ident, attr.valueType, v);
    } catch {
      return v as Value;
    }
  }
  return v as Value;
}

function entityComponent(db: Db, e: unknown): number | undefined {
  if (e === undefined || e === null) return undefined;
  return db.entid(e) ?? -1;
}

function attrComponent(db: Db, a: unknown): number | undefined {
  if (a === undefined || a === null) return undefined;
  return db.requireAttr(typeof a === 'number' ? a : identText(a) ?? a).id;
}

/**
 * db.datoms(index, ...components) with components in the index's order, as Datomic's API;
 * `page` takes one page of them. The walk stops once the answer holds more than `max` datoms
 * (callers refuse such answers).
 */
export function datoms(db: Db, indexName: unknown, components: readonly unknown[], max = Infinity, page: PageArgs = {}): PublicDatom[] {
  const index = checkIndexName(indexName);
  const [c0, c1, c2, c3] = components;
  if (components.length > 4) {
    throw incorrect('datoms/too-many-components', `An index has four components; got ${components.length}`);
  }
  let k: [unknown, unknown, unknown];
  switch (index) {
    case 'eavt': {
      const a = attrComponent(db, c1);
      k = [entityComponent(db, c0), a, valueComponent(db, a, c2)];
      break;
    }
    case 'aevt': {
      const a = attrComponent(db, c0);
      k = [a, entityComponent(db, c1), valueComponent(db, a, c2)];
      break;
    }
    case 'avet': {
      const a = attrComponent(db, c0);
      k = [a, valueComponent(db, a, c1), entityComponent(db, c2)];
      break;
    }
    case 'vaet': {
      const a = attrComponent(db, c1);
      if (a !== undefined && db.attr(a)?.valueType !== 'ref') {
        throw incorrect('datoms/not-a-ref', `The vaet index holds ref attributes only; ${db.ident(a)} is not a ref`);
      }
      k = [entityComponent(db, c0), a, entityComponent(db, c2)];
      break;
    }
  }
  const tx = c3 === undefined || c3 === null ? undefined : typeof c3 === 'number' && c3 < TX0 ? c3 + TX0 : (c3 as number);
  const skip = checkOffset(page.offset, 'datoms');
  const limit = checkLimit(page.limit, 'datoms');
  const after = afterDatom(db, page.after, 'datoms');
  return collect(db, limit, max, (fn) => db.forDatomsFrom(index, k[0], k[1], k[2], tx, { after, skip }, fn));
}

/**
 * AVET datoms of one attribute with start <= v < end (either bound optional); `page` takes one
 * page of them; stops past `max`.
 */
export function indexRange(db: Db, attrName: unknown, start?: unknown, end?: unknown, max = Infinity, page: PageArgs = {}): PublicDatom[] {
  const attr = db.requireAttr(attrName);
  const lo = start === undefined || start === null ? null : { value: valueComponent(db, attr.id, start)!, inclusive: true };
  const hi = end === undefined || end === null ? null : { value: valueComponent(db, attr.id, end)!, inclusive: false };
  const skip = checkOffset(page.offset, 'indexRange');
  const limit = checkLimit(page.limit, 'indexRange');
  const after = afterDatom(db, page.after, 'indexRange');
  return collect(db, limit, max, (fn) => db.forAvetRangeFrom(attr.id, lo, hi, { after, skip }, fn));
}

/**
 * The log: transactions with start <= t < end; `page` takes one page of them (offset and limit
 * count transactions; the offset is skipped in O(log n)).
 */
export function txRange(db: Db, start?: number | Date | null, end?: number | Date | null, page: TxPageArgs = {}): Array<{ t: number; data: PublicDatom[] }> {
  const skip = checkOffset(page.offset, 'txRange');
  const limit = checkLimit(page.limit, 'txRange');
  const out: Array<{ t: number; data: PublicDatom[] }> = [];
  db.forTxRange(start, end, { skip, maxT: page.maxT }, (entry) => {
    if (out.length >= limit) return false;
    out.push({ t: entry.t, data: entry.data.map((d) => publicDatom(db, d)) });
    if (out.length >= limit) return false;
  });
  return out;
}
