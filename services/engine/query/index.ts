/**
 * Datalog queries with Datomic's language and semantics.
 *
 *   q('[:find ?e ?a :where [?e :name "Ivan"] [?e :age ?a]]', [db])
 *   q({ find: ['?e'], in: ['$', '?n'], where: [['?e', ':name', '?n']] }, [db, 'Ivan'])
 *   q({ query, args, timeout, offset, limit })            // Datomic's map form
 *
 * `inputs` are the values of `:in`, in order (a Db for each source). Parsing (parser.ts) is apart
 * from evaluation (engine.ts); see docs/queries.md for the language and the JS-data convention.
 */
import { Db } from '../db';
import { EdnList, Keyword } from '../edn';
import { incorrect } from '../errors';
import { parsePullPattern, pull, type PullPattern } from '../pull';
import { AGGREGATES, registerNestedQuery } from './builtins';
import { evalClauses, newCtx, checkTime, type Ctx, type Source } from './engine';
import {
  NestedQuery, bindingVars, checkQuery, constValue, indexRules, parseQuery, parseRules, show,
  type Binding, type FindElem, type Query, type Rule,
} from './parser';
import { Rel, join, keyOf, key1 } from './relation';

export { parseQuery, parseRules } from './parser';
export type { Query, Rule, Clause, FindElem } from './parser';

export interface QueryOptions {
  /** Milliseconds; the query is abandoned shortly after with category `interrupted`. */
  readonly timeout?: number;
  /** Skip this many results (relation and collection find specs). */
  readonly offset?: number;
  /** Return at most this many results (-1 or undefined: all). */
  readonly limit?: number;
}

export interface QueryMap extends QueryOptions {
  readonly query: unknown;
  readonly args?: readonly unknown[];
}

const parsedCache = new Map<string, Query>();
const rulesCache = new Map<string, Map<string, Rule[]>>();

function parseCached(query: unknown): Query {
  if (typeof query !== 'string') return parseQuery(query);
  let p = parsedCache.get(query);
  if (p === undefined) {
    p = parseQuery(query);
    if (parsedCache.size > 500) parsedCache.clear();
    parsedCache.set(query, p);
  }
  return p;
}

/** Rule sets this module indexed: an enclosing query passes its own on as `%` to a nested q. */
const indexedRules = new WeakSet<object>();

function rulesCached(rules: unknown): Map<string, readonly Rule[]> {
  if (rules instanceof Map && indexedRules.has(rules)) return rules as Map<string, readonly Rule[]>;
  if (typeof rules !== 'string') return indexed(indexRules(parseRules(rules)));
  let r = rulesCache.get(rules);
  if (r === undefined) {
    r = indexed(indexRules(parseRules(rules)));
    if (rulesCache.size > 100) rulesCache.clear();
    rulesCache.set(rules, r);
  }
  return r;
}

function indexed<T extends object>(rules: T): T {
  indexedRules.add(rules);
  return rules;
}

function isQueryMap(x: unknown): x is QueryMap {
  return typeof x === 'object' && x !== null && !Array.isArray(x) && !(x instanceof Map) && !(x instanceof NestedQuery) && 'query' in x;
}

/** Runs a query. */
export function q(query: unknown, inputs: readonly unknown[] = [], opts: QueryOptions = {}): unknown {
  if (isQueryMap(query)) {
    return q(query.query, query.args ?? inputs, {
      timeout: query.timeout ?? opts.timeout, offset: query.offset ?? opts.offset, limit: query.limit ?? opts.limit,
    });
  }
  const parsed = query instanceof NestedQuery ? query.query : parseCached(query);
  // Without :in the query takes `$`; a query that reads no database may then be run without one.
  const pq: Query = parsed.inDefault && inputs.length === 0 ? { ...parsed, in: [] } : parsed;
  if (inputs.length !== pq.in.length) {
    throw incorrect('query/wrong-inputs', `Query expects ${pq.in.length} inputs (${pq.in.map(inText).join(' ')}), got ${inputs.length}`, {
      expected: pq.in.length, got: inputs.length,
    });
  }
  const sources = new Map<string, Source>();
  let rules: Map<string, readonly Rule[]> | null = null;
  const patterns = new Map<string, unknown>();
  let rel = new Rel([], [[]], true);
  for (let i = 0; i < pq.in.length; i++) {
    const spec = pq.in[i]!;
    const value = inputs[i];
    if (spec.t === 'src') {
      if (!(value instanceof Db) && !Array.isArray(value)) {
        throw incorrect('query/invalid-input', `Input ${spec.name} must be a database or a collection of tuples`, { input: spec.name });
      }
      sources.set(spec.name, value as Source);
    } else if (spec.t === 'rules') {
      rules = rulesCached(value);
    } else if (spec.t === 'pattern') {
      patterns.set(spec.name, value);
    } else {
      rel = join(rel, bindInput(spec.b, value));
    }
  }
  checkQuery(pq, rules);
  const ctx = newCtx(sources, rules, opts.timeout);
  if (ctx.deadline !== Infinity) checkTime(ctx);
  const result = evalClauses(pq.where, rel, ctx, '$');
  return shape(pq, result, ctx, opts, patterns);
}

registerNestedQuery((query, inputs) => q(query, inputs));

function inText(i: Query['in'][number]): string {
  return i.t === 'src' || i.t === 'pattern' ? i.name : i.t === 'rules' ? '%' : show(bindingText(i.b));
}
function bindingText(b: Binding): unknown {
  switch (b.t) {
    case 'bvar': return b.name;
    case 'bblank': return '_';
    case 'btuple': return b.items.map(bindingText);
    case 'bcoll': return [bindingText(b.item), '...'];
    case 'brel': return [b.items.map(bindingText)];
  }
}

/** Input value as query data: EDN keywords become ':ns/name', lists arrays. */
function inputValue(x: unknown): unknown {
  if (x instanceof Keyword || x instanceof EdnList) return constValue(x);
  return x;
}

function seq(x: unknown, what: string): unknown[] {
  if (Array.isArray(x)) return x;
  if (x instanceof EdnList) return x.items;
  if (x instanceof Set) return [...x];
  throw incorrect('query/invalid-input', `Expected a collection for ${what}, got ${show(x)}`, {});
}

/** The relation an :in binding form makes of its input value. */
function bindInput(b: Binding, value: unknown): Rel {
  const vars = [...new Set(bindingVars(b))];
  const rows: unknown[][] = [];
  const cur = new Map<string, unknown>();
  const emit = (): void => {
    rows.push(vars.map((v) => cur.get(v)));
  };
  const go = (f: Binding, v: unknown, k: () => void): void => {
    switch (f.t) {
      case 'bblank': k(); return;
      case 'bvar': {
        const x = inputValue(v);
        if (x === undefined) throw incorrect('query/invalid-input', `Missing input for ${f.name}`, {});
        if (cur.has(f.name)) {
          if (key1(cur.get(f.name)) === key1(x)) k();
          return;
        }
        cur.set(f.name, x);
        k();
        cur.delete(f.name);
        return;
      }
      case 'btuple': {
        const xs = seq(v, show(bindingText(f)));
        if (xs.length !== f.items.length) {
          throw incorrect('query/invalid-input', `Tuple binding ${show(bindingText(f))} expects ${f.items.length} values, got ${xs.length}`, {});
        }
        tuple(f.items, xs, 0, k);
        return;
      }
      case 'bcoll':
        for (const x of seq(v, show(bindingText(f)))) go(f.item, x, k);
        return;
      case 'brel':
        for (const x of seq(v, show(bindingText(f)))) {
          const xs = seq(x, show(bindingText(f)));
          if (xs.length !== f.items.length) {
            throw incorrect('query/invalid-input', `Relation binding ${show(bindingText(f))} expects tuples of ${f.items.length}, got ${xs.length}`, {});
          }
          tuple(f.items, xs, 0, k);
        }
    }
  };
  const tuple = (fs: readonly Binding[], xs: unknown[], i: number, k: () => void): void => {
    if (i === fs.length) k();
    else go(fs[i]!, xs[i], () => tuple(fs, xs, i + 1, k));
  };
  go(b, value, emit);
  const seen = new Set<unknown>();
  const all = vars.map((_, i) => i);
  const uniq = rows.filter((r) => {
    const k = keyOf(r, all);
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
  return new Rel(vars, vars.length === 0 ? rows.slice(0, 1) : uniq, true);
}

// ---------------------------------------------------------------------------------------------
// :find

function elemVars(f: FindElem): string[] {
  if (f.t === 'var' || f.t === 'pull') return [f.name];
  const last = f.args[f.args.length - 1]!;
  return last.t === 'var' ? [last.name] : [];
}

function shape(pq: Query, rel: Rel, ctx: Ctx, opts: QueryOptions, patterns: ReadonlyMap<string, unknown>): unknown {
  const find = pq.find;
  const hasAgg = find.some((f) => f.t === 'agg');
  // Variables missing from an empty result: nothing to return.
  for (const f of find) for (const v of elemVars(f)) if (!rel.has(v)) {
    if (rel.rows.length === 0) return emptyResult(pq);
    throw incorrect('query/unbound-variable', `Unbound variable ${v} in :find`, { var: v });
  }
  let tuples: unknown[][];
  if (!hasAgg) {
    const cols = find.map((f) => rel.col(elemVars(f)[0]!));
    if (pq.with.length === 0) tuples = distinctRows(rel, cols, ctx);
    else {
      // A bag: the set of tuples over the find and :with variables, then the :with ones dropped.
      const withCols = withColumns(pq, rel, cols);
      tuples = distinctRows(rel, [...cols, ...withCols], ctx).map((t) => t.slice(0, cols.length));
    }
  } else {
    tuples = aggregate(pq, rel, ctx);
  }
  // Pull expressions.
  const pulls: Array<{ i: number; db: Db; pattern: PullPattern }> = [];
  find.forEach((f, i) => {
    if (f.t !== 'pull') return;
    const src = ctx.sources.get(f.src);
    if (!(src instanceof Db)) throw incorrect('query/unknown-source', `Unknown source ${f.src} in pull of :find`, {});
    pulls.push({ i, db: src, pattern: parsePullPattern(f.patternName === null ? f.pattern : patterns.get(f.patternName)) });
  });
  const single = pq.findKind === 'scalar' || pq.findKind === 'tuple';
  if (!single) tuples = page(tuples, opts);
  else if (tuples.length > 1) tuples = tuples.slice(0, 1);
  if (pulls.length > 0) {
    for (const t of tuples) {
      for (const p of pulls) {
        const e = t[p.i];
        t[p.i] = typeof e === 'number' ? pull(p.db, p.pattern, e) : null;
      }
    }
  }
  switch (pq.findKind) {
    case 'rel':
      if (pq.keys !== null) {
        const names = pq.keys.kind === 'keys' ? pq.keys.names.map((n) => n) : pq.keys.names;
        return tuples.map((t) => {
          const o: Record<string, unknown> = {};
          names.forEach((n, i) => {
            o[n] = t[i];
          });
          return o;
        });
      }
      return tuples;
    case 'coll': return tuples.map((t) => t[0]);
    case 'scalar': return tuples.length === 0 ? null : tuples[0]![0] ?? null;
    case 'tuple': return tuples.length === 0 ? null : tuples[0]!;
  }
}

function emptyResult(pq: Query): unknown {
  return pq.findKind === 'scalar' || pq.findKind === 'tuple' ? null : [];
}

function page<T>(xs: T[], opts: QueryOptions): T[] {
  const off = opts.offset ?? 0;
  const lim = opts.limit === undefined || opts.limit === null || opts.limit < 0 ? Infinity : opts.limit;
  if (off === 0 && lim >= xs.length) return xs;
  return xs.slice(off, lim === Infinity ? undefined : off + lim);
}

/** Rows of the given columns without duplicates; fresh arrays (callers may mutate them). */
function distinctRows(rel: Rel, cols: number[], ctx: Ctx): unknown[][] {
  const rows = rel.rows;
  const n = cols.length;
  const identity = n === rel.vars.length && cols.every((c, i) => c === i);
  const out: unknown[][] = [];
  let coversVarying = rel.distinct && new Set(cols).size === n;
  for (let c = rel.constPrefix; coversVarying && c < rel.vars.length; c++) if (!cols.includes(c)) coversVarying = false;
  if (coversVarying) {
    // No duplicates to remove: reorder only (the rows are this query's own arrays).
    if (identity) return rows;
    for (let i = 0; i < rows.length; i++) {
      const row = rows[i]!;
      const r = new Array(n);
      for (let j = 0; j < n; j++) r[j] = row[cols[j]!];
      out.push(r);
    }
    return out;
  }
  if (n === 1) {
    const c = cols[0]!;
    const seen = new Set<unknown>();
    for (let i = 0; i < rows.length; i++) {
      const v = rows[i]![c];
      const k = key1(v);
      if (seen.has(k)) continue;
      seen.add(k);
      out.push([v]);
    }
    return out;
  }
  // Rows are distinct when the relation's first column is an entity bound once per row by
  // cardinality... not knowable in general: hash on all columns, with a fast path for two numbers.
  const seen = new Set<unknown>();
  for (let i = 0; i < rows.length; i++) {
    if ((++ctx.ticks & 4095) === 0) checkTime(ctx);
    const row = rows[i]!;
    const k = keyOf(row, cols);
    if (seen.has(k)) continue;
    seen.add(k);
    if (identity) out.push(row.slice());
    else {
      const r = new Array(n);
      for (let j = 0; j < n; j++) r[j] = row[cols[j]!];
      out.push(r);
    }
  }
  return out;
}

/** Columns of the :with variables not already among `taken` (checked bound unless the result is empty). */
function withColumns(pq: Query, rel: Rel, taken: readonly number[]): number[] {
  const out: number[] = [];
  for (const v of pq.with) {
    const c = rel.col(v);
    if (c < 0) {
      if (rel.rows.length === 0) continue;
      throw incorrect('query/unbound-variable', `Unbound variable ${v} in :with`, { var: v });
    }
    if (!taken.includes(c) && !out.includes(c)) out.push(c);
  }
  return out;
}

function aggregate(pq: Query, rel: Rel, ctx: Ctx): unknown[][] {
  const find = pq.find;
  // The set of tuples over every find variable and :with variable (Datomic's bag semantics).
  const allVars: string[] = [];
  for (const f of find) for (const v of elemVars(f)) if (!allVars.includes(v)) allVars.push(v);
  const findCols = allVars.map((v) => rel.col(v));
  const withCols = withColumns(pq, rel, findCols);
  for (const c of withCols) allVars.push(rel.vars[c]!);
  const tuples = distinctRows(new Rel(rel.vars, rel.rows, false), [...findCols, ...withCols], ctx);
  const pos = (v: string): number => allVars.indexOf(v);
  const groupIdx = find.map((f, i) => (f.t === 'agg' ? -1 : i)).filter((i) => i >= 0);
  const groupCols = groupIdx.map((i) => pos(elemVars(find[i]!)[0]!));
  const groups = new Map<unknown, unknown[][]>();
  const order: unknown[] = [];
  for (const t of tuples) {
    const k = groupCols.length === 0 ? '' : keyOf(t, groupCols);
    let g = groups.get(k);
    if (g === undefined) {
      g = [];
      groups.set(k, g);
      order.push(k);
    }
    g.push(t);
  }
  const out: unknown[][] = [];
  for (const k of order) {
    const g = groups.get(k)!;
    const first = g[0]!;
    out.push(find.map((f) => {
      if (f.t !== 'agg') return first[pos(elemVars(f)[0]!)];
      const vcol = pos(elemVars(f)[0]!);
      const vals = g.map((t) => t[vcol]);
      const params = f.args.slice(0, -1).map((a) => (a.t === 'const' ? a.value : undefined));
      const agg = AGGREGATES[f.fn]!;
      return agg.fn(vals, ...params);
    }));
  }
  return out;
}
