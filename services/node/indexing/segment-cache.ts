/**
 * The node's cache of loaded index segments (docs/adr/010-segment-format-and-root-protocol.md,
 * "Read path"): decoded tree nodes by content key, least recently used first out (CLOCK),
 * bounded by an estimate of their memory in bytes (`--cache-size-mb`). Segments are immutable, so an entry is
 * never stale; an evicted one is fetched again when a walk needs it.
 *
 * The engine is synchronous: a walk that meets a segment not cached throws SegmentMiss. `run`
 * catches it, fetches what it names (in parallel: one round trip), and runs the walk again. Every
 * round loads at least one new segment, so a walk finishes unless the cache is too small to hold
 * what one walk needs at once, which is refused after MAX_MISS_ROUNDS.
 */
import { MAX_MISS_ROUNDS, runLoading, SegmentMiss, busy, fault, nodeOfSegment, segmentKeyCount, type IndexNode, type NodeStore } from '../../engine';
import type { SegmentStore } from '../storage';

/** Segments fetched at once (one round of a miss). */
const FETCH_CONCURRENCY = 32;
/** Memory of a key in a loaded node: a datom object with its fields, or a log entry (estimate). */
const BYTES_PER_KEY = 120;

export interface SegmentCacheStats {
  /** Lookups answered from memory, and not. */
  hits: number;
  misses: number;
  /** Segments fetched from storage, their stored bytes, and the rounds they were fetched in. */
  fetches: number;
  fetchedBytes: number;
  roundTrips: number;
  /** Estimated memory of the cached nodes, and the limit. */
  bytes: number;
  limitBytes: number;
  entries: number;
  evictions: number;
}

interface Entry {
  readonly node: IndexNode<unknown>;
  readonly bytes: number;
  /** Read since the eviction sweep last passed it (the clock's second chance). */
  used: boolean;
}

export class SegmentCache {
  private readonly entries = new Map<string, Entry>();
  private readonly stats: SegmentCacheStats;

  constructor(readonly limitBytes: number) {
    this.stats = { hits: 0, misses: 0, fetches: 0, fetchedBytes: 0, roundTrips: 0, bytes: 0, limitBytes, entries: 0, evictions: 0 };
  }

  /** A lookup is on every step of a walk into a durable tree: a flag write, no reordering. */
  get(key: string): IndexNode<unknown> | undefined {
    const e = this.entries.get(key);
    if (e === undefined) {
      this.stats.misses++;
      return undefined;
    }
    this.stats.hits++;
    e.used = true;
    return e.node;
  }

  has(key: string): boolean {
    return this.entries.has(key);
  }

  set(key: string, node: IndexNode<unknown>, bytes: number): void {
    const old = this.entries.get(key);
    if (old !== undefined) {
      this.stats.bytes -= old.bytes;
      this.entries.delete(key);
    }
    this.entries.set(key, { node, bytes, used: false });
    this.stats.bytes += bytes;
    // Least recently used out, approximately (CLOCK): in insertion order, an entry read since the
    // sweep last saw it goes to the back instead; one not read is evicted.
    let passes = 0;
    for (const [k, e] of this.entries) {
      if (this.stats.bytes <= this.limitBytes || this.entries.size <= 1 || passes++ > 2 * this.entries.size) break;
      this.entries.delete(k);
      if (e.used && k !== key) {
        e.used = false;
        this.entries.set(k, e);
        continue;
      }
      this.stats.bytes -= e.bytes;
      this.stats.evictions++;
    }
    this.stats.entries = this.entries.size;
  }

  /** Counts a round of fetches (the segments one miss named, fetched in parallel). */
  fetched(segments: number, bytes: number): void {
    this.stats.fetches += segments;
    this.stats.fetchedBytes += bytes;
    this.stats.roundTrips++;
  }

  snapshot(): SegmentCacheStats {
    return { ...this.stats, entries: this.entries.size };
  }
}

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
          const got = await this.store.getWithSize(this.dbId, addr);
          if (got === undefined) {
            throw fault('segment/missing', `index segment ${addr} of database ${this.dbId} is not in the segment store`, { key: addr });
          }
          bytes += got.bytes;
          fetched++;
          this.cache.set(addr, nodeOfSegment(addr, got.segment), segmentKeyCount(got.segment) * BYTES_PER_KEY + got.bytes);
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
