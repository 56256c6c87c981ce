import { people, q, sorted } from './fixture';
import { emptyDb } from '../../../services/engine/db';
import { transact } from '../../../services/engine/transact';

describe(':in bindings and data patterns', () => {
  const { db, ids } = people();

  test('scalar, tuple, collection, relation and blank inputs', () => {
    expect(q('[:find ?e . :in $ ?n :where [?e :person/name ?n]]', db, 'Oleg')).toBe(ids.oleg);
    expect(q('[:find ?e . :in $ [?n ?a] :where [?e :person/name ?n] [?e :person/age ?a]]', db, ['Ivan', 30])).toBe(ids.ivan);
    expect(sorted(q('[:find [?e ...] :in $ [?n ...] :where [?e :person/name ?n]]', db, ['Ivan', 'Petr', 'Zed']))).toEqual(sorted([ids.ivan, ids.petr]));
    expect(sorted(q('[:find ?e ?x :in $ [[?n ?x]] :where [?e :person/name ?n]]', db, [['Ivan', 1], ['Anna', 2]]))).toEqual(sorted([[ids.ivan, 1], [ids.anna, 2]]));
    expect(q('[:find ?e . :in $ _ ?n :where [?e :person/name ?n]]', db, 'ignored', 'Anna')).toBe(ids.anna);
  });

  test('keyword inputs match keyword values and resolve idents for refs', () => {
    expect(sorted(q('[:find [?n ...] :in $ ?s :where [?e :person/sex ?s] [?e :person/name ?n]]', db, ':female'))).toEqual(['Anna']);
    expect(sorted(q('[:find [?n ...] :in $ ?st :where [?e :person/status ?st] [?e :person/name ?n]]', db, ':status/active'))).toEqual(['Anna', 'Ivan']);
    expect(sorted(q('[:find [?n ...] :where [?e :person/status :status/active] [?e :person/name ?n]]', db))).toEqual(['Anna', 'Ivan']);
  });

  test('lookup refs in entity position', () => {
    expect(q('[:find ?a . :where [[:person/name "Oleg"] :person/age ?a]]', db)).toBe(40);
    expect(q({ find: ['?a', '.'], where: [[[':person/name', 'Oleg'], ':person/age', '?a']] }, db)).toBe(40);
    expect(q('[:find ?a . :in $ ?e :where [?e :person/age ?a]]', db, [':person/name', 'Petr'])).toBe(25);
  });

  test('implicit trailing blanks, blanks, repeated variables', () => {
    expect(sorted(q('[:find [?e ...] :where [?e :person/email]]', db))).toEqual(sorted([ids.ivan, ids.anna]));
    expect(sorted(q('[:find [?e ...] :where [?e :person/friend _]]', db))).toEqual(sorted([ids.ivan, ids.petr, ids.oleg]));
    const self = transact(db, [{ 'db/id': 'x', 'person/name': 'Narcissus', 'person/friend': 'x' }]).dbAfter;
    expect(q('[:find [?n ...] :where [?e :person/friend ?e] [?e :person/name ?n]]', self)).toEqual(['Narcissus']);
  });

  test('variable attribute binds attribute ids; 4-position tx pattern', () => {
    const attrs = q('[:find [?a ...] :where [?e :person/name "Anna"] [?e ?a _]]', db) as number[];
    expect(sorted(attrs.map((a) => db.ident(a)))).toEqual(sorted([':person/name', ':person/age', ':person/sex', ':person/email', ':person/status']));
    const tx = q('[:find ?tx . :where [?e :person/name "Anna" ?tx]]', db) as number;
    expect(q('[:find ?n . :in $ ?tx :where [?e :person/name ?n ?tx] [?e :person/age 25]]', db, tx)).toBe('Petr');
    expect(q('[:find ?inst . :where [_ :person/name "Anna" ?tx] [?tx :db/txInstant ?inst]]', db)).toEqual(new Date(2_000_000));
  });

  test('several sources', () => {
    const other = transact(transact(emptyDb(), '[{:db/ident :likes :db/valueType :db.type/string :db/cardinality :db.cardinality/one}]').dbAfter,
      '[{:likes "Ivan"} {:likes "Oleg"}]').dbAfter;
    expect(sorted(q('[:find ?a :in $ $2 :where [$2 _ :likes ?n] [?e :person/name ?n] [?e :person/age ?a]]', db, other))).toEqual([[30], [40]]);
    // A collection as a source.
    expect(sorted(q('[:find ?n ?c :in $ $c :where [$c ?n ?c] [_ :person/name ?n]]', db, [['Ivan', 'red'], ['Zed', 'blue']]))).toEqual([['Ivan', 'red']]);
  });

  test('unknown attribute in a data pattern is an error (Datomic cannot resolve the ident)', () => {
    expect(() => q('[:find ?e :where [?e :no/such 1]]', db)).toThrow(/Unable to resolve entity: :no\/such/);
  });
});
