/**
 * Keywords order as in Clojure (and so Datomic and DataScript): without a namespace first, then by
 * namespace, then by name — `:b < :a/b < :a/c < :a-/b` (docs/adr/009-keyword-order.md). Compared
 * as whole strings, `:a-/b` would sort before `:a/b` and `:b` after both.
 */
import fc from 'fast-check';
import { emptyDb } from '../../../services/engine/db';
import { transact } from '../../../services/engine/transact';
import { datoms, indexRange } from '../../../services/engine/api';
import { compareValues } from '../../../services/engine/values';
import { q } from './fixture';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const ds = require('datascript');

const IN_ORDER = [':aa', ':b', ':a/b', ':a/c', ':a-/b', ':a.b/a', ':ab/a'];

const db = transact(
  emptyDb(),
  `[{:db/ident :k :db/valueType :db.type/keyword :db/cardinality :db.cardinality/many}
    {:db/ident :t :db/valueType :db.type/tuple :db/tupleType :db.type/keyword :db/cardinality :db.cardinality/many}]`,
).dbAfter;
const withKws = transact(db, [{ k: [...IN_ORDER].reverse(), t: [[':a-/b', 1], [':a/b', 2]].map(([k]) => [k, ':x']) }]).dbAfter;

describe('keyword order', () => {
  test('compareValues: namespace-less first, then namespace, then name', () => {
    const shuffled = [':a/c', ':ab/a', ':b', ':a-/b', ':a/b', ':a.b/a', ':aa'];
    expect([...shuffled].sort(compareValues)).toEqual(IN_ORDER);
    expect(compareValues(':a/b', ':a-/b')).toBeLessThan(0);
    expect(compareValues(':a-/b', ':a/b')).toBeGreaterThan(0);
    expect(compareValues(':a/b', ':a/b')).toBe(0);
    // Tuples compare element-wise with the same order.
    expect(compareValues([':a/b', 1], [':a-/b', 0])).toBeLessThan(0);
  });

  test('the order stays total: other strings compare as before, around the keyword block', () => {
    const strs = fc.oneof(fc.constantFrom(...IN_ORDER, ':', ':/', ':a/', ';', '9', 'a', ''), fc.string({ maxLength: 4 }).map((s) => `:${s}`));
    fc.assert(
      fc.property(strs, strs, strs, (a, b, c) => {
        expect(Math.sign(compareValues(a, b)) + Math.sign(compareValues(b, a))).toBe(0);
        expect(compareValues(a, b) === 0).toBe(a === b);
        if (compareValues(a, b) <= 0 && compareValues(b, c) <= 0) expect(compareValues(a, c)).toBeLessThanOrEqual(0);
      }),
      { numRuns: 2000, seed: 9 },
    );
    expect(compareValues('abc', 'abd')).toBeLessThan(0);
    expect(compareValues(':', ':a')).toBeLessThan(0);
  });

  test('min, max, (min n) and (max n) of keywords', () => {
    expect(q('[:find [(min ?k) (max ?k)] :where [_ :k ?k]]', withKws)).toEqual([':aa', ':ab/a']);
    expect(q('[:find (min 3 ?k) . :where [_ :k ?k]]', withKws)).toEqual([':aa', ':b', ':a/b']);
    expect(q('[:find (max 2 ?k) . :where [_ :k ?k]]', withKws)).toEqual([':ab/a', ':a.b/a']);
    expect(q('[:find (min ?k) . :in [?k ...]]', [':a-/b', ':a/b'])).toBe(':a/b');
  });

  test('comparison predicates, compare, and range predicates pushed into the index', () => {
    expect(q('[:find [?k ...] :where [_ :k ?k] [(< ?k :a/c)]]', withKws)).toEqual(expect.arrayContaining([':aa', ':b', ':a/b']));
    expect((q('[:find [?k ...] :where [_ :k ?k] [(< ?k :a/c)]]', withKws) as unknown[]).length).toBe(3);
    expect(q('[:find [?k ...] :where [_ :k ?k] [(> ?k :a/c)] [(<= ?k :a.b/a)]]', withKws)).toEqual([':a-/b', ':a.b/a']);
    expect(q('[:find ?c . :where [(compare :a-/b :a/b) ?c]]')).toBe(1);
  });

  test('index order: datoms and index-range of a keyword attribute', () => {
    expect(datoms(withKws, 'avet', [':k']).map((d) => d.v)).toEqual(IN_ORDER);
    expect(indexRange(withKws, ':k', ':b', ':a-/b').map((d) => d.v)).toEqual([':b', ':a/b', ':a/c']);
    expect(datoms(withKws, 'avet', [':t']).map((d) => d.v)).toEqual([[':a/b', ':x'], [':a-/b', ':x']]);
  });

  test('differential: the order of < over random keywords is DataScript\'s', () => {
    const kw = fc.tuple(fc.option(fc.constantFrom('a', 'a-', 'a.b', 'ab', 'b', 'A'), { nil: null }), fc.constantFrom('a', 'b', 'a-', 'aa', 'B')).map(([ns, n]) => (ns === null ? `:${n}` : `:${ns}/${n}`));
    fc.assert(
      fc.property(fc.uniqueArray(kw, { minLength: 2, maxLength: 8 }), (kws) => {
        const lit = `[${kws.join(' ')}]`;
        const query = `[:find ?s1 ?s2 :where [(ground ${lit}) [?k1 ...]] [(ground ${lit}) [?k2 ...]] [(< ?k1 ?k2)] [(str ?k1) ?s1] [(str ?k2) ?s2]]`;
        const norm = (rows: unknown): string[] => (rows as string[][]).map((r) => r.join(' ')).sort();
        expect(norm(q(query))).toEqual(norm(ds.q(query)));
      }),
      { numRuns: 100, seed: 14 },
    );
  });
});
