/**
 * Built-in functions and predicates of queries, and the aggregates.
 *
 * Values are in their public form (keywords as ':ns/name', refs as entity ids, tuples as arrays).
 * A function returning null or undefined fails the binding (the row is dropped), as in Datomic.
 */
import type { Db } from '../db';
import { describeValue, incorrect } from '../errors';
import { compareValues, valuesEqual, valueKey, type Value } from '../values';
import { BigDec } from '../bigdec';

export interface Builtin {
  readonly arity: readonly [number, number];
  /** The first argument is a database (get-else, get-some, missing?). */
  readonly db?: boolean;
  readonly fn: (...args: any[]) => unknown;
}

const INF = Number.POSITIVE_INFINITY;

const cmp = (a: unknown, b: unknown): number => compareValues(a as Value, b as Value);
const eq = (a: unknown, b: unknown): boolean => a === b || valuesEqual(a as Value, b as Value);

function chain(test: (c: number) => boolean): (...xs: unknown[]) => boolean {
  return (...xs) => {
    for (let i = 1; i < xs.length; i++) if (!test(cmp(xs[i - 1], xs[i]))) return false;
    return true;
  };
}

function num(x: unknown, fn: string): number {
  if (typeof x === 'number') return x;
  if (typeof x === 'bigint') return Number(x);
  if (x instanceof BigDec) return Number(x.toString());
  throw incorrect('query/wrong-type', `${fn} expects numbers, got ${describeValue(x)}`, { fn });
}

function arith(fn: string, op: (a: number, b: number) => number, bop: (a: bigint, b: bigint) => bigint, unit: number): (...xs: unknown[]) => unknown {
  return (...xs) => {
    if (xs.length === 0) return unit;
    if (xs.every((x) => typeof x === 'bigint')) {
      if (xs.length === 1) return fn === '-' ? -(xs[0] as bigint) : xs[0];
      let acc = xs[0] as bigint;
      for (let i = 1; i < xs.length; i++) acc = bop(acc, xs[i] as bigint);
      return acc;
    }
    if (xs.length === 1) return fn === '-' ? -num(xs[0], fn) : fn === '/' ? 1 / num(xs[0], fn) : num(xs[0], fn);
    let acc = num(xs[0], fn);
    for (let i = 1; i < xs.length; i++) acc = op(acc, num(xs[i], fn));
    return acc;
  };
}

function str(x: unknown): string {
  if (x === null || x === undefined) return '';
  if (typeof x === 'string') return x;
  if (x instanceof Date) return Number.isNaN(x.getTime()) ? 'Invalid Date' : x.toISOString();
  if (Array.isArray(x)) return `[${x.map((y) => (typeof y === 'string' && y[0] !== ':' ? JSON.stringify(y) : str(y))).join(' ')}]`;
  return String(x);
}

function kwParts(x: unknown): [string | null, string] | null {
  if (typeof x !== 'string' || x.length < 2 || x.charCodeAt(0) !== 58) return null;
  const body = x.slice(1);
  const i = body.indexOf('/');
  return i > 0 ? [body.slice(0, i), body.slice(i + 1)] : [null, body];
}

function regex(x: unknown, fn: string): RegExp {
  if (x instanceof RegExp) return x;
  if (typeof x === 'string') return new RegExp(x);
  throw incorrect('query/wrong-type', `${fn} expects a regex, got ${describeValue(x)}`, { fn });
}

function groups(m: RegExpMatchArray | RegExpExecArray): unknown {
  return m.length === 1 ? m[0] : Array.from(m, (g) => (g === undefined ? null : g));
}

function count(x: unknown): number {
  if (x === null || x === undefined) return 0;
  if (typeof x === 'string' || Array.isArray(x)) return x.length;
  if (x instanceof Map || x instanceof Set) return x.size;
  if (typeof x === 'object') return Object.keys(x).length;
  throw incorrect('query/wrong-type', `count not supported on ${describeValue(x)}`, { fn: 'count' });
}

function attrId(db: Db, a: unknown, fn: string): number {
  const attr = db.attrOf(a);
  if (attr === undefined) throw incorrect('query/unknown-attribute', `${fn}: ${describeValue(a)} is not an attribute`, { fn });
  return attr.id;
}

function getElse(db: Db, e: unknown, a: unknown, dflt: unknown): unknown {
  if (dflt === null || dflt === undefined) throw incorrect('query/invalid', 'get-else: nil default value is not supported', { fn: 'get-else' });
  const attr = db.attrOf(a);
  if (attr === undefined) throw incorrect('query/unknown-attribute', `get-else: ${describeValue(a)} is not an attribute`, { fn: 'get-else' });
  if (attr.cardinality === 'many') throw incorrect('query/invalid', `get-else: attribute ${attr.ident} is cardinality many`, { fn: 'get-else' });
  const eid = db.entid(e);
  if (eid === undefined) return dflt;
  let v: unknown = dflt;
  db.forDatoms('eavt', eid, attr.id, undefined, undefined, (d) => {
    v = d.v;
    return false;
  });
  return v;
}

function getSome(db: Db, e: unknown, ...attrs: unknown[]): unknown {
  const eid = db.entid(e);
  if (eid === undefined) return null;
  for (const a of attrs) {
    const attr = db.attrOf(a);
    if (attr === undefined) throw incorrect('query/unknown-attribute', `get-some: ${describeValue(a)} is not an attribute`, { fn: 'get-some' });
    let v: unknown;
    db.forDatoms('eavt', eid, attr.id, undefined, undefined, (d) => {
      v = d.v;
      return false;
    });
    if (v !== undefined) return [attr.ident, v];
  }
  return null;
}

function missing(db: Db, e: unknown, a: unknown): boolean {
  const eid = db.entid(e);
  if (eid === undefined) return true;
  const id = attrId(db, a, 'missing?');
  let found = false;
  db.forDatoms('eavt', eid, id, undefined, undefined, () => {
    found = true;
    return false;
  });
  return !found;
}

/** Runs a nested query for `q` (query/index.ts owns query evaluation and registers it). */
let nestedQuery: ((query: unknown, inputs: unknown[]) => unknown) | null = null;
export function registerNestedQuery(run: (query: unknown, inputs: unknown[]) => unknown): void {
  nestedQuery = run;
}

const isInt = (x: unknown): boolean => (typeof x === 'number' && Number.isInteger(x)) || typeof x === 'bigint';

const B: Record<string, Builtin> = {
  '=': { arity: [1, INF], fn: (...xs: unknown[]) => xs.every((x) => eq(x, xs[0])) },
  '==': { arity: [1, INF], fn: (...xs: unknown[]) => xs.every((x) => eq(x, xs[0])) },
  'not=': { arity: [1, INF], fn: (...xs: unknown[]) => !xs.every((x) => eq(x, xs[0])) },
  '!=': { arity: [1, INF], fn: (...xs: unknown[]) => !xs.every((x) => eq(x, xs[0])) },
  '<': { arity: [1, INF], fn: chain((c) => c < 0) },
  '>': { arity: [1, INF], fn: chain((c) => c > 0) },
  '<=': { arity: [1, INF], fn: chain((c) => c <= 0) },
  '>=': { arity: [1, INF], fn: chain((c) => c >= 0) },
  '+': { arity: [0, INF], fn: arith('+', (a, b) => a + b, (a, b) => a + b, 0) },
  '-': { arity: [1, INF], fn: arith('-', (a, b) => a - b, (a, b) => a - b, 0) },
  '*': { arity: [0, INF], fn: arith('*', (a, b) => a * b, (a, b) => a * b, 1) },
  '/': { arity: [1, INF], fn: arith('/', (a, b) => a / b, (a, b) => a / b, 1) },
  quot: { arity: [2, 2], fn: (a: unknown, b: unknown) => (typeof a === 'bigint' && typeof b === 'bigint' ? a / b : Math.trunc(num(a, 'quot') / num(b, 'quot'))) },
  rem: { arity: [2, 2], fn: (a: unknown, b: unknown) => (typeof a === 'bigint' && typeof b === 'bigint' ? a % b : num(a, 'rem') % num(b, 'rem')) },
  mod: {
    arity: [2, 2],
    fn: (a: unknown, b: unknown) => {
      const x = num(a, 'mod');
      const y = num(b, 'mod');
      const r = x % y;
      return r !== 0 && (r < 0) !== (y < 0) ? r + y : r;
    },
  },
  inc: { arity: [1, 1], fn: (a: unknown) => (typeof a === 'bigint' ? a + 1n : num(a, 'inc') + 1) },
  dec: { arity: [1, 1], fn: (a: unknown) => (typeof a === 'bigint' ? a - 1n : num(a, 'dec') - 1) },
  abs: { arity: [1, 1], fn: (a: unknown) => (typeof a === 'bigint' ? (a < 0n ? -a : a) : Math.abs(num(a, 'abs'))) },
  max: { arity: [1, INF], fn: (...xs: unknown[]) => xs.reduce((m, x) => (cmp(x, m) > 0 ? x : m)) },
  min: { arity: [1, INF], fn: (...xs: unknown[]) => xs.reduce((m, x) => (cmp(x, m) < 0 ? x : m)) },
  compare: { arity: [2, 2], fn: (a: unknown, b: unknown) => Math.sign(cmp(a, b)) },
  'zero?': { arity: [1, 1], fn: (a: unknown) => num(a, 'zero?') === 0 },
  'pos?': { arity: [1, 1], fn: (a: unknown) => num(a, 'pos?') > 0 },
  'neg?': { arity: [1, 1], fn: (a: unknown) => num(a, 'neg?') < 0 },
  'even?': { arity: [1, 1], fn: (a: unknown) => (typeof a === 'bigint' ? a % 2n === 0n : num(a, 'even?') % 2 === 0) },
  'odd?': { arity: [1, 1], fn: (a: unknown) => (typeof a === 'bigint' ? a % 2n !== 0n : Math.abs(num(a, 'odd?') % 2) === 1) },
  int: { arity: [1, 1], fn: (a: unknown) => Math.trunc(num(a, 'int')) },
  long: { arity: [1, 1], fn: (a: unknown) => Math.trunc(num(a, 'long')) },
  double: { arity: [1, 1], fn: (a: unknown) => num(a, 'double') },
  float: { arity: [1, 1], fn: (a: unknown) => num(a, 'float') },
  identity: { arity: [1, 1], fn: (a: unknown) => a },
  ground: { arity: [1, 1], fn: (a: unknown) => a },
  tuple: { arity: [1, INF], fn: (...xs: unknown[]) => xs },
  untuple: { arity: [1, 1], fn: (a: unknown) => a },
  vector: { arity: [0, INF], fn: (...xs: unknown[]) => xs },
  list: { arity: [0, INF], fn: (...xs: unknown[]) => xs },
  'hash-map': {
    arity: [0, INF],
    fn: (...xs: unknown[]) => {
      const m = new Map<unknown, unknown>();
      for (let i = 0; i + 1 < xs.length; i += 2) m.set(xs[i], xs[i + 1]);
      return m;
    },
  },
  'hash-set': { arity: [0, INF], fn: (...xs: unknown[]) => uniqueValues(xs) },
  get: {
    arity: [2, 3],
    fn: (m: unknown, k: unknown, d?: unknown) => {
      let v: unknown;
      if (m instanceof Map) v = m.get(k);
      else if (Array.isArray(m) && typeof k === 'number') v = m[k];
      else if (typeof m === 'object' && m !== null) v = (m as Record<string, unknown>)[String(k).replace(/^:/, '')];
      return v === undefined ? (d ?? null) : v;
    },
  },
  count: { arity: [1, 1], fn: count },
  str: { arity: [0, INF], fn: (...xs: unknown[]) => xs.map(str).join('') },
  subs: {
    arity: [2, 3],
    fn: (s: unknown, a: unknown, b?: unknown) => {
      if (typeof s !== 'string') throw incorrect('query/wrong-type', `subs expects a string, got ${describeValue(s)}`, { fn: 'subs' });
      const start = num(a, 'subs');
      const end = b === undefined ? s.length : num(b, 'subs');
      if (start < 0 || end > s.length || start > end) throw incorrect('query/invalid', `subs: index out of range`, { fn: 'subs' });
      return s.slice(start, end);
    },
  },
  'lower-case': { arity: [1, 1], fn: (s: unknown) => str(s).toLowerCase() },
  'upper-case': { arity: [1, 1], fn: (s: unknown) => str(s).toUpperCase() },
  trim: { arity: [1, 1], fn: (s: unknown) => str(s).trim() },
  triml: { arity: [1, 1], fn: (s: unknown) => str(s).trimStart() },
  trimr: { arity: [1, 1], fn: (s: unknown) => str(s).trimEnd() },
  'starts-with?': { arity: [2, 2], fn: (s: unknown, p: unknown) => str(s).startsWith(str(p)) },
  'ends-with?': { arity: [2, 2], fn: (s: unknown, p: unknown) => str(s).endsWith(str(p)) },
  'includes?': { arity: [2, 2], fn: (s: unknown, p: unknown) => str(s).includes(str(p)) },
  'blank?': { arity: [1, 1], fn: (s: unknown) => s === null || s === undefined || (typeof s === 'string' && s.trim() === '') },
  join: {
    arity: [1, 2],
    fn: (a: unknown, b?: unknown) => (b === undefined ? (a as unknown[]).map(str).join('') : (b as unknown[]).map(str).join(str(a))),
  },
  split: { arity: [2, 2], fn: (s: unknown, re: unknown) => str(s).split(regex(re, 'split')) },
  reverse: { arity: [1, 1], fn: (s: unknown) => (typeof s === 'string' ? [...s].reverse().join('') : [...(s as unknown[])].reverse()) },
  're-pattern': { arity: [1, 1], fn: (s: unknown) => regex(s, 're-pattern') },
  're-find': {
    arity: [2, 2],
    fn: (re: unknown, s: unknown) => {
      const m = regex(re, 're-find').exec(str(s));
      return m === null ? null : groups(m);
    },
  },
  're-matches': {
    arity: [2, 2],
    fn: (re: unknown, s: unknown) => {
      const r = regex(re, 're-matches');
      const m = new RegExp(`^(?:${r.source})$`, r.flags.replace('g', '')).exec(str(s));
      return m === null ? null : groups(m);
    },
  },
  're-seq': {
    arity: [2, 2],
    fn: (re: unknown, s: unknown) => {
      const r = regex(re, 're-seq');
      const all = [...str(s).matchAll(new RegExp(r.source, r.flags.includes('g') ? r.flags : `${r.flags}g`))].map(groups);
      return all.length === 0 ? null : all;
    },
  },
  'nil?': { arity: [1, 1], fn: (a: unknown) => a === null || a === undefined },
  'some?': { arity: [1, 1], fn: (a: unknown) => a !== null && a !== undefined },
  'true?': { arity: [1, 1], fn: (a: unknown) => a === true },
  'false?': { arity: [1, 1], fn: (a: unknown) => a === false },
  not: { arity: [1, 1], fn: (a: unknown) => a === null || a === undefined || a === false },
  boolean: { arity: [1, 1], fn: (a: unknown) => !(a === null || a === undefined || a === false) },
  'string?': { arity: [1, 1], fn: (a: unknown) => typeof a === 'string' && kwParts(a) === null },
  'number?': { arity: [1, 1], fn: (a: unknown) => typeof a === 'number' || typeof a === 'bigint' || a instanceof BigDec },
  'int?': { arity: [1, 1], fn: isInt },
  'integer?': { arity: [1, 1], fn: isInt },
  'keyword?': { arity: [1, 1], fn: (a: unknown) => kwParts(a) !== null },
  'inst?': { arity: [1, 1], fn: (a: unknown) => a instanceof Date },
  'vector?': { arity: [1, 1], fn: (a: unknown) => Array.isArray(a) },
  'empty?': { arity: [1, 1], fn: (a: unknown) => count(a) === 0 },
  keyword: {
    arity: [1, 2],
    fn: (a: unknown, b?: unknown) => {
      if (b === undefined) return kwParts(a) !== null ? a : `:${str(a)}`;
      return a === null || a === undefined ? `:${str(b)}` : `:${str(a)}/${str(b)}`;
    },
  },
  name: { arity: [1, 1], fn: (a: unknown) => kwParts(a)?.[1] ?? str(a) },
  namespace: { arity: [1, 1], fn: (a: unknown) => kwParts(a)?.[0] ?? null },
  'inst-ms': { arity: [1, 1], fn: (a: unknown) => (a instanceof Date ? a.getTime() : null) },
  'get-else': { arity: [4, 4], db: true, fn: getElse },
  'get-some': { arity: [3, INF], db: true, fn: getSome },
  'missing?': { arity: [3, 3], db: true, fn: missing },
  q: { arity: [1, INF], fn: (query: unknown, ...inputs: unknown[]) => nestedQuery!(query, inputs) },
  'tx-ids': { arity: [3, 3], db: true, fn: () => { throw incorrect('query/unsupported', 'tx-ids is not supported'); } },
};

// Clojure namespaces users write in Datomic queries.
for (const name of ['lower-case', 'upper-case', 'starts-with?', 'ends-with?', 'includes?', 'blank?', 'trim', 'triml', 'trimr', 'join', 'split', 'reverse']) {
  B[`clojure.string/${name}`] = B[name]!;
}
for (const name of Object.keys(B)) if (!name.includes('/')) B[`clojure.core/${name}`] = B[name]!;

export const BUILTINS: Readonly<Record<string, Builtin>> = B;

// ---- aggregates -----------------------------------------------------------------------------

export interface Aggregate {
  /** Number of constant parameters before the variable. */
  readonly params: readonly [number, number];
  readonly fn: (vals: unknown[], ...params: unknown[]) => unknown;
}

function uniqueValues(xs: unknown[]): unknown[] {
  const seen = new Set<unknown>();
  const out: unknown[] = [];
  for (const x of xs) {
    const k = valueKey(x as Value);
    if (!seen.has(k)) {
      seen.add(k);
      out.push(x);
    }
  }
  return out;
}

function sum(xs: unknown[]): unknown {
  if (xs.length > 0 && xs.every((x) => typeof x === 'bigint')) return (xs as bigint[]).reduce((a, b) => a + b, 0n);
  let s = 0;
  for (const x of xs) s += num(x, 'sum');
  return s;
}

function mean(xs: unknown[]): number {
  let s = 0;
  for (const x of xs) s += num(x, 'avg');
  return s / xs.length;
}

function variance(xs: unknown[]): number {
  const m = mean(xs);
  let s = 0;
  for (const x of xs) {
    const d = num(x, 'variance') - m;
    s += d * d;
  }
  return s / xs.length;
}

function sortedCopy(xs: unknown[]): unknown[] {
  return [...xs].sort(cmp);
}

function randInt(n: number): number {
  return Math.floor(Math.random() * n);
}

function posInt(p: unknown, fn: string): number {
  const n = typeof p === 'bigint' ? Number(p) : p;
  if (typeof n !== 'number' || !Number.isInteger(n) || n < 0) throw incorrect('query/invalid', `${fn} expects a non-negative integer parameter`, { fn });
  return n;
}

export const AGGREGATES: Readonly<Record<string, Aggregate>> = {
  count: { params: [0, 0], fn: (xs) => xs.length },
  'count-distinct': { params: [0, 0], fn: (xs) => uniqueValues(xs).length },
  sum: { params: [0, 0], fn: sum },
  avg: { params: [0, 0], fn: mean },
  median: {
    params: [0, 0],
    fn: (xs) => {
      const s = sortedCopy(xs);
      const n = s.length;
      if (n % 2 === 1) return s[(n - 1) / 2];
      return (num(s[n / 2 - 1], 'median') + num(s[n / 2], 'median')) / 2;
    },
  },
  variance: { params: [0, 0], fn: variance },
  stddev: { params: [0, 0], fn: (xs) => Math.sqrt(variance(xs)) },
  min: {
    params: [0, 1],
    fn: (xs, n?) => {
      if (n === undefined) return xs.reduce((m, x) => (cmp(x, m) < 0 ? x : m));
      return sortedCopy(uniqueValues(xs)).slice(0, posInt(n, 'min'));
    },
  },
  max: {
    params: [0, 1],
    fn: (xs, n?) => {
      if (n === undefined) return xs.reduce((m, x) => (cmp(x, m) > 0 ? x : m));
      return sortedCopy(uniqueValues(xs)).reverse().slice(0, posInt(n, 'max'));
    },
  },
  distinct: { params: [0, 0], fn: (xs) => uniqueValues(xs) },
  rand: {
    params: [0, 1],
    fn: (xs, n?) => {
      if (n === undefined) return xs[randInt(xs.length)];
      const k = posInt(n, 'rand');
      const out: unknown[] = [];
      for (let i = 0; i < k; i++) out.push(xs[randInt(xs.length)]);
      return out;
    },
  },
  sample: {
    params: [1, 1],
    fn: (xs, n) => {
      const u = uniqueValues(xs);
      for (let i = u.length - 1; i > 0; i--) {
        const j = randInt(i + 1);
        const t = u[i];
        u[i] = u[j];
        u[j] = t;
      }
      return u.slice(0, posInt(n, 'sample'));
    },
  },
};
