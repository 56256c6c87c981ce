import { people, q, sorted } from './fixture';

describe('predicates', () => {
  const { db } = people();
  const names = (query: string, ...args: unknown[]) => sorted(q(query, db, ...args));

  test('comparisons', () => {
    expect(names('[:find [?n ...] :where [?e :person/age ?a] [(> ?a 28)] [?e :person/name ?n]]')).toEqual(['Anna', 'Ivan', 'Oleg']);
    expect(names('[:find [?n ...] :where [?e :person/age ?a] [(>= ?a 30)] [(< ?a 40)] [?e :person/name ?n]]')).toEqual(['Anna', 'Ivan']);
    expect(names('[:find [?n ...] :where [?e :person/age ?a] [(<= 30 ?a)] [?e :person/name ?n]]')).toEqual(['Anna', 'Ivan', 'Oleg']);
    expect(names('[:find [?n ...] :where [?e :person/age ?a] [(= ?a 30)] [?e :person/name ?n]]')).toEqual(['Anna', 'Ivan']);
    expect(names('[:find [?n ...] :where [?e :person/age ?a] [(!= ?a 30)] [?e :person/name ?n]]')).toEqual(['Oleg', 'Petr']);
    expect(names('[:find [?n ...] :where [?e :person/age ?a] [(not= ?a 30)] [?e :person/name ?n]]')).toEqual(['Oleg', 'Petr']);
    expect(names('[:find [?n ...] :in $ ?min :where [?e :person/salary ?s] [(> ?s ?min)] [?e :person/name ?n]]', 150)).toEqual(['Oleg', 'Petr']);
  });

  test('comparisons between two variables, and across types', () => {
    expect(sorted(q('[:find ?n1 ?n2 :where [?a :person/age ?x] [?b :person/age ?y] [(< ?x ?y)] [?a :person/name ?n1] [?b :person/name ?n2] [(= ?n1 "Petr")]]', db)))
      .toEqual([['Petr', 'Anna'], ['Petr', 'Ivan'], ['Petr', 'Oleg']]);
    // Numbers sort before strings in the total order Datomic's comparisons use.
    expect(q('[:find ?x . :in ?x :where [(< ?x "a")]]', 5)).toBe(5);
  });

  test('string predicates', () => {
    expect(names('[:find [?n ...] :where [_ :person/name ?n] [(clojure.string/starts-with? ?n "O")]]')).toEqual(['Oleg']);
    expect(names('[:find [?n ...] :where [_ :person/name ?n] [(ends-with? ?n "a")]]')).toEqual(['Anna']);
    expect(names('[:find [?n ...] :where [_ :person/name ?n] [(includes? ?n "et")]]')).toEqual(['Petr']);
    expect(names('[:find [?m ...] :where [_ :person/email ?m] [(re-pattern "^ivan") ?re] [(re-find ?re ?m)]]')).toEqual(['ivan@a.com', 'ivan@b.com']);
    expect(names('[:find [?m ...] :in $ ?re :where [_ :person/email ?m] [(re-find ?re ?m)]]', /b\.com$/)).toEqual(['ivan@b.com']);
  });

  test('JS-data predicates', () => {
    expect(sorted(q({ find: [['?n', '...']], where: [['?e', ':person/age', '?a'], [['>', '?a', 28]], ['?e', ':person/name', '?n']] }, db))).toEqual(['Anna', 'Ivan', 'Oleg']);
  });
});
