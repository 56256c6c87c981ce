/**
 * Segment garbage collection (Datomic's gcStorage; docs/operations.md, "Collecting segment
 * garbage"; docs/adr/010-segment-format-and-root-protocol.md).
 *
 * A segment is live when the current root of a database in the catalog reaches it: the root
 * names nine root segments (four current indexes, four history indexes, the log), and every
 * branch names its children. Everything else under `segments/<database id>/` is garbage: the
 * segments of roots that were replaced, of indexing jobs that lost a race or died before
 * advancing the root, and every segment of a deleted database.
 *
 * Garbage is deleted only once its S3 LastModified is older than `now - olderThanMs`, because
 * the current root is not the only one in use: a node or a query still holding an older root in
 * memory reads that root's segments until it moves on. The age is what keeps them; hence a
 * floor (MIN_GC_AGE_MS, 1 hour, far above any query's or a node's catch-up) that only tests
 * may go below. The age also covers:
 *
 * - an indexing job in progress: it writes its segments before it advances the root, so while
 *   it runs they are unreferenced, but they are younger than the age (written after `now`);
 * - a root that advances during the sweep: the root is read again after the prefix is listed,
 *   and each newer root found is walked too (the live set is the union);
 * - a database created during the sweep (its id is not in the catalog list): its segments are
 *   younger than the age;
 * - clock skew between the node (`now`) and S3 (LastModified): minutes, against at least an hour.
 *
 * One race the age cannot cover alone: segments are content-addressed, so an indexer can write
 * a segment whose bytes equal an old garbage segment's. Its put refreshes LastModified, but the
 * sweep's listing may predate the put. So just before deleting a segment the sweep asks S3 for
 * its LastModified again (HeadObject) and keeps it if it became young; indexers must therefore
 * always put every segment a new root needs beyond the old root, never skip a put because the
 * key exists (the put is idempotent and cheap). What remains is the milliseconds between that
 * check and the delete.
 *
 * A segment a root names that cannot be read (missing, damaged) stops the sweep of that
 * database before anything is deleted there: its children are unknown, so nothing can be
 * called garbage. The report says so; other databases are still swept.
 */
import {
  INDEX_NAMES,
  anomalyToJson,
  childKeys,
  fault,
  incorrect,
  isDatalithError,
  busy,
  type AnomalyJson,
} from '../../engine';
import type { CatalogStore } from './catalog-store';
import type { IndexRoot, IndexRootStore } from './index-roots';
import type { SegmentStore, StoredSegment } from './segment-store';

/** The shortest age the sweep accepts without `allowShortAge`: 1 hour. */
export const MIN_GC_AGE_MS = 60 * 60 * 1000;
/** Segment reads, checks and deletes in flight at once (default). */
export const DEFAULT_GC_CONCURRENCY = 8;
const MAX_GC_CONCURRENCY = 256;
/** Roots read again at the end of a database's walk before the sweep gives up on a moving root. */
const MAX_ROOT_ROUNDS = 10;

export interface SegmentGcOptions {
  readonly catalog: Pick<CatalogStore, 'listDatabaseRecords'>;
  readonly roots: Pick<IndexRootStore, 'get'>;
  readonly segments: Pick<SegmentStore, 'listDatabases' | 'list' | 'getAny' | 'stat' | 'delete'>;
  /** Garbage last modified before `now - olderThanMs` is deleted; younger garbage is kept. */
  readonly olderThanMs: number;
  /** The sweep's start time, epoch ms (default `Date.now()`). */
  readonly now?: number;
  /** Report what would be deleted, delete nothing. */
  readonly dryRun?: boolean;
  /** Storage calls in flight at once (default 8). */
  readonly concurrency?: number;
  /** Accept an `olderThanMs` below MIN_GC_AGE_MS (tests only: it can delete segments an older root still needs). */
  readonly allowShortAge?: boolean;
}

export interface GcCounts {
  segments: number;
  bytes: number;
}

export interface DatabaseGcReport {
  /** The database id (the segment prefix). */
  readonly db: string;
  /** The database's name; absent for a deleted database. */
  readonly name?: string;
  /** `deleted`: the id is no longer in the catalog, so all its segments are garbage. */
  readonly state: 'live' | 'deleted';
  /** indexedT of each root walked (the current root, and any that replaced it during the walk). */
  readonly roots: number[];
  /** Stored segments a walked root reaches. */
  readonly live: GcCounts;
  /** Garbage deleted (in a dry run: that would be deleted). */
  readonly deleted: GcCounts;
  /** Garbage younger than the age, kept. */
  readonly keptYoung: GcCounts;
  /** Why this database's sweep stopped (nothing more of it was deleted). */
  error?: AnomalyJson;
}

export interface GcReport {
  readonly dryRun: boolean;
  readonly olderThanMs: number;
  /** ISO-8601: garbage last modified before this instant is deleted. */
  readonly cutoff: string;
  readonly databases: DatabaseGcReport[];
  readonly totals: {
    databases: number;
    live: GcCounts;
    deleted: GcCounts;
    keptYoung: GcCounts;
    errors: number;
  };
}

const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };
const DURATION = /^(\d+)(ms|s|m|h|d)?$/;

/**
 * A duration in milliseconds: a non-negative integer of milliseconds, or a string such as
 * `30m`, `12h`, `7d` (units ms, s, m, h, d; digits alone are milliseconds).
 */
export function parseDuration(x: unknown, field = 'olderThan'): number {
  let ms: number | undefined;
  if (typeof x === 'number') ms = x;
  else if (typeof x === 'string') {
    const m = DURATION.exec(x.trim());
    if (m) ms = Number(m[1]) * UNITS[m[2] ?? 'ms']!;
  }
  if (ms === undefined || !Number.isSafeInteger(ms) || ms < 0) {
    throw incorrect('gc/invalid-duration',
      `${field} must be a duration such as "30m", "12h" or "7d" (units ms, s, m, h, d), or a number of milliseconds; got ${JSON.stringify(x)}`,
      { field });
  }
  return ms;
}

const counts = (): GcCounts => ({ segments: 0, bytes: 0 });
const add = (c: GcCounts, bytes: number): void => {
  c.segments += 1;
  c.bytes += bytes;
};

/** Runs `fn` over a queue that `fn` may extend, at most `concurrency` at once; rejects with the first failure. */
async function runQueue<T>(initial: readonly T[], concurrency: number, fn: (x: T) => Promise<readonly T[] | void>): Promise<void> {
  const queue = [...initial];
  let active = 0;
  let failed = false;
  await new Promise<void>((resolve, reject) => {
    const pump = (): void => {
      if (failed) return;
      if (queue.length === 0 && active === 0) {
        resolve();
        return;
      }
      while (active < concurrency && queue.length > 0) {
        const x = queue.shift() as T;
        active++;
        fn(x).then((more) => {
          active--;
          if (more) queue.push(...more);
          pump();
        }, (e: unknown) => {
          failed = true;
          reject(e);
        });
      }
    };
    pump();
  });
}

const rootKeys = (r: IndexRoot): string[] => [...INDEX_NAMES.map((i) => r.current[i]), ...INDEX_NAMES.map((i) => r.history[i]), r.log];

function checkOptions(o: SegmentGcOptions): { olderThanMs: number; now: number; concurrency: number } {
  const { olderThanMs } = o;
  if (typeof olderThanMs !== 'number' || !Number.isSafeInteger(olderThanMs) || olderThanMs < 0) {
    throw incorrect('gc/invalid-duration', `olderThanMs must be a non-negative integer of milliseconds, got ${String(olderThanMs)}`);
  }
  if (olderThanMs < MIN_GC_AGE_MS && o.allowShortAge !== true) {
    throw incorrect('gc/age-too-short',
      `segment garbage must be older than at least 1h (${MIN_GC_AGE_MS} ms) to be collected, got ${olderThanMs} ms: `
      + 'a node or query may still read an older root\'s segments for a while after the root moves on',
      { olderThanMs, minimumMs: MIN_GC_AGE_MS });
  }
  const now = o.now ?? Date.now();
  if (!Number.isFinite(now)) throw incorrect('gc/invalid-option', `now must be a time in epoch ms, got ${String(now)}`);
  const concurrency = o.concurrency ?? DEFAULT_GC_CONCURRENCY;
  if (!Number.isSafeInteger(concurrency) || concurrency < 1 || concurrency > MAX_GC_CONCURRENCY) {
    throw incorrect('gc/invalid-option', `concurrency must be an integer from 1 to ${MAX_GC_CONCURRENCY}, got ${String(concurrency)}`);
  }
  return { olderThanMs, now, concurrency };
}

/**
 * Deletes the segments no database's current root reaches and that are older than the age, for
 * every database in the catalog and every deleted database still holding segments.
 */
export async function collectSegmentGarbage(opts: SegmentGcOptions): Promise<GcReport> {
  const { olderThanMs, now, concurrency } = checkOptions(opts);
  const { catalog, roots, segments } = opts;
  const dryRun = opts.dryRun === true;
  const cutoff = now - olderThanMs;

  // The catalog first, then the prefixes: a prefix whose id is not in the list is a deleted
  // database's, or one created after the list was read (whose segments are all young).
  const records = await catalog.listDatabaseRecords();
  const names = new Map(records.map((r) => [r.id, r.name]));
  const prefixes = await segments.listDatabases();

  /** Walk the segments the root names, adding every key reached to `live`. */
  const walk = async (db: string, root: IndexRoot, live: Set<string>): Promise<void> => {
    const fresh = rootKeys(root).filter((k) => !live.has(k));
    for (const k of fresh) live.add(k);
    await runQueue(fresh, concurrency, async (key) => {
      const segment = await segments.getAny(db, key);
      if (segment === undefined) {
        throw fault('gc/missing-segment', `database ${db}'s root at t ${root.indexedT} reaches segment ${key}, which is not in storage`,
          { db, key, indexedT: root.indexedT });
      }
      const next = childKeys(segment).filter((k) => !live.has(k));
      for (const k of next) live.add(k);
      return next;
    });
  };

  /** Delete the garbage of `stored` older than the cutoff, each checked again just before. */
  const sweep = async (db: string, stored: readonly StoredSegment[], live: ReadonlySet<string>, report: DatabaseGcReport): Promise<void> => {
    const old: StoredSegment[] = [];
    for (const s of stored) {
      if (live.has(s.key)) add(report.live, s.bytes);
      else if (s.lastModified.getTime() < cutoff) old.push(s);
      else add(report.keptYoung, s.bytes);
    }
    if (dryRun) {
      for (const s of old) add(report.deleted, s.bytes);
      return;
    }
    await runQueue(old, concurrency, async (s) => {
      const now = await segments.stat(db, s.key);
      if (now === undefined) return; // gone already (another sweep)
      if (now.lastModified.getTime() >= cutoff) {
        add(report.keptYoung, now.bytes); // written again since the listing: a new root may need it
        return;
      }
      await segments.delete(db, s.key);
      add(report.deleted, now.bytes);
    });
  };

  const liveDatabase = async (db: string, report: DatabaseGcReport): Promise<void> => {
    const live = new Set<string>();
    let walked: IndexRoot | undefined = await roots.get(db);
    if (walked !== undefined) {
      await walk(db, walked, live);
      report.roots.push(walked.indexedT);
    }
    const stored = await segments.list(db);
    // Read the root again after listing: any root stored from now on was written after `now`,
    // so what it adds is younger than the age. A root that moved is walked too.
    for (let round = 0; ; round++) {
      const current = await roots.get(db);
      if (current === undefined || current.indexedT === walked?.indexedT) break;
      if (round === MAX_ROOT_ROUNDS) {
        throw busy('gc/root-moving', `database ${db}'s root kept moving during the sweep (${round} new roots); nothing of it was deleted`, { db });
      }
      await walk(db, current, live);
      report.roots.push(current.indexedT);
      walked = current;
    }
    await sweep(db, stored, live, report);
  };

  const databases: DatabaseGcReport[] = [];
  const ids = [...new Set([...records.map((r) => r.id), ...prefixes])];
  for (const db of ids) {
    const name = names.get(db);
    const report: DatabaseGcReport = {
      db, ...(name !== undefined ? { name } : {}), state: name !== undefined ? 'live' : 'deleted',
      roots: [], live: counts(), deleted: counts(), keptYoung: counts(),
    };
    databases.push(report);
    try {
      if (name !== undefined) await liveDatabase(db, report);
      else await sweep(db, await segments.list(db), new Set(), report);
    } catch (e) {
      if (!isDatalithError(e)) throw e;
      report.error = anomalyToJson(e, { data: null });
    }
  }

  const totals = { databases: databases.length, live: counts(), deleted: counts(), keptYoung: counts(), errors: 0 };
  for (const d of databases) {
    for (const k of ['live', 'deleted', 'keptYoung'] as const) {
      totals[k].segments += d[k].segments;
      totals[k].bytes += d[k].bytes;
    }
    if (d.error !== undefined) totals.errors += 1;
  }
  return { dryRun, olderThanMs, cutoff: new Date(cutoff).toISOString(), databases, totals };
}
