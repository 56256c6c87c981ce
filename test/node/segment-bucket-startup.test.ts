/**
 * A node with a segment store checks its bucket at startup (services/node/main.ts): a node that
 * creates tables creates the bucket too; one that does not refuses to start when the bucket is
 * missing (`unavailable` `storage/bucket-missing`); the configuration reads DATALITH_S3_ENDPOINT
 * and DATALITH_SEGMENT_BUCKET.
 */
import { startS3rverInProcess, type S3rverHandle } from '../../services/local/s3rver';
import { loadConfig } from '../../services/node/config';
import { startNode } from '../../services/node/main';
import { createS3Client, SegmentStore } from '../../services/node/storage';
import { useStorage } from './storage-fixture';
import { caught } from './storage/storage-suite';

describe('segment bucket at node startup', () => {
  const storage = useStorage();
  let s3: S3rverHandle;
  beforeAll(async () => {
    s3 = await startS3rverInProcess();
  });
  afterAll(async () => {
    await s3.close();
  });

  const base = () => ({
    port: 0, host: '127.0.0.1', adminKey: 'k', storageEndpoint: storage.handle.endpoint, s3Endpoint: s3.endpoint,
    queryWorkers: 0, pollIntervalMs: 0, logLevel: 'silent',
  });

  it('refuses to start when the bucket is missing and the node does not create storage', async () => {
    const e = await caught(startNode({ ...base(), segmentBucket: 'not-there' }, { cluster: false }));
    expect(e).toMatchObject({ category: 'unavailable', code: 'storage/bucket-missing' });
  });

  it('creates the bucket when it creates tables, and exposes the store', async () => {
    const node = await startNode({ ...base(), segmentBucket: 'made-by-node', createTables: true }, { cluster: false });
    try {
      expect(node.segments?.bucket).toBe('made-by-node');
      const s3c = createS3Client({ endpoint: s3.endpoint });
      try {
        await new SegmentStore(s3c, { bucket: 'made-by-node' }).checkBucket();
      } finally {
        s3c.destroy();
      }
    } finally {
      await node.close();
    }
  });

  it('has no segment store when neither an endpoint nor a bucket is configured', async () => {
    const { s3Endpoint: _, ...noS3 } = base();
    const node = await startNode(noS3, { cluster: false });
    try {
      expect(node.segments).toBeUndefined();
    } finally {
      await node.close();
    }
  });

  it('reads the endpoint and bucket from the environment', () => {
    const c = loadConfig({ DATALITH_ADMIN_KEY: 'k', DATALITH_S3_ENDPOINT: 'http://127.0.0.1:4568', DATALITH_SEGMENT_BUCKET: 'b' });
    expect(c).toMatchObject({ s3Endpoint: 'http://127.0.0.1:4568', segmentBucket: 'b' });
  });
});
