/**
 * Tuples (docs: schema reference "Tuples"): composite tuples (:db/tupleAttrs) maintained by the
 * database, usable as unique identities, in lookup refs and for upsert (by naming the tuple
 * value); heterogeneous (:db/tupleTypes) and homogeneous (:db/tupleType) tuples asserted by users.
 */
import * as api from '../../services/engine/api';
import { aid, dbWith, facts, fails, tx, txFacts, val, type Db } from './helpers';

/** The courses/semesters/registrations schema of Datomic's documentation, in one transaction. */
const REGISTRATION_SCHEMA = `[
 {:db/ident :student/first :db/valueType :db.type/string :db/cardinality :db.cardinality/one}
 {:db/ident :student/last :db/valueType :db.type/string :db/cardinality :db.cardinality/one}
 {:db/ident :student/email :db/valueType :db.type/string :db/cardinality :db.cardinality/one :db/unique :db.unique/identity}
 {:db/ident :semester/year :db/valueType :db.type/long :db/cardinality :db.cardinality/one}
 {:db/ident :semester/season :db/valueType :db.type/keyword :db/cardinality :db.cardinality/one}
 {:db/ident :semester/year+season :db/valueType :db.type/tuple :db/tupleAttrs [:semester/year :semester/season]
  :db/cardinality :db.cardinality/one :db/unique :db.unique/identity}
 {:db/ident :course/id :db/valueType :db.type/string :db/unique :db.unique/identity :db/cardinality :db.cardinality/one}
 {:db/ident :course/name :db/valueType :db.type/string :db/cardinality :db.cardinality/one}
 {:db/ident :reg/course :db/valueType :db.type/ref :db/cardinality :db.cardinality/one}
 {:db/ident :reg/semester :db/valueType :db.type/ref :db/cardinality :db.cardinality/one}
 {:db/ident :reg/student :db/valueType :db.type/ref :db/cardinality :db.cardinality/one}
 {:db/ident :reg/grade :db/valueType :db.type/string :db/cardinality :db.cardinality/one}
 {:db/ident :reg/course+semester+student :db/valueType :db.type/tuple
  :db/tupleAttrs [:reg/course :reg/semester :reg/student] :db/cardinality :db.cardinality/one :db/unique :db.unique/identity}
 {:db/ident :reg/course+semester+student+grade :db/valueType :db.type/tuple
  :db/tupleAttrs [:reg/course :reg/semester :reg/student :reg/grade] :db/cardinality :db.cardinality/one}
]`;

function seeded(): { db: Db; sem: number; course: number; student: number } {
  const db = dbWith(REGISTRATION_SCHEMA);
  const r = tx(db, `[{:db/id "sem" :semester/year 2018 :semester/season :fall}
                     {:db/id "course" :course/id "BIO-101"}
                     {:db/id "student" :student/first "John" :student/last "Doe" :student/email "johndoe@university.edu"}]`);
  const t = r.tempids as Record<string, number>;
  return { db: r.dbAfter, sem: t['sem']!, course: t['course']!, student: t['student']! };
}

function register(db: Db): { db: Db; reg: number; report: ReturnType<typeof tx> } {
  const report = tx(db, `[{:db/id "reg"
                           :reg/course [:course/id "BIO-101"]
                           :reg/semester [:semester/year+season [2018 :fall]]
                           :reg/student [:student/email "johndoe@university.edu"]}]`);
  return { db: report.dbAfter, reg: report.tempids['reg']!, report };
}

describe('composite tuples', () => {
  test('are populated automatically from their attributes (Datomic registration example)', () => {
    const { db, sem, course, student } = seeded();
    expect(val(db, sem, ':semester/year+season')).toEqual([2018, ':fall']);
    const { db: db2, reg, report } = register(db);
    expect(val(db2, reg, ':reg/course+semester+student')).toEqual([course, sem, student]);
    expect(txFacts(report)).toContainEqual([reg, ':reg/course+semester+student', [course, sem, student], true]);
  });

  test('missing attributes are nil in the composite', () => {
    const { db, sem, course, student } = seeded();
    const { db: db2, reg } = register(db);
    expect(val(db2, reg, ':reg/course+semester+student+grade')).toEqual([course, sem, student, null]);
    const r = tx(dbWith(REGISTRATION_SCHEMA), [{ 'db/id': 's', 'semester/season': ':spring' }]);
    expect(val(r.dbAfter, r.tempids['s']!, ':semester/year+season')).toEqual([null, ':spring']);
  });

  test('change with their attributes: the old composite is retracted, the new one asserted', () => {
    const { db, sem, course, student } = seeded();
    const { db: db2, reg } = register(db);
    const r = tx(db2, [[':db/add', reg, ':reg/grade', 'A']]);
    expect(val(r.dbAfter, reg, ':reg/course+semester+student+grade')).toEqual([course, sem, student, 'A']);
    expect(txFacts(r)).toContainEqual([reg, ':reg/course+semester+student+grade', [course, sem, student, null], false]);
    // The composite that does not include :reg/grade is untouched.
    expect(txFacts(r).some((f) => f[1] === ':reg/course+semester+student')).toBe(false);
  });

  test('retracting every attribute retracts the composite (Datomic example)', () => {
    const { db, sem, course, student } = seeded();
    const { db: db2, reg } = register(db);
    const r = tx(db2, `[[:db/retract ${reg} :reg/course [:course/id "BIO-101"]]
                        [:db/retract ${reg} :reg/semester [:semester/year+season [2018 :fall]]]
                        [:db/retract ${reg} :reg/student [:student/email "johndoe@university.edu"]]]`);
    expect(val(r.dbAfter, reg, ':reg/course+semester+student')).toBeUndefined();
    expect(val(r.dbAfter, reg, ':reg/course+semester+student+grade')).toBeUndefined();
    expect(txFacts(r)).toContainEqual([reg, ':reg/course+semester+student', [course, sem, student], false]);
  });

  test('retractEntity of a referenced member entity leaves nil in the composite', () => {
    const { db, sem, course, student } = seeded();
    const { db: db2, reg } = register(db);
    const r = tx(db2, [[':db/retractEntity', student]]);
    expect(val(r.dbAfter, reg, ':reg/course+semester+student')).toEqual([course, sem, null]);
  });

  test('cannot be retracted directly', () => {
    const { db } = seeded();
    const { db: db2, reg } = register(db);
    const e = fails(() => tx(db2, [[':db/retract', reg, ':reg/course+semester+student']]));
    expect(e.category).toBe('incorrect');
    expect(e.message).toContain(':reg/course+semester+student');
  });

  test('cannot be asserted with a value that differs from their attributes', () => {
    const { db, sem, course } = seeded();
    const e = fails(() => tx(db, [{ 'db/id': 'r', 'reg/course': course, 'reg/course+semester+student': [course, sem, course] }]));
    expect(e.category).toBe('incorrect');
    expect(e.message).toContain(':reg/course+semester+student');
  });

  test('a unique composite names its entity in a lookup ref', () => {
    const { db, sem } = seeded();
    expect(db.entid([':semester/year+season', [2018, ':fall']])).toBe(sem);
    const { db: db2, reg } = register(db);
    const r = tx(db2, `[[:db/add [:reg/course+semester+student [[:course/id "BIO-101"] [:semester/year+season [2018 :fall]] [:student/email "johndoe@university.edu"]]] :reg/grade "B"]]`);
    expect(val(r.dbAfter, reg, ':reg/grade')).toBe('B');
  });

  test('the same members on another new entity violate the unique composite (Datomic: name the key to upsert)', () => {
    const { db } = seeded();
    const { db: db2 } = register(db);
    const e = fails(() => register(db2));
    expect(e.category).toBe('conflict');
    expect(e.code).toBe('db.error/unique-conflict');
  });

  test('upsert through a unique composite by naming the tuple value in the transaction', () => {
    const { db } = seeded();
    const r0 = tx(db, [{ 'db/id': 's', 'semester/year': 2019, 'semester/season': ':spring', 'course/name': 'first' }]);
    const s = r0.tempids['s']!;
    const r = tx(r0.dbAfter, [{ 'db/id': 'again', 'semester/year+season': [2019, ':spring'], 'semester/year': 2019, 'semester/season': ':spring', 'course/name': 'second' }]);
    expect(r.tempids['again']).toBe(s);
    expect(val(r.dbAfter, s, ':course/name')).toBe('second');
    // A new key makes a new entity.
    const r2 = tx(r.dbAfter, [{ 'db/id': 'n', 'semester/year+season': [2020, ':spring'], 'semester/year': 2020, 'semester/season': ':spring' }]);
    expect(r2.tempids['n']).not.toBe(s);
    expect(val(r2.dbAfter, r2.tempids['n']!, ':semester/year+season')).toEqual([2020, ':spring']);
  });

  test('a composite added to existing data is populated the next time a member is transacted, even redundantly', () => {
    let db = dbWith(`[{:db/ident :k/a :db/valueType :db.type/string :db/cardinality :db.cardinality/one}
                      {:db/ident :k/b :db/valueType :db.type/long :db/cardinality :db.cardinality/one}]`);
    const r = tx(db, [{ 'db/id': 'e', 'k/a': 'x', 'k/b': 1 }]);
    const e = r.tempids['e']!;
    db = tx(r.dbAfter, `[{:db/ident :k/a+b :db/valueType :db.type/tuple :db/tupleAttrs [:k/a :k/b] :db/cardinality :db.cardinality/one}]`).dbAfter;
    expect(val(db, e, ':k/a+b')).toBeUndefined();
    const r2 = tx(db, [[':db/add', e, ':k/a', 'x']]);
    expect(val(r2.dbAfter, e, ':k/a+b')).toEqual(['x', 1]);
    expect(txFacts(r2)).toEqual([[e, ':k/a+b', ['x', 1], true]]);
  });

  test('a unique/value composite enforces uniqueness of the combination', () => {
    const db = dbWith(`[{:db/ident :k/a :db/valueType :db.type/string :db/cardinality :db.cardinality/one}
                        {:db/ident :k/b :db/valueType :db.type/string :db/cardinality :db.cardinality/one}
                        {:db/ident :k/a+b :db/valueType :db.type/tuple :db/tupleAttrs [:k/a :k/b] :db/cardinality :db.cardinality/one :db/unique :db.unique/value}]`);
    const db2 = tx(db, [{ 'k/a': 'A', 'k/b': 'B' }, { 'k/a': 'A', 'k/b': 'b' }, { 'k/a': 'a', 'k/b': 'B' }]).dbAfter;
    const e = fails(() => tx(db2, [{ 'k/a': 'A', 'k/b': 'B' }]));
    expect(e.category).toBe('conflict');
    expect(e.code).toBe('db.error/unique-conflict');
  });

  test('composites sort in AVET with nil lowest; indexRange works on them', () => {
    const db = dbWith(`[{:db/ident :k/a :db/valueType :db.type/string :db/cardinality :db.cardinality/one}
                        {:db/ident :k/b :db/valueType :db.type/long :db/cardinality :db.cardinality/one}
                        {:db/ident :k/a+b :db/valueType :db.type/tuple :db/tupleAttrs [:k/a :k/b] :db/cardinality :db.cardinality/one}]`);
    const db2 = tx(db, [{ 'k/a': 'm', 'k/b': 2 }, { 'k/a': 'm', 'k/b': 1 }, { 'k/a': 'm' }, { 'k/a': 'z', 'k/b': 0 }, { 'k/a': 'a', 'k/b': 9 }]).dbAfter;
    const all = api.datoms(db2, 'avet', [':k/a+b']).map((d) => d.v);
    expect(all).toEqual([['a', 9], ['m', null], ['m', 1], ['m', 2], ['z', 0]]);
    expect(api.indexRange(db2, ':k/a+b', ['m', null], ['n', null]).map((d) => d.v)).toEqual([['m', null], ['m', 1], ['m', 2]]);
  });

  test(':db/tupleAttrs must name 2 to 8 existing cardinality-one attributes', () => {
    const db = dbWith();
    expect(fails(() => tx(db, `[{:db/ident :bad/one :db/valueType :db.type/tuple :db/tupleAttrs [:person/name] :db/cardinality :db.cardinality/one}]`)).category).toBe('incorrect');
    expect(fails(() => tx(db, `[{:db/ident :bad/many :db/valueType :db.type/tuple :db/tupleAttrs [:person/name :person/aliases] :db/cardinality :db.cardinality/one}]`)).category).toBe('incorrect');
    expect(fails(() => tx(db, `[{:db/ident :bad/none :db/valueType :db.type/tuple :db/tupleAttrs [:person/name :no/such] :db/cardinality :db.cardinality/one}]`)).category).toBe('incorrect');
  });
});

describe('heterogeneous tuples (:db/tupleTypes)', () => {
  const SCHEMA = `[{:db/ident :player/handle :db/valueType :db.type/string :db/cardinality :db.cardinality/one :db/unique :db.unique/identity}
                   {:db/ident :player/location :db/valueType :db.type/tuple :db/tupleTypes [:db.type/long :db.type/long] :db/cardinality :db.cardinality/one}
                   {:db/ident :player/tag :db/valueType :db.type/tuple :db/tupleTypes [:db.type/keyword :db.type/string :db.type/ref] :db/cardinality :db.cardinality/one}
                   {:db/ident :player/visits :db/valueType :db.type/tuple :db/tupleTypes [:db.type/string :db.type/instant] :db/cardinality :db.cardinality/many}]`;

  test('are asserted as vectors of the declared types (Datomic game example)', () => {
    const r = tx(dbWith(SCHEMA), `[{:player/handle "Argent Adept" :player/location [100 0]}]`);
    const p = r.dbAfter.entid([':player/handle', 'Argent Adept'])!;
    expect(val(r.dbAfter, p, ':player/location')).toEqual([100, 0]);
    const r2 = tx(r.dbAfter, [[':db/add', p, ':player/location', [101, 0]]]);
    expect(val(r2.dbAfter, p, ':player/location')).toEqual([101, 0]);
    expect(txFacts(r2)).toContainEqual([p, ':player/location', [100, 0], false]);
  });

  test('elements are checked against their types; nil is legal in any slot', () => {
    const db = dbWith(SCHEMA);
    expect(fails(() => tx(db, [{ 'player/location': [1, 'x'] }])).category).toBe('incorrect');
    expect(fails(() => tx(db, [{ 'player/location': [1, 2, 3] }])).category).toBe('incorrect');
    expect(fails(() => tx(db, [{ 'player/location': 5 }])).category).toBe('incorrect');
    const r = tx(db, [{ 'db/id': 'p', 'player/location': [null, 3] }]);
    expect(val(r.dbAfter, r.tempids['p']!, ':player/location')).toEqual([null, 3]);
  });

  test('keyword and ref elements take their public forms (ref: an entity identifier)', () => {
    const db = dbWith(SCHEMA);
    const r = tx(db, [{ 'db/id': 'p', 'player/handle': 'h', 'player/tag': [':color/red', 'text', ':player/handle'] }]);
    expect(val(r.dbAfter, r.tempids['p']!, ':player/tag')).toEqual([':color/red', 'text', db.attrOf(':player/handle')!.id]);
  });

  test('card-many tuple attributes take a collection of tuples', () => {
    const db = dbWith(SCHEMA);
    const r = tx(db, [{ 'db/id': 'p', 'player/visits': [['home', new Date(1)], ['away', new Date(2)]] }]);
    expect(r.dbAfter.values(r.tempids['p']!, aid(db, ':player/visits'))).toEqual([['away', new Date(2)], ['home', new Date(1)]]);
    const one = tx(db, [{ 'db/id': 'q', 'player/visits': ['home', new Date(1)] }]);
    expect(one.dbAfter.values(one.tempids['q']!, aid(db, ':player/visits'))).toEqual([['home', new Date(1)]]);
  });

  test('strings inside tuples are limited to 256 characters', () => {
    const db = dbWith(SCHEMA);
    const ok = tx(db, [{ 'db/id': 'p', 'player/tag': [':k/k', 'x'.repeat(256), null] }]);
    expect(facts(ok.dbAfter, ok.tempids['p']!)[':player/tag']).toEqual([':k/k', 'x'.repeat(256), null]);
    const e = fails(() => tx(db, [{ 'player/tag': [':k/k', 'x'.repeat(257), null] }]));
    expect(e.category).toBe('incorrect');
    expect(e.message).toContain(':player/tag');
  });

  test(':db/tupleTypes cannot name :db.type/tuple', () => {
    const e = fails(() => dbWith(`[{:db/ident :bad/t :db/valueType :db.type/tuple :db/tupleTypes [:db.type/long :db.type/tuple] :db/cardinality :db.cardinality/one}]`));
    expect(e.category).toBe('incorrect');
  });
});

describe('homogeneous tuples (:db/tupleType)', () => {
  const SCHEMA = `[{:db/ident :doc/tags :db/valueType :db.type/tuple :db/tupleType :db.type/keyword :db/cardinality :db.cardinality/one}
                   {:db/ident :doc/scores :db/valueType :db.type/tuple :db/tupleType :db.type/long :db/cardinality :db.cardinality/one}]`;

  test('hold a variable number of values of one type', () => {
    const db = dbWith(SCHEMA);
    const r = tx(db, [{ 'db/id': 'a', 'doc/tags': [':a/x', ':a/y'], 'doc/scores': [1, 2, 3, 4, 5] }]);
    expect(facts(r.dbAfter, r.tempids['a']!)).toEqual({ ':doc/tags': [':a/x', ':a/y'], ':doc/scores': [1, 2, 3, 4, 5] });
  });

  test('every element must have the declared type; at most 8 elements', () => {
    const db = dbWith(SCHEMA);
    expect(fails(() => tx(db, [{ 'doc/scores': [1, 'two'] }])).category).toBe('incorrect');
    expect(fails(() => tx(db, [{ 'doc/scores': [1, 2, 3, 4, 5, 6, 7, 8, 9] }])).category).toBe('incorrect');
  });

  test('the built-in :db/tupleAttrs and :db/tupleTypes are homogeneous keyword tuples', () => {
    const db = dbWith(SCHEMA);
    expect(db.attrOf(':db/tupleAttrs')).toMatchObject({ valueType: 'tuple', tupleType: 'keyword', cardinality: 'one' });
    expect(db.attrOf(':db/tupleTypes')).toMatchObject({ valueType: 'tuple', tupleType: 'keyword', cardinality: 'one' });
  });
});

describe('tuple attribute definitions', () => {
  test('need exactly one of :db/tupleAttrs, :db/tupleTypes, :db/tupleType', () => {
    expect(fails(() => dbWith(`[{:db/ident :bad/t :db/valueType :db.type/tuple :db/cardinality :db.cardinality/one}]`)).category).toBe('incorrect');
    expect(fails(() => dbWith(`[{:db/ident :bad/t :db/valueType :db.type/tuple :db/tupleType :db.type/long :db/tupleTypes [:db.type/long :db.type/long] :db/cardinality :db.cardinality/one}]`)).category).toBe('incorrect');
  });

  test('tuple properties need :db.type/tuple', () => {
    expect(fails(() => dbWith(`[{:db/ident :bad/t :db/valueType :db.type/long :db/tupleType :db.type/long :db/cardinality :db.cardinality/one}]`)).category).toBe('incorrect');
  });
});
