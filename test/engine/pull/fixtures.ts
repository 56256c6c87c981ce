/**
 * Test data for the pull tests: DataScript's pull-test people and parts (tonsky/datascript,
 * test/datascript/test/pull_api.cljc) with namespaced attributes, plus values of every kind.
 */
import { emptyDb, type Db } from '../../../services/engine/db';
import { transact } from '../../../services/engine/transact';

export const SCHEMA = `[
  {:db/ident :person/name   :db/valueType :db.type/string :db/cardinality :db.cardinality/one :db/unique :db.unique/identity}
  {:db/ident :person/aka    :db/valueType :db.type/string :db/cardinality :db.cardinality/many}
  {:db/ident :person/child  :db/valueType :db.type/ref    :db/cardinality :db.cardinality/many}
  {:db/ident :person/friend :db/valueType :db.type/ref    :db/cardinality :db.cardinality/many}
  {:db/ident :person/enemy  :db/valueType :db.type/ref    :db/cardinality :db.cardinality/many}
  {:db/ident :person/father :db/valueType :db.type/ref    :db/cardinality :db.cardinality/one}
  {:db/ident :person/sex    :db/valueType :db.type/ref    :db/cardinality :db.cardinality/one}
  {:db/ident :person/mood   :db/valueType :db.type/keyword :db/cardinality :db.cardinality/one}
  {:db/ident :person/born   :db/valueType :db.type/instant :db/cardinality :db.cardinality/one}
  {:db/ident :person/height :db/valueType :db.type/double :db/cardinality :db.cardinality/one}
  {:db/ident :person/wealth :db/valueType :db.type/bigint :db/cardinality :db.cardinality/one}
  {:db/ident :person/point  :db/valueType :db.type/tuple  :db/tupleTypes [:db.type/long :db.type/string] :db/cardinality :db.cardinality/one}
  {:db/ident :person/email  :db/valueType :db.type/string :db/cardinality :db.cardinality/one :db/unique :db.unique/value}
  {:db/ident :thing/name    :db/valueType :db.type/string :db/cardinality :db.cardinality/one :db/unique :db.unique/identity}
  {:db/ident :thing/part    :db/valueType :db.type/ref    :db/cardinality :db.cardinality/many :db/isComponent true}
  {:db/ident :thing/spec    :db/valueType :db.type/ref    :db/cardinality :db.cardinality/one :db/isComponent true}
  {:db/ident :sex/male}
  {:db/ident :sex/female}
]`;

export const DATA = `[
  {:db/id "petr" :person/name "Petr" :person/aka ["Devil" "Tupen"] :person/child ["david" "thomas"]
   :person/sex :sex/male :person/mood :mood/happy :person/born #inst "1980-05-06T00:00:00.000Z"
   :person/height 1.82 :person/wealth 18446744073709551616N :person/point [3 "x"] :person/email "petr@example.com"}
  {:db/id "david" :person/name "David" :person/father "petr"}
  {:db/id "thomas" :person/name "Thomas" :person/father "petr"}
  {:db/id "lucy" :person/name "Lucy"}
  {:db/id "elizabeth" :person/name "Elizabeth"}
  {:db/id "matthew" :person/name "Matthew" :person/father "thomas"}
  {:db/id "eunan" :person/name "Eunan"}
  {:db/id "kerri" :person/name "Kerri"}
  {:db/id "rebecca" :person/name "Rebecca"}
  {:db/id "a" :thing/name "Part A" :thing/part ["aa" "ab"]}
  {:db/id "aa" :thing/name "Part A.A" :thing/part ["aaa"]}
  {:db/id "aaa" :thing/name "Part A.A.A" :thing/part ["aaaa" "aaab"]}
  {:db/id "aaaa" :thing/name "Part A.A.A.A"}
  {:db/id "aaab" :thing/name "Part A.A.A.B"}
  {:db/id "ab" :thing/name "Part A.B" :thing/part ["aba"]}
  {:db/id "aba" :thing/name "Part A.B.A" :thing/part ["abaa" "abab"]}
  {:db/id "abaa" :thing/name "Part A.B.A.A"}
  {:db/id "abab" :thing/name "Part A.B.A.B"}
]`;

export interface Fixture {
  readonly db: Db;
  /** Entity id of a tempid of DATA. */
  readonly id: (tempid: string) => number;
}

export function fixture(extraTx?: (id: (t: string) => number) => unknown): Fixture {
  const withSchema = transact(emptyDb(), SCHEMA).dbAfter;
  const report = transact(withSchema, DATA);
  const id = (t: string): number => {
    const e = report.tempids[t];
    if (e === undefined) throw new Error(`no tempid ${t}`);
    return e;
  };
  const db = extraTx === undefined ? report.dbAfter : transact(report.dbAfter, extraTx(id)).dbAfter;
  return { db, id };
}

/** The error a function throws (fails the test if it does not throw). */
export function thrown(fn: () => unknown): { category: string; code: string; message: string } {
  try {
    fn();
  } catch (e) {
    return e as { category: string; code: string; message: string };
  }
  throw new Error('expected an error');
}
