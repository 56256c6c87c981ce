/**
 * Transaction processing with Datomic's semantics.
 *
 * Every operation of a transaction sees the database *before* the transaction: tempids are
 * resolved (upserting through :db.unique/identity), :db/cas compares against db-before,
 * :db/retractEntity retracts what db-before holds. The resulting assertions and retractions are
 * then checked together: conflicting datoms abort, redundant ones are dropped, uniqueness and
 * schema rules are verified against the value after. A failed transaction changes nothing,
 * because database values are persistent: the new value is simply not returned.
 */
import { Edit } from './btree';
import { Datom, Retraction, FIRST_USER_EID, TX0, tToTx, txToT } from './datom';
import { Db, attrText, type DbState, type Indexes, type TxLogEntry } from './db';
import { EdnList, Keyword, readEdn } from './edn';
import { conflict, describeValue, incorrect, type DatalithError } from './errors';
import { runSteps, type Steps } from './steps';
import {
  attributeFromDatoms, buildSchema, SCHEMA_ATTR_IDS, SYS, TYPE_IDS, type Attribute,
} from './schema';
import { coerceScalar, keywordText, valueKey, valuesEqual, type TupleElementType, type Value } from './values';

export interface TxReport {
  readonly dbBefore: Db;
  readonly dbAfter: Db;
  readonly txData: readonly Datom[];
  readonly tempids: Record<string, number>;
}

export interface TransactOptions {
  /** Wall-clock instant of the transaction in ms (default Date.now()). */
  readonly now?: number;
  /** Refuse transactions producing more datoms than this. */
  readonly maxDatoms?: number;
  /**
   * The id the transaction is committed under: asserted as `:db/txId` of the transaction entity,
   * so the log and the indexes remember every id (exactly-once retries, queryable).
   */
  readonly txId?: string;
  /** Ids of transactions refused in doubt, recorded as `:db/refusedTxId` of this transaction. */
  readonly refusedTxIds?: readonly string[];
}

/** Marker for a tempid in entity or ref-value position. */
class Tempid {
  constructor(readonly name: string, readonly user: boolean) {}
}
type ERef = number | Tempid;

interface AddOp { readonly op: 'add'; readonly e: ERef; readonly a: Attribute; readonly v: Value | Tempid }
interface RetractOp { readonly op: 'retract'; readonly e: ERef; readonly a: Attribute; readonly v: Value | Tempid | undefined }
interface CasOp { readonly op: 'cas'; readonly e: ERef; readonly a: Attribute; readonly old: Value | null; readonly v: Value | Tempid }
interface RetractEntityOp { readonly op: 'retractEntity'; readonly e: ERef }
type Op = AddOp | RetractOp | CasOp | RetractEntityOp;

export const TX_TEMPID = 'datomic.tx';
/** Datomic limits strings inside tuples to 256 characters. */
export const MAX_TUPLE_STRING_LENGTH = 256;

const isList = (x: unknown): x is unknown[] | EdnList => Array.isArray(x) || x instanceof EdnList;
const listItems = (x: unknown[] | EdnList): unknown[] => (Array.isArray(x) ? x : x.items);
const isMapForm = (x: unknown): boolean =>
  x instanceof Map ||
  (typeof x === 'object' && x !== null && !Array.isArray(x) && !(x instanceof EdnList) && !(x instanceof Date) &&
    Object.getPrototypeOf(x) === Object.prototype);

function mapEntries(x: unknown): Array<[unknown, unknown]> {
  if (x instanceof Map) return [...x.entries()];
  return Object.entries(x as Record<string, unknown>);
}

/**
 * The refusal of a transaction above the datoms limit. `what` says what was counted: the
 * datoms it produced, the datoms its data names, or its forms (each names at least one).
 */
export function transactionTooLarge(count: number | null, what: 'datoms' | 'named datoms' | 'forms', limit: number): DatalithError {
  const n = count ?? `more than ${limit}`;
  const subject = what === 'forms' ? `Transaction data of ${n} forms` : what === 'named datoms' ? `Transaction data naming ${n} datoms` : `Transaction of ${n} datoms`;
  return incorrect('db.error/transaction-too-large', `${subject} exceeds the limit of ${limit} datoms per transaction`, { ...(count !== null ? { [what === 'forms' ? 'forms' : 'datoms']: count } : {}), limit });
}

/**
 * Normalizes transaction data given as an EDN string or JS data into a list of forms. With
 * `maxForms`, data of more forms is refused before the rest of it is read (EDN) or looked at.
 */
export function txForms(txData: unknown, maxForms?: number): unknown[] {
  const data = typeof txData === 'string'
    ? readEdn(txData, maxForms === undefined ? undefined : { maxOuterItems: { count: maxForms, error: () => transactionTooLarge(null, 'forms', maxForms) } })
    : txData;
  let forms: unknown[];
  if (isList(data)) forms = listItems(data);
  else if (data instanceof Set) forms = [...data];
  else throw incorrect('db.error/invalid-tx-data', `Transaction data must be a list of operations or entity maps, got ${describeValue(data)}`);
  if (maxForms !== undefined && forms.length > maxForms) throw transactionTooLarge(forms.length, 'forms', maxForms);
  return forms;
}

/**
 * How many items a step of `transactSteps` (and `applyDatomsSteps`) works through before it
 * yields: a caller driving the steps can let other work run at each yield.
 */
const STEP_ITEMS = 2048;

class TxBuilder {
  private readonly ops: Op[] = [];
  private readonly tempids = new Map<string, Tempid>();
  private genCounter = 0;
  readonly txId: number;

  constructor(private readonly db: Db, private readonly maxDatoms = Infinity) {
    this.txId = tToTx(db.t + 1);
  }

  /** Each operation names one datom; above the limit the transaction is refused before it is evaluated. */
  private push(op: Op): void {
    if (this.ops.length >= this.maxDatoms) throw transactionTooLarge(null, 'named datoms', this.maxDatoms);
    this.ops.push(op);
  }

  tempid(name: string, user: boolean): Tempid {
    let t = this.tempids.get(name);
    if (!t) {
      t = new Tempid(name, user);
      this.tempids.set(name, t);
    }
    return t;
  }

  get allOps(): readonly Op[] {
    return this.ops;
  }

  /** Entity position: id, ident, lookup ref, tempid string, or "datomic.tx". */
  entityRef(x: unknown, where: string): ERef {
    if (typeof x === 'string' && x.charCodeAt(0) !== 58) {
      if (x === TX_TEMPID) return this.txId;
      return this.tempid(x, true);
    }
    if (typeof x === 'number') return this.checkEntityId(x, where);
    if (typeof x === 'bigint') return this.checkEntityId(Number(x), where);
    if (x instanceof EdnList) return this.entityRef(x.items, where);
    if (x === null || x === undefined) {
      throw incorrect('db.error/invalid-entity-id', `Missing entity id in ${where}`);
    }
    if (typeof x !== 'string' && !Array.isArray(x) && !(x instanceof Keyword)) {
      throw incorrect('db.error/invalid-entity-id', `Invalid entity identifier ${describeValue(x)} in ${where}`, { entity: describeValue(x) });
    }
    return this.db.requireEntid(x);
  }

  private checkEntityId(e: number, where: string): number {
    const s = this.db.state;
    const known =
      Number.isInteger(e) && e >= 0 &&
      (e < FIRST_USER_EID ? s.schema.identOf.has(e) || this.db.firstDatom('eavt', e) !== undefined
        : e < TX0 ? e <= s.maxEid : e <= this.txId);
    if (!known) {
      throw incorrect('db.error/invalid-entity-id', `Invalid entity id ${describeValue(e)} in ${where}: no such entity`, { entity: e });
    }
    return e;
  }

  /** A value for attribute `a` (refs may be tempids, idents, lookup refs or nested maps). */
  value(a: Attribute, v: unknown, where: string): Value | Tempid {
    if (v instanceof EdnList) v = v.items;
    if (a.valueType === 'ref') {
      if (isMapForm(v)) return this.nestedEntity(a, v);
      if (typeof v === 'string' && v.charCodeAt(0) !== 58) return this.entityRef(v, `the value of ${a.ident} in ${where}`);
      if (v === null || v === undefined) return coerceScalar(a.ident, 'string', v); // throws nil-value
      if (typeof v === 'number' || typeof v === 'bigint' || typeof v === 'string' || v instanceof Keyword || Array.isArray(v)) {
        return this.entityRef(v, `the value of ${a.ident} in ${where}`);
      }
      throw incorrect('db.error/wrong-type-for-attribute', `Value ${describeValue(v)} is not a valid ref for attribute ${a.ident}`, { attribute: a.ident, value: describeValue(v) });
    }
    if (a.valueType === 'tuple') return this.tupleValue(a, v);
    return coerceScalar(a.ident, a.valueType, v);
  }

  private tupleValue(a: Attribute, v: unknown): Value {
    if (v instanceof EdnList) v = v.items;
    if (!Array.isArray(v)) {
      throw incorrect('db.error/wrong-type-for-attribute', `Value ${describeValue(v)} is not a valid tuple for attribute ${a.ident}`, { attribute: a.ident, value: describeValue(v) });
    }
    if (a.tupleAttrs) {
      // A composite is maintained by the database. Datomic accepts its value in transaction data
      // only to name the entity (upsert through a unique composite); it must then equal the
      // value computed from the member attributes (checked once the transaction is applied).
      if (v.length !== a.tupleAttrs.length) {
        throw incorrect('db.error/wrong-type-for-attribute', `Composite tuple for attribute ${a.ident} must have ${a.tupleAttrs.length} elements, got ${v.length}`, { attribute: a.ident, value: describeValue(v) });
      }
      return v.map((x, i) => {
        if (x === null || x === undefined) return null;
        const part = this.db.attr(a.tupleAttrs![i]!)!;
        if (part.valueType === 'ref') return this.db.requireEntid(x instanceof EdnList ? x.items : x);
        return coerceScalar(a.ident, part.valueType as TupleElementType, x);
      });
    }
    const types: TupleElementType[] = a.tupleTypes ? [...a.tupleTypes] : new Array(v.length).fill(a.tupleType);
    if (a.tupleTypes && v.length !== a.tupleTypes.length) {
      throw incorrect('db.error/wrong-type-for-attribute', `Tuple for attribute ${a.ident} must have ${a.tupleTypes.length} elements, got ${v.length}`, { attribute: a.ident });
    }
    if (!a.tupleTypes && (v.length < 2 || v.length > 8)) {
      throw incorrect('db.error/wrong-type-for-attribute', `Tuple for attribute ${a.ident} must have 2 to 8 elements, got ${v.length}`, { attribute: a.ident });
    }
    return v.map((x, i) => {
      if (x === null || x === undefined) return null;
      const t = types[i]!;
      if (t === 'ref') return this.db.requireEntid(x instanceof EdnList ? x.items : x);
      const y = coerceScalar(a.ident, t, x);
      if (typeof y === 'string' && t === 'string' && y.length > MAX_TUPLE_STRING_LENGTH) {
        throw incorrect('db.error/string-too-long', `String of ${y.length} characters in a tuple of attribute ${a.ident} exceeds the limit of ${MAX_TUPLE_STRING_LENGTH}`, { attribute: a.ident, length: y.length, limit: MAX_TUPLE_STRING_LENGTH });
      }
      return y;
    });
  }

  private nestedEntity(parent: Attribute, m: unknown): ERef {
    const entries = mapEntries(m);
    let hasUnique = false;
    let hasId = false;
    for (const [k] of entries) {
      const ident = attrText(k);
      if (ident === ':db/id') hasId = true;
      const attr = ident === undefined ? undefined : this.db.attrOf(ident);
      if (attr?.unique) hasUnique = true;
    }
    if (!parent.isComponent && !hasUnique && !hasId) {
      throw incorrect('db.error/invalid-nested-entity', `Nested entity map under ${parent.ident} must be a component or have a unique attribute: ${describeValue(m)}`, { attribute: parent.ident });
    }
    return this.entityMap(m);
  }

  /** Adds the operations of an entity map; returns its entity reference. */
  entityMap(m: unknown): ERef {
    const entries = mapEntries(m);
    let e: ERef | undefined;
    for (const [k, v] of entries) {
      if (attrText(k) === ':db/id') e = this.entityRef(v instanceof EdnList ? v.items : v, 'entity map :db/id');
    }
    if (e === undefined) e = this.tempid(`__map${this.genCounter++}`, false);
    for (const [k, raw] of entries) {
      const ident = attrText(k);
      if (ident === undefined) {
        throw incorrect('db.error/not-an-attribute', `${describeValue(k)} is not an attribute name in entity map`, { attribute: describeValue(k) });
      }
      if (ident === ':db/id') continue;
      const slash = ident.indexOf('/');
      if (ident.charCodeAt(slash + 1) === 95 /* _ */ && this.db.attrOf(ident) === undefined) {
        // Reverse reference: :ns/_attr
        const fwd = this.db.requireAttr(`${ident.slice(0, slash + 1)}${ident.slice(slash + 2)}`);
        if (fwd.valueType !== 'ref') {
          throw incorrect('db.error/not-a-ref-attribute', `Reverse attribute ${ident} names ${fwd.ident}, which is not a ref`, { attribute: ident });
        }
        const items = isList(raw) && !this.isLookupRef(raw) ? listItems(raw) : [raw];
        for (const item of items) {
          const src = isMapForm(item) ? this.nestedEntity(fwd, item) : this.entityRef(item, `reverse attribute ${ident}`);
          this.push({ op: 'add', e: src, a: fwd, v: e });
        }
        continue;
      }
      const a = this.db.requireAttr(ident);
      for (const v of this.manyValues(a, raw)) this.push({ op: 'add', e, a, v: this.value(a, v, `${a.ident}`) });
    }
    return e;
  }

  private isLookupRef(x: unknown): boolean {
    const items = isList(x) ? listItems(x) : null;
    if (!items || items.length !== 2) return false;
    const a = keywordText(items[0]) ?? (items[0] instanceof Keyword ? items[0].toString() : undefined);
    const attr = a === undefined ? undefined : this.db.attrOf(a);
    return attr !== undefined && attr.unique !== null;
  }

  /** The values of an entity-map entry: a collection for card-many, else one value. */
  private manyValues(a: Attribute, raw: unknown): unknown[] {
    if (a.cardinality === 'many') {
      if (raw instanceof Set) return [...raw];
      if (isList(raw)) {
        if (a.valueType === 'ref' && this.isLookupRef(raw)) return [raw];
        if (a.valueType === 'tuple' && listItems(raw).every((x) => !isList(x))) return [raw];
        return listItems(raw);
      }
    }
    return [raw];
  }

  listForm(form: unknown[]): void {
    const opName = keywordText(form[0]) ?? (typeof form[0] === 'string' ? `:${form[0]}` : undefined);
    const where = opName ?? 'transaction operation';
    switch (opName) {
      case ':db/add': {
        if (form.length !== 4) throw incorrect('db.error/invalid-tx-data', `:db/add takes an entity, an attribute and a value: ${describeValue(form)}`);
        const a = this.db.requireAttr(form[2]);
        const e = this.entityRef(form[1], `${where} of ${a.ident}`);
        this.push({ op: 'add', e, a, v: this.value(a, form[3], where) });
        return;
      }
      case ':db/retract': {
        if (form.length !== 3 && form.length !== 4) throw incorrect('db.error/invalid-tx-data', `:db/retract takes an entity, an attribute and optionally a value: ${describeValue(form)}`);
        const a = this.db.requireAttr(form[2]);
        if (a.tupleAttrs) {
          throw incorrect('db.error/composite-tuple', `Composite tuple attribute ${a.ident} is maintained by the database and cannot be retracted; retract its attributes instead`, { attribute: a.ident });
        }
        const e = this.entityRef(form[1], `${where} of ${a.ident}`);
        this.push({ op: 'retract', e, a, v: form.length === 4 ? this.value(a, form[3], where) : undefined });
        return;
      }
      case ':db/cas':
      case ':db.fn/cas': {
        if (form.length !== 5) throw incorrect('db.error/invalid-tx-data', `:db/cas takes an entity, an attribute, the old value and the new value: ${describeValue(form)}`);
        const a = this.db.requireAttr(form[2]);
        if (a.cardinality !== 'one') throw incorrect('db.error/invalid-tx-data', `:db/cas needs a cardinality-one attribute, ${a.ident} is many`, { attribute: a.ident });
        const e = this.entityRef(form[1], `${where} of ${a.ident}`);
        const old = form[3] === null || form[3] === undefined ? null : this.value(a, form[3], where);
        if (old instanceof Tempid) throw incorrect('db.error/invalid-tx-data', `:db/cas old value cannot be a tempid: ${describeValue(form)}`);
        this.push({ op: 'cas', e, a, old, v: this.value(a, form[4], where) });
        return;
      }
      case ':db/retractEntity':
      case ':db.fn/retractEntity': {
        if (form.length !== 2) throw incorrect('db.error/invalid-tx-data', `:db/retractEntity takes one entity: ${describeValue(form)}`);
        this.push({ op: 'retractEntity', e: this.entityRef(form[1], where) });
        return;
      }
      default:
        throw incorrect('db.error/not-a-data-function', `Unknown transaction operation ${describeValue(form[0])} in ${describeValue(form)}`, { op: describeValue(form[0]) });
    }
  }
}

interface Delta {
  /** Assertions to make, by (e, a, v) key. */
  adds: Map<string, Datom>;
  /** Existing datoms to retract, by key. */
  retracts: Map<string, Datom>;
  /** Keys asked to be asserted (even redundantly) and explicitly retracted: for conflicts. */
  asked: Map<string, Datom>;
  askedRetract: Set<string>;
}

const dkey = (e: number, a: number, v: Value): string => {
  const k = valueKey(v);
  return `${e} ${a} ${typeof k === 'string' ? `s${k}` : String(k)}`;
};

/** Processes transaction data against a database value; throws and changes nothing on error. */
export function transact(db: Db, txData: unknown, opts: TransactOptions = {}): TxReport {
  return runSteps(transactSteps(db, txData, opts));
}

/**
 * `transact` in steps of bounded work (see STEP_ITEMS), for a caller that must not be held
 * for the whole of a large transaction (a node's event loop). The same result as `transact`.
 * With `maxDatoms`, a transaction above it is refused as soon as that is known: more forms than
 * the limit while the data is read, more datoms named than the limit before tempids are
 * resolved, more datoms produced than the limit while they are computed.
 */
export function* transactSteps(db: Db, txData: unknown, opts: TransactOptions = {}): Steps<TxReport> {
  if (db.isFiltered) {
    if (db.isHistory) {
      throw incorrect('db.error/filtered-db', 'A history database value cannot be passed to with or transact');
    }
    // Datomic: "with" on an asOf/since value means with followed by the same filter.
    const r = yield* transactSteps(db.unfiltered(), txData, opts);
    return { ...r, dbBefore: db, dbAfter: new Db(r.dbAfter.state, db.filter) };
  }
  const maxDatoms = opts.maxDatoms ?? Infinity;
  const forms = txForms(txData, opts.maxDatoms);
  const b = new TxBuilder(db, maxDatoms);
  for (let i = 0; i < forms.length; i++) {
    if (i % STEP_ITEMS === STEP_ITEMS - 1) yield;
    const form = forms[i];
    if (form instanceof EdnList || Array.isArray(form)) b.listForm(listItems(form));
    else if (isMapForm(form)) b.entityMap(form);
    else throw incorrect('db.error/invalid-tx-data', `Each transaction form must be a list or an entity map, got ${describeValue(form)}`);
  }
  const ops = b.allOps;
  const tx = b.txId;
  const { ids, userTempids } = yield* resolveTempids(db, ops);
  const resolve = (r: ERef): number => (typeof r === 'number' ? r : ids.get(r.name)!);
  const resolveV = (v: Value | Tempid): Value => (v instanceof Tempid ? ids.get(v.name)! : v);

  const delta: Delta = { adds: new Map(), retracts: new Map(), asked: new Map(), askedRetract: new Set() };
  const cardOne = new Map<string, Datom>();
  const before = db;

  // Composite values named in the transaction data: checked against the maintained value.
  const namedComposites: Datom[] = [];
  const assert = (e: number, a: Attribute, v: Value): void => {
    const key = dkey(e, a.id, v);
    const d = new Datom(e, a.id, v, tx, true);
    if (a.tupleAttrs) {
      namedComposites.push(d);
      return;
    }
    delta.asked.set(key, d);
    if (a.cardinality === 'one') {
      const ck = `${e} ${a.id}`;
      const prev = cardOne.get(ck);
      if (prev && !valuesEqual(prev.v, v)) {
        throw conflict('db.error/datoms-conflict', `Two datoms in the same transaction conflict: ${a.ident} of entity ${e} asserted as both ${describeValue(prev.v)} and ${describeValue(v)}`, { entity: e, attribute: a.ident });
      }
      cardOne.set(ck, d);
      for (const old of before.values(e, a.id)) {
        if (valuesEqual(old, v)) continue;
        delta.retracts.set(dkey(e, a.id, old), before.firstDatom('eavt', e, a.id, old)!);
      }
    }
    if (before.firstDatom('eavt', e, a.id, v) === undefined) delta.adds.set(key, d);
  };
  const retract = (e: number, a: Attribute, v: Value | undefined): void => {
    before.forDatoms('eavt', e, a.id, v, undefined, (d) => {
      const key = dkey(e, a.id, d.v);
      delta.retracts.set(key, d);
      delta.askedRetract.add(key);
    });
    if (v !== undefined) delta.askedRetract.add(dkey(e, a.id, v));
  };
  const retractEntity = (e: number, seen: Set<number>): void => {
    if (seen.has(e)) return;
    seen.add(e);
    before.forDatoms('eavt', e, undefined, undefined, undefined, (d) => {
      const key = dkey(d.e, d.a, d.v);
      delta.retracts.set(key, d);
      delta.askedRetract.add(key);
      const attr = before.attr(d.a);
      if (attr?.isComponent && typeof d.v === 'number') retractEntity(d.v, seen);
    });
    before.forDatoms('vaet', e, undefined, undefined, undefined, (d) => {
      const key = dkey(d.e, d.a, d.v);
      delta.retracts.set(key, d);
      delta.askedRetract.add(key);
    });
  };

  for (let i = 0; i < ops.length; i++) {
    if (i % STEP_ITEMS === STEP_ITEMS - 1) {
      // What is computed so far is part of the result: beyond the limit already, stop here.
      if (delta.adds.size + delta.retracts.size > maxDatoms) throw transactionTooLarge(null, 'datoms', maxDatoms);
      yield;
    }
    const op = ops[i]!;
    switch (op.op) {
      case 'add':
        assert(resolve(op.e), op.a, resolveV(op.v));
        break;
      case 'retract':
        retract(resolve(op.e), op.a, op.v === undefined ? undefined : resolveV(op.v));
        break;
      case 'cas': {
        const e = resolve(op.e);
        const current = before.values(e, op.a.id)[0];
        const matches = op.old === null ? current === undefined : current !== undefined && valuesEqual(current, op.old);
        if (!matches) {
          throw conflict('db.error/cas-failed', `Compare failed: ${op.a.ident} of entity ${e} expected ${describeValue(op.old)} but found ${describeValue(current ?? null)}`, {
            entity: e, attribute: op.a.ident, expected: describeValue(op.old), found: describeValue(current ?? null),
          });
        }
        assert(e, op.a, resolveV(op.v));
        break;
      }
      case 'retractEntity':
        retractEntity(resolve(op.e), new Set());
        break;
    }
  }

  // Datoms both asserted and retracted in one transaction conflict.
  for (const key of delta.askedRetract) {
    const d = delta.asked.get(key);
    if (d) {
      throw conflict('db.error/datoms-conflict', `Two datoms in the same transaction conflict: ${before.attr(d.a)?.ident} ${describeValue(d.v)} of entity ${d.e} is both asserted and retracted`, { entity: d.e, attribute: before.attr(d.a)?.ident });
    }
  }

  // The instant of a transaction is part of the log: only the current transaction's may be set,
  // and no past one may be changed or retracted.
  for (const d of [...delta.asked.values(), ...delta.retracts.values()]) {
    if (d.a === SYS.txInstant && d.e !== tx) {
      throw incorrect('db.error/invalid-tx-instant', `:db/txInstant can only be asserted for the current transaction, not for entity ${d.e}`, { entity: d.e, attribute: ':db/txInstant' });
    }
    if (d.a === SYS.txId || d.a === SYS.refusedTxId) {
      const ident = d.a === SYS.txId ? ':db/txId' : ':db/refusedTxId';
      throw incorrect('db.error/reserved-attribute', `${ident} is maintained by the transactor: pass the id as the txId option of transact instead of asserting or retracting it`, { entity: d.e, attribute: ident });
    }
  }
  const [instant, explicit] = txInstant(db, delta, tx, opts.now ?? Date.now());
  const txDatoms: Datom[] = [];
  if (!explicit) txDatoms.push(new Datom(tx, SYS.txInstant, new Date(instant), tx, true));
  if (opts.txId !== undefined) txDatoms.push(new Datom(tx, SYS.txId, opts.txId, tx, true));
  for (const id of opts.refusedTxIds ?? []) txDatoms.push(new Datom(tx, SYS.refusedTxId, id, tx, true));
  for (const d of delta.retracts.values()) txDatoms.push(new Datom(d.e, d.a, d.v, tx, false));
  for (const d of delta.adds.values()) txDatoms.push(d);

  if (txDatoms.length > maxDatoms) throw transactionTooLarge(txDatoms.length, 'datoms', maxDatoms);
  let state = yield* applyDatomsSteps(db.state, txDatoms, instant);
  // Redundant assertions of member attributes count too: Datomic populates a composite the next
  // time any member is transacted, "including no-op transactions of the same value".
  const composites = compositeDelta(db, state, [...txDatoms, ...delta.asked.values()], tx);
  if (composites.length > 0) {
    state = yield* applyDatomsSteps(db.state, txDatoms.concat(composites), instant);
    txDatoms.push(...composites);
  }
  if (namedComposites.length > 0) {
    const view = new Db(state);
    for (const d of namedComposites) {
      const current = view.values(d.e, d.a)[0];
      if (current === undefined || !valuesEqual(current, d.v)) {
        const ident = view.attr(d.a)!.ident;
        throw incorrect('db.error/composite-tuple', `Composite tuple attribute ${ident} is maintained by the database: ${describeValue(d.v)} does not match the value ${describeValue(current ?? null)} of its attributes on entity ${d.e}`, { attribute: ident, value: describeValue(d.v), entity: d.e });
      }
    }
  }
  if (txDatoms.length > maxDatoms) throw transactionTooLarge(txDatoms.length, 'datoms', maxDatoms);
  const after = new Db(state);
  yield* checkUnique(after, txDatoms);
  checkSchemaChanges(before, after, txDatoms);
  const tempids: Record<string, number> = {};
  for (const [name, id] of userTempids) tempids[name] = id;
  return { dbBefore: db, dbAfter: after, txData: txDatoms, tempids };
}

/** The transaction's instant, and whether the transaction data set it explicitly. */
function txInstant(db: Db, delta: Delta, tx: number, now: number): [number, boolean] {
  const last = db.state.lastInstant;
  for (const d of delta.asked.values()) {
    if (d.e === tx && d.a === SYS.txInstant) {
      const ms = (d.v as Date).getTime();
      if (ms < last) {
        throw incorrect('db.error/past-tx-instant', `:db/txInstant ${describeValue(d.v)} is before the previous transaction's instant ${new Date(last).toISOString()}`);
      }
      if (ms > now) {
        throw incorrect('db.error/future-tx-instant', `:db/txInstant ${describeValue(d.v)} is after the transactor's clock ${new Date(now).toISOString()}`);
      }
      return [ms, true];
    }
  }
  return [now > last ? now : last + 1, false];
}

/** Resolves tempids: upserts through identity attributes, then allocates new entity ids. */
function* resolveTempids(db: Db, ops: readonly Op[]): Steps<{ ids: Map<string, number>; userTempids: Map<string, number> }> {
  const ids = new Map<string, number>();
  // Union of tempids that assert the same new identity value: they are one entity.
  const alias = new Map<string, string>();
  const root = (n: string): string => {
    let r = n;
    while (alias.has(r)) r = alias.get(r)!;
    return r;
  };
  const resolvedV = (v: Value | Tempid): Value | undefined => (v instanceof Tempid ? ids.get(root(v.name)) : v);
  let changed = true;
  while (changed) {
    changed = false;
    const claims = new Map<string, string>();
    for (let i = 0; i < ops.length; i++) {
      if (i % STEP_ITEMS === STEP_ITEMS - 1) yield;
      const op = ops[i]!;
      if (op.op !== 'add' || !(op.e instanceof Tempid) || op.a.unique !== 'identity') continue;
      const name = root(op.e.name);
      const v = resolvedV(op.v);
      if (v === undefined) continue;
      const found = db.firstDatom('avet', op.a.id, v);
      if (found) {
        const prev = ids.get(name);
        if (prev !== undefined && prev !== found.e) {
          throw conflict('db.error/unique-conflict', `Tempid ${describeValue(op.e.name)} upserts to two different entities ${prev} and ${found.e} (through ${op.a.ident} ${describeValue(v)})`, { tempid: op.e.name, attribute: op.a.ident });
        }
        if (prev === undefined) {
          ids.set(name, found.e);
          changed = true;
        }
      } else if (!ids.has(name)) {
        const ck = `${op.a.id} ${String(valueKey(v))}`;
        const other = claims.get(ck);
        if (other !== undefined && root(other) !== name) {
          alias.set(name, root(other));
          changed = true;
        } else claims.set(ck, name);
      }
    }
  }
  // Tempids must name an entity that gets datoms, not only appear as values.
  const asEntity = new Set<string>();
  const order: string[] = [];
  const seen = new Set<string>();
  const visit = (r: ERef | Value | undefined, entity: boolean): void => {
    if (!(r instanceof Tempid)) return;
    if (entity) asEntity.add(root(r.name));
    if (!seen.has(r.name)) {
      seen.add(r.name);
      order.push(r.name);
    }
  };
  for (const op of ops) {
    visit(op.e, op.op === 'add' || op.op === 'cas');
    if (op.op !== 'retractEntity') visit(op.v as Value | Tempid | undefined, false);
  }
  let next = db.state.maxEid;
  for (const name of order) {
    const r = root(name);
    if (ids.has(r)) continue;
    if (!asEntity.has(r)) {
      throw incorrect('db.error/tempid-not-an-entity', `Tempid ${describeValue(name)} is used only as a value in the transaction, never as an entity`, { tempid: name });
    }
    ids.set(r, ++next);
  }
  for (const name of order) if (!ids.has(name)) ids.set(name, ids.get(root(name))!);
  const userTempids = new Map<string, number>();
  for (const op of ops) {
    for (const r of [op.e, op.op === 'retractEntity' ? undefined : op.v]) {
      if (r instanceof Tempid && r.user) userTempids.set(r.name, ids.get(r.name)!);
    }
  }
  return { ids, userTempids };
}

/**
 * Applies a transaction's datoms (assertions and retractions, all with the same tx) to a state.
 * Used by transact and by replay from the log, so both build the same value.
 */
export function applyDatoms(state: DbState, datoms: readonly Datom[], instant: number, batch?: Edit): DbState {
  return runSteps(applyDatomsSteps(state, datoms, instant, batch));
}

/** `applyDatoms` in steps (see transactSteps). */
export function* applyDatomsSteps(state: DbState, datoms: readonly Datom[], instant: number, batch?: Edit): Steps<DbState> {
  // A replay passes one edit for many transactions: nodes it created are updated in place by
  // the later ones, which is safe only because nobody sees the values in between.
  const edit = batch ?? new Edit();
  let { eavt, aevt, avet, vaet } = state.current;
  let h = state.history;
  let heavt = h.eavt, haevt = h.aevt, havet = h.avet, hvaet = h.vaet;
  let schemaTouched: Set<number> | null = null;
  let maxEid = state.maxEid;
  let tx = -1;
  for (let i = 0; i < datoms.length; i++) {
    if (i % STEP_ITEMS === STEP_ITEMS - 1) yield;
    const d = datoms[i]!;
    tx = d.tx;
    const attr = state.schema.attrs.get(d.a);
    const isRef = attr?.valueType === 'ref';
    if (d.a === SYS.ident || SCHEMA_ATTR_IDS.has(d.a)) (schemaTouched ??= new Set()).add(d.e);
    if (d.added) {
      if (d.e < TX0 && d.e > maxEid) maxEid = d.e;
      eavt = eavt.insert(d, edit);
      aevt = aevt.insert(d, edit);
      avet = avet.insert(d, edit);
      if (isRef) vaet = vaet.insert(d, edit);
    } else {
      const cur = eavt.get(d);
      if (cur === undefined) continue;
      eavt = eavt.remove(cur, edit);
      aevt = aevt.remove(cur, edit);
      avet = avet.remove(cur, edit);
      if (isRef) vaet = vaet.remove(cur, edit);
      if (!attr?.noHistory) {
        const r = new Retraction(cur.e, cur.a, cur.v, d.tx, cur.tx);
        heavt = heavt.insert(r, edit);
        haevt = haevt.insert(r, edit);
        havet = havet.insert(r, edit);
        if (isRef) hvaet = hvaet.insert(r, edit);
      }
    }
  }
  if (batch === undefined) edit.live = false;
  const t = tx === -1 ? state.t + 1 : txToT(tx);
  const entry: TxLogEntry = { t, tx: tToTx(t), instant, data: datoms };
  const current: Indexes = { eavt, aevt, avet, vaet };
  const schema = schemaTouched ? rebuildSchema(state, current, schemaTouched) : state.schema;
  return {
    t,
    current,
    history: heavt === h.eavt && hvaet === h.vaet ? h : { eavt: heavt, aevt: haevt, avet: havet, vaet: hvaet },
    log: state.log.insert(entry, batch ?? null),
    schema,
    maxEid,
    lastInstant: Math.max(instant, state.lastInstant),
  };
}

function rebuildSchema(state: DbState, current: Indexes, touched: Set<number>): DbState['schema'] {
  const old = state.schema;
  const attrs = new Map(old.attrs);
  const idents = new Map(old.idents);
  const identOf = new Map(old.identOf);
  const after = new Db({ ...state, current });
  for (const e of touched) {
    const ds = after.datoms('eavt', e);
    const identD = ds.find((d) => d.a === SYS.ident);
    const prevIdent = identOf.get(e);
    if (identD) {
      const ident = identD.v as string;
      identOf.set(e, ident);
      idents.set(ident, e); // a renamed entity keeps answering to its old ident too
    } else if (prevIdent !== undefined) {
      identOf.delete(e);
      idents.delete(prevIdent);
    }
  }
  for (const e of touched) {
    const ds = after.datoms('eavt', e);
    const a = attributeFromDatoms(e, ds, idents);
    if (a) attrs.set(e, a);
    else attrs.delete(e);
  }
  return buildSchema(attrs, idents, identOf);
}

/** Assertions and retractions of composite tuples whose parts changed. */
function compositeDelta(before: Db, state: DbState, touched: readonly Datom[], tx: number): Datom[] {
  const compositesOf = before.schema.compositesOf;
  if (compositesOf.size === 0) return [];
  const work = new Map<string, [number, number]>();
  for (const d of touched) {
    const comps = compositesOf.get(d.a);
    if (!comps) continue;
    for (const c of comps) work.set(`${d.e} ${c}`, [d.e, c]);
  }
  const after = new Db(state);
  const out: Datom[] = [];
  for (const [e, c] of work.values()) {
    const attr = before.attr(c)!;
    const parts = attr.tupleAttrs!.map((p) => after.values(e, p)[0] ?? null);
    const old = before.values(e, c)[0];
    const allNil = parts.every((p) => p === null);
    if (old !== undefined && (allNil || !valuesEqual(old, parts))) out.push(new Datom(e, c, old, tx, false));
    if (!allNil && (old === undefined || !valuesEqual(old, parts))) out.push(new Datom(e, c, parts, tx, true));
  }
  return out;
}

function* checkUnique(after: Db, txDatoms: readonly Datom[]): Steps<void> {
  for (let i = 0; i < txDatoms.length; i++) {
    if (i % STEP_ITEMS === STEP_ITEMS - 1) yield;
    const d = txDatoms[i]!;
    if (!d.added) continue;
    const a = after.attr(d.a);
    if (!a || a.unique === null) continue;
    let n = 0;
    let other = -1;
    after.forDatoms('avet', d.a, d.v, undefined, undefined, (x) => {
      n++;
      if (x.e !== d.e) other = x.e;
      return n < 2;
    });
    if (n > 1) {
      throw conflict('db.error/unique-conflict', `Unique conflict: ${a.ident} ${describeValue(d.v)} asserted for entity ${d.e} already belongs to entity ${other}`, { attribute: a.ident, value: describeValue(d.v), entity: d.e, existing: other });
    }
  }
}

const SCHEMA_NAMES: Record<number, string> = {
  [SYS.valueType]: ':db/valueType', [SYS.cardinality]: ':db/cardinality', [SYS.unique]: ':db/unique',
  [SYS.tupleAttrs]: ':db/tupleAttrs', [SYS.tupleTypes]: ':db/tupleTypes', [SYS.tupleType]: ':db/tupleType',
};

/** Idents in the :db and :db.* namespaces, reserved for Datomic's schema. */
const RESERVED_IDENT = /^:db(\.[^/]*)?\//;

/** Datomic's schema rules: what may be added, what may change, what never changes. */
function checkSchemaChanges(before: Db, after: Db, txDatoms: readonly Datom[]): void {
  const touched = new Set<number>();
  for (const d of txDatoms) if (SCHEMA_ATTR_IDS.has(d.a) || d.a === SYS.ident) touched.add(d.e);
  for (const e of touched) {
    const old = before.attr(e);
    const neu = after.attr(e);
    const ident = neu?.ident ?? old?.ident ?? after.ident(e) ?? String(e);
    const has = (a: number): boolean => after.firstDatom('eavt', e, a) !== undefined;
    if (e < FIRST_USER_EID && before.firstDatom('eavt', e) !== undefined) {
      for (const d of txDatoms) {
        if (d.e === e && d.a !== SYS.doc) {
          throw incorrect('db.error/incompatible-schema-change', `System entity ${ident} cannot be changed`, { attribute: ident });
        }
      }
    }
    if (e >= FIRST_USER_EID) {
      const named = after.ident(e);
      if (named !== undefined && named !== before.ident(e) && RESERVED_IDENT.test(named)) {
        throw incorrect('db.error/reserved-ident', `${named} is reserved: names in the :db and :db.* namespaces are for Datomic's own schema`, { ident: named });
      }
    }
    if (!neu) {
      if (old) {
        throw incorrect('db.error/incompatible-schema-change', `Attribute ${old.ident} cannot lose its :db/ident, :db/valueType or :db/cardinality`, { attribute: old.ident });
      }
      const partial = [SYS.valueType, SYS.cardinality].some(has) || [SYS.unique, SYS.tupleAttrs, SYS.tupleTypes, SYS.tupleType].some(has);
      if (partial) {
        const missing = [!has(SYS.ident) && ':db/ident', !has(SYS.valueType) && ':db/valueType', !has(SYS.cardinality) && ':db/cardinality'].filter(Boolean).join(', ');
        throw incorrect('db.error/incomplete-attribute', `Attribute ${ident} is missing ${missing}`, { attribute: ident });
      }
      continue;
    }
    // Validate the definition itself.
    if (neu.valueType === 'tuple') {
      const kinds = [neu.tupleAttrs, neu.tupleTypes, neu.tupleType].filter((x) => x !== null).length;
      if (kinds !== 1) {
        throw incorrect('db.error/invalid-tuple-attribute', `Tuple attribute ${neu.ident} needs exactly one of :db/tupleAttrs, :db/tupleTypes, :db/tupleType`, { attribute: neu.ident });
      }
      if (neu.tupleAttrs) {
        if (neu.tupleAttrs.length < 2 || neu.tupleAttrs.length > 8 || neu.tupleAttrs.some((p) => !after.attr(p) || after.attr(p)!.cardinality !== 'one' || after.attr(p)!.valueType === 'tuple')) {
          throw incorrect('db.error/invalid-tuple-attribute', `:db/tupleAttrs of ${neu.ident} must name 2 to 8 existing cardinality-one, non-tuple attributes`, { attribute: neu.ident });
        }
      }
      const types = neu.tupleTypes ?? (neu.tupleType ? [neu.tupleType] : []);
      for (const t of types) {
        if (!(t in TYPE_IDS) || t === ('tuple' as string)) {
          throw incorrect('db.error/invalid-tuple-attribute', `Tuple attribute ${neu.ident} has invalid element type :db.type/${t}`, { attribute: neu.ident });
        }
      }
    } else if (neu.tupleAttrs || neu.tupleTypes || neu.tupleType) {
      throw incorrect('db.error/invalid-tuple-attribute', `Only :db.type/tuple attributes may have tuple properties (${neu.ident})`, { attribute: neu.ident });
    }
    if (neu.unique !== null && neu.cardinality !== 'one') {
      throw incorrect('db.error/invalid-attribute', `Only cardinality-one attributes can be unique; ${neu.ident} is cardinality many`, { attribute: neu.ident });
    }
    if (neu.isComponent && neu.valueType !== 'ref') {
      throw incorrect('db.error/invalid-attribute', `:db/isComponent needs a ref attribute; ${neu.ident} is ${neu.valueType}`, { attribute: neu.ident });
    }
    if (!old) continue;
    // Alterations of an existing attribute.
    for (const [a, name] of Object.entries(SCHEMA_NAMES)) {
      const id = Number(a);
      if (id === SYS.cardinality || id === SYS.unique) continue;
      const x = before.values(e, id)[0];
      const y = after.values(e, id)[0];
      if ((x === undefined) !== (y === undefined) || (x !== undefined && y !== undefined && !valuesEqual(x, y))) {
        throw incorrect('db.error/incompatible-schema-change', `${name} of attribute ${old.ident} cannot be changed`, { attribute: old.ident, property: name });
      }
    }
    if (old.cardinality === 'many' && neu.cardinality === 'one') {
      let prevE = -1;
      after.forDatoms('aevt', e, undefined, undefined, undefined, (d) => {
        if (d.e === prevE) {
          throw incorrect('db.error/incompatible-schema-change', `Cannot change ${old.ident} to cardinality one: entity ${d.e} has several values`, { attribute: old.ident, entity: d.e });
        }
        prevE = d.e;
      });
    }
    if (neu.unique !== null && old.unique === null) {
      let prev: Datom | undefined;
      after.forDatoms('avet', e, undefined, undefined, undefined, (d) => {
        if (prev && valuesEqual(prev.v, d.v)) {
          throw incorrect('db.error/incompatible-schema-change', `Cannot make ${old.ident} unique: value ${describeValue(d.v)} is held by entities ${prev.e} and ${d.e}`, { attribute: old.ident });
        }
        prev = d;
      });
    }
  }
}

/** What the log records of a transaction id: the t it committed at, or the t that recorded its refusal. */
export interface TxIdRecord {
  readonly t: number;
  readonly refused: boolean;
}

/**
 * Looks a transaction id up in the value's AVET index (`:db/txId`, then `:db/refusedTxId`):
 * the log and the indexes remember every id for the life of the database.
 */
export function findTxId(db: Db, txId: string): TxIdRecord | undefined {
  const committed = db.firstDatom('avet', SYS.txId, txId);
  if (committed !== undefined) return { t: txToT(committed.e), refused: false };
  const refused = db.firstDatom('avet', SYS.refusedTxId, txId);
  return refused === undefined ? undefined : { t: txToT(refused.e), refused: true };
}
