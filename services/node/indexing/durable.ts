/**
 * Durable indexes on a node (docs/adr/010-segment-format-and-root-protocol.md): the index roots
 * in the catalog as the engine reads them, and the indexing job.
 *
 * The job writes a database value's new segments — what changed since its root — to the segment
 * store, waits until every one is durable, then advances the root with one conditional write,
 * and moves the host onto the new root (its tail leaves memory). It runs in the background on
 * the nodes that commit to the database, one job per database at a time, in small steps that
 * give the event loop back between segments, so transactions keep flowing while it runs. Two
 * nodes indexing at once is safe: segments are content-addressed, and of two roots for the same
 * or an older t only the first is stored; the loser moves onto the winner's root.
 */
import * as os from 'node:os';
import type { Logger } from 'pino';
import { INDEX_NAMES, restoreState, segmentOfWrite, writeStateSegments, type DurableRoot, type IndexName } from '../../engine';
import { encodeSegment, type IndexRoot, type IndexRootStore, type SegmentStore, SEGMENT_FORMAT } from '../storage';
import type { DatabaseHost, HostDurability } from '../log/transactor';
import { SegmentCache, DatabaseSegments } from './segment-cache';

/** Defaults: index when the tail passes this many datoms; refuse transactions above ten times it. */
export const DEFAULT_INDEX_THRESHOLD_DATOMS = 200_000;
export const TAIL_MAX_FACTOR = 10;
/**
 * Segment puts in flight at once during a job. Each put costs the SDK CPU on the event loop
 * (signing, the response); with more in flight, their answers arrive together and hold the loop
 * for one long turn: 32 gave a p99 transaction latency during indexing of 2.3–2.9× the p99
 * without, 16 about 2×, 8 1.7–1.8× (`npm run bench:indexing-latency`, floor 2×).
 */
const PUT_CONCURRENCY = 8;
/**
 * A job gives the event loop back after a slice of work: at least JOB_SLICE_MS, or JOB_SHARE of
 * the time the rest of the node took between two slices, at most JOB_SLICE_MAX_MS. A fixed slice
 * starved the job under a steady write load (each turn of the loop ran a whole batch of large
 * transactions, and the job got a few milliseconds in); a share keeps it moving at a third of the
 * busy loop, while an idle loop gives it short slices in quick turns. A floor of 8 ms instead of 2
 * made small transactions wait for it: p99 2.3× the p99 without indexing, against 1.7–1.8×.
 */
const JOB_SLICE_MS = 2;
const JOB_SHARE = 0.5;
const JOB_SLICE_MAX_MS = 200;
/** After a failed job the next waits this long, doubling up to the maximum (ms). */
const FAILURE_BACKOFF_MS = 1_000;
const FAILURE_BACKOFF_MAX_MS = 30_000;
/** A follower looks for a newer root at most this often while its tail is above the threshold. */
const ROOT_CHECK_INTERVAL_MS = 2_000;

/** A sensible cache size for this machine: a quarter of its memory, between 64 MB and 1 GB. */
export function defaultCacheSizeMb(): number {
  return Math.max(64, Math.min(1024, Math.floor(os.totalmem() / (4 * 1024 * 1024))));
}

/** A stored root as the engine restores it, with the addresses of its nine root segments. */
export interface LoadedRoot {
  readonly root: DurableRoot;
  readonly addrs: string[];
  readonly record: IndexRoot;
}

export function rootOfRecord(r: IndexRoot): LoadedRoot {
  const tree = (addr: string, size: number) => ({ addr, size });
  const per = (keys: IndexRoot['current'], sizes: Readonly<Record<IndexName, number>>) =>
    Object.fromEntries(INDEX_NAMES.map((i) => [i, tree(keys[i], sizes[i])])) as Record<IndexName, { addr: string; size: number }>;
  const root: DurableRoot = {
    t: r.indexedT,
    current: per(r.current, r.sizes.current),
    history: per(r.history, r.sizes.history),
    log: tree(r.log, r.sizes.log),
    maxEid: r.maxEid,
    lastInstant: r.lastInstant,
  };
  return { root, addrs: [...INDEX_NAMES.flatMap((i) => [r.current[i], r.history[i]]), r.log], record: r };
}

export function recordOfRoot(db: string, root: DurableRoot, writtenBy: string, now = new Date()): IndexRoot {
  const keys = (x: DurableRoot['current']) => Object.fromEntries(INDEX_NAMES.map((i) => [i, x[i].addr])) as Record<IndexName, string>;
  const sizes = (x: DurableRoot['current']) => Object.fromEntries(INDEX_NAMES.map((i) => [i, x[i].size])) as Record<IndexName, number>;
  return {
    db,
    indexedT: root.t,
    format: SEGMENT_FORMAT,
    current: keys(root.current),
    history: keys(root.history),
    log: root.log.addr,
    sizes: { current: sizes(root.current), history: sizes(root.history), log: root.log.size },
    maxEid: root.maxEid,
    lastInstant: root.lastInstant,
    datoms: root.current.eavt.size,
    historyRecords: root.history.eavt.size,
    createdAt: now.toISOString(),
    writtenBy,
  };
}

/** The index roots as hosts read them. */
export interface DurableRootSource {
  get(dbId: string): Promise<LoadedRoot | undefined>;
}

export class DurableRoots implements DurableRootSource {
  constructor(readonly store: IndexRootStore) {}

  async get(dbId: string): Promise<LoadedRoot | undefined> {
    const r = await this.store.get(dbId);
    return r === undefined ? undefined : rootOfRecord(r);
  }
}

/**
 * Where a job stands, for tests that stop it at each step (a crash at that point):
 * `segment-put` after each segment put is durable (others may still be in flight), then
 * `segments-written` once every one is, `root-advanced` after the conditional write of the root
 * (won or lost), `rebased` when the host is on the new root.
 */
export type IndexingStep = 'segment-put' | 'segments-written' | 'root-advanced' | 'rebased';
export const INDEXING_STEPS: readonly IndexingStep[] = ['segment-put', 'segments-written', 'root-advanced', 'rebased'];

export interface IndexingOptions {
  readonly segments: SegmentStore;
  readonly roots: IndexRootStore;
  readonly cache: SegmentCache;
  /** Tail datoms that start a job on a node committing to the database. */
  readonly thresholdDatoms: number;
  /** Tail datoms above which transactions get `busy` (0: never). */
  readonly tailMaxDatoms: number;
  /** Whether this node runs jobs (query workers only follow roots). */
  readonly index: boolean;
  readonly nodeId: string;
  readonly logger?: Logger;
  /** Called at each step of a job; throwing stops the job there (fault tests). */
  readonly onStep?: (step: IndexingStep, host: DatabaseHost) => void | Promise<void>;
}

export interface IndexingStats {
  jobs: number;
  failures: number;
  segmentsWritten: number;
  bytesWritten: number;
  lostRaces: number;
}

/** Indexing for every database a node hosts. */
export class Indexing {
  private readonly running = new Map<string, Promise<void>>();
  private readonly lastRootCheck = new Map<string, number>();
  /** After a failed job: not before this time (ms), and the next wait if it fails again. */
  private readonly backoff = new Map<string, { until: number; ms: number }>();
  readonly stats: IndexingStats = { jobs: 0, failures: 0, segmentsWritten: 0, bytesWritten: 0, lostRaces: 0 };
  private readonly roots: DurableRoots;

  constructor(readonly opts: IndexingOptions) {
    this.roots = new DurableRoots(opts.roots);
  }

  /** What a host of `dbId` needs to live on durable segments. */
  durabilityFor(dbId: string): HostDurability {
    return {
      segments: new DatabaseSegments(dbId, this.opts.segments, this.opts.cache),
      roots: this.roots,
      tailMaxDatoms: this.opts.tailMaxDatoms,
      onTail: (host, committedHere) => this.onTail(host, committedHere),
    };
  }

  /** Jobs in flight (their promises settle when done; they never reject). */
  get inFlight(): number {
    return this.running.size;
  }

  /** Resolves when the database's jobs in flight (if any, and those they started) are done. */
  async settled(dbId: string): Promise<void> {
    for (let p = this.running.get(dbId); p !== undefined; p = this.running.get(dbId)) await p;
  }

  private onTail(host: DatabaseHost, committedHere: boolean): void {
    if (host.tailDatoms < this.opts.thresholdDatoms || this.running.has(host.dbId) || host.isDeleted) return;
    if (committedHere && this.opts.index) {
      // A failing job (storage down) is not retried on every commit.
      if (host.db.t > host.indexedT && Date.now() >= (this.backoff.get(host.dbId)?.until ?? 0)) void this.start(host);
      return;
    }
    // A node that does not index follows the roots others write, so its tail stays bounded too.
    const now = Date.now();
    if (now - (this.lastRootCheck.get(host.dbId) ?? 0) < ROOT_CHECK_INTERVAL_MS) return;
    this.lastRootCheck.set(host.dbId, now);
    void this.track(host, () => this.follow(host));
  }

  /** Starts a job for the host's database now (unless one is running); resolves when it ends. */
  start(host: DatabaseHost): Promise<void> {
    return this.running.get(host.dbId) ?? this.track(host, () => this.job(host), true);
  }

  /**
   * Runs a job as the database's one job in flight. After a job that completed, the tail that
   * grew meanwhile may be past the threshold already: the next job starts at once.
   */
  private track(host: DatabaseHost, run: () => Promise<void>, again = false): Promise<void> {
    let ok = false;
    const p = run().then(() => {
      ok = true;
      this.backoff.delete(host.dbId);
    }, (e: unknown) => {
      this.stats.failures++;
      const ms = Math.min(FAILURE_BACKOFF_MAX_MS, 2 * (this.backoff.get(host.dbId)?.ms ?? FAILURE_BACKOFF_MS / 2));
      this.backoff.set(host.dbId, { until: Date.now() + ms, ms });
      this.opts.logger?.warn({ err: e, db: host.name }, 'indexing failed; the last root stays valid, the next job starts over');
    }).finally(() => {
      this.running.delete(host.dbId);
      if (ok && again) this.onTail(host, true);
    });
    this.running.set(host.dbId, p);
    return p;
  }

  /** Moves the host onto the stored root, when it is newer than the one it is on. */
  private async follow(host: DatabaseHost): Promise<void> {
    const stored = await this.roots.get(host.dbId);
    if (stored === undefined || stored.root.t <= host.indexedT) return;
    const d = host.durability!;
    await d.segments.fetch(stored.addrs);
    await host.rebase({ t: stored.root.t, state: () => restoreState(stored.root, d.segments) });
  }

  private async job(host: DatabaseHost): Promise<void> {
    const d = host.durability;
    if (d === null) return;
    this.stats.jobs++;
    const db = host.db;
    if (db.t <= host.indexedT) return;
    const dbId = host.dbId;
    // 1. Every new segment, written while the job goes on (content keys are known at once).
    const puts = new Set<Promise<void>>();
    let failed: unknown = null;
    const steps = writeStateSegments(db.state);
    let addr: string | undefined;
    let sliceStart = performance.now();
    let slice = JOB_SLICE_MS;
    for (;;) {
      const r = addr === undefined ? steps.next() : steps.next(addr);
      if (r.done) {
        await Promise.all(puts);
        if (failed !== null) throw failed;
        await this.opts.onStep?.('segments-written', host);
        // 2. Only now the root that names them.
        const record = recordOfRoot(dbId, r.value, this.opts.nodeId);
        const adv = await this.opts.roots.advance(record);
        await this.opts.onStep?.('root-advanced', host);
        const winner = adv.advanced ? rootOfRecord(adv.root) : rootOfRecord(adv.stored);
        if (!adv.advanced) this.stats.lostRaces++;
        // 3. The host moves onto the root; its tail leaves memory.
        await d.segments.fetch(winner.addrs);
        await host.rebase({ t: winner.root.t, state: () => restoreState(winner.root, d.segments) });
        await this.opts.onStep?.('rebased', host);
        return;
      }
      const segment = segmentOfWrite(r.value);
      const encoded = encodeSegment(segment);
      addr = encoded.key;
      d.segments.written(addr, segment, encoded.bytes);
      this.stats.segmentsWritten++;
      this.stats.bytesWritten += encoded.bytes.byteLength;
      const put = this.opts.segments.put(dbId, encoded)
        .then(() => this.opts.onStep?.('segment-put', host))
        .catch((e: unknown) => { failed ??= e; })
        .finally(() => puts.delete(put));
      puts.add(put);
      if (puts.size >= PUT_CONCURRENCY) await Promise.race(puts);
      if (failed !== null) {
        await Promise.all(puts);
        throw failed;
      }
      // Give the event loop back now and then: transactions must not wait for the job.
      if (performance.now() - sliceStart >= slice) {
        const yielded = performance.now();
        await new Promise<void>((res) => setImmediate(res));
        sliceStart = performance.now();
        slice = Math.min(JOB_SLICE_MAX_MS, Math.max(JOB_SLICE_MS, (sliceStart - yielded) * JOB_SHARE));
      }
    }
  }
}
