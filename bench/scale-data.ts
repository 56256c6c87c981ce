/**
 * The data of `npm run bench:scale` (bench/scale.ts): people with a unique id, a name, an age, a
 * unique email, a city (a ref to a city entity) and friends (refs, many), generated so that any
 * person can be computed on its own from its id — the bench streams transactions of a database of
 * 10 M datoms without holding them, and checks the nodes' answers against the generator.
 *
 * Datoms: 11 per person (id, name, age, email, city, 6 friends), one per city (`:city/name`),
 * one per transaction (its instant), and the schema's. A friend or a city is named in transaction
 * data by a nested entity map with its unique identity (`{:person/id 77}`), which upserts: the
 * friend may be created by a transaction in flight at the same time, or later, and the full
 * record of person 77 then upserts into that entity (its `:person/id` is not asserted twice).
 */
import { LAST_NAMES, mulberry32, NAMES } from './data';

export const SCALE_SCHEMA = `[
  {:db/ident :person/id :db/valueType :db.type/long :db/cardinality :db.cardinality/one :db/unique :db.unique/identity}
  {:db/ident :person/name :db/valueType :db.type/string :db/cardinality :db.cardinality/one}
  {:db/ident :person/age :db/valueType :db.type/long :db/cardinality :db.cardinality/one}
  {:db/ident :person/email :db/valueType :db.type/string :db/cardinality :db.cardinality/one :db/unique :db.unique/value}
  {:db/ident :person/city :db/valueType :db.type/ref :db/cardinality :db.cardinality/one}
  {:db/ident :person/friends :db/valueType :db.type/ref :db/cardinality :db.cardinality/many}
  {:db/ident :city/name :db/valueType :db.type/string :db/cardinality :db.cardinality/one :db/unique :db.unique/identity}]`;

/** Friends per person. */
export const FRIENDS = 6;
export const PEOPLE_PER_CITY = 100;
export const DATOMS_PER_PERSON = 5 + FRIENDS;

/** Bumped when the generated data changes, so a kept build (`--dir`) is not reused for other data. */
export const GENERATOR_VERSION = 2;

/** A 32-bit hash of (a, b): the generator's source of randomness, per person and field. */
export function hash32(a: number, b: number): number {
  return Math.floor(mulberry32(Math.imul(a, 0x9e3779b1) ^ Math.imul(b, 0x85ebca77))() * 4294967296);
}

export interface ScalePlan {
  /** Datoms asked for. */
  readonly target: number;
  readonly people: number;
  readonly cities: number;
  /** People per transaction. */
  readonly batch: number;
  readonly transactions: number;
}

/** How many people, cities and transactions make about `target` datoms with `txDatoms` per transaction. */
export function planScale(target: number, txDatoms: number): ScalePlan {
  const batch = Math.max(1, Math.floor(txDatoms / DATOMS_PER_PERSON));
  const perPerson = DATOMS_PER_PERSON + 1 / PEOPLE_PER_CITY + 1 / batch;
  const people = Math.max(FRIENDS + 1, Math.round(target / perPerson));
  return { target, people, cities: Math.ceil(people / PEOPLE_PER_CITY), batch, transactions: Math.ceil(people / batch) };
}

export interface ScalePerson {
  readonly id: number;
  readonly name: string;
  readonly age: number;
  readonly email: string;
  /** 1-based city number; its `:city/name` is `cityName(city)`. */
  readonly city: number;
  /** FRIENDS distinct person ids, never the person's own. */
  readonly friends: readonly number[];
}

export const cityName = (n: number): string => `city-${n}`;
const ageOf = (id: number): number => hash32(id, 3) % 100;
const cityOf = (plan: ScalePlan, id: number): number => 1 + (hash32(id, 4) % plan.cities);

/** Person `id` (1 … plan.people), the same in every run. */
export function personAt(plan: ScalePlan, id: number): ScalePerson {
  const friends: number[] = [];
  for (let k = 0; friends.length < FRIENDS; k++) {
    const f = 1 + (hash32(id, 100 + k) % plan.people);
    if (f !== id && !friends.includes(f)) friends.push(f);
  }
  return {
    id,
    name: `${NAMES[hash32(id, 1) % NAMES.length]!} ${LAST_NAMES[hash32(id, 2) % LAST_NAMES.length]!}`,
    age: ageOf(id),
    email: `person${id}@example.com`,
    city: cityOf(plan, id),
    friends,
  };
}

/** A person as transaction data (JS entity map; friends and city as upserting nested maps). */
export function personTx(p: ScalePerson): Record<string, unknown> {
  return {
    'person/id': p.id,
    'person/name': p.name,
    'person/age': p.age,
    'person/email': p.email,
    'person/city': { 'city/name': cityName(p.city) },
    'person/friends': p.friends.map((f) => ({ 'person/id': f })),
  };
}

/** Transaction `b` (0 … plan.transactions − 1): people b·batch + 1 … */
export function batchTx(plan: ScalePlan, b: number): Array<Record<string, unknown>> {
  const from = b * plan.batch + 1;
  const to = Math.min(plan.people, from + plan.batch - 1);
  const out: Array<Record<string, unknown>> = [];
  for (let id = from; id <= to; id++) out.push(personTx(personAt(plan, id)));
  return out;
}

// ---- the reads --------------------------------------------------------------------------------

export const PULL_SELECTOR = '[:person/id :person/name :person/age :person/email {:person/city [:city/name]}]';

/** The cold point read: one entity's attributes by lookup ref (no refs followed). */
export const POINT_SELECTOR = '[:person/id :person/name :person/age :person/email]';

/** The first-answer aggregate: count and mean age of one person's friends (FRIENDS rows, whatever the size). */
export const FRIENDS_AGGREGATE = '[:find (count ?f) (avg ?a) :in $ ?id :where [?p :person/id ?id] [?p :person/friends ?f] [?f :person/age ?a]]';

/** Friends of friends: at most FRIENDS² ids. */
export const FRIENDS_OF_FRIENDS = '[:find ?fid :in $ ?id :where [?p :person/id ?id] [?p :person/friends ?f] [?f :person/friends ?fof] [?fof :person/id ?fid]]';

/** People of one city: count and mean age (about PEOPLE_PER_CITY people, whatever the size). */
export const CITY_AGGREGATE = '[:find (count ?p) (avg ?a) :in $ ?cn :where [?c :city/name ?cn] [?p :person/city ?c] [?p :person/age ?a]]';

/** What a pull of person `id` with PULL_SELECTOR answers. */
export function expectedPull(plan: ScalePlan, id: number): Record<string, unknown> {
  const p = personAt(plan, id);
  return { 'person/id': p.id, 'person/name': p.name, 'person/age': p.age, 'person/email': p.email, 'person/city': { 'city/name': cityName(p.city) } };
}

/** What FRIENDS_AGGREGATE answers for person `id`. */
export function expectedFriendsAggregate(plan: ScalePlan, id: number): [number, number] {
  const ages = personAt(plan, id).friends.map((f) => personAt(plan, f).age);
  return [ages.length, ages.reduce((s, a) => s + a, 0) / ages.length];
}

/** What FRIENDS_OF_FRIENDS answers for person `id`, sorted. */
export function expectedFriendsOfFriends(plan: ScalePlan, id: number): number[] {
  const out = new Set<number>();
  for (const f of personAt(plan, id).friends) for (const g of personAt(plan, f).friends) out.add(g);
  return [...out].sort((a, b) => a - b);
}

export type MixKind = 'pull' | 'fof' | 'city';
export interface MixOp {
  readonly kind: MixKind;
  /** A person id (pull, fof) or a city number (city). */
  readonly arg: number;
}

/** `count` operations: 50% pulls by lookup ref, 30% friends of friends, 20% city aggregates; the same for a seed. */
export function queryMix(plan: ScalePlan, count: number, seed: number): MixOp[] {
  const ops: MixOp[] = [];
  for (let i = 0; i < count; i++) {
    const r = hash32(seed, 2 * i) % 10;
    const x = hash32(seed, 2 * i + 1);
    if (r < 5) ops.push({ kind: 'pull', arg: 1 + (x % plan.people) });
    else if (r < 8) ops.push({ kind: 'fof', arg: 1 + (x % plan.people) });
    else ops.push({ kind: 'city', arg: 1 + (x % plan.cities) });
  }
  return ops;
}

/** What CITY_AGGREGATE answers for each of `cities` ([count, mean age]; absent: no people), in one pass over the people. */
export function expectedCityAggregates(plan: ScalePlan, cities: ReadonlySet<number>): Map<number, [number, number]> {
  const sums = new Map<number, [number, number]>();
  for (let id = 1; id <= plan.people; id++) {
    const city = cityOf(plan, id);
    if (!cities.has(city)) continue;
    const s = sums.get(city) ?? [0, 0];
    s[0]++;
    s[1] += ageOf(id);
    sums.set(city, s);
  }
  return new Map([...sums].map(([c, [n, sum]]) => [c, [n, sum / n]]));
}
