/**
 * Stored segments (services/node/storage/segment-codec.ts): framing + brotli round-trips every
 * segment exactly; the content key is the SHA-256 of the bytes, the same for the same content
 * and different when any datom changes; damaged objects are `fault`s.
 */
import fc from 'fast-check';
import { Datom, TX0 } from '../../../services/engine/datom';
import { fails } from '../../engine/helpers';
import type { Segment } from '../../../services/engine/segment';
import { decodeSegment, encodeSegment, isSegmentKey, segmentKey } from '../../../services/node/storage/segment-codec';
import { datomArb, segmentArb, segmentsIdentical, sortedRun, valueArb, valuesIdentical } from '../../engine/segment-arbitraries';


describe('segment codec', () => {
  it('decode(encode(s)) is s for random segments; the key is the hash of the bytes', () => {
    fc.assert(fc.property(segmentArb, (s) => {
      const { key, bytes } = encodeSegment(s);
      return isSegmentKey(key) && key === segmentKey(bytes) && segmentsIdentical(decodeSegment(bytes, key), s);
    }), { numRuns: 200 });
  });

  it('gives equal content the same key and changed content a new one', () => {
    const current = fc.tuple(fc.constantFrom('eavt', 'aevt', 'avet', 'vaet' as const), fc.array(datomArb, { minLength: 1, maxLength: 60 }))
      .map(([index, ds]): Segment & { kind: 'leaf' } => ({ kind: 'leaf', index, history: false, datoms: sortedRun(ds, { index, history: false }) }));
    fc.assert(fc.property(current, fc.nat(), fc.oneof(fc.constant('tx' as const), fc.constant('added' as const), valueArb), (s, at, change) => {
      const i = at % s.datoms.length;
      const d = s.datoms[i]!;
      if (change !== 'tx' && change !== 'added' && valuesIdentical(change, d.v)) return true;
      // The current orders ignore tx and added; a new value may reorder, so re-sort.
      const changed = change === 'tx' ? new Datom(d.e, d.a, d.v, d.tx + 1, d.added)
        : change === 'added' ? new Datom(d.e, d.a, d.v, d.tx, !d.added)
          : new Datom(d.e, d.a, change, d.tx, d.added);
      const datoms = sortedRun([...s.datoms.slice(0, i), changed, ...s.datoms.slice(i + 1)], s);
      const copy: Segment = { ...s, datoms: [...s.datoms] };
      const key = encodeSegment(s).key;
      if (encodeSegment(copy).key !== key) return false;
      if (datoms.length !== s.datoms.length) return true; // the new value merged with a neighbour
      return encodeSegment({ ...s, datoms }).key !== key;
    }), { numRuns: 200 });
  });

  it('refuses bytes that do not hash to the key, damaged bodies and unknown formats as fault', () => {
    const { key, bytes } = encodeSegment({ kind: 'leaf', index: 'eavt', history: false, datoms: [new Datom(1000, 10, 'x', TX0 + 1, true)] });
    const flipped = Uint8Array.from(bytes);
    flipped[flipped.length - 1]! ^= 0xff;
    expect(fails(() => decodeSegment(flipped, key))).toMatchObject({ category: 'fault', code: 'segment/key-mismatch' });
    expect(fails(() => decodeSegment(flipped))).toMatchObject({ category: 'fault', code: 'segment/corrupt' });
    expect(fails(() => decodeSegment(bytes.subarray(0, bytes.length - 2)))).toMatchObject({ category: 'fault', code: 'segment/corrupt' });
    expect(fails(() => decodeSegment(new Uint8Array([1, 2, 3])))).toMatchObject({ category: 'fault', code: 'segment/corrupt' });
    const newer = Uint8Array.from(bytes);
    newer[3] = 2;
    expect(fails(() => decodeSegment(newer))).toMatchObject({ category: 'fault', code: 'segment/unsupported-format' });
  });
});
