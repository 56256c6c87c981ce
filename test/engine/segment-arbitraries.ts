/**
 * Random index segments of every value kind, and exact equality over them (the kind of every
 * value included: 1 and 1n differ, -0 and 0 differ, 1.5M and 1.50M differ), for the segment
 * codec tests (test/engine/segment.test.ts, test/node/storage/segment-codec.test.ts).
 */
import fc from 'fast-check';
import { BigDec } from '../../services/engine/bigdec';
import { CURRENT_ORDER, Datom, HISTORY_ORDER, INDEX_NAMES, Retraction, TX0 } from '../../services/engine/datom';
import type { Segment, StoredSegment } from '../../services/engine/segment';
import type { Value } from '../../services/engine/values';

const scalar: fc.Arbitrary<Value> = fc.oneof(
  fc.string({ maxLength: 40 }),
  fc.string({ unit: 'grapheme', maxLength: 8 }),
  fc.stringMatching(/^:[a-z]{1,6}(\/[a-z-]{1,8})?$/), // keywords
  fc.uuid(),
  fc.boolean(),
  fc.integer(),
  fc.maxSafeInteger(),
  fc.double(), // -0, NaN, ±Infinity, subnormals included
  fc.constantFrom(-0, 0, Number.MIN_VALUE, -Number.MAX_VALUE),
  fc.bigInt({ min: -(2n ** 64n), max: 2n ** 64n }),
  fc.bigInt({ min: -(2n ** 300n), max: 2n ** 300n }),
  fc.tuple(fc.bigInt({ min: -(2n ** 130n), max: 2n ** 130n }), fc.integer({ min: -400, max: 400 }))
    .map(([u, s]) => new BigDec(u, s)),
  fc.date({ noInvalidDate: true }),
);

export const valueArb: fc.Arbitrary<Value> = fc.oneof(
  { weight: 5, arbitrary: scalar },
  { weight: 1, arbitrary: fc.array(fc.oneof(scalar, fc.constant(null)), { minLength: 1, maxLength: 6 }) },
);

const eid = fc.oneof(fc.integer({ min: 0, max: 5000 }), fc.integer({ min: TX0, max: TX0 + 100_000 }));
const tx = fc.integer({ min: TX0, max: TX0 + 2 ** 40 });

export const datomArb: fc.Arbitrary<Datom> = fc.oneof(
  { weight: 4, arbitrary: fc.tuple(eid, fc.nat(300), valueArb, tx).map(([e, a, v, t]) => new Datom(e, a, v, t, true)) },
  { weight: 1, arbitrary: fc.tuple(eid, fc.nat(300), valueArb, tx).map(([e, a, v, t]) => new Datom(e, a, v, t, false)) },
  { weight: 2, arbitrary: fc.tuple(eid, fc.nat(300), valueArb, tx, tx).map(([e, a, v, t, at]) => new Retraction(e, a, v, t, at)) },
);

/** A strictly ascending run in the segment's order (sorted, duplicates dropped). */
export function sortedRun(datoms: readonly Datom[], s: { index: Segment['index']; history: boolean }): Datom[] {
  const cmp = (s.history ? HISTORY_ORDER : CURRENT_ORDER)[s.index];
  const sorted = [...datoms].sort(cmp);
  return sorted.filter((d, i) => i === 0 || cmp(sorted[i - 1]!, d) !== 0);
}

const header = fc.record({ index: fc.constantFrom(...INDEX_NAMES), history: fc.boolean() });
const segmentKey = fc.stringMatching(/^[0-9a-f]{64}$/);

export const leafArb: fc.Arbitrary<Segment> = fc.tuple(header, fc.array(datomArb, { maxLength: 120 }))
  .map(([h, ds]) => ({ kind: 'leaf', ...h, datoms: sortedRun(ds, h) }));

export const branchArb: fc.Arbitrary<Segment> = fc.tuple(header, fc.array(datomArb, { minLength: 1, maxLength: 40 }), fc.array(segmentKey, { minLength: 40, maxLength: 40 }))
  .map(([h, ds, keys]) => ({
    kind: 'branch',
    ...h,
    children: sortedRun(ds, h).map((last, i) => ({ key: keys[i]!, size: 1 + i * 1000, last })),
  }));

export const segmentArb: fc.Arbitrary<Segment> = fc.oneof(leafArb, branchArb);

export function valuesIdentical(x: Value, y: Value): boolean {
  if (typeof x !== typeof y) return false;
  if (typeof x === 'number') return Object.is(x, y);
  if (x instanceof Date) return y instanceof Date && Object.is(x.getTime(), y.getTime());
  if (x instanceof BigDec) return y instanceof BigDec && x.identical(y);
  if (Array.isArray(x)) return Array.isArray(y) && x.length === y.length && x.every((v, i) => valuesIdentical(v, y[i]!));
  return x === y;
}

export function datomsIdentical(x: Datom, y: Datom): boolean {
  return x.constructor === y.constructor && x.e === y.e && x.a === y.a && x.tx === y.tx && x.added === y.added
    && valuesIdentical(x.v, y.v)
    && (!(x instanceof Retraction) || x.assertTx === (y as Retraction).assertTx);
}

export function segmentsIdentical(x: StoredSegment, y: Segment): boolean {
  if (x.kind === 'log-leaf' || x.kind === 'log-branch') return false;
  if (x.kind !== y.kind || x.index !== y.index || x.history !== y.history) return false;
  if (x.kind === 'leaf' && y.kind === 'leaf') {
    return x.datoms.length === y.datoms.length && x.datoms.every((d, i) => datomsIdentical(d, y.datoms[i]!));
  }
  if (x.kind === 'branch' && y.kind === 'branch') {
    return x.children.length === y.children.length && x.children.every((c, i) => {
      const d = y.children[i]!;
      return c.key === d.key && c.size === d.size && datomsIdentical(c.last, d.last);
    });
  }
  return false;
}
