/**
 * The value order the indexes sort by, and the value keys redundancy elimination uses: within each
 * value type the order is total (antisymmetric, transitive), and two values have the same key
 * exactly when they compare equal — otherwise a transaction could report a datom the index drops.
 */
import fc from 'fast-check';
import { BigDec } from '../../services/engine/bigdec';
import { compareValues, coerceScalar, valueKey, valuesEqual, type Value } from '../../services/engine/values';
import { aid, dbWith, tx } from './helpers';

const bigdecArb = fc.tuple(fc.bigInt({ min: -(10n ** 12n), max: 10n ** 12n }), fc.integer({ min: -3, max: 6 })).map(([u, s]) => new BigDec(u, s));
const scalarArbs: Record<string, fc.Arbitrary<Value>> = {
  long: fc.oneof(fc.integer({ min: -1000, max: 1000 }), fc.constantFrom(0, -0, Number.MAX_SAFE_INTEGER)),
  double: fc.double({ noNaN: true }),
  bigint: fc.bigInt({ min: -(2n ** 80n), max: 2n ** 80n }),
  string: fc.string({ maxLength: 6 }),
  boolean: fc.boolean(),
  instant: fc.integer({ min: -1e12, max: 4e12 }).map((ms) => new Date(ms)),
  bigdec: bigdecArb,
  keyword: fc.constantFrom(':a/b', ':a/c', ':b', ':a.b/c'),
};
const tupleArb: fc.Arbitrary<Value> = fc.array(fc.option(fc.oneof(scalarArbs.long!, scalarArbs.string!), { nil: null }), { minLength: 2, maxLength: 4 });

describe('compareValues', () => {
  for (const [type, arb] of Object.entries({ ...scalarArbs, tuple: tupleArb })) {
    test(`${type}: a total order, consistent with valuesEqual and valueKey`, () => {
      fc.assert(
        fc.property(arb, arb, arb, (a, b, c) => {
          const ab = compareValues(a, b);
          const ba = compareValues(b, a);
          expect(Math.sign(ab) || 0).toBe(-Math.sign(ba) || 0);
          expect(compareValues(a, a)).toBe(0);
          if (ab <= 0 && compareValues(b, c) <= 0) expect(compareValues(a, c)).toBeLessThanOrEqual(0);
          expect(valuesEqual(a, b)).toBe(ab === 0);
          expect(valueKey(a) === valueKey(b)).toBe(ab === 0);
        }),
        { numRuns: 300 },
      );
    });
  }

  test('values of different kinds never compare equal, and order by kind', () => {
    const kinds: Value[] = [null, false, 1, 'a', new Date(0), [1, 2]];
    for (let i = 0; i < kinds.length; i++) {
      for (let j = 0; j < kinds.length; j++) expect(Math.sign(compareValues(kinds[i]!, kinds[j]!))).toBe(Math.sign(i - j));
    }
  });

  test('nil sorts lowest inside tuples', () => {
    expect(compareValues([null, 1], ['a', 1])).toBeLessThan(0);
    expect(compareValues(['a', null], ['a', 0])).toBeLessThan(0);
  });
});

describe('coerceScalar', () => {
  test('a long beyond the safe range stays exact as a bigint; within it, a number', () => {
    expect(coerceScalar(':x/l', 'long', 9007199254740993n)).toBe(9007199254740993n);
    expect(coerceScalar(':x/l', 'long', 42n)).toBe(42);
  });

  test('uuids are kept in lowercase canonical form', () => {
    expect(coerceScalar(':x/u', 'uuid', 'F40E770E-9AD5-11E7-ABC4-CEC278B6B50A')).toBe('f40e770e-9ad5-11e7-abc4-cec278b6b50a');
  });
});

describe('bigdec values in transactions', () => {
  test('1.0M and 1.00M are one value: the index and the transaction data agree', () => {
    const db = dbWith(`[{:db/ident :a/d :db/valueType :db.type/bigdec :db/cardinality :db.cardinality/many}]`);
    const r = tx(db, `[[:db/add "x" :a/d 1.0M] [:db/add "x" :a/d 1.00M] [:db/add "x" :a/d 2.5M]]`);
    const x = r.tempids['x']!;
    const inIndex = r.dbAfter.datoms('eavt', x, aid(db, ':a/d'));
    const inTx = r.txData.filter((d) => d.e === x);
    expect(inTx).toHaveLength(2);
    expect(inIndex).toHaveLength(2);
    // Re-asserting with another scale is redundant.
    const r2 = tx(r.dbAfter, `[[:db/add ${x} :a/d 2.50M]]`);
    expect(r2.txData).toHaveLength(1);
  });
});
