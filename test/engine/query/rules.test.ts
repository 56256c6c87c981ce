import { emptyDb } from '../../../services/engine/db';
import { transact } from '../../../services/engine/transact';
import { people, q, sorted } from './fixture';

const GRAPH = transact(transact(emptyDb(), `[{:db/ident :node/id :db/valueType :db.type/long :db/cardinality :db.cardinality/one :db/unique :db.unique/identity}
  {:db/ident :node/next :db/valueType :db.type/ref :db/cardinality :db.cardinality/many}]`).dbAfter,
// 1 → 2 → 3 → 1 (a cycle), 3 → 4, 5 alone
`[{:db/id "1" :node/id 1 :node/next ["2"]} {:db/id "2" :node/id 2 :node/next ["3"]} {:db/id "3" :node/id 3 :node/next ["1" "4"]}
  {:db/id "4" :node/id 4} {:db/id "5" :node/id 5}]`).dbAfter;

const REACH = `[[(reach ?a ?b) [?a :node/next ?b]]
               [(reach ?a ?b) [?a :node/next ?x] (reach ?x ?b)]]`;

describe('rules', () => {
  const { db } = people();

  test('a simple rule and several heads', () => {
    const rules = `[[(adult ?e) [?e :person/age ?a] [(>= ?a 30)]]
                    [(named ?e ?n) [?e :person/name ?n]]
                    [(young-or-female ?e) [?e :person/age 25]]
                    [(young-or-female ?e) [?e :person/sex :female]]]`;
    expect(sorted(q('[:find [?n ...] :in $ % :where (adult ?e) (named ?e ?n)]', db, rules))).toEqual(['Anna', 'Ivan', 'Oleg']);
    expect(sorted(q('[:find [?n ...] :in $ % :where (young-or-female ?e) (named ?e ?n)]', db, rules))).toEqual(['Anna', 'Petr']);
  });

  test('recursion terminates on cycles', () => {
    const pairs = q('[:find ?x ?y :in $ % :where (reach ?a ?b) [?a :node/id ?x] [?b :node/id ?y]]', GRAPH, REACH) as number[][];
    const expected: number[][] = [];
    for (const x of [1, 2, 3]) for (const y of [1, 2, 3, 4]) expected.push([x, y]);
    expect(sorted(pairs)).toEqual(sorted(expected));
  });

  test('bound arguments restrict the recursion', () => {
    expect(sorted(q('[:find [?y ...] :in $ % ?x :where [?a :node/id ?x] (reach ?a ?b) [?b :node/id ?y]]', GRAPH, REACH, 3))).toEqual([1, 2, 3, 4]);
    expect(q('[:find [?y ...] :in $ % :where [?a :node/id 4] (reach ?a ?b) [?b :node/id ?y]]', GRAPH, REACH)).toEqual([]);
    // Bound second argument.
    expect(sorted(q('[:find [?x ...] :in $ % :where [?b :node/id 4] (reach ?a ?b) [?a :node/id ?x]]', GRAPH, REACH))).toEqual([1, 2, 3]);
    // Constant argument given as a lookup ref value
    expect(sorted(q('[:find [?y ...] :in $ % :where (reach [:node/id 2] ?b) [?b :node/id ?y]]', GRAPH, REACH))).toEqual([1, 2, 3, 4]);
  });

  test('mutual recursion', () => {
    const rules = `[[(even ?a ?b) [?a :node/next ?b]]
                    [(even ?a ?b) [?a :node/next ?x] (odd ?x ?b)]
                    [(odd ?a ?b) [?a :node/next ?x] (even ?x ?b)]]`;
    const r = q('[:find ?x ?y :in $ % :where (odd ?a ?b) [?a :node/id ?x] [?b :node/id ?y]]', GRAPH, rules) as number[][];
    // odd = paths of even length >= 2 in this convention
    expect(r.length).toBeGreaterThan(0);
    expect(sorted(r)).toContainEqual([1, 3]);
  });

  test('required bindings', () => {
    const rules = `[[(older [?e] ?o) [?e :person/age ?a] [?o :person/age ?b] [(> ?b ?a)]]]`;
    expect(sorted(q('[:find [?n ...] :in $ % :where [?e :person/name "Ivan"] (older ?e ?o) [?o :person/name ?n]]', db, rules))).toEqual(['Oleg']);
    expect(() => q('[:find ?o :in $ % :where (older ?e ?o)]', db, rules)).toThrow(/required argument 1 of rule older/);
  });

  test('rules in JS data; rules calling rules; rules inside or/not', () => {
    const rules = [
      [['friend', '?a', '?b'], ['?a', ':person/friend', '?b']],
      [['fof', '?a', '?c'], ['friend', '?a', '?b'], ['friend', '?b', '?c']],
    ];
    expect(sorted(q({ find: [['?n', '...']], in: ['$', '%'], where: [['?e', ':person/name', 'Ivan'], ['fof', '?e', '?x'], ['?x', ':person/name', '?n']] }, db, rules))).toEqual(['Oleg']);
    expect(sorted(q('[:find [?n ...] :in $ % :where [?e :person/name ?n] (not-join [?e] (friend ?e ?x) [?x :person/sex :male])]', db, rules))).toEqual(['Anna']);
    expect(sorted(q('[:find [?n ...] :in $ % :where [?e :person/name ?n] (or-join [?e] (friend ?e ?x) [?e :person/sex :female])]', db, rules))).toEqual(['Anna', 'Ivan', 'Oleg', 'Petr']);
  });

  test('a rule with a source', () => {
    expect(sorted(q('[:find [?b ...] :in $g % :where ($g reach ?a ?b) [$g ?a :node/id 4]]', GRAPH, REACH))).toEqual([]);
    expect(q('[:find (count ?b) . :in $g % :where [$g ?a :node/id 1] ($g reach ?a ?b)]', GRAPH, REACH)).toBe(4);
  });
});
