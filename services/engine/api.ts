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

export function checkIndexName(index: unknown): IndexName {
  if (typeof index === 'string') {
    const name = index.replace(/^:/, '') as IndexName;
    if ((INDEX_NAMES as readonly string[]).includes(name)) return name;
  }
  if (index instanceof Keyword && (INDEX_NAMES as readonly string[]).includes(index.name)) return index.name as IndexName;
  throw incorrect('datoms/invalid-index', `Unknown index ${describeValue(index)}: expected one of eavt, aevt, avet, vaet`, { index: describeValue(index) });
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
 * db.datoms(index, ...components) with components in the index's order, as Datomic's API.
 * The walk stops once the answer holds more than `max` datoms (callers refuse such answers).
 */
export function datoms(db: Db, indexName: unknown, components: readonly unknown[], max = Infinity): PublicDatom[] {
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
  const out: PublicDatom[] = [];
  db.forDatoms(index, k[0], k[1], k[2], tx, (d) => {
    out.push(publicDatom(db, d));
    if (out.length > max) return false;
  });
  return out;
}

/** AVET datoms of one attribute with start <= v < end (either bound optional); stops past `max`. */
export function indexRange(db: Db, attrName: unknown, start?: unknown, end?: unknown, max = Infinity): PublicDatom[] {
  const attr = db.requireAttr(attrName);
  const lo = start === undefined || start === null ? null : { value: valueComponent(db, attr.id, start)!, inclusive: true };
  const hi = end === undefined || end === null ? null : { value: valueComponent(db, attr.id, end)!, inclusive: false };
  const out: PublicDatom[] = [];
  db.forAvetRange(attr.id, lo, hi, (d) => {
    out.push(publicDatom(db, d));
    if (out.length > max) return false;
  });
  return out;
}

export function txRange(db: Db, start?: number | Date | null, end?: number | Date | null): Array<{ t: number; data: PublicDatom[] }> {
  return db.txRange(start, end).map((entry) => ({ t: entry.t, data: entry.data.map((d) => publicDatom(db, d)) }));
}
