/**
 * Differential test: random small databases and random queries drawn from a grammar of the
 * features Datalith and DataScript share (patterns with variables and constants, predicates,
 * not, or, a recursive rule, aggregates, `:with` bags, and not/or on a second source `$2`,
 * with `$` named explicitly inside them), run on both engines; the results must be equal.
 */
import fc from 'fast-check';
import { emptyDb, type Db } from '../../../services/engine/db';
import { transact } from '../../../services/engine/transact';
import { q } from '../../../services/engine/query';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const ds = require('datascript');

const SCHEMA = `[
  {:db/ident :id     :db/valueType :db.type/long   :db/cardinality :db.cardinality/one :db/unique :db.unique/identity}
  {:db/ident :name   :db/valueType :db.type/string :db/cardinality :db.cardinality/one}
  {:db/ident :age    :db/valueType :db.type/long   :db/cardinality :db.cardinality/one}
  {:db/ident :tag    :db/valueType :db.type/string :db/cardinality :db.cardinality/many}
  {:db/ident :friend :db/valueType :db.type/ref    :db/cardinality :db.cardinality/many}]`;
const DS_SCHEMA = {
  id: { ':db/unique': ':db.unique/identity' },
  tag: { ':db/cardinality': ':db.cardinality/many' },
  friend: { ':db/valueType': ':db.type/ref', ':db/cardinality': ':db.cardinality/many' },
};
const base = transact(emptyDb(), SCHEMA).dbAfter;
const RULES = '[[(follows ?x ?y) [?x :friend ?y]] [(follows ?x ?y) [?x :friend ?t] (follows ?t ?y)]]';
const toDs = (s: string): string => s.replace(/:(id|name|age|tag|friend)(?=[\s\])])/g, '"$1"');

interface Ent { id: number; name?: string; age?: number; tags: string[]; friends: number[] }

const entArb = (n: number): fc.Arbitrary<Ent[]> =>
  fc.array(
    fc.record({
      name: fc.option(fc.constantFrom('a', 'b', 'c'), { nil: undefined }),
      age: fc.option(fc.integer({ min: 0, max: 5 }), { nil: undefined }),
      tags: fc.uniqueArray(fc.constantFrom('t1', 't2', 't3'), { maxLength: 2 }),
      friends: fc.uniqueArray(fc.integer({ min: 1, max: n }), { maxLength: 2 }),
    }),
    { minLength: n, maxLength: n },
  ).map((xs) => xs.map((x, i) => ({ id: i + 1, ...x })));

function load(ents: Ent[]): { dl: Db; ds: unknown; dlId: Map<number, number> } {
  // Entities first, in id order, so that databases of the same size share entity ids.
  const created = transact(base, ents.map((e) => ({ 'db/id': `e${e.id}`, id: e.id })));
  const dlTx = ents.map((e) => {
    const m: Record<string, unknown> = { id: e.id };
    if (e.name !== undefined) m.name = e.name;
    if (e.age !== undefined) m.age = e.age;
    if (e.tags.length > 0) m.tag = e.tags;
    if (e.friends.length > 0) m.friend = e.friends.map((f) => [':id', f]);
    return m;
  });
  const r = transact(created.dbAfter, dlTx);
  const dlId = new Map<number, number>();
  for (const e of ents) dlId.set(created.tempids[`e${e.id}`]!, e.id);
  const dsTx = ents.map((e) => {
    const m: Record<string, unknown> = { ':db/id': e.id, id: e.id };
    if (e.name !== undefined) m.name = e.name;
    if (e.age !== undefined) m.age = e.age;
    if (e.tags.length > 0) m.tag = e.tags;
    if (e.friends.length > 0) m.friend = e.friends;
    return m;
  });
  return { dl: r.dbAfter, ds: ds.db_with(ds.empty_db(DS_SCHEMA), dsTx), dlId };
}

// ---- query grammar ----------------------------------------------------------------------------

interface Gen { clauses: string[]; evars: string[]; vvars: string[]; nvars: string[]; rules: boolean; two: boolean }

type Step = (g: Gen, pick: (n: number) => number) => void;

const E = ['?e1', '?e2', '?e3'];
const V = ['?v1', '?v2'];
const steps: Step[] = [
  // [?e :age ?v] / [?e :age 3]
  (g, p) => {
    const e = g.evars.length > 0 && p(3) > 0 ? g.evars[p(g.evars.length)]! : E[g.evars.length % 3]!;
    if (p(2) === 0) {
      const v = V[p(2)]!;
      g.clauses.push(`[${e} :age ${v}]`);
      if (!g.vvars.includes(v)) g.vvars.push(v);
    } else g.clauses.push(`[${e} :age ${p(6)}]`);
    if (!g.evars.includes(e)) g.evars.push(e);
  },
  // [?e :name ?n] / [?e :name "a"]
  (g, p) => {
    const e = g.evars.length > 0 && p(3) > 0 ? g.evars[p(g.evars.length)]! : E[g.evars.length % 3]!;
    if (p(2) === 0) {
      g.clauses.push(`[${e} :name ?n]`);
      if (!g.nvars.includes('?n')) g.nvars.push('?n');
    } else g.clauses.push(`[${e} :name "${'abc'[p(3)]}"]`);
    if (!g.evars.includes(e)) g.evars.push(e);
  },
  // [?e :friend ?f]
  (g, p) => {
    const e = g.evars.length > 0 ? g.evars[p(g.evars.length)]! : '?e1';
    const f = E[p(3)]!;
    // DataScript does not unify a variable repeated inside one pattern ([?e :friend ?e]); Datalith does, as Datomic.
    if (e === f) return;
    g.clauses.push(`[${e} :friend ${f}]`);
    for (const x of [e, f]) if (!g.evars.includes(x)) g.evars.push(x);
  },
  // [?e :tag "t1"] / [?e :tag _]
  (g, p) => {
    const e = g.evars.length > 0 ? g.evars[p(g.evars.length)]! : '?e1';
    g.clauses.push(p(2) === 0 ? `[${e} :tag "t${p(3) + 1}"]` : `[${e} :tag]`);
    if (!g.evars.includes(e)) g.evars.push(e);
  },
  // predicates on bound value variables
  (g, p) => {
    if (g.vvars.length === 0) return;
    const op = ['<', '>', '<=', '>=', '=', 'not='][p(6)]!;
    const a = g.vvars[p(g.vvars.length)]!;
    const b = g.vvars.length > 1 && p(2) === 0 ? g.vvars[p(g.vvars.length)]! : String(p(6));
    g.clauses.push(`[(${op} ${a} ${b})]`);
  },
  // not on a bound entity
  (g, p) => {
    if (g.evars.length === 0) return;
    const e = g.evars[p(g.evars.length)]!;
    g.clauses.push(p(2) === 0 ? `(not [${e} :age ${p(6)}])` : `(not [${e} :tag "t${p(3) + 1}"])`);
  },
  // or over one entity variable
  (g, p) => {
    if (g.evars.length === 0) return;
    const e = g.evars[p(g.evars.length)]!;
    g.clauses.push(`(or [${e} :age ${p(6)}] [${e} :name "${'abc'[p(3)]}"] (and [${e} :tag "t1"] [${e} :age ${p(6)}]))`);
  },
  // not / or on the second source, with the query's $ named explicitly inside
  (g, p) => {
    if (g.evars.length === 0) return;
    const e = g.evars[p(g.evars.length)]!;
    g.clauses.push([
      `($2 not [${e} :age ${p(6)}])`,
      `(not [$2 ${e} :tag "t${p(3) + 1}"])`,
      `($2 or [${e} :age ${p(6)}] [${e} :name "${'abc'[p(3)]}"])`,
      `($2 not ($ not [${e} :age ${p(6)}]))`,
      `($2 not [$ ${e} :name "${'abc'[p(3)]}"] [${e} :age ${p(6)}])`,
    ][p(5)]!);
    g.two = true;
  },
  // the recursive rule
  (g, p) => {
    const e = g.evars.length > 0 ? g.evars[p(g.evars.length)]! : '?e1';
    const f = E[p(3)]!;
    if (e === f) return;
    g.clauses.push(`(follows ${e} ${f})`);
    g.rules = true;
    for (const x of [e, f]) if (!g.evars.includes(x)) g.evars.push(x);
  },
];

interface Generated { query: string; rules: boolean; two: boolean; entityCols: number[]; scalarAgg: boolean }

const queryArb: fc.Arbitrary<Generated> = fc
  .record({ picks: fc.array(fc.nat(1000), { minLength: 30, maxLength: 30 }), n: fc.integer({ min: 1, max: 4 }), agg: fc.nat(5) })
  .map(({ picks, n, agg }) => {
    let i = 0;
    const pick = (k: number): number => picks[i++ % picks.length]! % k;
    const g: Gen = { clauses: [], evars: [], vvars: [], nvars: [], rules: false, two: false };
    steps[pick(4)]!(g, pick);
    if (g.evars.length === 0) {
      g.clauses.push('[?e1 :age ?v1]');
      g.evars.push('?e1');
      g.vvars.push('?v1');
    }
    for (let k = 0; k < n; k++) steps[pick(steps.length)]!(g, pick);
    const vars = [...g.evars, ...g.vvars, ...g.nvars];
    let find: string[];
    let entityCols: number[];
    if (agg === 0 && g.evars.length > 0) {
      const grp = g.nvars.length > 0 ? ['?n'] : [];
      find = [...grp, `(count ${g.evars[0]})`];
      entityCols = [];
    } else if (agg === 1 && g.vvars.length > 0) {
      const fn = ['min', 'max', 'sum', 'count-distinct'][pick(4)]!;
      find = [`(${fn} ${g.vvars[0]})`];
      entityCols = [];
    } else {
      const chosen = vars.filter(() => pick(3) > 0);
      find = chosen.length > 0 ? chosen : [vars[0]!];
      entityCols = find.map((v, j) => (v.startsWith('?e') ? j : -1)).filter((j) => j >= 0);
      // :with a variable left out of :find: a bag (duplicates the :with variable distinguishes).
      const rest = vars.filter((v) => !find.includes(v));
      if (rest.length > 0 && pick(2) === 0) find.push(`:with ${rest[pick(rest.length)]}`);
    }
    const query = `[:find ${find.join(' ')} :in $ ${g.two ? '$2' : ''} ${g.rules ? '%' : ''} :where ${g.clauses.join(' ')}]`;
    return { query, rules: g.rules, two: g.two, entityCols, scalarAgg: false };
  });

function normalize(rows: unknown, entityCols: number[], ids: (e: number) => unknown): string[] {
  return (rows as unknown[][]).map((r) => JSON.stringify(r.map((v, i) => (entityCols.includes(i) ? ids(v as number) : v)))).sort();
}

describe('differential: Datalith vs DataScript', () => {
  test('random queries over random data give the same results', () => {
    fc.assert(
      fc.property(fc.integer({ min: 2, max: 7 }).chain((n) => fc.tuple(entArb(n), entArb(n), fc.array(queryArb, { minLength: 4, maxLength: 4 }))), ([ents, ents2, queries]) => {
        const { dl, ds: dsDb, dlId } = load(ents);
        // The second source: other facts about the same entities (the same ids on both sides).
        const second = load(ents2);
        for (const [e, id] of second.dlId) if (dlId.get(e) !== id) throw new Error('the two databases must share entity ids');
        for (const g of queries) {
          const dlArgs: unknown[] = [dl, ...(g.two ? [second.dl] : []), ...(g.rules ? [RULES] : [])];
          const dsArgs: unknown[] = [dsDb, ...(g.two ? [second.ds] : []), ...(g.rules ? [toDs(RULES)] : [])];
          const a = normalize(q(g.query, dlArgs), g.entityCols, (e) => dlId.get(e));
          const b = normalize(ds.q(toDs(g.query), ...dsArgs), g.entityCols, (e) => e);
          if (JSON.stringify(a) !== JSON.stringify(b)) {
            throw new Error(`Results differ for ${g.query}\nentities ${JSON.stringify(ents)}\nDatalith ${JSON.stringify(a)}\nDataScript ${JSON.stringify(b)}`);
          }
        }
      }),
      { numRuns: 150, seed: Number(process.env.FC_SEED ?? 4242) },
    );
  });
});
