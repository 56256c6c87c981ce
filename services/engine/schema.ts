/**
 * Schema is data: attributes are entities named by :db/ident. The Schema object is a derived
 * lookup structure, rebuilt for the entities a transaction touches.
 */
import { Datom, tToTx } from './datom';
import type { TupleElementType, Value, ValueType } from './values';

export interface Attribute {
  readonly id: number;
  readonly ident: string; // ':ns/name'
  readonly valueType: ValueType;
  readonly cardinality: 'one' | 'many';
  readonly unique: 'identity' | 'value' | null;
  readonly isComponent: boolean;
  readonly noHistory: boolean;
  readonly doc: string | null;
  /** Composite tuple: the attribute ids it is made of. */
  readonly tupleAttrs: readonly number[] | null;
  /** Heterogeneous fixed-length tuple. */
  readonly tupleTypes: readonly TupleElementType[] | null;
  /** Homogeneous variable-length tuple. */
  readonly tupleType: TupleElementType | null;
}

// System entity ids. Attributes first, then the enumerations their values refer to.
export const SYS = {
  ident: 1,
  valueType: 2,
  cardinality: 3,
  unique: 4,
  isComponent: 5,
  noHistory: 6,
  doc: 7,
  tupleAttrs: 8,
  tupleTypes: 9,
  tupleType: 10,
  txInstant: 11,
  txId: 12,
  refusedTxId: 13,
} as const;

export const TYPE_IDS: Readonly<Record<ValueType, number>> = {
  string: 20, long: 21, double: 22, float: 23, boolean: 24, instant: 25, keyword: 26, symbol: 27,
  uuid: 28, uri: 29, bigint: 30, bigdec: 31, ref: 32, tuple: 33,
};
export const CARDINALITY_IDS = { one: 40, many: 41 } as const;
export const UNIQUE_IDS = { identity: 42, value: 43 } as const;
export const DB_PART = 44;

interface SysAttr {
  id: number;
  ident: string;
  valueType: ValueType;
  cardinality?: 'one' | 'many';
  unique?: 'identity' | 'value';
  tupleType?: TupleElementType;
  doc: string;
}

const SYSTEM_ATTRS: SysAttr[] = [
  { id: SYS.ident, ident: ':db/ident', valueType: 'keyword', unique: 'identity', doc: 'Attribute used to uniquely name an entity.' },
  { id: SYS.valueType, ident: ':db/valueType', valueType: 'ref', doc: 'The type of value an attribute holds.' },
  { id: SYS.cardinality, ident: ':db/cardinality', valueType: 'ref', doc: 'Whether an attribute holds one value or a set of values.' },
  { id: SYS.unique, ident: ':db/unique', valueType: 'ref', doc: 'Uniqueness constraint of an attribute: identity or value.' },
  { id: SYS.isComponent, ident: ':db/isComponent', valueType: 'boolean', doc: 'Whether a ref attribute points to a component entity.' },
  { id: SYS.noHistory, ident: ':db/noHistory', valueType: 'boolean', doc: 'Whether past values of an attribute are forgotten.' },
  { id: SYS.doc, ident: ':db/doc', valueType: 'string', doc: 'Documentation string for an entity.' },
  { id: SYS.tupleAttrs, ident: ':db/tupleAttrs', valueType: 'tuple', tupleType: 'keyword', doc: 'Attributes a composite tuple is made of.' },
  { id: SYS.tupleTypes, ident: ':db/tupleTypes', valueType: 'tuple', tupleType: 'keyword', doc: 'Element types of a heterogeneous tuple.' },
  { id: SYS.tupleType, ident: ':db/tupleType', valueType: 'keyword', doc: 'Element type of a homogeneous tuple.' },
  { id: SYS.txInstant, ident: ':db/txInstant', valueType: 'instant', doc: 'Wall-clock time of a transaction.' },
  { id: SYS.txId, ident: ':db/txId', valueType: 'string', unique: 'value', doc: 'The id a transaction was committed under: a retry with the same id commits nothing and gets the original result.' },
  { id: SYS.refusedTxId, ident: ':db/refusedTxId', valueType: 'string', cardinality: 'many', unique: 'value', doc: 'Ids of transactions refused while their outcome was in doubt: every later attempt of such an id is refused the same way.' },
];

/** Idents of enumeration entities (no attributes of their own). */
const SYSTEM_IDENTS: Array<[number, string]> = [
  ...Object.entries(TYPE_IDS).map(([t, id]): [number, string] => [id, `:db.type/${t}`]),
  [CARDINALITY_IDS.one, ':db.cardinality/one'],
  [CARDINALITY_IDS.many, ':db.cardinality/many'],
  [UNIQUE_IDS.identity, ':db.unique/identity'],
  [UNIQUE_IDS.value, ':db.unique/value'],
  [DB_PART, ':db.part/db'],
];

export const TYPE_BY_ID: ReadonlyMap<number, ValueType> = new Map(
  Object.entries(TYPE_IDS).map(([t, id]) => [id, t as ValueType]),
);

/** The datoms of a new database, at t = 0. */
export function bootstrapDatoms(): Datom[] {
  const tx = tToTx(0);
  const out: Datom[] = [];
  for (const a of SYSTEM_ATTRS) {
    out.push(new Datom(a.id, SYS.ident, a.ident, tx, true));
    out.push(new Datom(a.id, SYS.valueType, TYPE_IDS[a.valueType], tx, true));
    out.push(new Datom(a.id, SYS.cardinality, CARDINALITY_IDS[a.cardinality ?? 'one'], tx, true));
    if (a.unique) out.push(new Datom(a.id, SYS.unique, UNIQUE_IDS[a.unique], tx, true));
    if (a.tupleType) out.push(new Datom(a.id, SYS.tupleType, `:db.type/${a.tupleType}`, tx, true));
    out.push(new Datom(a.id, SYS.doc, a.doc, tx, true));
  }
  for (const [id, ident] of SYSTEM_IDENTS) out.push(new Datom(id, SYS.ident, ident, tx, true));
  out.push(new Datom(tx, SYS.txInstant, new Date(0), tx, true));
  return out;
}

export const SCHEMA_ATTR_IDS: ReadonlySet<number> = new Set([
  SYS.valueType, SYS.cardinality, SYS.unique, SYS.isComponent, SYS.noHistory, SYS.doc,
  SYS.tupleAttrs, SYS.tupleTypes, SYS.tupleType,
]);

/** Immutable lookup of attributes and idents; replaced (copy-on-write) when schema changes. */
export class Schema {
  constructor(
    readonly attrs: ReadonlyMap<number, Attribute>,
    /** ident → entity id, including historic idents that still resolve after a rename. */
    readonly idents: ReadonlyMap<string, number>,
    /** entity id → current ident. */
    readonly identOf: ReadonlyMap<number, string>,
    /** attribute id → composite tuple attributes that include it. */
    readonly compositesOf: ReadonlyMap<number, readonly number[]>,
  ) {}

  attr(id: number): Attribute | undefined {
    return this.attrs.get(id);
  }

  /** Attribute by ident (':ns/name') or id. */
  attrByIdent(ident: string): Attribute | undefined {
    const id = this.idents.get(ident);
    return id === undefined ? undefined : this.attrs.get(id);
  }
}

/** Derives an attribute from the current datoms of its entity, or null if it is not one. */
export function attributeFromDatoms(id: number, datoms: readonly Datom[], idents: ReadonlyMap<string, number>): Attribute | null {
  let ident: string | null = null;
  let valueType: ValueType | null = null;
  let cardinality: 'one' | 'many' | null = null;
  let unique: 'identity' | 'value' | null = null;
  let isComponent = false;
  let noHistory = false;
  let doc: string | null = null;
  let tupleAttrs: number[] | null = null;
  let tupleTypes: TupleElementType[] | null = null;
  let tupleType: TupleElementType | null = null;
  for (const d of datoms) {
    switch (d.a) {
      case SYS.ident: ident = d.v as string; break;
      case SYS.valueType: valueType = TYPE_BY_ID.get(d.v as number) ?? null; break;
      case SYS.cardinality: cardinality = d.v === CARDINALITY_IDS.many ? 'many' : 'one'; break;
      case SYS.unique: unique = d.v === UNIQUE_IDS.identity ? 'identity' : 'value'; break;
      case SYS.isComponent: isComponent = d.v === true; break;
      case SYS.noHistory: noHistory = d.v === true; break;
      case SYS.doc: doc = d.v as string; break;
      case SYS.tupleAttrs:
        tupleAttrs = (d.v as Value[]).map((k) => idents.get(k as string) ?? -1);
        break;
      case SYS.tupleTypes: tupleTypes = (d.v as string[]).map((k) => k.replace(':db.type/', '') as TupleElementType); break;
      case SYS.tupleType: tupleType = (d.v as string).replace(':db.type/', '') as TupleElementType; break;
    }
  }
  if (ident === null || valueType === null || cardinality === null) return null;
  return { id, ident, valueType, cardinality, unique, isComponent, noHistory, doc, tupleAttrs, tupleTypes, tupleType };
}

export function buildSchema(
  attrs: Map<number, Attribute>,
  idents: Map<string, number>,
  identOf: Map<number, string>,
): Schema {
  const compositesOf = new Map<number, number[]>();
  for (const a of attrs.values()) {
    if (!a.tupleAttrs) continue;
    for (const part of a.tupleAttrs) {
      const list = compositesOf.get(part);
      if (list) list.push(a.id);
      else compositesOf.set(part, [a.id]);
    }
  }
  return new Schema(attrs, idents, identOf, compositesOf);
}
