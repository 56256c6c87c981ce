/**
 * The segment cache's two tiers share one budget (services/node/indexing/segment-cache.ts): the
 * stored bytes at most a quarter of it, the decoded nodes the rest and whatever the stored tier
 * leaves unused.
 */
import { Datom } from '../../services/engine/datom';
import type { StoredSegment } from '../../services/engine';
import { SegmentCache } from '../../services/node/indexing/segment-cache';

/** A leaf of `n` datoms (decoded: ~120 bytes a key in the cache's estimate). */
const leaf = (first: number, n: number): StoredSegment => ({
  kind: 'leaf', index: 'eavt', history: false,
  datoms: Array.from({ length: n }, (_, i) => new Datom(first + i, 10, i, 1, true)),
});
const key = (i: number): string => i.toString(16).padStart(64, '0');

test('the decoded tier uses what the stored tier leaves of the budget', () => {
  const cache = new SegmentCache(100_000);
  // Eight leaves of 100 keys: ~96 KB decoded, 800 bytes stored. More than three quarters of the budget.
  for (let i = 0; i < 8; i++) cache.set(key(i), leaf(i * 100, 100), new Uint8Array(100));
  const s = cache.snapshot();
  expect(s.entries).toBe(8);
  expect(s.evictions).toBe(0);
  expect(s.storedEntries).toBe(8);
  expect(s.bytes).toBeLessThanOrEqual(s.limitBytes);
  for (let i = 0; i < 8; i++) expect(cache.get(key(i))).toBeDefined();
  expect(cache.snapshot().decodes).toBe(0);
});

test('a stored tier at its quarter leaves the decoded tier the rest; the whole stays within the budget', () => {
  const cache = new SegmentCache(100_000);
  // Stored bytes of 5 KB each: the quarter (25 KB) holds five; decoded nodes of ~12 KB each.
  for (let i = 0; i < 20; i++) {
    cache.set(key(i), leaf(i * 100, 100), new Uint8Array(5_000));
    const s = cache.snapshot();
    expect(s.storedBytes).toBeLessThanOrEqual(25_000);
    expect(s.bytes).toBeLessThanOrEqual(s.limitBytes + 12_000);
  }
  const s = cache.snapshot();
  expect(s.storedEntries).toBe(5);
  // 75 KB for decoded nodes of 12 KB: six of them.
  expect(s.entries).toBe(6);
  expect(s.bytes).toBeLessThanOrEqual(s.limitBytes);
});
