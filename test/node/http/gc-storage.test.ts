/**
 * `POST /v1/admin/gc-storage` and `datalith gc-storage` against a node on dynalite and s3rver:
 * admin keys only, the duration and the age floor checked, the report's shape, a dry run that
 * deletes nothing, the CLI's summary, and `unsupported` on a node without a segment store.
 */
import type { S3Client } from '@aws-sdk/client-s3';
import { run, type CliIO } from '../../../services/cli/main';
import { startS3rverInProcess, type S3rverHandle } from '../../../services/local/s3rver';
import { startNode, type RunningNode } from '../../../services/node/main';
import { createS3Client, IndexRootStore, SegmentStore, type EncodedSegment } from '../../../services/node/storage';
import { useStorage } from '../storage-fixture';
import { ageObject, junk, treeVersion } from '../storage/segment-trees';

process.env['AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED'] ??= 'true';
const ADMIN = 'gc-admin-key';
const BUCKET = 'gc-http';
const DAY = 86_400_000;

class Capture {
  text = '';
  write(s: string): boolean {
    this.text += s;
    return true;
  }
}

describe('gc-storage over HTTP and the CLI', () => {
  const storage = useStorage();
  let s3: S3rverHandle;
  let s3c: S3Client;
  let node: RunningNode;
  let segments: SegmentStore;
  let db: string;
  let live: readonly string[];
  const oldJunk = [junk('http-old-1'), junk('http-old-2')];
  const youngJunk = junk('http-young');

  beforeAll(async () => {
    s3 = await startS3rverInProcess();
    s3c = createS3Client({ endpoint: s3.endpoint });
    node = await startNode({
      port: 0, host: '127.0.0.1', adminKey: ADMIN, storageEndpoint: storage.handle.endpoint, s3Endpoint: s3.endpoint,
      segmentBucket: BUCKET, createTables: true, queryWorkers: 0, pollIntervalMs: 0, logLevel: 'silent',
    }, { cluster: false });
    segments = new SegmentStore(s3c, { bucket: BUCKET });
    db = (await storage.catalog.createDatabase('web')).id;
    const tree = treeVersion('http');
    live = tree.keys;
    const put = async (segs: readonly EncodedSegment[], ageMs: number): Promise<void> => {
      for (const s of segs) {
        await segments.put(db, s);
        if (ageMs > 0) ageObject(s3.dir, BUCKET, `${segments.prefix}${db}/${s.key}`, ageMs);
      }
    };
    await put(tree.segments, 2 * DAY);
    await put(oldJunk, 2 * DAY);
    await put([youngJunk], 0);
    await new IndexRootStore(storage.client).advance(tree.root(db, 1));
  });
  afterAll(async () => {
    await node?.close();
    s3c.destroy();
    await s3.close();
  });

  const post = async (body: unknown, key: string | null = ADMIN): Promise<{ status: number; json: any }> => {
    const res = await fetch(`${node.url}/v1/admin/gc-storage`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(key !== null ? { authorization: `Bearer ${key}` } : {}) },
      body: JSON.stringify(body),
    });
    return { status: res.status, json: await res.json() };
  };
  const stored = async (): Promise<string[]> => (await segments.list(db)).map((o) => o.key).sort();
  const cli = async (argv: string[]): Promise<{ code: number; out: string; err: string }> => {
    const stdout = new Capture();
    const stderr = new Capture();
    const io: CliIO = { stdout, stderr, stdin: { text: '' }, env: { DATALITH_ENDPOINT: node.url, DATALITH_ACCESS_KEY: ADMIN }, cwd: process.cwd() };
    const code = await run(argv, io);
    return { code, out: stdout.text, err: stderr.text };
  };

  it('needs an admin key', async () => {
    expect(await post({ olderThan: '1d' }, null)).toMatchObject({ status: 403, json: { category: 'forbidden', code: 'auth/missing-key' } });
    const scoped = await node.keys.create({ db: 'web', access: 'read-write' }, 'test');
    expect(await post({ olderThan: '1d' }, scoped.key)).toMatchObject({ status: 403, json: { category: 'forbidden', code: 'auth/admin-only' } });
  });

  it('checks the duration and refuses ages below the floor', async () => {
    expect(await post({})).toMatchObject({ status: 400, json: { category: 'incorrect', code: 'http/missing-field' } });
    expect(await post({ olderThan: 'soon' })).toMatchObject({ status: 400, json: { category: 'incorrect', code: 'gc/invalid-duration' } });
    expect(await post({ olderThan: '10m' })).toMatchObject({ status: 400, json: { category: 'incorrect', code: 'gc/age-too-short' } });
    expect(await post({ olderThan: '1d', dryRun: 'yes' })).toMatchObject({ status: 400, json: { category: 'incorrect', code: 'http/invalid-field' } });
  });

  it('answers the report; a dry run deletes nothing', async () => {
    const before = await stored();
    const { status, json } = await post({ olderThan: DAY, dryRun: true });
    expect(status).toBe(200);
    expect(json).toEqual({
      dryRun: true, olderThanMs: DAY, cutoff: expect.any(String),
      databases: [{
        db, name: 'web', state: 'live', roots: [1],
        live: { segments: 27, bytes: expect.any(Number) }, deleted: { segments: 2, bytes: expect.any(Number) }, keptYoung: { segments: 1, bytes: expect.any(Number) },
      }],
      totals: { databases: 1, live: json.databases[0].live, deleted: json.databases[0].deleted, keptYoung: json.databases[0].keptYoung, errors: 0 },
    });
    expect(await stored()).toEqual(before);
  });

  it('datalith gc-storage --dry-run prints what it would delete; without it, deletes the old garbage', async () => {
    const dry = await cli(['gc-storage', '--older-than', '1d', '--dry-run']);
    expect(dry).toMatchObject({ code: 0, err: '' });
    expect(dry.out).toMatch(/^would delete 2 \(\d+ B\) of 1 database\(s\); kept 27 \(.+\) live and 1 \(\d+ B\) younger than 1d/);
    expect(dry.out).toMatch(/\nweb +1 +27 /);

    const real = await cli(['gc-storage', '--older-than', '1d', '-f', 'json']);
    expect(real).toMatchObject({ code: 0, err: '' });
    expect(JSON.parse(real.out)).toMatchObject({ dryRun: false, totals: { deleted: { segments: 2 }, keptYoung: { segments: 1 } } });
    expect(await stored()).toEqual([...live, youngJunk.key].sort());

    expect((await cli(['gc-storage', '--older-than', '30m'])).err).toMatch(/^incorrect: segment garbage must be older than at least 1h/);
    expect((await cli(['gc-storage'])).code).toBe(2);
    expect((await cli(['--local', 'unused-dir', 'gc-storage', '--older-than', '1d'])).err).toMatch(/^unsupported: the in-process engine/);
  });

  it('is unsupported on a node without a segment store', async () => {
    const bare = await startNode({
      port: 0, host: '127.0.0.1', adminKey: ADMIN, storageEndpoint: storage.handle.endpoint, queryWorkers: 0, pollIntervalMs: 0, logLevel: 'silent',
    }, { cluster: false });
    try {
      const res = await fetch(`${bare.url}/v1/admin/gc-storage`, {
        method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${ADMIN}` }, body: '{"olderThan":"1d"}',
      });
      expect({ status: res.status, json: await res.json() }).toMatchObject({ status: 501, json: { category: 'unsupported', code: 'gc/no-segment-store' } });
    } finally {
      await bare.close();
    }
  });
});
