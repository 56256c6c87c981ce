/**
 * Source variables in front of not, not-join, or, or-join and rule calls (Datomic's grammar:
 * `[src-var? 'not' clause+]`, ..., `[src-var? rule-name ...]`, each written as a list or a vector).
 * A clause that names no source reads the default of its scope; an explicit `$` is the query's `$`.
 * Cases ported from DataScript's test-default-source (where it agrees with Datomic).
 */
import { emptyDb } from '../../../services/engine/db';
import { transact } from '../../../services/engine/transact';
import { q, sorted } from './fixture';

const SCHEMA = `[{:db/ident :name :db/valueType :db.type/string :db/cardinality :db.cardinality/one :db/unique :db.unique/identity}
                 {:db/ident :age :db/valueType :db.type/long :db/cardinality :db.cardinality/one}]`;
const base = transact(emptyDb(), SCHEMA).dbAfter;
// db1 names two entities; db2 gives the same entity ids ages (the entities are created in the same order).
const r1 = transact(base, '[{:db/id "ivan" :name "Ivan"} {:db/id "oleg" :name "Oleg"}]');
const db1 = r1.dbAfter;
const db2 = transact(base, '[{:db/id "ivan" :name "I" :age 10} {:db/id "oleg" :name "O" :age 20}]').dbAfter;
const ivan = r1.tempids['ivan']!;
const oleg = r1.tempids['oleg']!;
const RULES = '[[(aged-10 ?x) [?x :age 10]] [(named-ivan ?x) [$ ?x :name "Ivan"]]]';

const run = (clause: string): unknown => sorted(q(`[:find [?e ...] :in $ $2 % :where [?e :name] ${clause}]`, db1, db2, RULES));

describe('source variables before not, or and rule calls', () => {
  test('setup: the two databases share entity ids', () => {
    expect(q('[:find ?e . :where [?e :age 10]]', db2)).toBe(ivan);
  });

  test('not inherits the default source, or names one', () => {
    expect(run('(not [?e :age 10])')).toEqual([ivan, oleg]);
    expect(run('(not [$2 ?e :age 10])')).toEqual([oleg]);
    expect(run('($2 not [?e :age 10])')).toEqual([oleg]);
  });

  test('an explicit $ inside ($2 not ...) is the query $, not $2', () => {
    expect(run('($2 not [$ ?e :name "Ivan"])')).toEqual([oleg]);
  });

  test('nested not keeps the default source, or overrides it', () => {
    expect(run('($2 not (not [?e :age 10]))')).toEqual([ivan]);
    expect(run('($2 not ($ not [?e :name "Ivan"]))')).toEqual([ivan]);
  });

  test('not-join, or and or-join with a source', () => {
    expect(run('($2 not-join [?e] [?e :age 10])')).toEqual([oleg]);
    expect(run('($2 or [?e :age 10] [?e :age 30])')).toEqual([ivan]);
    expect(run('($2 or-join [?e] [?e :age 20] (and [?e :age ?a] [(> ?a 15)]))')).toEqual([oleg]);
    expect(run('($2 or [?e :age 20] ($ not [?e :name "Ivan"]))')).toEqual([oleg]);
  });

  test('a rule call with a source evaluates its body against it; an explicit $ in the body is the query $', () => {
    expect(run('($2 aged-10 ?e)')).toEqual([ivan]);
    expect(run('(aged-10 ?e)')).toEqual([]);
    expect(run('($2 named-ivan ?e)')).toEqual([ivan]);
  });

  test('the vector forms of the grammar mean the same', () => {
    expect(run('[not [?e :age 10]]')).toEqual([ivan, oleg]);
    expect(run('[$2 not [?e :age 10]]')).toEqual([oleg]);
    expect(run('[$2 or [?e :age 30] [and [?e :age 20] [?e :name "O"]]]')).toEqual([oleg]);
    expect(run('[$2 aged-10 ?e]')).toEqual([ivan]);
  });

  test('JS data: a source string before the operator', () => {
    const query = (clause: unknown): unknown => sorted(q({ find: [['?e', '...']], in: ['$', '$2'], where: [['?e', ':name'], clause] }, db1, db2));
    expect(query(['$2', 'not', ['$', '?e', ':name', 'Ivan']])).toEqual([oleg]);
    expect(query(['$2', 'not', ['$', 'not', ['?e', ':name', 'Ivan']]])).toEqual([ivan]);
  });

  test('an unknown source is refused before evaluation, also inside a sourced not', () => {
    for (const clause of ['($3 not [?e :age 10])', '($2 not [$3 ?e :age 10])', '($3 or [?e :age 10])']) {
      expect(() => run(clause)).toThrow(expect.objectContaining({ category: 'incorrect', code: 'query/unknown-source' }));
    }
  });
});
