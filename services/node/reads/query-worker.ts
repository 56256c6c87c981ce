/**
 * A query worker thread (docs/adr/007-query-workers.md). It keeps its own read replica of the
 * databases it is asked about — its own DynamoDB client, catalog and log readers, `Databases`
 * and `DbValues` — caught up from the log to the t the node asks for, and evaluates query jobs
 * (services/node/reads/query-job.ts) one at a time, answering JSON text. It never writes.
 *
 * Started by services/node/reads/query-workers.ts with `workerData.datalithQueryWorker`; loading this
 * module anywhere else does nothing.
 */
import { isMainThread, parentPort, workerData } from 'node:worker_threads';
import { isDatalithError, anomalyToJson } from '../../engine';
import { Databases } from '../databases';
import { DbValues } from './db-values';
import { runReadJob, type ReadJob } from './query-job';
// One by one, as in main.ts: the storage barrel would load the embedded server.
import { CatalogStore } from '../storage/catalog-store';
import { createStorageClient, type StorageSettings } from '../storage/dynamo-client';
import { LogStore } from '../log/log-store';
import { tableNames } from '../storage/tables';
import { IndexRootStore } from '../storage/index-roots';
import { SegmentStore } from '../storage/segment-store';
import { createS3Client } from '../storage/s3-client';
import { Indexing } from '../indexing/durable';
import { SegmentCache, type SegmentCacheStats } from '../indexing/segment-cache';

export interface QueryWorkerData extends StorageSettings {
  readonly datalithQueryWorker: true;
  readonly catalogTable?: string;
  readonly logTable?: string;
  /** The node's segment store: the worker reads durable roots and segments (it never indexes). */
  readonly segments?: { readonly s3Endpoint?: string; readonly bucket: string; readonly cacheSizeMb: number; readonly indexThresholdDatoms: number };
}

export interface WorkerJobMessage {
  readonly id: number;
  readonly job: ReadJob;
}

/** An error as it crosses back: an anomaly, or an unexpected error with its stack (for the log). */
export interface SerializedError {
  readonly category?: string;
  readonly code?: string;
  readonly message: string;
  readonly data?: unknown;
  readonly name?: string;
  readonly stack?: string;
}

/** Every answer carries the worker's segment cache counters (the node's status sums them). */
export type WorkerReply = (
  | { readonly id: number; readonly ok: string }
  | { readonly id: number; readonly error: SerializedError }
  | { readonly ready: true }
) & { readonly segments?: SegmentCacheStats };

export function serializeError(e: unknown): SerializedError {
  if (isDatalithError(e)) return anomalyToJson(e);
  const err = e instanceof Error ? e : new Error(String(e));
  return { name: err.name, message: err.message, ...(err.stack !== undefined ? { stack: err.stack } : {}) };
}

export function startQueryWorker(data: QueryWorkerData): void {
  const port = parentPort;
  if (port === null) throw new Error('startQueryWorker runs in a worker thread');
  const dynamo = createStorageClient(data);
  const names = tableNames({
    ...(data.catalogTable !== undefined ? { catalogTable: data.catalogTable } : {}),
    ...(data.logTable !== undefined ? { logTable: data.logTable } : {}),
  });
  const seg = data.segments;
  const indexing = seg === undefined ? null : new Indexing({
    segments: new SegmentStore(createS3Client({
      ...(seg.s3Endpoint !== undefined ? { endpoint: seg.s3Endpoint } : {}),
      ...(data.region !== undefined ? { region: data.region } : {}),
    }), { bucket: seg.bucket }),
    roots: new IndexRootStore(dynamo, names),
    cache: new SegmentCache(seg.cacheSizeMb * 1024 * 1024),
    thresholdDatoms: seg.indexThresholdDatoms,
    tailMaxDatoms: 0,
    index: false,
    nodeId: 'query-worker',
  });
  const databases = new Databases(new CatalogStore(dynamo, names), new LogStore(dynamo, names), indexing);
  const values = new DbValues(databases);
  port.on('message', (m: WorkerJobMessage) => {
    const segments = (): { segments?: SegmentCacheStats } => (indexing === null ? {} : { segments: indexing.opts.cache.snapshot() });
    runReadJob(databases, values, m.job).then(
      (ok) => port.postMessage({ id: m.id, ok, ...segments() } satisfies WorkerReply),
      (e: unknown) => port.postMessage({ id: m.id, error: serializeError(e), ...segments() } satisfies WorkerReply),
    );
  });
  port.postMessage({ ready: true } satisfies WorkerReply);
}

const wd = workerData as Partial<QueryWorkerData> | null | undefined;
if (!isMainThread && wd !== null && typeof wd === 'object' && wd.datalithQueryWorker === true) {
  startQueryWorker(wd as QueryWorkerData);
}
