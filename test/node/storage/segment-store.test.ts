/**
 * The segment store (services/node/storage/segment-store.ts) against a real s3rver through
 * @aws-sdk/client-s3: idempotent content-addressed puts, gets that check the bytes, paged
 * lists, deletes, the bucket check, and every call bounded in time and mapped to `unavailable`.
 */
import * as net from 'node:net';
import { PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { Datom, TX0 } from '../../../services/engine/datom';
import type { Segment } from '../../../services/engine/segment';
import { startS3rverInProcess, type S3rverHandle } from '../../../services/local/s3rver';
import { createS3Client } from '../../../services/node/storage/s3-client';
import { encodeSegment } from '../../../services/node/storage/segment-codec';
import { SegmentStore } from '../../../services/node/storage/segment-store';
import { segmentsIdentical } from '../../engine/segment-arbitraries';
import { caught } from './storage-suite';

const leaf = (n: number, v = 'x'): Segment => ({
  kind: 'leaf', index: 'eavt', history: false,
  datoms: Array.from({ length: n }, (_, i) => new Datom(1000 + i, 10, `${v}${i}`, TX0 + 1, true)),
});


describe('segment store on s3rver', () => {
  let s3: S3rverHandle;
  let client: S3Client;
  let store: SegmentStore;

  beforeAll(async () => {
    s3 = await startS3rverInProcess();
    client = createS3Client({ endpoint: s3.endpoint });
    store = new SegmentStore(client, { bucket: 'segments-test', listPageSize: 2 });
    await store.ensureBucket();
  });
  afterAll(async () => {
    client.destroy();
    await s3.close();
  });

  it('stores a segment under its content key and reads it back exactly', async () => {
    const s = leaf(50);
    const key = await store.putSegment('db-a', s);
    expect(key).toBe(encodeSegment(s).key);
    const back = await store.get('db-a', key);
    expect(back !== undefined && segmentsIdentical(back, s)).toBe(true);
  });

  it('puts idempotently: the same segment twice is one object', async () => {
    const s = leaf(3, 'idem');
    const k1 = await store.putSegment('db-idem', s);
    const k2 = await store.putSegment('db-idem', s);
    expect(k2).toBe(k1);
    expect((await store.list('db-idem')).map((o) => o.key)).toEqual([k1]);
  });

  it('answers undefined for an absent segment', async () => {
    expect(await store.get('db-a', 'f'.repeat(64))).toBeUndefined();
  });

  it('lists a database\'s segments across pages, and only its own; deletes them', async () => {
    const keys = await Promise.all([1, 2, 3, 4, 5].map((n) => store.putSegment('db-list', leaf(n, 'list'))));
    await store.putSegment('db-other', leaf(1, 'other'));
    const listed = await store.list('db-list');
    expect(listed.map((o) => o.key).sort()).toEqual([...keys].sort());
    for (const o of listed) {
      expect(o.bytes).toBeGreaterThan(0);
      expect(o.lastModified).toBeInstanceOf(Date);
    }
    await store.delete('db-list', keys[0]!);
    await store.delete('db-list', keys[0]!); // absent: still fine
    expect((await store.list('db-list')).map((o) => o.key).sort()).toEqual(keys.slice(1).sort());
    expect(await store.get('db-list', keys[0]!)).toBeUndefined();
  });

  it('lists the database ids that have segments, in a bucket of their own', async () => {
    const own = new SegmentStore(client, { bucket: 'segments-dbs', listPageSize: 2 });
    await own.ensureBucket();
    expect(await own.listDatabases()).toEqual([]);
    for (const db of ['db-1', 'db-2', 'db-3']) await own.putSegment(db, leaf(2, db));
    await own.putSegment('db-2', leaf(3, 'more'));
    expect(await own.listDatabases()).toEqual(['db-1', 'db-2', 'db-3']);
  });

  it('stats a segment (size, LastModified) and reads log segments with getAny', async () => {
    const entry = { t: 1, tx: TX0 + 1, instant: 1_700_000_000_000, data: [new Datom(TX0 + 1, 50, 'log', TX0 + 1, true)] };
    const log = encodeSegment({ kind: 'log-leaf', entries: [entry] });
    await store.put('db-stat', log);
    const st = await store.stat('db-stat', log.key);
    expect(st).toEqual({ key: log.key, bytes: log.bytes.byteLength, lastModified: expect.any(Date) });
    expect(st!.lastModified).toEqual((await store.list('db-stat'))[0]!.lastModified);
    expect(await store.stat('db-stat', 'e'.repeat(64))).toBeUndefined();
    expect(await store.getAny('db-stat', log.key)).toMatchObject({ kind: 'log-leaf', entries: [{ t: 1, instant: 1_700_000_000_000 }] });
    // get is for datom-index segments only.
    expect(await caught(store.get('db-stat', log.key))).toMatchObject({ category: 'fault', code: 'segment/corrupt' });
  });

  it('refuses an object whose bytes do not hash to its key (fault)', async () => {
    const good = encodeSegment(leaf(2, 'good'));
    const other = encodeSegment(leaf(2, 'other'));
    await client.send(new PutObjectCommand({ Bucket: store.bucket, Key: `${store.prefix}db-bad/${good.key}`, Body: other.bytes }));
    expect(await caught(store.get('db-bad', good.key))).toMatchObject({ category: 'fault', code: 'segment/key-mismatch' });
  });

  it('refuses malformed keys and database ids with incorrect, before any request', async () => {
    expect(await caught(store.get('db-a', 'not-a-key'))).toMatchObject({ category: 'incorrect', code: 'storage/invalid-key' });
    expect(await caught(store.get('a/b', 'f'.repeat(64)))).toMatchObject({ category: 'incorrect', code: 'storage/invalid-key' });
    expect(await caught(store.put('db-a', { key: 'F'.repeat(64), bytes: new Uint8Array(1) }))).toMatchObject({ code: 'storage/invalid-key' });
  });

  it('checks the bucket: a missing bucket is unavailable, ensureBucket creates it (twice is fine)', async () => {
    const fresh = new SegmentStore(client, { bucket: 'created-later' });
    expect(await caught(fresh.checkBucket())).toMatchObject({ category: 'unavailable', code: 'storage/bucket-missing' });
    await fresh.ensureBucket();
    await fresh.ensureBucket();
    await fresh.checkBucket();
  });

  it('maps an unreachable endpoint to unavailable', async () => {
    const port = await new Promise<number>((resolve) => {
      const srv = net.createServer().listen(0, '127.0.0.1', () => {
        const p = (srv.address() as net.AddressInfo).port;
        srv.close(() => resolve(p));
      });
    });
    const dead = createS3Client({ endpoint: `http://127.0.0.1:${port}` });
    try {
      const s = new SegmentStore(dead, { bucket: 'segments-test' });
      expect(await caught(s.get('db-a', 'f'.repeat(64)))).toMatchObject({ category: 'unavailable' });
      expect(await caught(s.checkBucket())).toMatchObject({ category: 'unavailable' });
    } finally {
      dead.destroy();
    }
  });

  it('bounds every call in time: a server that never answers gives unavailable storage/timeout', async () => {
    const held: net.Socket[] = [];
    const silent = net.createServer((sock) => { held.push(sock); });
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const hung = createS3Client({ endpoint: `http://127.0.0.1:${(silent.address() as net.AddressInfo).port}` });
    try {
      const s = new SegmentStore(hung, { bucket: 'segments-test', timeoutMs: 300 });
      const enc = encodeSegment(leaf(1));
      const calls: Array<[string, Promise<unknown>]> = [
        ['put', s.put('db-a', enc)],
        ['get', s.get('db-a', enc.key)],
        ['list', s.list('db-a')],
        ['listDatabases', s.listDatabases()],
        ['stat', s.stat('db-a', enc.key)],
        ['delete', s.delete('db-a', enc.key)],
        ['checkBucket', s.checkBucket()],
      ];
      for (const [name, p] of calls) {
        const e = await caught(p);
        expect({ name, category: e.category, code: e.code }).toEqual({ name, category: 'unavailable', code: 'storage/timeout' });
      }
    } finally {
      hung.destroy();
      for (const sock of held) sock.destroy();
      await new Promise<void>((resolve) => silent.close(() => resolve()));
    }
  });
});
