/**
 * Shared helpers for the engine tests: a small domain schema, transacting, catching anomalies,
 * and reading facts back in a form that is easy to compare (attributes as idents).
 */
import { emptyDb, type Db } from '../../services/engine/db';
import { transact, type TransactOptions, type TxReport } from '../../services/engine/transact';
import { DatalithError } from '../../services/engine/errors';
import type { Datom } from '../../services/engine/datom';
import type { Value } from '../../services/engine/values';

/** A small domain in Datomic's own words (EDN exactly as Datomic's documentation writes it). */
export const PEOPLE_SCHEMA = `[
 {:db/ident :person/name    :db/valueType :db.type/string  :db/cardinality :db.cardinality/one}
 {:db/ident :person/email   :db/valueType :db.type/string  :db/cardinality :db.cardinality/one  :db/unique :db.unique/identity}
 {:db/ident :person/ssn     :db/valueType :db.type/string  :db/cardinality :db.cardinality/one  :db/unique :db.unique/identity}
 {:db/ident :person/handle  :db/valueType :db.type/string  :db/cardinality :db.cardinality/one  :db/unique :db.unique/value}
 {:db/ident :person/age     :db/valueType :db.type/long    :db/cardinality :db.cardinality/one}
 {:db/ident :person/aliases :db/valueType :db.type/string  :db/cardinality :db.cardinality/many}
 {:db/ident :person/friends :db/valueType :db.type/ref     :db/cardinality :db.cardinality/many}
 {:db/ident :person/spouse  :db/valueType :db.type/ref     :db/cardinality :db.cardinality/one}
 {:db/ident :person/sex     :db/valueType :db.type/ref     :db/cardinality :db.cardinality/one}
 {:db/ident :person/address :db/valueType :db.type/ref     :db/cardinality :db.cardinality/one  :db/isComponent true}
 {:db/ident :address/street :db/valueType :db.type/string  :db/cardinality :db.cardinality/one}
 {:db/ident :address/city   :db/valueType :db.type/string  :db/cardinality :db.cardinality/one}
 {:db/ident :order/id       :db/valueType :db.type/string  :db/cardinality :db.cardinality/one  :db/unique :db.unique/identity}
 {:db/ident :order/items    :db/valueType :db.type/ref     :db/cardinality :db.cardinality/many :db/isComponent true}
 {:db/ident :item/sku       :db/valueType :db.type/string  :db/cardinality :db.cardinality/one}
 {:db/ident :item/qty       :db/valueType :db.type/long    :db/cardinality :db.cardinality/one}
 {:db/ident :item/detail    :db/valueType :db.type/ref     :db/cardinality :db.cardinality/one  :db/isComponent true}
 {:db/ident :detail/note    :db/valueType :db.type/string  :db/cardinality :db.cardinality/one}
 {:db/ident :tx/source      :db/valueType :db.type/string  :db/cardinality :db.cardinality/one}
 {:db/ident :sex/male}
 {:db/ident :sex/female}
]`;

/** Instant of the schema transaction made by dbWith (tests that pass `now` stay after it). */
export const SCHEMA_INSTANT = Date.UTC(2000, 0, 1);

/** A fresh database with `schema` (EDN string or JS data) transacted at t = 1. */
export function dbWith(schema: unknown = PEOPLE_SCHEMA): Db {
  return transact(emptyDb(), schema, { now: SCHEMA_INSTANT }).dbAfter;
}

export function tx(db: Db, data: unknown, opts?: TransactOptions): TxReport {
  return transact(db, data, opts);
}

/** Runs f, which must throw a DatalithError; returns it. */
export function fails(f: () => unknown): DatalithError {
  let result: unknown;
  try {
    result = f();
  } catch (e) {
    if (e instanceof DatalithError) return e;
    throw e;
  }
  throw new Error(`expected a DatalithError, but the call returned ${String(result)}`);
}

/** The attribute's entity id. */
export function aid(db: Db, ident: string): number {
  const a = db.attrOf(ident);
  if (a === undefined) throw new Error(`no attribute ${ident}`);
  return a.id;
}

/** Current values of one attribute of one entity (sorted). */
export function vals(db: Db, e: number, ident: string): Value[] {
  return db.values(e, aid(db, ident)).slice();
}

/** The one value of a card-one attribute, or undefined. */
export function val(db: Db, e: number, ident: string): Value | undefined {
  const vs = vals(db, e, ident);
  if (vs.length > 1) throw new Error(`${ident} of ${e} has ${vs.length} values`);
  return vs[0];
}

/** All current facts of an entity: ident → value (card-one) or sorted values (card-many). */
export function facts(db: Db, e: number): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const d of db.datoms('eavt', e)) {
    const a = db.attr(d.a)!;
    if (a.cardinality === 'many') ((out[a.ident] ??= []) as Value[]).push(d.v);
    else out[a.ident] = d.v;
  }
  return out;
}

/** A datom as [e, ident, v, added] (tx left out) for comparisons. */
export type Fact = [number, string, unknown, boolean];

export function asFacts(db: Db, ds: readonly Datom[]): Fact[] {
  return ds.map((d) => [d.e, db.ident(d.a) ?? String(d.a), d.v, d.added] as Fact);
}

/** The datoms a transaction produced, without its :db/txInstant datom, as facts. */
export function txFacts(r: TxReport): Fact[] {
  return asFacts(r.dbAfter, r.txData.filter((d) => !(d.e === d.tx && r.dbAfter.ident(d.a) === ':db/txInstant')));
}

/** Canonical, order-free text of a set of datoms (for comparing two database values). */
export function datomSet(ds: readonly Datom[], withTx = true): string[] {
  return ds
    .map((d) => JSON.stringify([d.e, d.a, d.v, withTx ? d.tx : 0, d.added], (_k, x) => (typeof x === 'bigint' ? `${x}N` : x)))
    .sort();
}

/** The current user datoms of a database (entities at or above the first user id, not tx entities). */
export function userDatoms(db: Db): Datom[] {
  return db.datoms('eavt').filter((d) => d.e >= 1000 && d.e < 2 ** 29);
}

export { emptyDb, transact };
export type { Db, TxReport };
