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
});
