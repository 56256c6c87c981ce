/**
 * The DataScript benchmark's data (shared/bench/datascript-bench.md), generated
 * deterministically with a seeded PRNG so every run and every engine sees the same people.
 */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export const SEED = 20240515;
export const NAMES = ['Ivan', 'Petr', 'Sergei', 'Oleg', 'Yuri', 'Dmitry', 'Fedor', 'Denis'];
export const LAST_NAMES = ['Ivanov', 'Petrov', 'Sidorov', 'Kovalev', 'Kuznetsov', 'Voronoi'];
export const ALIASES = ['A. C. Q. W.', 'A. J. Finn', 'A.A. Fair', 'Aapeli', 'Aaron Wolfe', 'Abigail Van Buren', 'Jeanne Phillips', 'Abram Tertz', 'Abu Nuwas', 'Acton Bell', 'Adunis'];

export interface Person {
  id: number;
  name: string;
  lastName: string;
  alias: string[];
  sex: 'male' | 'female';
  age: number;
  salary: number;
}

/** `count` people, generated then shuffled (Fisher–Yates), ids from 1. */
export function people(count = 20_000, seed = SEED): Person[] {
  const rnd = mulberry32(seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)]!;
  const out: Person[] = [];
  for (let i = 1; i <= count; i++) {
    const name = pick(NAMES);
    const lastName = pick(LAST_NAMES);
    const n = Math.floor(rnd() * 10);
    const alias = [...new Set(Array.from({ length: n }, () => pick(ALIASES)))];
    const sex = rnd() < 0.5 ? 'male' : 'female';
    const age = Math.floor(rnd() * 100);
    const salary = Math.floor(rnd() * 100_000);
    out.push({ id: i, name, lastName, alias, sex, age, salary });
  }
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(rnd() * (i + 1));
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

/** Datalith schema for the people data (EDN). */
export const DATALITH_SCHEMA = `[
  {:db/ident :name :db/valueType :db.type/string :db/cardinality :db.cardinality/one}
  {:db/ident :last-name :db/valueType :db.type/string :db/cardinality :db.cardinality/one}
  {:db/ident :alias :db/valueType :db.type/string :db/cardinality :db.cardinality/many}
  {:db/ident :sex :db/valueType :db.type/keyword :db/cardinality :db.cardinality/one}
  {:db/ident :age :db/valueType :db.type/long :db/cardinality :db.cardinality/one}
  {:db/ident :salary :db/valueType :db.type/long :db/cardinality :db.cardinality/one}
  {:db/ident :id :db/valueType :db.type/long :db/cardinality :db.cardinality/one :db/unique :db.unique/identity}
  {:db/ident :follows :db/valueType :db.type/ref :db/cardinality :db.cardinality/many}]`;

/** DataScript schema (JS API) for the same data. */
export const DATASCRIPT_SCHEMA = {
  alias: { ':db/cardinality': ':db.cardinality/many' },
  id: { ':db/unique': ':db.unique/identity' },
  follows: { ':db/valueType': ':db.type/ref', ':db/cardinality': ':db.cardinality/many' },
};

/** A person as a Datalith entity map (keyword sex, tempid by id). */
export function datalithEntity(p: Person): Record<string, unknown> {
  return { 'db/id': `p${p.id}`, id: p.id, name: p.name, 'last-name': p.lastName, alias: p.alias, sex: `:${p.sex}`, age: p.age, salary: p.salary };
}

/** The same person as a DataScript entity map (negative tempid, sex as a string). */
export function datascriptEntity(p: Person): Record<string, unknown> {
  return { ':db/id': -p.id, id: p.id, name: p.name, 'last-name': p.lastName, alias: p.alias, sex: p.sex, age: p.age, salary: p.salary };
}

/** Median of timings. */
export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/** Runs each task's two engines interleaved (A B A B …) and returns their median times in ms. */
export function interleave(rounds: number, a: () => unknown, b: () => unknown): { a: number; b: number } {
  const ta: number[] = [];
  const tb: number[] = [];
  for (let i = 0; i < rounds; i++) {
    let t0 = performance.now();
    a();
    ta.push(performance.now() - t0);
    t0 = performance.now();
    b();
    tb.push(performance.now() - t0);
  }
  return { a: median(ta), b: median(tb) };
}
