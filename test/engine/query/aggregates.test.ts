import { people, q, sorted } from './fixture';

describe('aggregates', () => {
  const { db } = people();

  test('count, count-distinct, sum, avg, min, max', () => {
    expect(q('[:find (count ?e) . :where [?e :person/name]]', db)).toBe(4);
    expect(q('[:find (count ?a) . :where [_ :person/age ?a]]', db)).toBe(3); // set of ?a values
    expect(q('[:find (count ?a) . :with ?e :where [?e :person/age ?a]]', db)).toBe(4); // :with keeps duplicates
    expect(q('[:find (count-distinct ?a) . :with ?e :where [?e :person/age ?a]]', db)).toBe(3);
    expect(q('[:find (sum ?a) . :with ?e :where [?e :person/age ?a]]', db)).toBe(125);
    expect(q('[:find (sum ?a) . :where [?e :person/age ?a]]', db)).toBe(95);
    expect(q('[:find (avg ?a) . :with ?e :where [?e :person/age ?a]]', db)).toBe(31.25);
    expect(q('[:find [(min ?a) (max ?a)] :where [_ :person/age ?a]]', db)).toEqual([25, 40]);
    expect(q('[:find (min ?n) . :where [_ :person/name ?n]]', db)).toBe('Anna');
  });

  test('median, variance, stddev', () => {
    expect(q('[:find (median ?a) . :with ?e :where [?e :person/age ?a]]', db)).toBe(30);
    expect(q('[:find (median ?a) . :where [?e :person/age ?a]]', db)).toBe(30);
    expect(q('[:find (variance ?x) . :in [?x ...]]', [1, 2, 3, 4])).toBe(1.25);
    expect(q('[:find (stddev ?x) . :in [?x ...]]', [1, 3])).toBe(1);
    // Inputs are sets too: duplicates collapse unless :with keeps them.
    expect(q('[:find (count ?x) . :in [?x ...]]', [1, 1, 2])).toBe(2);
    expect(q('[:find (count ?x) . :with ?i :in [[?x ?i]]]', [[1, 'a'], [1, 'b'], [2, 'c']])).toBe(3);
  });

  test('(min n), (max n), distinct, rand, sample', () => {
    expect(q('[:find (min 2 ?a) . :with ?e :where [?e :person/age ?a]]', db)).toEqual([25, 30]);
    expect(q('[:find (max 2 ?a) . :where [?e :person/age ?a]]', db)).toEqual([40, 30]);
    expect(sorted(q('[:find (distinct ?a) . :with ?e :where [?e :person/age ?a]]', db) as unknown[])).toEqual([25, 30, 40]);
    expect([25, 30, 40]).toContain(q('[:find (rand ?a) . :where [?e :person/age ?a]]', db));
    const r = q('[:find (rand 5 ?a) . :where [?e :person/age ?a]]', db) as number[];
    expect(r).toHaveLength(5);
    const s = q('[:find (sample 2 ?a) . :where [?e :person/age ?a]]', db) as number[];
    expect(s).toHaveLength(2);
    expect(new Set(s).size).toBe(2);
  });

  test('grouping by the other find variables', () => {
    expect(sorted(q('[:find ?s (count ?e) :where [?e :person/sex ?s]]', db))).toEqual([[':female', 1], [':male', 3]]);
    expect(sorted(q('[:find ?a (count ?e) (min ?n) :where [?e :person/age ?a] [?e :person/name ?n]]', db))).toEqual([[25, 1, 'Petr'], [30, 2, 'Anna'], [40, 1, 'Oleg']]);
    // Keys with aggregates.
    expect(sorted(q('[:find ?s (count ?e) :keys sex n :where [?e :person/sex ?s]]', db))).toEqual([{ sex: ':female', n: 1 }, { sex: ':male', n: 3 }]);
  });

  test('an empty result', () => {
    expect(q('[:find (count ?e) :where [?e :person/age 99]]', db)).toEqual([]);
    expect(q('[:find (count ?e) . :where [?e :person/age 99]]', db)).toBeNull();
  });
});
