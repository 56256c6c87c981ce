/**
 * The node's cache of loaded index segments (docs/adr/010-segment-format-and-root-protocol.md,
 * "Read path"), in two tiers, each least recently used first out (CLOCK) and bounded in bytes, together
 * `--cache-size-mb`:
 * - decoded tree nodes by content key, bounded by an estimate of their memory;
 * - the stored (compressed) bytes of segments fetched, at most a quarter of the budget (the decoded
 *   tier has the rest, and what the stored tier leaves unused). A stored segment is
 *   some fifty times smaller than its decoded nodes, so this tier holds far more of a database: a
 *   decoded node evicted is decoded again from it, synchronously, without a round trip to storage.
 * Segments are immutable, so an entry is never stale; one evicted from both tiers is fetched again
 * when a walk needs it.
 *
 * The engine is synchronous: a walk that meets a segment not cached throws SegmentMiss. `run`
 * catches it, fetches what it names (in parallel: one round trip), and runs the walk again. Every
 * round loads at least one new segment, so a walk finishes unless the cache is too small to hold
 * what one walk needs at once, which is refused after MAX_MISS_ROUNDS.
 */
import { MAX_MISS_ROUNDS, runLoading, SegmentMiss, busy, fault, nodeOfSegment, segmentKeyCount, type IndexNode, type NodeStore, type StoredSegment } from '../../engine';
import { decodeAnySegment, type SegmentStore } from '../storage';

/** Segments fetched at once (one round of a miss). */
const FETCH_CONCURRENCY = 32;
/** Memory of a key in a loaded node: a datom object with its fields, or a log entry (estimate). */
const BYTES_PER_KEY = 120;
/** The share of the cache's budget that keeps stored segment bytes. */
const STORED_SHARE = 0.25;

export interface SegmentCacheStats {
  /** Lookups answered from memory (either tier), and not. */
  hits: number;
  misses: number;
  /** Hits on the stored tier: a node decoded again from bytes kept in memory. */
  decodes: number;
  /** Segments fetched from storage, their stored bytes, and the rounds they were fetched in. */
  fetches: number;
  fetchedBytes: number;
  roundTrips: number;
  /** Estimated memory of both tiers, and the limit (--cache-size-mb). */
  bytes: number;
  limitBytes: number;
  /** Decoded nodes cached, and evicted. */
  entries: number;
  evictions: number;
  /** Stored segments kept, and their bytes. */
  storedEntries: number;
  storedBytes: number;
}

/** A map of entries bounded by their total size, least recently used out (CLOCK: an entry read since the sweep last saw it gets a second chance). */
class ClockMap<V> {
  readonly entries = new Map<string, { value: V; bytes: number; used: boolean }>();
  bytes = 0;
  evictions = 0;

  /** Mutable: the decoded tier's limit is what the stored tier leaves of the budget. */
  constructor(public limitBytes: number) {}

  get(key: string): V | undefined {
    const e = this.entries.get(key);
    if (e === undefined) return undefined;
    e.used = true;
    return e.value;
  }

  set(key: string, value: V, bytes: number): void {
    const old = this.entries.get(key);
    if (old !== undefined) {
      this.bytes -= old.bytes;
      this.entries.delete(key);
    }
    this.entries.set(key, { value, bytes, used: false });
    this.bytes += bytes;
    // In insertion order, an entry read since the sweep last saw it goes to the back instead; one not read is evicted.
    let passes = 0;
    for (const [k, e] of this.entries) {
      if (this.bytes <= this.limitBytes || this.entries.size <= 1 || passes++ > 2 * this.entries.size) break;
      this.entries.delete(k);
      if (e.used && k !== key) {
        e.used = false;
        this.entries.set(k, e);
        continue;
      }
      this.bytes -= e.bytes;
      this.evictions++;
    }
  }
}

export class SegmentCache {
  private readonly decoded: ClockMap<IndexNode<unknown>>;
  private readonly stored: ClockMap<Uint8Array>;
  private readonly counts = { hits: 0, misses: 0, decodes: 0, fetches: 0, fetchedBytes: 0, roundTrips: 0 };

  constructor(readonly limitBytes: number) {
    const storedLimit = Math.floor(limitBytes * STORED_SHARE);
    this.stored = new ClockMap(storedLimit);
    this.decoded = new ClockMap(limitBytes);
  }

  /**
   * A lookup is on every step of a walk into a durable tree: a flag write, no reordering. A node
   * evicted whose stored bytes are kept is decoded again here.
   */
  get(key: string): IndexNode<unknown> | undefined {
    const node = this.decoded.get(key);
    if (node !== undefined) {
      this.counts.hits++;
      return node;
    }
    const raw = this.stored.get(key);
    if (raw === undefined) {
      this.counts.misses++;
      return undefined;
    }
    // The bytes were checked against their key when fetched.
    const segment = decodeAnySegment(raw);
    const again = nodeOfSegment(key, segment);
    this.decoded.set(key, again, decodedBytes(segment));
    this.counts.hits++;
    this.counts.decodes++;
    return again;
  }

  has(key: string): boolean {
    return this.decoded.entries.has(key) || this.stored.entries.has(key);
  }

  /**
   * A segment fetched or written: its stored bytes and its decoded node. The decoded tier may use
   * what the stored tier does not (a database smaller compressed than its quarter): at 1 M
   * datoms and 256 MB the stored tier held the whole database in a third of its share.
   */
  set(key: string, segment: StoredSegment, raw: Uint8Array): void {
    this.stored.set(key, raw, raw.byteLength);
    this.decoded.limitBytes = this.limitBytes - this.stored.bytes;
    this.decoded.set(key, nodeOfSegment(key, segment), decodedBytes(segment));
  }

  /** Counts a round of fetches (the segments one miss named, fetched in parallel). */
  fetched(segments: number, bytes: number): void {
    this.counts.fetches += segments;
    this.counts.fetchedBytes += bytes;
    this.counts.roundTrips++;
  }

  snapshot(): SegmentCacheStats {
    return {
      ...this.counts,
      bytes: this.decoded.bytes + this.stored.bytes,
      limitBytes: this.limitBytes,
      entries: this.decoded.entries.size,
      evictions: this.decoded.evictions,
      storedEntries: this.stored.entries.size,
      storedBytes: this.stored.bytes,
    };
  }
}

/** The estimated memory of a segment's decoded node. */
const decodedBytes = (segment: StoredSegment): number => segmentKeyCount(segment) * BYTES_PER_KEY;

/**
 * One database's segments: the NodeStore its durable trees load through (from the node's cache),
 * and the fetches that fill it from the segment store.
 */
export class DatabaseSegments implements NodeStore<unknown> {
  private readonly inFlight = new Map<string, Promise<void>>();

  constructor(
    readonly dbId: string,
    private readonly store: SegmentStore,
    readonly cache: SegmentCache,
  ) {}

  /** Segments are content-addressed: the cache is keyed by address, whichever database holds them. */
  load(addr: string): IndexNode<unknown> | undefined {
    return this.cache.get(addr);
  }

  /**
   * A segment this node just wrote, into the cache: the host moves onto the new root at once, and
   * re-applies the transactions committed during the job to the segments they touch.
   */
  written(addr: string, segment: StoredSegment, raw: Uint8Array): void {
    this.cache.set(addr, segment, raw);
  }

  /** Fetches segments into the cache (those already cached or on their way are not fetched twice). */
  async fetch(addrs: readonly string[]): Promise<void> {
    const todo = [...new Set(addrs)];
    let bytes = 0;
    let fetched = 0;
    const one = async (addr: string): Promise<void> => {
      if (this.cache.has(addr)) return;
      let p = this.inFlight.get(addr);
      if (p === undefined) {
        p = (async () => {
          const got = await this.store.getWithBytes(this.dbId, addr);
          if (got === undefined) {
            throw fault('segment/missing', `index segment ${addr} of database ${this.dbId} is not in the segment store`, { key: addr });
          }
          bytes += got.raw.byteLength;
          fetched++;
          this.cache.set(addr, got.segment, got.raw);
        })().finally(() => this.inFlight.delete(addr));
        this.inFlight.set(addr, p);
      }
      await p;
    };
    for (let i = 0; i < todo.length; i += FETCH_CONCURRENCY) {
      await Promise.all(todo.slice(i, i + FETCH_CONCURRENCY).map(one));
    }
    this.cache.fetched(fetched, bytes);
  }
}

/**
 * Runs a synchronous engine operation, fetching the segments it misses and running it again.
 * `fn` must start from immutable values each time (every engine operation does).
 */
export async function withSegments<T>(fn: () => T | Promise<T>): Promise<T> {
  for (let round = 0; ; round++) {
    try {
      return await fn();
    } catch (e) {
      if (!(e instanceof SegmentMiss)) throw e;
      if (round >= MAX_MISS_ROUNDS) throw cacheTooSmall(round);
      const store = e.store as unknown;
      if (!(store instanceof DatabaseSegments)) throw e;
      await store.fetch(e.addrs);
    }
  }
}

/** A synchronous engine operation through its misses (the engine's runLoading). */
export const evaluate = runLoading;

function cacheTooSmall(round: number): Error {
  return busy('segment/cache-too-small', `The operation needs more index segments at once than this node's segment cache holds (${round} rounds of fetching); retry, or give the node a larger --cache-size-mb`);
}
