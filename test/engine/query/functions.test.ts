import { people, q, sorted } from './fixture';

const f = (expr: string, ...args: unknown[]): unknown => q(`[:find ?r . :in ${args.map((_, i) => `?x${i}`).join(' ')} :where [${expr} ?r]]`, ...args);

describe('function expressions', () => {
  const { db, ids } = people();

  test('arithmetic', () => {
    expect(f('(+ ?x0 ?x1)', 2, 3)).toBe(5);
    expect(f('(- ?x0 ?x1)', 2, 3)).toBe(-1);
    expect(f('(* ?x0 ?x1 2)', 2, 3)).toBe(12);
    expect(f('(/ ?x0 ?x1)', 3, 2)).toBe(1.5);
    expect(f('(quot ?x0 ?x1)', 7, 2)).toBe(3);
    expect(f('(rem ?x0 ?x1)', -7, 2)).toBe(-1);
    expect(f('(mod ?x0 ?x1)', -7, 2)).toBe(1);
    expect(f('(inc ?x0)', 1)).toBe(2);
    expect(f('(dec ?x0)', 1)).toBe(0);
    expect(f('(max ?x0 ?x1)', 1, 9)).toBe(9);
    expect(f('(min ?x0 ?x1)', 1, 9)).toBe(1);
    expect(f('(abs ?x0)', -4)).toBe(4);
    expect(f('(+ ?x0 ?x1)', 2n, 3n)).toBe(5n);
  });

  test('strings and keywords', () => {
    expect(f('(str ?x0 "-" ?x1)', 'a', 1)).toBe('a-1');
    expect(f('(subs ?x0 1 3)', 'hello')).toBe('el');
    expect(f('(subs ?x0 1)', 'hello')).toBe('ello');
    expect(f('(count ?x0)', 'hello')).toBe(5);
    expect(f('(lower-case ?x0)', 'HeLLo')).toBe('hello');
    expect(f('(clojure.string/upper-case ?x0)', 'hi')).toBe('HI');
    expect(f('(re-matches ?x1 ?x0)', 'ivan@a.com', /(\w+)@(\w+)\.com/)).toEqual(['ivan@a.com', 'ivan', 'a']);
    expect(f('(re-seq ?x1 ?x0)', 'a1b22', /\d+/)).toEqual(['1', '22']);
    expect(q('[:find ?r . :in ?s ?p :where [(re-pattern ?p) ?re] [(re-find ?re ?s) ?r]]', 'abc123', '\\d+')).toBe('123');
    expect(f('(name ?x0)', ':person/name')).toBe('name');
    expect(f('(namespace ?x0)', ':person/name')).toBe('person');
    expect(f('(keyword ?x0 ?x1)', 'a', 'b')).toBe(':a/b');
    expect(f('(identity ?x0)', 7)).toBe(7);
  });

  test('database functions: get-else, get-some, missing?', () => {
    expect(sorted(q('[:find ?n ?s :where [?e :person/name ?n] [(get-else $ ?e :person/salary 0) ?s]]', db)))
      .toEqual([['Anna', 0], ['Ivan', 100], ['Oleg', 300], ['Petr', 200]]);
    expect(q('[:find ?r . :where [?e :person/name "Anna"] [(get-some $ ?e :person/salary :person/age) ?r]]', db)).toEqual([':person/age', 30]);
    expect(sorted(q('[:find [?n ...] :where [?e :person/name ?n] [(missing? $ ?e :person/email)]]', db))).toEqual(['Oleg', 'Petr']);
  });

  test('binding forms: scalar, tuple, collection, relation, ground, tuple/untuple', () => {
    expect(q('[:find ?a ?b :where [(tuple 1 2) [?a ?b]]]')).toEqual([[1, 2]]);
    expect(sorted(q('[:find ?x :where [(ground [1 2 2 3]) [?x ...]]]'))).toEqual([[1], [2], [3]]);
    expect(sorted(q('[:find ?x ?y :where [(ground [[1 :a] [2 :b]]) [[?x ?y]]]]'))).toEqual([[1, ':a'], [2, ':b']]);
    expect(q('[:find ?t . :where [(ground 5) ?a] [(tuple ?a "x") ?t]]')).toEqual([5, 'x']);
    expect(q('[:find ?b . :where [(ground [1 2]) ?t] [(untuple ?t) [_ ?b]]]')).toBe(2);
    expect(q('[:find ?e . :where [(ground "Oleg") ?n] [?e :person/name ?n]]', db)).toBe(ids.oleg);
  });

  test('q inside a query runs a nested query; its result destructures like any function result', () => {
    // The oldest people, with the maximum found by a nested query (Datomic's example shape, quoted or not).
    const oldest = '[:find ?n :where [(q (quote [:find (max ?a) :where [_ :person/age ?a]]) $) [[?m]]] [?e :person/age ?m] [?e :person/name ?n]]';
    expect(q(oldest, db)).toEqual([['Oleg']]);
    expect(q(oldest.replace('(quote [:find (max ?a) :where [_ :person/age ?a]])', '[:find (max ?a) :where [_ :person/age ?a]]'), db)).toEqual([['Oleg']]);
    // Inputs are passed on: a correlated nested query per row.
    const perAge = q('[:find ?a ?c :where [_ :person/age ?a] [(q [:find (count ?x) . :in $ ?a :where [?x :person/age ?a]] $ ?a) ?c]]', db);
    expect(sorted(perAge)).toEqual([[25, 1], [30, 2], [40, 1]]);
    // The rules pass on as %.
    const rules = '[[(elder ?e) [?e :person/age ?a] [(>= ?a 40)]]]';
    expect(q('[:find ?n :in $ % :where [(q [:find ?e :in $ % :where (elder ?e)] $ %) [[?e]]] [?e :person/name ?n]]', db, rules)).toEqual([['Oleg']]);
    // JS data.
    const js = q({ find: [['?n', '...']], where: [[['q', [':find', '?m', '.', ':where', ['_', ':person/age', '?m'], [['<', '?m', 30]]], '$'], '?a'], ['?e', ':person/age', '?a'], ['?e', ':person/name', '?n']] }, db);
    expect(js).toEqual(['Petr']);
    // Errors of the nested query name the enclosing clause.
    expect(() => q('[:find ?x :where [(q [:find ?z :where [?y :person/age]] $) [[?x]]]]', db)).toThrow(
      expect.objectContaining({ category: 'incorrect', code: 'query/unbound-variable', message: expect.stringContaining('[(q [:find ?z') }),
    );
    expect(() => q('[:find ?x :in $ ?qq :where [(q ?qq $) [[?x]]]]', db, '[:find ?y :where [?y :person/age]]')).toThrow(expect.objectContaining({ category: 'incorrect' }));
  });

  test('JS data: _ in the first position of a pattern is a blank, not a rule name', () => {
    expect(sorted(q({ find: ['?a'], where: [['_', ':person/age', '?a']] }, db))).toEqual([[25], [30], [40]]);
  });

  test('a function result equal to a bound variable filters; nil drops the row', () => {
    expect(sorted(q('[:find ?n :where [?e :person/age ?a] [(+ 5 25) ?a] [?e :person/name ?n]]', db))).toEqual([['Anna'], ['Ivan']]);
    expect(q('[:find ?x :where [(re-find "z" "abc") ?x]]')).toEqual([]);
  });
});
