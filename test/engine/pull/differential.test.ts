/**
 * Differential test: random data and random pull patterns drawn from the grammar both engines
 * share, pulled with Datalith and with DataScript (datascript@1.8.1, its JS API), must agree.
 *
 * DataScript returns nil where nothing matches, Datalith `{}` as Datomic Cloud does; entity ids
 * are compared through each entity's unique `name`.
 */
import fc from 'fast-check';
import { emptyDb } from '../../../services/engine/db';
import { transact } from '../../../services/engine/transact';
import { pullSelector } from '../../../services/engine/pull';

interface DataScript {
  empty_db(schema: object): unknown;
  db_with(db: unknown, tx: unknown[]): unknown;
  pull(db: unknown, pattern: string, eid: number): unknown;
}
// eslint-disable-next-line @typescript-eslint/no-require-imports
const ds = require('datascript') as DataScript;

// ---- data --------------------------------------------------------------------------------------

interface Entity {
  aka: string[];
  friend: number[];
  father: number | null;
  part: number[];
  spec: number | null;
}

const ALIASES = ['Devil', 'Tupen', 'Ace', 'Bo', 'Zed'];

// Plain references may form any graph, cycles included. Components form a forest, as they do in
// Datomic (a component has one owner).
const entitiesArb = fc.integer({ min: 1, max: 9 }).chain((n) =>
  fc
    .tuple(
      fc.array(
        fc.record({
          aka: fc.uniqueArray(fc.constantFrom(...ALIASES), { maxLength: 3 }),
          friend: fc.uniqueArray(fc.integer({ min: 0, max: n - 1 }), { maxLength: 3 }),
          father: fc.option(fc.integer({ min: 0, max: n - 1 }), { nil: null }),
        }),
        { minLength: n, maxLength: n },
      ),
      fc.array(fc.option(fc.tuple(fc.nat(), fc.boolean()), { nil: null }), { minLength: n, maxLength: n }),
    )
    .map(([plain, owners]): Entity[] => {
      const es: Entity[] = plain.map((p) => ({ ...p, part: [], spec: null }));
      owners.forEach((o, j) => {
        if (o === null || j === 0) return;
        const owner = es[o[0] % j]!;
        if (o[1] && owner.spec === null) owner.spec = j;
        else owner.part.push(j);
      });
      return es;
    }),
);

const DATALITH_SCHEMA = [
  { ':db/ident': ':name', ':db/valueType': ':db.type/string', ':db/cardinality': ':db.cardinality/one', ':db/unique': ':db.unique/identity' },
  { ':db/ident': ':aka', ':db/valueType': ':db.type/string', ':db/cardinality': ':db.cardinality/many' },
  { ':db/ident': ':friend', ':db/valueType': ':db.type/ref', ':db/cardinality': ':db.cardinality/many' },
  { ':db/ident': ':father', ':db/valueType': ':db.type/ref', ':db/cardinality': ':db.cardinality/one' },
  { ':db/ident': ':part', ':db/valueType': ':db.type/ref', ':db/cardinality': ':db.cardinality/many', ':db/isComponent': true },
  { ':db/ident': ':spec', ':db/valueType': ':db.type/ref', ':db/cardinality': ':db.cardinality/one', ':db/isComponent': true },
];
const DATASCRIPT_SCHEMA = {
  name: { ':db/unique': ':db.unique/identity' },
  aka: { ':db/cardinality': ':db.cardinality/many' },
  friend: { ':db/valueType': ':db.type/ref', ':db/cardinality': ':db.cardinality/many' },
  father: { ':db/valueType': ':db.type/ref' },
  part: { ':db/valueType': ':db.type/ref', ':db/cardinality': ':db.cardinality/many', ':db/isComponent': true },
  spec: { ':db/valueType': ':db.type/ref', ':db/isComponent': true },
};
const datalithSchemaDb = transact(emptyDb(), DATALITH_SCHEMA).dbAfter;

interface Dbs {
  datalith: ReturnType<typeof emptyDb>;
  datascript: unknown;
  /** Datalith entity id of entity i; DataScript's is i + 1. */
  eid: number[];
  nameOf: { datalith: Map<number, string>; datascript: Map<number, string> };
}

function buildDbs(es: Entity[]): Dbs {
  // Entities first (ids ascend with the index in both engines), references in a second transaction.
  const r1 = transact(datalithSchemaDb, es.map((e, i) => ({ ':db/id': `e${i}`, ':name': `n${i}`, ...(e.aka.length ? { ':aka': e.aka } : {}) })));
  const eid = es.map((_, i) => r1.tempids[`e${i}`]!);
  const refs: unknown[][] = [];
  es.forEach((e, i) => {
    for (const f of e.friend) refs.push([i, 'friend', f]);
    if (e.father !== null) refs.push([i, 'father', e.father]);
    for (const p of e.part) refs.push([i, 'part', p]);
    if (e.spec !== null) refs.push([i, 'spec', e.spec]);
  });
  const datalith = refs.length
    ? transact(r1.dbAfter, refs.map(([i, a, j]) => [':db/add', eid[i as number], `:${a as string}`, eid[j as number]])).dbAfter
    : r1.dbAfter;
  let d = ds.db_with(ds.empty_db(DATASCRIPT_SCHEMA), es.map((e, i) => ({ ':db/id': i + 1, name: `n${i}`, ...(e.aka.length ? { aka: e.aka } : {}) })));
  if (refs.length) d = ds.db_with(d, refs.map(([i, a, j]) => [':db/add', (i as number) + 1, a, (j as number) + 1]));
  return {
    datalith,
    datascript: d,
    eid,
    nameOf: {
      datalith: new Map(eid.map((e, i) => [e, `n${i}`])),
      datascript: new Map(es.map((_, i) => [i + 1, `n${i}`])),
    },
  };
}

// ---- patterns ----------------------------------------------------------------------------------

interface Opts {
  as?: string;
  limit?: number | null;
  default?: number | string;
}
type Spec =
  | { kind: 'wild' }
  | { kind: 'dbid' }
  | { kind: 'attr'; name: string; opts: Opts }
  | { kind: 'map'; name: string; opts: Opts; value: Spec[] | number | '...' };

// DataScript refuses :limit unless the (forward) attribute is cardinality many, so not on :_father.
const MANY = ['aka', 'friend', 'part', '_friend', '_part'];
const REFS = ['friend', 'father', 'part', 'spec', '_friend', '_father', '_part', '_spec'];
const ALL = ['name', 'aka', 'nope', ...REFS];

const optsArb = (name: string): fc.Arbitrary<Opts> =>
  fc.record(
    {
      as: fc.constantFrom('k1', 'k2', 'k3'),
      limit: MANY.includes(name) ? fc.oneof(fc.integer({ min: 1, max: 3 }), fc.constant(null)) : fc.constant(undefined),
      default: fc.oneof(fc.integer({ min: 0, max: 9 }), fc.constantFrom('none', 'x')),
    },
    { requiredKeys: [] },
  ).map((o) => {
    const out: Opts = {};
    if (o.as !== undefined) out.as = `${o.as}-${name}`;
    if (o.limit !== undefined) out.limit = o.limit;
    if (o.default !== undefined) out.default = o.default;
    return out;
  });

// One spec per attribute: DataScript fills only one of two specs naming the same attribute.
const keyOf = (s: Spec): string => (s.kind === 'wild' ? '*' : s.kind === 'dbid' ? 'db/id' : s.name);

function patternArb(depth: number, allowRecursion: boolean): fc.Arbitrary<Spec[]> {
  const leaf: fc.Arbitrary<Spec> = fc.oneof(
    fc.constant<Spec>({ kind: 'wild' }),
    fc.constant<Spec>({ kind: 'dbid' }),
    fc.constantFrom(...ALL).chain((name) => optsArb(name).map((opts): Spec => ({ kind: 'attr', name, opts }))),
  );
  const values: Array<fc.Arbitrary<Spec[] | number | '...'>> = [];
  if (depth > 0) values.push(patternArb(depth - 1, false));
  // Recursion only at the top: DataScript counts the depth of equal specs in nested patterns together.
  if (allowRecursion) values.push(fc.integer({ min: 1, max: 3 }), fc.constant<'...'>('...'));
  const spec = values.length
    ? fc.oneof(
        { arbitrary: leaf, weight: 3 },
        {
          arbitrary: fc.constantFrom(...REFS).chain((name) =>
            fc.tuple(optsArb(name), fc.oneof(...values)).map(([opts, value]): Spec => ({ kind: 'map', name, opts, value })),
          ),
          weight: 2,
        },
      )
    : leaf;
  return fc.uniqueArray(spec, { minLength: 1, maxLength: 4, selector: keyOf });
}

function render(p: Spec[], engine: 'datalith' | 'datascript'): string {
  const name = (n: string): string => (engine === 'datalith' ? `:${n}` : JSON.stringify(n));
  const withOpts = (n: string, o: Opts): string => {
    const parts: string[] = [];
    if (o.as !== undefined) parts.push(`:as ${JSON.stringify(o.as)}`);
    if (o.limit !== undefined) parts.push(`:limit ${o.limit === null ? 'nil' : o.limit}`);
    if (o.default !== undefined) parts.push(`:default ${JSON.stringify(o.default)}`);
    return parts.length ? `[${name(n)} ${parts.join(' ')}]` : name(n);
  };
  return `[${p
    .map((s) => {
      switch (s.kind) {
        case 'wild':
          return '*';
        case 'dbid':
          return ':db/id';
        case 'attr':
          return withOpts(s.name, s.opts);
        case 'map':
          return `{${withOpts(s.name, s.opts)} ${typeof s.value === 'object' ? render(s.value, engine) : String(s.value)}}`;
      }
    })
    .join(' ')}]`;
}

// ---- comparison --------------------------------------------------------------------------------

/** A pull result with entity ids replaced by names, and DataScript's nil as `{}`. */
function normalize(x: unknown, names: Map<number, string>): unknown {
  if (x === null || x === undefined) return {};
  const walk = (v: unknown): unknown => {
    if (Array.isArray(v)) return v.map(walk);
    if (v === null || typeof v !== 'object') return v;
    const out: Record<string, unknown> = {};
    for (const [k0, y] of Object.entries(v as Record<string, unknown>)) {
      const k = k0 === ':db/id' ? 'db/id' : k0;
      out[k] = k === 'db/id' ? (names.get(y as number) ?? y) : walk(y);
    }
    return out;
  };
  return walk(x);
}

describe('pull: differential against DataScript', () => {
  test('random data, random patterns', () => {
    fc.assert(
      fc.property(entitiesArb, patternArb(2, true), fc.nat(), (es, pattern, pick) => {
        const dbs = buildDbs(es);
        const i = pick % es.length;
        const mine = pullSelector(dbs.datalith, render(pattern, 'datalith'), dbs.eid[i]!);
        const theirs = ds.pull(dbs.datascript, render(pattern, 'datascript'), i + 1);
        expect(normalize(mine, dbs.nameOf.datalith)).toEqual(normalize(theirs, dbs.nameOf.datascript));
      }),
      { numRuns: 400 },
    );
  });
});
