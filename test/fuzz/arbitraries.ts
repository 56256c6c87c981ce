/**
 * Generators shared by the fuzz tests: a schema with every value type, its seed data, and random
 * (mostly wrong) transaction data, queries and pull selectors over it.
 */
import fc from 'fast-check';

export const SCHEMA = `[
 {:db/ident :p/name :db/valueType :db.type/string :db/cardinality :db.cardinality/one :db/unique :db.unique/identity}
 {:db/ident :p/code :db/valueType :db.type/string :db/cardinality :db.cardinality/one :db/unique :db.unique/value}
 {:db/ident :p/n :db/valueType :db.type/long :db/cardinality :db.cardinality/one}
 {:db/ident :p/d :db/valueType :db.type/double :db/cardinality :db.cardinality/one}
 {:db/ident :p/ok :db/valueType :db.type/boolean :db/cardinality :db.cardinality/one}
 {:db/ident :p/at :db/valueType :db.type/instant :db/cardinality :db.cardinality/one}
 {:db/ident :p/kw :db/valueType :db.type/keyword :db/cardinality :db.cardinality/one}
 {:db/ident :p/big :db/valueType :db.type/bigint :db/cardinality :db.cardinality/one}
 {:db/ident :p/dec :db/valueType :db.type/bigdec :db/cardinality :db.cardinality/one}
 {:db/ident :p/tags :db/valueType :db.type/string :db/cardinality :db.cardinality/many}
 {:db/ident :p/friend :db/valueType :db.type/ref :db/cardinality :db.cardinality/many}
 {:db/ident :p/kid :db/valueType :db.type/ref :db/cardinality :db.cardinality/many :db/isComponent true}
 {:db/ident :p/pair :db/valueType :db.type/tuple :db/tupleTypes [:db.type/long :db.type/string] :db/cardinality :db.cardinality/one}
]`;


/** Twelve people in a friendship cycle, each with a component kid. */
export const PEOPLE = Array.from({ length: 12 }, (_, i) => ({
  'db/id': `p${i}`, 'p/name': `n${i}`, 'p/n': i, 'p/tags': ['a', `t${i % 3}`], 'p/friend': [`p${(i + 1) % 12}`], 'p/kid': [{ 'p/name': `kid${i}` }],
}));

export const RULES = '[[(reach ?a ?b) [?a :p/friend ?b]] [(reach ?a ?b) (reach ?a ?x) [?x :p/friend ?b]]]';

export const ATTRS = [':p/name', ':p/code', ':p/n', ':p/d', ':p/ok', ':p/at', ':p/kw', ':p/big', ':p/dec', ':p/tags', ':p/friend', ':p/kid', ':p/pair', ':db/ident', ':db/doc', ':db/txInstant', ':no/such', ':p/_friend', 'p/n', ':db/cardinality'];

/** Generators over the entities `eids` of a seeded database. */
export function arbitraries(EIDS: readonly number[]) {

  const anyValue: fc.Arbitrary<unknown> = fc.oneof(
    fc.constantFrom(null, undefined, true, false, 0, -1, 1.5, NaN, Infinity, -Infinity, 2 ** 53 + 2, '', 'x', ':p/name', ':a', ':db.cardinality/many', 'p0', 'datomic.tx'),
    fc.integer(), fc.double(), fc.bigInt({ min: -(2n ** 70n), max: 2n ** 70n }),
    fc.string({ maxLength: 8 }), fc.constant('x'.repeat(4_097)),
    fc.date({ noInvalidDate: false }),
    fc.constantFrom(...EIDS), fc.constantFrom(...ATTRS),
    fc.constantFrom([':p/name', 'n1'], [':p/name', 'nobody'], [':p/n', 1], [1, 'x'], [], [1, 2, 3], { a: 1 }, { 'p/name': 'nested' }, new Map(), new Set([1])),
  );
  const entity: fc.Arbitrary<unknown> = fc.oneof(
    fc.constantFrom('t0', 't1', 'datomic.tx', ''), fc.constantFrom(...EIDS), fc.integer(),
    fc.constantFrom([':p/name', 'n0'], [':p/name', 'zz'], [':p/n', 3], [':no/such', 1], ':p/name', -1, 0, 2 ** 60),
    anyValue,
  );
  const attr = fc.oneof({ weight: 4, arbitrary: fc.constantFrom(...ATTRS) }, { weight: 1, arbitrary: anyValue });
  const op: fc.Arbitrary<unknown> = fc.oneof(
    { weight: 4, arbitrary: fc.tuple(fc.option(entity), fc.array(fc.tuple(attr, anyValue), { maxLength: 4 })).map(([e, kvs]) => {
      const m: Record<string, unknown> = {};
      if (e !== null) m['db/id'] = e;
      for (const [k, v] of kvs) m[typeof k === 'string' ? k.replace(/^:/, '') : String(k)] = v;
      return m;
    }) },
    { weight: 3, arbitrary: fc.tuple(fc.constantFrom(':db/add', ':db/retract'), entity, attr, anyValue).map((x) => [...x]) },
    { weight: 1, arbitrary: fc.tuple(fc.constantFrom(':db/retract', ':db/retractEntity', ':db.fn/retractEntity'), entity, fc.option(attr)).map(([o, e, a]) => (a === null ? [o, e] : [o, e, a])) },
    { weight: 1, arbitrary: fc.tuple(entity, attr, anyValue, anyValue).map(([e, a, o, n]) => [':db/cas', e, a, o, n]) },
    { weight: 1, arbitrary: fc.tuple(fc.constantFrom(':db/foo', ':no/fn', 'add', ':db/add'), fc.array(anyValue, { maxLength: 5 })).map(([o, xs]) => [o, ...xs]) },
    { weight: 1, arbitrary: anyValue },
  );
  const txData = fc.oneof({ weight: 6, arbitrary: fc.array(op, { maxLength: 6 }) }, { weight: 1, arbitrary: anyValue });
  const term = fc.oneof(
    { weight: 4, arbitrary: fc.constantFrom('?e', '?a', '?v', '?x', '?y', '_', '$', '%') },
    { weight: 2, arbitrary: fc.constantFrom(...ATTRS) },
    { weight: 1, arbitrary: anyValue },
  );
  const pattern = fc.array(term, { minLength: 0, maxLength: 5 });
  const clause: fc.Arbitrary<unknown> = fc.letrec<{ c: unknown }>((tie) => ({
    c: fc.oneof(
      { depthSize: 'small', withCrossShrink: true },
      pattern,
      fc.tuple(fc.constantFrom('<', '>', '=', '!=', 'str', 'inc', 'count', 're-find', 'ground', 'missing?', 'get-else', 'nope', 'identity', 'tuple', 'untuple'), fc.array(term, { maxLength: 3 }))
        .map(([f, args]) => [[f, ...args]]),
      fc.tuple(fc.constantFrom('str', 'inc', 'ground', 'tuple', 'identity'), fc.array(term, { maxLength: 2 }), fc.oneof(term, fc.constant(['?x', '...']), fc.constant([['?x', '?y']])))
        .map(([f, args, b]) => [[f, ...args], b]),
      fc.tuple(fc.constantFrom('not', 'or', 'and', 'not-join', 'or-join'), fc.array(tie('c'), { maxLength: 3 })).map(([k, cs]) => [k, ...(k.endsWith('join') ? [['?e'], ...cs] : cs)]),
      fc.tuple(fc.constantFrom('reach', 'nope'), fc.array(term, { maxLength: 2 })).map(([r, args]) => [r, ...args]),
    ),
  })).c;
  const findElem = fc.oneof(
    fc.constantFrom('?e', '?a', '?v', '?x', '.', '...', '_'),
    fc.constantFrom(['count', '?e'], ['sum', '?v'], ['max', 2, '?v'], ['distinct', '?x'], ['pull', '?e', '[*]'], ['pull', '?e', [':p/name']], ['nope', '?e']),
    anyValue,
  );
  const query = fc.record({
    find: fc.array(findElem, { maxLength: 3 }),
    in: fc.option(fc.array(fc.oneof(fc.constantFrom('$', '%', '?x', ['?x', '...'], [['?x', '?y']], ['?x', '?y']), anyValue), { maxLength: 3 }), { nil: undefined }),
    where: fc.array(clause, { maxLength: 4 }),
    with: fc.option(fc.array(fc.constantFrom('?e', '?v', 1), { maxLength: 2 }), { nil: undefined }),
  }).map((o) => Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)));

  /** Mostly well-formed queries over the schema, with a random term mutated now and then. */
  const goodClause = fc.oneof(
    fc.constantFrom(...ATTRS.slice(0, 13)).map((a) => ['?e', a, '?v']),
    fc.constant(['?e', ':p/friend', '?f']),
    fc.constant(['?f', ':p/name', '?x']),
    fc.constant(['?e', ':p/name', 'n3']),
    fc.integer({ min: -1, max: 12 }).map((n) => [['<', '?v', n]]),
    fc.constantFrom('str', 'identity', 'count', 'inc').map((f) => [[f, '?v'], '?x']),
    fc.constant(['not', ['?e', ':p/tags', 'a']]),
    fc.constant(['or', ['?e', ':p/tags', 't0'], ['?e', ':p/tags', 't1']]),
    fc.constant([['get-else', '$', '?e', ':p/code', 'none'], '?x']),
    fc.constant([['missing?', '$', '?e', ':p/code']]),
    fc.constant(['reach', '?e', '?f']),
    fc.constant([['ground', [1, 2, 3]], ['?x', '...']]),
    fc.constant([['tuple', '?e', '?v'], '?x']),
  );
  const goodFind = fc.oneof(
    fc.uniqueArray(fc.constantFrom('?e', '?v', '?x', '?f'), { minLength: 1, maxLength: 3 }),
    fc.constantFrom([['count', '?e']], ['?e', ['sum', '?v']], [['max', 2, '?v']], [['distinct', '?x']], [['pull', '?e', [':p/name', { ':p/friend': [':p/name'] }]]], ['?e', '.'], [['?e', '...']], [['?e', '?v']]),
  );
  const mutate = (x: unknown, path: number[], v: unknown): unknown => {
    if (path.length === 0 || !Array.isArray(x) || x.length === 0) return v;
    const i = path[0]! % x.length;
    const out = [...x];
    out[i] = mutate(x[i], path.slice(1), v);
    return out;
  };
  const varsOf = (x: unknown, out = new Set<string>()): Set<string> => {
    if (typeof x === 'string' && /^\?[a-z]+$/.test(x)) out.add(x);
    else if (Array.isArray(x)) for (const y of x) varsOf(y, out);
    return out;
  };
  const goodQuery = fc.tuple(fc.array(goodClause, { minLength: 1, maxLength: 4 }), fc.boolean(), fc.oneof({ weight: 3, arbitrary: fc.constant(null) }, { weight: 1, arbitrary: fc.tuple(fc.array(fc.nat(), { minLength: 2, maxLength: 3 }), term) }))
    .chain(([where, rules, m]) => {
      const w = m === null ? where : (mutate(where, m[0], m[1]) as unknown[]);
      const usesRule = String(JSON.stringify(w, (_k, x: unknown) => (typeof x === 'bigint' ? String(x) : x))).includes('"reach"');
      const vars = [...varsOf(w)];
      const find = vars.length === 0
        ? goodFind
        : fc.oneof(
          { weight: 3, arbitrary: fc.shuffledSubarray(vars, { minLength: 1 }) },
          { weight: 1, arbitrary: fc.constantFrom(...vars).map((v) => [['count', v]]) },
          { weight: 1, arbitrary: fc.constantFrom(...vars).map((v) => [v, '.']) },
          { weight: 1, arbitrary: fc.constantFrom(...vars).map((v) => [[v, '...']]) },
          { weight: 1, arbitrary: goodFind },
        );
      return find.map((f) => ({ find: f, ...(usesRule || rules ? { in: ['$', '%'] } : {}), where: w }));
    });
  const selector: fc.Arbitrary<unknown> = fc.letrec<{ s: unknown; item: unknown }>((tie) => ({
    s: fc.array(tie('item'), { maxLength: 4 }),
    item: fc.oneof(
      { depthSize: 'small', withCrossShrink: true },
      fc.constantFrom('*', ...ATTRS, ':db/id', '...', 5, ':p/_kid'),
      fc.tuple(fc.constantFrom(...ATTRS), fc.oneof(tie('s'), fc.constantFrom('...', 0, 3, -1, 'x'))).map(([a, sub]) => ({ [a]: sub })),
      fc.tuple(fc.constantFrom(...ATTRS), fc.constantFrom(':as', ':limit', ':default', ':xform', ':nope'), anyValue).map(([a, k, v]) => [a, k, v]),
      fc.tuple(fc.constantFrom('limit', 'default', 'nope'), fc.constantFrom(...ATTRS), anyValue).map(([f, a, v]) => [f, a, v]),
      anyValue,
    ),
  })).s;

  return { anyValue, entity, attr, op, txData, term, query, goodQuery, selector };
}
