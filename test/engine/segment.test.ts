/**
 * The index segment body codec (services/engine/segment.ts): every value kind round-trips
 * exactly, the encoding is canonical (re-encoding a decoded segment gives the same bytes), and
 * bad segments are refused before anything is written, damaged bodies on read.
 */
import fc from 'fast-check';
import { BigDec } from '../../services/engine/bigdec';
import { Datom, Retraction, TX0 } from '../../services/engine/datom';
import { decodeSegmentBody, encodeSegmentBody, type LeafSegment, type Segment } from '../../services/engine/segment';
import { fails } from './helpers';
import { segmentArb, segmentsIdentical } from './segment-arbitraries';

const leaf = (datoms: Datom[], index: Segment['index'] = 'eavt', history = false): Segment => ({ kind: 'leaf', index, history, datoms });


describe('segment body codec', () => {
  it('decode(encode(s)) is s, exactly, for random leaves and branches of every value kind', () => {
    fc.assert(fc.property(segmentArb, (s) => segmentsIdentical(decodeSegmentBody(encodeSegmentBody(s)), s)), { numRuns: 300 });
  });

  it('is canonical: a decoded segment encodes to the same bytes', () => {
    fc.assert(fc.property(segmentArb, (s) => {
      const bytes = encodeSegmentBody(s);
      return Buffer.from(encodeSegmentBody(decodeSegmentBody(bytes))).equals(Buffer.from(bytes));
    }), { numRuns: 100 });
  });

  it('keeps the kind of values that JSON or plain MessagePack would merge', () => {
    const tx = TX0 + 1;
    const values = [0, -0, 1, 1n, 2n ** 70n, -(2n ** 70n), new BigDec(150n, 2), new BigDec(15n, 1),
      new BigDec(1n, 2147483647), new BigDec(-7n, -2147483648), new Date(-8.64e15), new Date(8.64e15),
      NaN, Infinity, 2 ** 53 + 2, ':a/b', [null, -0, 3n]];
    const datoms = values.map((v, i) => new Datom(1000 + i, 10, v, tx, true));
    const back = decodeSegmentBody(encodeSegmentBody(leaf(datoms)));
    expect(segmentsIdentical(back, leaf(datoms))).toBe(true);
    const v = (back as LeafSegment).datoms.map((d) => d.v);
    expect(Object.is(v[1], -0)).toBe(true);
    expect(typeof v[2]).toBe('number');
    expect(typeof v[3]).toBe('bigint');
    expect((v[6] as BigDec).scale).toBe(2);
  });

  it('keeps history records apart from plain retractions', () => {
    const r = new Retraction(1000, 10, 'x', TX0 + 5, TX0 + 2);
    const d = new Datom(1001, 10, 'x', TX0 + 5, false);
    const back = decodeSegmentBody(encodeSegmentBody(leaf([r, d], 'eavt', true)));
    const [r2, d2] = (back as LeafSegment).datoms;
    expect(r2).toBeInstanceOf(Retraction);
    expect((r2 as Retraction).assertTx).toBe(TX0 + 2);
    expect(d2).not.toBeInstanceOf(Retraction);
    expect(d2!.added).toBe(false);
  });

  it('refuses unsorted or duplicate datoms, empty branches and bad children with incorrect', () => {
    const a = new Datom(1000, 10, 'a', TX0 + 1, true);
    const b = new Datom(1001, 10, 'a', TX0 + 1, true);
    expect(fails(() => encodeSegmentBody(leaf([b, a])))).toMatchObject({ category: 'incorrect', code: 'segment/unsorted' });
    expect(fails(() => encodeSegmentBody(leaf([a, a])))).toMatchObject({ category: 'incorrect', code: 'segment/unsorted' });
    // AEVT orders by attribute first: a run sorted by entity is not sorted for it.
    const c = new Datom(1000, 11, 'a', TX0 + 1, true);
    expect(() => encodeSegmentBody(leaf([a, c], 'aevt'))).not.toThrow();
    expect(fails(() => encodeSegmentBody(leaf([c, b], 'aevt')))).toMatchObject({ code: 'segment/unsorted' });
    const branch = (children: Array<{ key: string; size: number; last: Datom }>): Segment =>
      ({ kind: 'branch', index: 'eavt', history: false, children });
    expect(fails(() => encodeSegmentBody(branch([])))).toMatchObject({ category: 'incorrect', code: 'segment/invalid' });
    expect(fails(() => encodeSegmentBody(branch([{ key: 'k', size: 0, last: a }])))).toMatchObject({ code: 'segment/invalid' });
    expect(fails(() => encodeSegmentBody({ ...leaf([a]), index: 'xyz' as Segment['index'] }))).toMatchObject({ code: 'segment/invalid' });
  });

  it('reports damaged bodies as fault, and a newer body format as unsupported-format', () => {
    const bytes = encodeSegmentBody(leaf([new Datom(1000, 10, 'a', TX0 + 1, true)]));
    expect(fails(() => decodeSegmentBody(bytes.subarray(0, bytes.length - 3)))).toMatchObject({ category: 'fault', code: 'segment/corrupt' });
    expect(fails(() => decodeSegmentBody(new Uint8Array([0xc0])))).toMatchObject({ category: 'fault', code: 'segment/corrupt' });
    // The body starts with the map header and key 'f': bump the format number that follows.
    const newer = Uint8Array.from(bytes);
    const at = Buffer.from(newer).indexOf(Buffer.from([0xa1, 0x66, 0x01]));
    newer[at + 2] = 0x02;
    expect(fails(() => decodeSegmentBody(newer))).toMatchObject({ category: 'fault', code: 'segment/unsupported-format' });
  });
});
