/**
 * The persistent B+tree behind every index, against a sorted-array model: inserts, removals,
 * batched edits, range walks, counts, and persistence (old versions never change, structure is
 * shared between versions).
 */
import fc from 'fast-check';
import { Edit, SortedSet } from '../../services/engine/btree';

const cmp = (a: number, b: number): number => a - b;
const between = (lo: number, hi: number) => [(k: number) => (k < lo ? -1 : 0), (k: number) => (k > hi ? 1 : 0)] as const;

type Step = { op: 'insert' | 'remove'; key: number; batch: boolean };
const stepArb: fc.Arbitrary<Step> = fc.record({
  op: fc.constantFrom<'insert' | 'remove'>('insert', 'insert', 'remove'),
  key: fc.integer({ min: 0, max: 3000 }),
  batch: fc.boolean(),
});

function model(keys: Iterable<number>): number[] {
  return [...new Set(keys)].sort(cmp);
}

describe('SortedSet (persistent B+tree)', () => {
  test('random inserts and removals agree with a sorted array; every old version stays intact', () => {
    fc.assert(
      fc.property(fc.array(stepArb, { minLength: 1, maxLength: 1500, size: 'max' }), fc.array(fc.integer({ min: 0, max: 3000 }), { maxLength: 300, size: 'max' }), (steps, initial) => {
        let set = SortedSet.fromSorted(model(initial), cmp);
        const ref = new Set(initial);
        const versions: Array<[SortedSet<number>, number[]]> = [[set, model(ref)]];
        let edit: Edit | null = null;
        steps.forEach((s, i) => {
          if (s.batch) edit ??= new Edit();
          else if (edit) {
            edit.live = false;
            edit = null;
          }
          if (s.op === 'insert') {
            set = set.insert(s.key, edit);
            ref.add(s.key);
          } else {
            set = set.remove(s.key, edit);
            ref.delete(s.key);
          }
          // Versions inside one live batch may share mutable nodes: only record finished ones.
          if (!edit && i % 25 === 0) versions.push([set, model(ref)]);
        });
        if (edit) (edit as Edit).live = false;
        versions.push([set, model(ref)]);
        for (const [v, r] of versions) {
          expect(v.size).toBe(r.length);
          expect(v.toArray()).toEqual(r);
        }
        for (const k of [0, 1, 1500, 2999, 3000]) expect(set.has(k)).toBe(ref.has(k));
      }),
      { numRuns: 60 },
    );
  });

  test('range walks, counts and first agree with the model', () => {
    fc.assert(
      fc.property(fc.uniqueArray(fc.integer({ min: 0, max: 100_000 }), { maxLength: 3000, size: 'max' }), fc.integer({ min: -10, max: 100_010 }), fc.nat(100_000), (keys, lo, width) => {
        const ref = model(keys);
        let set = SortedSet.empty(cmp);
        const edit = new Edit();
        for (const k of keys) set = set.insert(k, edit);
        edit.live = false;
        const hi = lo + width;
        const inRange = ref.filter((k) => k >= lo && k <= hi);
        const [l, h] = between(lo, hi);
        expect(set.rangeToArray(l, h)).toEqual(inRange);
        expect(set.countRange(l, h)).toBe(inRange.length);
        expect(set.first(l, h)).toBe(inRange[0]);
        const walked: number[] = [];
        set.forRange(l, h, (k) => {
          walked.push(k);
          return walked.length < 5;
        });
        expect(walked).toEqual(inRange.slice(0, 5));
      }),
      { numRuns: 100 },
    );
  });

  test('removing everything, in any order, leaves an empty set that still works', () => {
    fc.assert(
      fc.property(fc.uniqueArray(fc.integer({ min: 0, max: 10_000 }), { minLength: 1, maxLength: 2000, size: 'max' }), fc.boolean(), (keys, batch) => {
        let set = SortedSet.fromSorted(model(keys), cmp);
        const edit = batch ? new Edit() : null;
        for (const k of [...keys].reverse()) set = set.remove(k, edit);
        if (edit) edit.live = false;
        expect(set.size).toBe(0);
        expect(set.toArray()).toEqual([]);
        set = set.insert(7).insert(3);
        expect(set.toArray()).toEqual([3, 7]);
      }),
      { numRuns: 40 },
    );
  });

  test('a new version shares structure: inserting into a large set does not copy it', () => {
    const n = 200_000;
    const big = SortedSet.fromSorted(Array.from({ length: n }, (_, i) => i * 2), cmp);
    let v = big;
    for (let i = 0; i < 3000; i++) v = v.insert(i * 2 + 1);
    expect(v.size).toBe(n + 3000);
    expect(big.size).toBe(n);
    expect(big.has(1)).toBe(false);
    // The inserts touched the first ~200 of ~4,000 leaves: every other node is the old one.
    const { nodes, shared } = v.sharing(big);
    expect(shared / nodes).toBeGreaterThan(0.9);
    // One more insert makes one new path from a leaf to the root (four levels here), no more.
    const next = v.insert(-1).sharing(v);
    expect(next.nodes - next.shared).toBe(4);
  });

  test('get returns the stored key equal under the comparator', () => {
    type Row = { id: number; name: string };
    const byId = (a: Row, b: Row): number => a.id - b.id;
    const stored = { id: 5, name: 'five' };
    const set = SortedSet.empty(byId).insert({ id: 1, name: 'one' }).insert(stored);
    expect(set.get({ id: 5, name: '' })).toBe(stored);
    expect(set.get({ id: 6, name: '' })).toBeUndefined();
    // Inserting an equal key keeps the set (and the stored key) unchanged.
    expect(set.insert({ id: 5, name: 'other' })).toBe(set);
  });
});
