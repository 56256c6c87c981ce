import { people, q, sorted } from './fixture';

describe('find specs', () => {
  const { db, ids } = people();

  test('relation returns a set of tuples', () => {
    expect(sorted(q('[:find ?n ?a :where [?e :person/name ?n] [?e :person/age ?a]]', db))).toEqual(
      sorted([['Anna', 30], ['Ivan', 30], ['Oleg', 40], ['Petr', 25]]),
    );
    // Projection removes duplicates (set semantics).
    expect(sorted(q('[:find ?a :where [?e :person/age ?a]]', db))).toEqual([[25], [30], [40]]);
  });

  test('collection', () => {
    expect(sorted(q('[:find [?a ...] :where [_ :person/age ?a]]', db))).toEqual([25, 30, 40]);
  });

  test('scalar', () => {
    expect(q('[:find ?e . :where [?e :person/name "Ivan"]]', db)).toBe(ids.ivan);
    expect(q('[:find ?e . :where [?e :person/name "Nobody"]]', db)).toBeNull();
  });

  test('tuple', () => {
    expect(q('[:find [?n ?a] :where [?e :person/name "Petr"] [?e :person/name ?n] [?e :person/age ?a]]', db)).toEqual(['Petr', 25]);
    expect(q('[:find [?n ?a] :where [?e :person/name "X"] [?e :person/age ?a] [?e :person/name ?n]]', db)).toBeNull();
  });

  test(':keys, :strs, :syms return objects', () => {
    const r = q('[:find ?n ?a :keys name age :where [?e :person/name ?n] [?e :person/age ?a] [(< ?a 30)]]', db);
    expect(r).toEqual([{ name: 'Petr', age: 25 }]);
    expect(q('[:find ?n :strs n :where [?e :person/name "Oleg"] [?e :person/name ?n]]', db)).toEqual([{ n: 'Oleg' }]);
    expect(q('[:find ?n :syms n :where [?e :person/name "Oleg"] [?e :person/name ?n]]', db)).toEqual([{ n: 'Oleg' }]);
  });

  test('map form and JS data', () => {
    expect(q({ find: ['?n'], where: [['?e', ':person/age', 25], ['?e', ':person/name', '?n']] }, db)).toEqual([['Petr']]);
    expect(q([':find', '?n', '.', ':where', ['?e', ':person/age', 40], ['?e', ':person/name', '?n']], db)).toBe('Oleg');
    expect(q('{:find [?n] :where [[?e :person/age 25] [?e :person/name ?n]]}', db)).toEqual([['Petr']]);
  });

  test('keyword values come back as :ns/name strings, refs as entity ids', () => {
    expect(q('[:find ?s . :where [?e :person/name "Anna"] [?e :person/sex ?s]]', db)).toBe(':female');
    expect(q('[:find ?st . :where [?e :person/name "Anna"] [?e :person/status ?st]]', db)).toBe(db.entid(':status/active'));
  });

  test('pull in :find', () => {
    const r = q('[:find (pull ?e [:person/name :person/age]) :where [?e :person/name "Ivan"]]', db);
    expect(r).toEqual([[{ 'person/name': 'Ivan', 'person/age': 30 }]]);
    const r2 = q('[:find [(pull $ ?e [:person/name]) ...] :in $ :where [?e :person/age 30]]', db);
    expect(sorted(r2)).toEqual([{ 'person/name': 'Anna' }, { 'person/name': 'Ivan' }]);
  });

  test(':with keeps the duplicates its variables distinguish, then drops them (a bag)', () => {
    const monsters = [['Cerberus', 3], ['Medusa', 1], ['Cyclops', 1], ['Chimera', 1]];
    expect(q('[:find ?heads :with ?monster :in $ [[?monster ?heads]]]', db, monsters.slice(1))).toEqual([[1], [1], [1]]);
    expect(sorted(q('[:find ?heads :with ?monster :in [[?monster ?heads]]]', monsters))).toEqual([[1], [1], [1], [3]]);
    expect(sorted(q('[:find [?a ...] :with ?e :where [?e :person/age ?a]]', db))).toEqual([25, 30, 30, 40]);
    // Without :with the same query is a set.
    expect(q('[:find ?heads :in [[?monster ?heads]]]', monsters.slice(1))).toEqual([[1]]);
    // A :with variable that is also found adds nothing.
    expect(sorted(q('[:find ?a :with ?a :where [_ :person/age ?a]]', db))).toEqual([[25], [30], [40]]);
    expect(() => q('[:find ?a :with ?x :where [_ :person/age ?a]]', db)).toThrow(expect.objectContaining({ category: 'incorrect', code: 'query/unbound-variable' }));
  });

  test('pull patterns as inputs: a pattern name in :in and in (pull ?e name)', () => {
    const query = '[:find (pull ?e pattern) :in $ ?n pattern :where [?e :person/name ?n]]';
    expect(q(query, db, 'Ivan', '[:person/name :person/age]')).toEqual([[{ 'person/name': 'Ivan', 'person/age': 30 }]]);
    expect(q(query, db, 'Petr', [':person/age'])).toEqual([[{ 'person/age': 25 }]]);
    expect(q('[:find (pull $ ?e p) . :in $ p :where [?e :person/name "Oleg"]]', db, '[:person/age]')).toEqual({ 'person/age': 40 });
    // JS data: a plain string names the pattern input.
    expect(q({ find: [['pull', '?e', 'pat']], in: ['$', 'pat'], where: [['?e', ':person/name', 'Anna']] }, db, [':person/sex'])).toEqual([[{ 'person/sex': ':female' }]]);
    expect(() => q('[:find (pull ?e pattern) :where [?e :person/name "Ivan"]]', db)).toThrow(
      expect.objectContaining({ category: 'incorrect', message: expect.stringContaining('pattern') }),
    );
  });

  test('offset and limit', () => {
    const all = q('[:find ?n :where [_ :person/name ?n]]', db) as unknown[];
    expect(all).toHaveLength(4);
    const { q: raw } = jest.requireActual('../../../services/engine/query');
    expect(raw('[:find ?n :where [_ :person/name ?n]]', [db], { limit: 2 })).toHaveLength(2);
    expect(raw('[:find ?n :where [_ :person/name ?n]]', [db], { offset: 3 })).toHaveLength(1);
    expect(raw({ query: '[:find ?n :where [_ :person/name ?n]]', args: [db], offset: 1, limit: 2 })).toHaveLength(2);
  });
});
