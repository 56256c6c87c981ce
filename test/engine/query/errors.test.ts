import { DatalithError } from '../../../services/engine/errors';
import { people, q } from './fixture';

function err(f: () => unknown): DatalithError {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(DatalithError);
    return e as DatalithError;
  }
  throw new Error('expected an error');
}

describe('errors before evaluation', () => {
  const { db } = people();
  const rules = '[[(r ?a ?b) [?a :person/friend ?b]] [(r1 [?a] ?b) [?a :person/friend ?b]]]';

  test.each([
    ['[:find ?x :where [?e :person/name ?n]]', 'query/unbound-variable', /\?x/],
    ['[:find ?e :where [?e :person/age ?a] [(> ?b 1)]]', 'query/unbound-variable', /\?b not bound in \[\(> \?b 1\)\]/],
    ['[:find ?e :where [?e :person/age ?a] [(+ ?b 1) ?c]]', 'query/unbound-variable', /\?b not bound in \[\(\+ \?b 1\) \?c\]/],
    ['[:find ?e :where [?e :person/age ?a] (not [?x :person/friend ?e])]', 'query/insufficient-binding', /\?x not bound in \(not \[\?x :person\/friend \?e\]\)/],
    ['[:find ?e :where [?e :person/age ?a] (or [?e :person/age 1] [?x :person/age 2])]', 'query/or-vars', /same set of variables/],
    ['[:find ?e :where [?e :person/age ?a] [(frobnicate ?a)]]', 'query/unknown-function', /Unknown function frobnicate in \[\(frobnicate \?a\)\]/],
    ['[:find ?e :where [?e :person/age ?a] [(inc ?a ?a)]]', 'query/wrong-arity', /inc in \[\(inc \?a \?a\)\]/],
    ['[:find ?e :where [?e :person/age ?a] [(subs ?a)]]', 'query/wrong-arity', /subs/],
    ['[:find (frob ?e) :where [?e :person/age ?a]]', 'query/unknown-function', /frob/],
    ['[:find ?e :where]', 'query/unbound-variable', /\?e/],
    ['[:find ?e :where [?e :person/age ?a]]', null, null],
  ])('%s', (query, code, msg) => {
    if (code === null) {
      expect(q(query, db)).toHaveLength(4);
      return;
    }
    const e = err(() => q(query, db));
    expect(e.category).toBe('incorrect');
    expect(e.code).toBe(code);
    expect(e.message).toMatch(msg as RegExp);
  });

  test('rules: unknown rule, wrong arity, required binding', () => {
    let e = err(() => q('[:find ?e :in $ % :where (nope ?e)]', db, rules));
    expect(e.code).toBe('query/unknown-rule');
    expect(e.message).toMatch(/nope/);
    e = err(() => q('[:find ?e :in $ % :where (r ?e)]', db, rules));
    expect(e.code).toBe('query/wrong-arity');
    expect(e.message).toMatch(/\(r \?e\)/);
    e = err(() => q('[:find ?b :in $ % :where (r1 ?a ?b)]', db, rules));
    expect(e.code).toBe('query/insufficient-binding');
    e = err(() => q('[:find ?e :where (r ?e ?x)]', db));
    expect(e.code).toBe('query/unknown-rule');
  });

  test('malformed queries and inputs', () => {
    expect(err(() => q('[:find ?e :where [?e :person/name', db)).category).toBe('incorrect');
    expect(err(() => q('[:where [?e :person/name]]', db)).category).toBe('incorrect');
    expect(err(() => q('[:find ?e :in $ ?x :where [?e :person/name ?x]]', db)).code).toBe('query/wrong-inputs');
    expect(err(() => q('[:find ?e :in $ [?a ?b] :where [?e :person/name ?a]]', db, ['x'])).code).toBe('query/invalid-input');
    expect(err(() => q('[:find ?e :where [$x ?e :person/name]]', db)).code).toBe('query/unknown-source');
  });

  test('the forms docs/queries.md lists as not supported get the errors it names', () => {
    const cases: Array<[string, unknown[], string, string]> = [
      ['[:find ?y :in ?x :where [(my.ns/f ?x) ?y]]', [1], 'query/unknown-function', 'Unknown function my.ns/f'],
      ['[:find ?x :in ?s :where [(.startsWith ?s "a")] [(identity ?s) ?x]]', ['abc'], 'query/unknown-function', 'Unknown function .startsWith'],
      ['[:find (my.ns/agg ?x) :in [?x ...]]', [[1]], 'query/unknown-function', 'Unknown aggregate function my.ns/agg'],
      ['[:find (count $ ?x) :in $ [?x ...]]', [db, [1]], 'query/wrong-arity', 'aggregate count'],
      ['[:find ?b :in ?a :where [(+ (inc ?a) 2) ?b]]', [1], 'query/invalid', 'Nested function calls are not supported'],
      ['[:find ?t :where [(tx-ids $ 1 10) [?t ...]]]', [db], 'query/unsupported', 'tx-ids is not supported'],
      ['[:find ?e :where [(tx-data $ 1) [[?e]]]]', [db], 'query/unknown-function', 'Unknown function tx-data'],
      ['[:find ?e :where [(fulltext $ :person/name "Ivan") [[?e]]]]', [db], 'query/unknown-function', 'Unknown function fulltext'],
      ['[:find ?x :in $ ?query :where [(q ?query $) [[?x]]]]', [db, '[:find ?e :where [?e :person/age]]'], 'query/invalid', 'The query of q must be written in the query'],
      ['[:find [?n ...] :keys n :where [_ :person/name ?n]]', [db], 'query/invalid', ':keys needs a relation find spec'],
      ['[:find ?v :where [?e :person/name] [(get-else $ ?e :person/email "x") ?v]]', [db], 'query/invalid', 'get-else: attribute :person/email is cardinality many'],
      ['[:find ?v :where [?e :person/name] [(get-else $ ?e :person/age nil) ?v]]', [db], 'query/invalid', 'get-else: nil default value is not supported'],
      ['[:find ?x :where [(re-find #"a" "abc") ?x]]', [], 'edn/syntax', 'regular expressions'],
    ];
    for (const [query, inputs, code, message] of cases) {
      const e = err(() => q(query, ...inputs));
      expect({ query, category: e.category, code: e.code }).toEqual({ query, category: 'incorrect', code });
      expect(e.message).toContain(message);
    }
  });
});
