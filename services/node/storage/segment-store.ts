/**
 * The segment store: immutable, content-addressed index segments as S3 objects
 * (docs/adr/010-segment-format-and-root-protocol.md).
 *
 *   s3://<bucket>/<prefix><database id>/<key>      key = hex SHA-256 of the object's bytes
 *
 * A put is idempotent: the same segment always has the same key and the same bytes, so writing it
 * twice (two indexers, a retry after a timeout) stores the same object — no conditional put is
 * needed (s3rver ignores If-None-Match anyway). A get checks the bytes against the key.
 *
 * Every call is bounded by `timeoutMs` (retries included; for a get, reading the body too); a call
 * that runs out of time is aborted and fails `unavailable` `storage/timeout`. As for DynamoDB, an
 * `unavailable` put has an unknown outcome: the object may exist — harmless, as only a root that
 * names a segment makes it live, and roots are written after their segments.
 */
import {
  CreateBucketCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  ListObjectsCommand,
  PutObjectCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { DatalithError, incorrect, unavailable, type Segment, type StoredSegment as AnySegment } from '../../engine';
import { errorName, storageError } from './errors';
import { decodeAnySegment, decodeSegment, encodeSegment, isSegmentKey, type EncodedSegment } from './segment-codec';

export const DEFAULT_SEGMENT_BUCKET = 'datalith-segments';
export const DEFAULT_SEGMENT_PREFIX = 'segments/';
export const DEFAULT_SEGMENT_TIMEOUT_MS = 10_000;

export interface SegmentStoreOptions {
  bucket?: string;
  /** Key prefix of all segments, ending in '/' (default `segments/`). */
  prefix?: string;
  /** Upper bound on each call, retries included (default 10 s). */
  timeoutMs?: number;
  /** Objects per list request (S3's maximum and default is 1000). */
  listPageSize?: number;
}

export interface StoredSegment {
  key: string;
  bytes: number;
  lastModified: Date;
}

const NOT_FOUND = new Set(['NoSuchKey', 'NotFound']);
const BUCKET_EXISTS = new Set(['BucketAlreadyOwnedByYou', 'BucketAlreadyExists']);

function checkDb(db: string): void {
  if (typeof db !== 'string' || db.length === 0 || db.includes('/')) {
    throw incorrect('storage/invalid-key', `a database id for the segment store must be non-empty and contain no '/', got ${JSON.stringify(db)}`, { db });
  }
}

function checkKey(key: string): void {
  if (!isSegmentKey(key)) {
    throw incorrect('storage/invalid-key', `a segment key is 64 lowercase hex digits (SHA-256), got ${JSON.stringify(key)}`, { key });
  }
}

const httpStatus = (e: unknown): number | undefined =>
  (e as { $metadata?: { httpStatusCode?: number } } | undefined)?.$metadata?.httpStatusCode;

export class SegmentStore {
  readonly bucket: string;
  readonly prefix: string;
  readonly timeoutMs: number;
  private readonly listPageSize: number;

  constructor(private readonly client: S3Client, opts: SegmentStoreOptions = {}) {
    this.bucket = opts.bucket ?? DEFAULT_SEGMENT_BUCKET;
    this.prefix = opts.prefix ?? DEFAULT_SEGMENT_PREFIX;
    this.timeoutMs = opts.timeoutMs ?? DEFAULT_SEGMENT_TIMEOUT_MS;
    this.listPageSize = opts.listPageSize ?? 1000;
    if (!this.prefix.endsWith('/') && this.prefix !== '') {
      throw incorrect('storage/invalid-key', `segment prefix must be empty or end in '/', got ${JSON.stringify(this.prefix)}`);
    }
    if (!Number.isFinite(this.timeoutMs) || this.timeoutMs <= 0) {
      throw incorrect('storage/invalid-timeout', `segment store timeoutMs must be a positive number, got ${this.timeoutMs}`);
    }
  }

  /** Encode `segment` and store it; returns its key. */
  async putSegment(db: string, segment: AnySegment): Promise<string> {
    const encoded = encodeSegment(segment);
    await this.put(db, encoded);
    return encoded.key;
  }

  /** Store already-encoded segment bytes under their key (idempotent). */
  async put(db: string, segment: EncodedSegment): Promise<void> {
    checkDb(db);
    checkKey(segment.key);
    const Key = this.objectKey(db, segment.key);
    await this.call('PutObject', { db, key: segment.key }, (abortSignal) => this.client.send(new PutObjectCommand({
      Bucket: this.bucket,
      Key,
      Body: segment.bytes,
      ContentLength: segment.bytes.byteLength,
      ContentType: 'application/vnd.datalith.segment',
    }), { abortSignal }));
  }

  /** The segment, or undefined if no object has this key. `fault` if the object is damaged. */
  async get(db: string, key: string): Promise<Segment | undefined> {
    const bytes = await this.getBytes(db, key);
    return bytes === undefined ? undefined : decodeSegment(bytes, key);
  }

  /** getAny, with the stored bytes of the object (the segment cache keeps them). */
  async getWithBytes(db: string, key: string): Promise<{ segment: AnySegment; raw: Uint8Array } | undefined> {
    const raw = await this.getBytes(db, key);
    return raw === undefined ? undefined : { segment: decodeAnySegment(raw, key), raw };
  }

  /** As get, for a segment of any tree: a datom index's or the log's. */
  async getAny(db: string, key: string): Promise<AnySegment | undefined> {
    const bytes = await this.getBytes(db, key);
    return bytes === undefined ? undefined : decodeAnySegment(bytes, key);
  }

  /** The stored object's size and LastModified (HeadObject), or undefined if there is none. */
  async stat(db: string, key: string): Promise<StoredSegment | undefined> {
    checkDb(db);
    checkKey(key);
    return this.call('HeadObject', { db, key }, async (abortSignal) => {
      try {
        const res = await this.client.send(new HeadObjectCommand({ Bucket: this.bucket, Key: this.objectKey(db, key) }), { abortSignal });
        return { key, bytes: res.ContentLength ?? 0, lastModified: res.LastModified ?? new Date(0) };
      } catch (e) {
        if (NOT_FOUND.has(errorName(e) ?? '') || httpStatus(e) === 404) return undefined;
        throw e;
      }
    });
  }

  /** Every stored segment of `db`, by key, with its size and LastModified (for garbage collection). */
  async list(db: string): Promise<StoredSegment[]> {
    checkDb(db);
    const Prefix = this.objectKey(db, '');
    const out: StoredSegment[] = [];
    // ListObjects (v1), each page after the last key seen (Marker): s3rver's ListObjectsV2 fails
    // on every truncated page (its continuation tokens use DES, which Node 20's OpenSSL lacks).
    let Marker: string | undefined;
    for (;;) {
      const page = await this.call('ListObjects', { db }, (abortSignal) => this.client.send(new ListObjectsCommand({
        Bucket: this.bucket,
        Prefix,
        MaxKeys: this.listPageSize,
        ...(Marker !== undefined ? { Marker } : {}),
      }), { abortSignal }));
      const contents = page.Contents ?? [];
      for (const o of contents) {
        const key = (o.Key ?? '').slice(Prefix.length);
        if (isSegmentKey(key)) out.push({ key, bytes: o.Size ?? 0, lastModified: o.LastModified ?? new Date(0) });
      }
      const last = contents[contents.length - 1]?.Key;
      if (page.IsTruncated !== true || last === undefined) return out;
      Marker = last;
    }
  }

  /**
   * The database ids that have segments: the folders under the prefix (ListObjects with a '/'
   * delimiter). A deleted database's id stays here until its segments are collected.
   */
  async listDatabases(): Promise<string[]> {
    const out: string[] = [];
    let Marker: string | undefined;
    for (;;) {
      const page = await this.call('ListObjects', {}, (abortSignal) => this.client.send(new ListObjectsCommand({
        Bucket: this.bucket,
        Prefix: this.prefix,
        Delimiter: '/',
        MaxKeys: this.listPageSize,
        ...(Marker !== undefined ? { Marker } : {}),
      }), { abortSignal }));
      const prefixes = (page.CommonPrefixes ?? []).map((p) => p.Prefix ?? '');
      for (const p of prefixes) {
        const db = p.slice(this.prefix.length, -1);
        if (db.length > 0 && !db.includes('/')) out.push(db);
      }
      // With a delimiter, a page's last entry is its last key or common prefix, whichever sorts last.
      const last = [page.NextMarker, prefixes[prefixes.length - 1], page.Contents?.[page.Contents.length - 1]?.Key]
        .filter((x): x is string => x !== undefined && x !== '')
        .sort()
        .pop();
      if (page.IsTruncated !== true || last === undefined) return out;
      Marker = last;
    }
  }

  /** Remove a segment (absent ones included: S3 deletes are idempotent). */
  async delete(db: string, key: string): Promise<void> {
    checkDb(db);
    checkKey(key);
    await this.call('DeleteObject', { db, key }, (abortSignal) =>
      this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: this.objectKey(db, key) }), { abortSignal }));
  }

  /**
   * Resolves when the bucket exists and answers; `unavailable` `storage/bucket-missing` when it
   * does not exist, `unavailable` when S3 cannot be reached in time.
   */
  async checkBucket(): Promise<void> {
    await this.call('HeadBucket', {}, async (abortSignal) => {
      try {
        await this.client.send(new HeadBucketCommand({ Bucket: this.bucket }), { abortSignal });
      } catch (e) {
        if (NOT_FOUND.has(errorName(e) ?? '') || errorName(e) === 'NoSuchBucket' || httpStatus(e) === 404) {
          throw unavailable('storage/bucket-missing', `segment bucket ${this.bucket} does not exist`, { bucket: this.bucket });
        }
        throw e;
      }
    });
  }

  /** Create the bucket if absent (local storage only; in AWS the CDK storage stack owns it). */
  async ensureBucket(): Promise<void> {
    await this.call('CreateBucket', {}, async (abortSignal) => {
      try {
        await this.client.send(new CreateBucketCommand({ Bucket: this.bucket }), { abortSignal });
      } catch (e) {
        if (!BUCKET_EXISTS.has(errorName(e) ?? '')) throw e;
      }
    });
    await this.checkBucket();
  }

  private async getBytes(db: string, key: string): Promise<Uint8Array | undefined> {
    checkDb(db);
    checkKey(key);
    return this.call('GetObject', { db, key }, async (abortSignal) => {
      try {
        const res = await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: this.objectKey(db, key) }), { abortSignal });
        if (res.Body === undefined) return new Uint8Array(0);
        return await res.Body.transformToByteArray();
      } catch (e) {
        if (NOT_FOUND.has(errorName(e) ?? '')) return undefined;
        throw e;
      }
    });
  }

  private objectKey(db: string, key: string): string {
    return `${this.prefix}${db}/${key}`;
  }

  /** Run one S3 call under the store's deadline; map its failure to an anomaly. */
  private async call<T>(operation: string, data: Record<string, unknown>, run: (signal: AbortSignal) => Promise<T>): Promise<T> {
    const abort = new AbortController();
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      abort.abort();
    }, this.timeoutMs);
    try {
      return await run(abort.signal);
    } catch (e) {
      if (timedOut) {
        throw new DatalithError('unavailable', `segment store ${operation} did not finish within ${this.timeoutMs} ms`,
          'storage/timeout', { ...data, operation, bucket: this.bucket, timeoutMs: this.timeoutMs });
      }
      throw storageError(operation, e, { ...data, bucket: this.bucket });
    } finally {
      clearTimeout(timer);
    }
  }
}
