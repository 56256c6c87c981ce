import { emptyDb, type Db } from '../../../services/engine/db';
import { transact } from '../../../services/engine/transact';
import { q as query } from '../../../services/engine/query';

export const SCHEMA = `[
  {:db/ident :person/name   :db/valueType :db.type/string  :db/cardinality :db.cardinality/one :db/unique :db.unique/identity}
  {:db/ident :person/age    :db/valueType :db.type/long    :db/cardinality :db.cardinality/one}
  {:db/ident :person/email  :db/valueType :db.type/string  :db/cardinality :db.cardinality/many}
  {:db/ident :person/sex    :db/valueType :db.type/keyword :db/cardinality :db.cardinality/one}
  {:db/ident :person/friend :db/valueType :db.type/ref     :db/cardinality :db.cardinality/many}
  {:db/ident :person/status :db/valueType :db.type/ref     :db/cardinality :db.cardinality/one}
  {:db/ident :person/salary :db/valueType :db.type/long    :db/cardinality :db.cardinality/one}
  {:db/ident :status/active}
  {:db/ident :status/inactive}
]`;

export const PEOPLE = `[
  {:db/id "ivan"  :person/name "Ivan"  :person/age 30 :person/sex :male   :person/email ["ivan@a.com" "ivan@b.com"] :person/friend ["petr"] :person/status :status/active :person/salary 100}
  {:db/id "petr"  :person/name "Petr"  :person/age 25 :person/sex :male   :person/friend ["oleg"] :person/status :status/inactive :person/salary 200}
  {:db/id "oleg"  :person/name "Oleg"  :person/age 40 :person/sex :male   :person/friend ["ivan"] :person/salary 300}
  {:db/id "anna"  :person/name "Anna"  :person/age 30 :person/sex :female :person/email ["anna@a.com"] :person/status :status/active}
]`;

let cached: { db: Db; ids: Record<string, number> } | null = null;

/** The people database and the entity ids of its people by name. */
export function people(): { db: Db; ids: Record<string, number> } {
  if (cached !== null) return cached;
  const db0 = transact(emptyDb(), SCHEMA, { now: 1_000_000 }).dbAfter;
  const r = transact(db0, PEOPLE, { now: 2_000_000 });
  cached = { db: r.dbAfter, ids: r.tempids };
  return cached;
}

export function q(qq: unknown, ...inputs: unknown[]): unknown {
  return query(qq, inputs);
}

/** Relation results in a canonical order. */
export function sorted(x: unknown): unknown[] {
  return [...(x as unknown[])].sort((a, b) => (JSON.stringify(a) < JSON.stringify(b) ? -1 : JSON.stringify(a) > JSON.stringify(b) ? 1 : 0));
}
