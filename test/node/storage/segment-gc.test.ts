/**
 * Segment garbage collection (services/node/storage/segment-gc.ts) against dynalite (catalog,
 * index roots) and s3rver (segments), with real segments from the codec: what every live root
 * reaches survives, garbage older than the age goes, younger garbage stays, a dry run deletes
 * nothing, a root that advances during the walk keeps its segments, a deleted database's prefix
 * goes after the same age, and ages below the floor are refused. Objects are made old by moving
 * their s3rver file's clock (ageObject), or the sweep's `now` is moved forward.
 */
import type { S3Client } from '@aws-sdk/client-s3';
import { startS3rverInProcess, type S3rverHandle } from '../../../services/local/s3rver';
import {
  CatalogStore, collectSegmentGarbage, createS3Client, ensureTables, IndexRootStore, MIN_GC_AGE_MS, parseDuration, SegmentStore,
  type EncodedSegment, type GcReport, type SegmentGcOptions,
} from '../../../services/node/storage';
import { useStorage } from '../storage-fixture';
import { ageObject, junk, treeVersion } from './segment-trees';
import { caught, uniqueNames } from './storage-suite';

const DAY = 86_400_000;

describe('segment garbage collection', () => {
  const storage = useStorage();
  let s3: S3rverHandle;
  let s3c: S3Client;
  let bucketSeq = 0;
  beforeAll(async () => {
    s3 = await startS3rverInProcess();
    s3c = createS3Client({ endpoint: s3.endpoint });
  });
  afterAll(async () => {
    s3c.destroy();
    await s3.close();
  });

  /** A fresh catalog table and bucket per test: the sweep covers every database of its catalog. */
  async function world() {
    const names = uniqueNames('gc');
    await ensureTables(storage.client, names);
    const catalog = new CatalogStore(storage.client, names);
    const roots = new IndexRootStore(storage.client, names);
    const segments = new SegmentStore(s3c, { bucket: `gc-${process.pid}-${bucketSeq++}`, listPageSize: 7 });
    await segments.ensureBucket();
    const put = async (db: string, segs: readonly EncodedSegment[], ageMs = 2 * DAY): Promise<void> => {
      await Promise.all(segs.map((s) => segments.put(db, s)));
      if (ageMs > 0) for (const s of segs) ageObject(s3.dir, segments.bucket, `${segments.prefix}${db}/${s.key}`, ageMs);
    };
    const stored = async (db: string): Promise<string[]> => (await segments.list(db)).map((o) => o.key).sort();
    const gc = (o: Partial<SegmentGcOptions> = {}): Promise<GcReport> =>
      collectSegmentGarbage({ catalog, roots, segments, olderThanMs: DAY, ...o });
    return { catalog, roots, segments, put, stored, gc };
  }

  const sorted = (keys: Iterable<string>): string[] => [...new Set(keys)].sort();

  it('keeps what the current root reaches, deletes old garbage, keeps young garbage; a dry run deletes nothing', async () => {
    const w = await world();
    const db = (await w.catalog.createDatabase('gc-a')).id;
    const v1 = treeVersion('v1');
    const v2 = treeVersion('v2', v1); // shares v1's current EAVT tree
    await w.put(db, v1.segments);
    expect((await w.roots.advance(v1.root(db, 1))).advanced).toBe(true);
    await w.put(db, v2.segments);
    expect((await w.roots.advance(v2.root(db, 2))).advanced).toBe(true);
    const oldJunk = [junk('old-1'), junk('old-2')];
    const youngJunk = [junk('young-1')];
    await w.put(db, oldJunk);
    await w.put(db, youngJunk, 0);
    const v1Only = v1.keys.filter((k) => !v2.keys.includes(k));
    expect(v1Only).toHaveLength(24); // v1 less the three segments of the shared EAVT tree
    const everything = sorted([...v1.keys, ...v2.keys, ...oldJunk.map((s) => s.key), ...youngJunk.map((s) => s.key)]);
    expect(await w.stored(db)).toEqual(everything);

    const dry = await w.gc({ dryRun: true });
    expect(await w.stored(db)).toEqual(everything);
    expect(dry.dryRun).toBe(true);
    expect(dry.databases).toHaveLength(1);
    expect(dry.databases[0]).toMatchObject({
      db, name: 'gc-a', state: 'live', roots: [2],
      live: { segments: 27 }, deleted: { segments: 24 + 2 }, keptYoung: { segments: 1 },
    });
    expect(dry.databases[0]!.error).toBeUndefined();

    const report = await w.gc();
    expect(report).toMatchObject({ dryRun: false, olderThanMs: DAY, totals: { databases: 1, errors: 0 } });
    expect(report.databases[0]).toEqual(dry.databases[0]);
    expect(report.totals.deleted).toEqual(report.databases[0]!.deleted);
    expect(report.databases[0]!.deleted.bytes).toBeGreaterThan(0);
    expect(await w.stored(db)).toEqual(sorted([...v2.keys, ...youngJunk.map((s) => s.key)]));
    // Every live segment still reads back, log segments included.
    for (const k of v2.keys) expect(await w.segments.getAny(db, k)).toBeDefined();

    // Run again: nothing more is garbage until the young junk ages; a `now` two days on ages it.
    expect((await w.gc()).totals.deleted.segments).toBe(0);
    const later = await w.gc({ now: Date.now() + 2 * DAY });
    expect(later.databases[0]).toMatchObject({ deleted: { segments: 1 }, keptYoung: { segments: 0 }, live: { segments: 27 } });
    expect(await w.stored(db)).toEqual(sorted(v2.keys));
  });

  it('keeps the segments of a root that advanced during the walk, and those of the root it replaced', async () => {
    const w = await world();
    const db = (await w.catalog.createDatabase('gc-moving')).id;
    const v1 = treeVersion('m1');
    const v3 = treeVersion('m3');
    await w.put(db, [...v1.segments, ...v3.segments, junk('m-old')]);
    await w.roots.advance(v1.root(db, 1));
    let reads = 0;
    const roots = {
      // The first read answers the t 1 root; an indexer stores t 3 right after it.
      get: async (id: string) => {
        const r = await w.roots.get(id);
        if (reads++ === 0) expect((await w.roots.advance(v3.root(db, 3))).advanced).toBe(true);
        return r;
      },
    };
    const report = await w.gc({ roots });
    expect(report.databases[0]).toMatchObject({ roots: [1, 3], live: { segments: 54 }, deleted: { segments: 1 } });
    expect(await w.stored(db)).toEqual(sorted([...v1.keys, ...v3.keys]));
  });

  it('rechecks LastModified before deleting: a segment written again after the listing is kept', async () => {
    const w = await world();
    const db = (await w.catalog.createDatabase('gc-rewrite')).id;
    const rewritten = junk('rewritten');
    const gone = junk('gone');
    await w.put(db, [rewritten, gone]);
    const segments = {
      listDatabases: () => w.segments.listDatabases(),
      getAny: (d: string, k: string) => w.segments.getAny(d, k),
      stat: (d: string, k: string) => w.segments.stat(d, k),
      delete: (d: string, k: string) => w.segments.delete(d, k),
      // An indexer puts a segment with the same bytes (so the same key) just after the listing.
      list: async (d: string) => {
        const listed = await w.segments.list(d);
        await w.segments.put(d, rewritten);
        return listed;
      },
    };
    const report = await w.gc({ segments });
    expect(report.databases[0]).toMatchObject({ deleted: { segments: 1 }, keptYoung: { segments: 1 } });
    expect(await w.stored(db)).toEqual([rewritten.key]);
  });

  it('deletes a deleted database\'s prefix after the age; treats a database without a root as all garbage', async () => {
    const w = await world();
    const gone = await w.catalog.createDatabase('gc-gone');
    const tree = treeVersion('gone');
    await w.put(gone.id, tree.segments);
    await w.roots.advance(tree.root(gone.id, 1));
    const goneYoung = junk('gone-young');
    await w.put(gone.id, [goneYoung], 0);
    expect(await w.catalog.deleteDatabase('gc-gone')).toBe(true);
    const fresh = (await w.catalog.createDatabase('gc-fresh')).id; // not indexed yet
    const freshOld = junk('fresh-old');
    const freshYoung = junk('fresh-young');
    await w.put(fresh, [freshOld]);
    await w.put(fresh, [freshYoung], 0);
    expect(sorted(await w.segments.listDatabases())).toEqual(sorted([gone.id, fresh]));

    const report = await w.gc();
    const byId = new Map(report.databases.map((d) => [d.db, d]));
    expect(byId.get(gone.id)).toMatchObject({ state: 'deleted', roots: [], live: { segments: 0 }, deleted: { segments: 27 }, keptYoung: { segments: 1 } });
    expect(byId.get(gone.id)!.name).toBeUndefined();
    expect(byId.get(fresh)).toMatchObject({ name: 'gc-fresh', state: 'live', roots: [], deleted: { segments: 1 }, keptYoung: { segments: 1 } });
    expect(report.totals).toMatchObject({ databases: 2, deleted: { segments: 28 }, keptYoung: { segments: 2 }, errors: 0 });
    expect(await w.stored(gone.id)).toEqual([goneYoung.key]);
    expect(await w.stored(fresh)).toEqual([freshYoung.key]);

    // Once the young segments age, both prefixes are empty (the unindexed database has no root).
    await w.gc({ now: Date.now() + 2 * DAY });
    expect(await w.segments.listDatabases()).toEqual([]);
  });

  it('deletes nothing of a database whose root reaches a missing segment, and still sweeps the others', async () => {
    const w = await world();
    const broken = (await w.catalog.createDatabase('gc-broken')).id;
    const ok = (await w.catalog.createDatabase('gc-ok')).id;
    const tree = treeVersion('broken');
    const missingLeaf = tree.segments[0]!; // a current EAVT leaf, named by its branch
    await w.put(broken, [...tree.segments.slice(1), junk('b-old')]);
    await w.roots.advance(tree.root(broken, 1));
    await w.put(ok, [junk('ok-old')]);
    const report = await w.gc();
    const b = report.databases.find((d) => d.db === broken)!;
    expect(b.error).toMatchObject({ category: 'fault', code: 'gc/missing-segment' });
    expect(b.error!.message).toContain(missingLeaf.key);
    expect(b.deleted.segments).toBe(0);
    expect(await w.stored(broken)).toHaveLength(27);
    expect(report.databases.find((d) => d.db === ok)).toMatchObject({ deleted: { segments: 1 } });
    expect(report.totals.errors).toBe(1);
  });

  it('refuses an age below the 1 h floor unless allowShortAge, and bad options', async () => {
    const w = await world();
    await w.put((await w.catalog.createDatabase('gc-floor')).id, [junk('floor')], 10 * 60_000);
    expect(await caught(w.gc({ olderThanMs: MIN_GC_AGE_MS - 1 }))).toMatchObject({ category: 'incorrect', code: 'gc/age-too-short' });
    expect(await caught(w.gc({ olderThanMs: -1 }))).toMatchObject({ category: 'incorrect', code: 'gc/invalid-duration' });
    expect(await caught(w.gc({ concurrency: 0 }))).toMatchObject({ category: 'incorrect', code: 'gc/invalid-option' });
    expect((await w.gc({ olderThanMs: MIN_GC_AGE_MS })).totals.deleted.segments).toBe(0); // 10 minutes old: young
    expect((await w.gc({ olderThanMs: 5 * 60_000, allowShortAge: true })).totals.deleted.segments).toBe(1);
  });

  it('parses durations', () => {
    expect(parseDuration('30m')).toBe(30 * 60_000);
    expect(parseDuration('12h')).toBe(12 * 3_600_000);
    expect(parseDuration('7d')).toBe(7 * DAY);
    expect(parseDuration('90s')).toBe(90_000);
    expect(parseDuration('250ms')).toBe(250);
    expect(parseDuration(3_600_000)).toBe(3_600_000);
    expect(parseDuration('3600000')).toBe(3_600_000);
    for (const bad of ['1y', '-1d', '1.5h', '', 'd', -5, 1.5, null, true]) {
      expect(() => parseDuration(bad)).toThrow(expect.objectContaining({ category: 'incorrect', code: 'gc/invalid-duration' }));
    }
  });
});
