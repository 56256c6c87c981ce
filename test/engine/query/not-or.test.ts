import { people, q, sorted } from './fixture';

describe('not, not-join, or, or-join, and', () => {
  const { db } = people();
  const names = (query: string, ...args: unknown[]) => sorted(q(query, db, ...args));

  test('not', () => {
    expect(names('[:find [?n ...] :where [?e :person/name ?n] (not [?e :person/sex :male])]')).toEqual(['Anna']);
    expect(names('[:find [?n ...] :where [?e :person/name ?n] [?e :person/age ?a] (not [(< ?a 30)])]')).toEqual(['Anna', 'Ivan', 'Oleg']);
    expect(names('[:find [?n ...] :where [?e :person/name ?n] (not [?e :person/age 30] [?e :person/sex :female])]')).toEqual(['Ivan', 'Oleg', 'Petr']);
  });

  test('not-join', () => {
    // People nobody has as a friend... everyone male is someone's friend; Anna is nobody's.
    expect(names('[:find [?n ...] :where [?e :person/name ?n] (not-join [?e] [?x :person/friend ?e])]')).toEqual(['Anna']);
    // People without any email.
    expect(names('[:find [?n ...] :where [?e :person/name ?n] (not-join [?e] [?e :person/email ?m])]')).toEqual(['Oleg', 'Petr']);
  });

  test('or and and', () => {
    expect(names('[:find [?n ...] :where [?e :person/name ?n] (or [?e :person/age 25] [?e :person/sex :female])]')).toEqual(['Anna', 'Petr']);
    expect(names('[:find [?n ...] :where [?e :person/name ?n] (or (and [?e :person/age 30] [?e :person/sex :male]) [?e :person/age 40])]')).toEqual(['Ivan', 'Oleg']);
  });

  test('or-join', () => {
    expect(names('[:find [?n ...] :where [?e :person/name ?n] (or-join [?e] [?e :person/email _] (and [?e :person/friend ?f] [?f :person/age 40]))]'))
      .toEqual(['Anna', 'Ivan', 'Petr']);
    // An or-join can bind new variables.
    expect(sorted(q('[:find ?n ?x :where (or-join [?e ?x] (and [?e :person/age 40] [(ground 1) ?x]) (and [?e :person/age 25] [(ground 2) ?x])) [?e :person/name ?n]]', db)))
      .toEqual([['Oleg', 1], ['Petr', 2]]);
  });

  test('JS data forms', () => {
    expect(sorted(q({ find: [['?n', '...']], where: [['?e', ':person/name', '?n'], ['not', ['?e', ':person/sex', ':male']]] }, db))).toEqual(['Anna']);
    expect(sorted(q({
      find: [['?n', '...']],
      where: [['?e', ':person/name', '?n'], ['or', ['?e', ':person/age', 25], ['and', ['?e', ':person/age', 40], ['?e', ':person/sex', ':male']]]],
    }, db))).toEqual(['Oleg', 'Petr']);
    expect(sorted(q({ find: [['?n', '...']], where: [['?e', ':person/name', '?n'], ['not-join', ['?e'], ['?x', ':person/friend', '?e']]] }, db))).toEqual(['Anna']);
  });
});
