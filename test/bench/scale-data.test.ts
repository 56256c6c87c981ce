/**
 * bench:scale's data and probes (bench/scale-data.ts, bench/scale.ts): the generator makes the
 * datoms it plans, in transactions that may commit in any order, and what it expects of each read
 * is what the engine answers on that data — the bench checks every node answer against it.
 */
import { emptyDb, type Db } from '../../services/engine/db';
import { transact } from '../../services/engine/transact';
import { q } from '../../services/engine/query';
import { parsePullPattern, pull } from '../../services/engine/pull';
import {
  batchTx, CITY_AGGREGATE, cityName, DATOMS_PER_PERSON, expectedCityAggregates, expectedFriendsAggregate, expectedFriendsOfFriends,
  expectedPull, FRIENDS, FRIENDS_AGGREGATE, FRIENDS_OF_FRIENDS, personAt, planScale, PULL_SELECTOR, queryMix, SCALE_SCHEMA,
} from '../../bench/scale-data';
import { parseSize, readRss, RssSampler, sizeLabel, verdicts, type SizeResult } from '../../bench/scale';

const plan = planScale(20_000, 2_000);

/** Every batch transacted, in an order other than the batches' own (as with transactions in flight). */
function buildDb(): { db: Db; datoms: number } {
  let db = transact(emptyDb(), SCALE_SCHEMA).dbAfter;
  let datoms = 0;
  const order = Array.from({ length: plan.transactions }, (_, b) => b).reverse();
  [order[0], order[1]] = [order[1]!, order[0]!];
  for (const b of order) {
    const r = transact(db, batchTx(plan, b));
    datoms += r.txData.length;
    db = r.dbAfter;
  }
  return { db, datoms };
}

const built = buildDb();

test('the plan sizes people, cities and transactions to the datoms asked for', () => {
  expect(plan.batch).toBe(Math.floor(2_000 / DATOMS_PER_PERSON));
  expect(plan.transactions).toBe(Math.ceil(plan.people / plan.batch));
  const cities = new Set(Array.from({ length: plan.people }, (_, i) => personAt(plan, i + 1).city));
  // Each person's datoms once (a friend named before its own record is not asserted twice), each city once, each instant.
  expect(built.datoms).toBe(plan.people * DATOMS_PER_PERSON + cities.size + plan.transactions);
  expect(Math.abs(built.datoms - 20_000) / 20_000).toBeLessThan(0.01);
});

test('people are the same every time, with distinct friends other than themselves', () => {
  for (const id of [1, 2, 777, plan.people]) {
    const p = personAt(plan, id);
    expect(personAt(plan, id)).toEqual(p);
    expect(new Set(p.friends).size).toBe(FRIENDS);
    expect(p.friends).not.toContain(id);
    for (const f of p.friends) expect(f >= 1 && f <= plan.people).toBe(true);
    expect(p.city >= 1 && p.city <= plan.cities).toBe(true);
  }
});

test('what the bench expects of each read is what the engine answers', () => {
  const { db } = built;
  const selector = parsePullPattern(PULL_SELECTOR);
  for (const id of [1, 500, plan.people]) {
    expect(pull(db, selector, db.entid([':person/id', id])!)).toEqual(expectedPull(plan, id));
    const [count, avg] = expectedFriendsAggregate(plan, id);
    const agg = q(FRIENDS_AGGREGATE, [db, id]) as Array<[number, number]>;
    expect(agg).toHaveLength(1);
    expect(agg[0]![0]).toBe(count);
    expect(agg[0]![1]).toBeCloseTo(avg, 9);
    const fof = (q(FRIENDS_OF_FRIENDS, [db, id]) as Array<[number]>).map((r) => r[0]).sort((a, b) => a - b);
    expect(fof).toEqual(expectedFriendsOfFriends(plan, id));
  }
  const cities = expectedCityAggregates(plan, new Set([1, 7, plan.cities]));
  for (const [city, [count, avg]] of cities) {
    const rows = q(CITY_AGGREGATE, [db, cityName(city)]) as Array<[number, number]>;
    expect(rows[0]![0]).toBe(count);
    expect(rows[0]![1]).toBeCloseTo(avg, 9);
  }
});

test('the query mix is the same for a seed and names people and cities that exist', () => {
  const ops = queryMix(plan, 1_000, 42);
  expect(queryMix(plan, 1_000, 42)).toEqual(ops);
  expect(queryMix(plan, 1_000, 43)).not.toEqual(ops);
  const share = (k: string): number => ops.filter((o) => o.kind === k).length / ops.length;
  expect(share('pull')).toBeGreaterThan(0.4);
  expect(share('fof')).toBeGreaterThan(0.2);
  expect(share('city')).toBeGreaterThan(0.1);
  for (const o of ops) expect(o.arg >= 1 && o.arg <= (o.kind === 'city' ? plan.cities : plan.people)).toBe(true);
});

test('sizes read as datom counts and print back', () => {
  expect(parseSize('100k')).toBe(100_000);
  expect(parseSize('1m')).toBe(1_000_000);
  expect(parseSize('10M')).toBe(10_000_000);
  expect(parseSize('250000')).toBe(250_000);
  expect(() => parseSize('lots')).toThrow(/a size is a datom count/);
  expect(() => parseSize('10')).toThrow(/at least 1000/);
  expect([100_000, 1_000_000, 10_000_000, 2_500_000, 1_234].map(sizeLabel)).toEqual(['100k', '1M', '10M', '2.5M', '1234']);
});

test('RSS is read from /proc and the sampler keeps the largest sample', () => {
  const r = readRss(process.pid)!;
  expect(r.rss).toBeGreaterThan(1024 * 1024);
  expect(r.hwm).toBeGreaterThanOrEqual(r.rss);
  const s = new RssSampler(process.pid, 5);
  const { max, samples } = s.stop();
  expect(samples).toBeGreaterThanOrEqual(2);
  expect(max).toBeGreaterThan(0);
  expect(readRss(2 ** 22 + 12_345)).toBeUndefined();
  expect(new RssSampler(2 ** 22 + 12_345).stop()).toEqual({ max: NaN, samples: 0 });
});

describe('the verdict', () => {
  const first = (fromReadyMs: number, roundTrips?: number) => ({
    fromReadyMs, fromStartMs: fromReadyMs + 800, startupMs: 800, openMs: 1, readMs: 1, opened: { t: 1 }, correct: true, answer: null,
    ...(roundTrips === undefined ? {} : { counters: { hits: 0, misses: 3, fetches: 3, roundTrips, fetchedBytes: 1, decodes: 0 } }),
  });
  const pass = { ms: 1, latencies: { pull: [], fof: [], city: [] }, wrong: 0, errors: 0 };
  const size = (n: number, pullMs: number, aggMs: number, rssMb: number, roundTrips?: number): SizeResult => ({
    size: n, reused: false,
    built: { generator: 1, plan: planScale(n, 5_000), txDatoms: 5_000, datoms: n, t: 1, buildMs: 1, buildRssMax: 1 },
    pull: first(pullMs, roundTrips), aggregate: first(aggMs, roundTrips),
    mix: { cold: pass, warm: pass, warmRoundsMs: [1], rssMax: rssMb * 1024 * 1024, hwm: 0 },
  });
  const judged = (rs: SizeResult[]): string[] => verdicts(rs).map((l) => `${l.v} ${l.text.split(':')[0]}`);

  test('judges 10M against 100k, RSS at 10M and round trips at every size', () => {
    expect(judged([size(100_000, 100, 200, 300, 3), size(10_000_000, 300, 500, 768, 4)])).toEqual([
      'PASS first answer (pull) from ready', 'PASS first answer (aggregate) from ready', 'PASS node RSS over the mix at 10M',
      'PASS cold point read at 100k', 'PASS cold point read at 10M', 'PASS answers of the durable nodes',
    ]);
    expect(judged([size(100_000, 100, 200, 300, 3), size(10_000_000, 301, 700, 769, 5)])).toEqual([
      'FAIL first answer (pull) from ready', 'FAIL first answer (aggregate) from ready', 'FAIL node RSS over the mix at 10M',
      'PASS cold point read at 100k', 'FAIL cold point read at 10M', 'PASS answers of the durable nodes',
    ]);
  });

  test('what was not measured is N/A, never a pass', () => {
    const wrong = size(1_000_000, 100, 100, 100);
    wrong.mix.warm = { ...pass, wrong: 2 };
    expect(judged([size(100_000, 100, 200, 300), wrong])).toEqual([
      'N/A first answer (pull) at 10M ≤ 3× at 100k', 'N/A first answer (aggregate) at 10M ≤ 3× at 100k', 'N/A node RSS over the mix ≤ 768 MB at 10M',
      'N/A cold point read at 100k', 'N/A cold point read at 1M', 'FAIL answers of the durable nodes',
    ]);
  });
});
