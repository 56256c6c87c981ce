/** The node's AWS storage: the DynamoDB client and tables, the catalog, and the S3 segment store. */
export {
  createDynamoClient,
  createStorageClient,
  getDynamoClient,
  closeDynamoClients,
  LOCAL_REGION,
  LOCAL_CREDENTIALS,
  DEFAULT_STORAGE_CONNECT_TIMEOUT_MS,
  DEFAULT_STORAGE_REQUEST_TIMEOUT_MS,
  type DynamoClientOptions,
} from './dynamo-client';
export {
  ensureTables,
  tableNames,
  DEFAULT_TABLE_NAMES,
  CATALOG_KEYS,
  LOG_KEYS,
  type TableNames,
} from './tables';
export { CatalogStore, type DatabaseRecord, type NodeRecord } from './catalog-store';
export { storageError, isConditionalCheckFailed } from './errors';
export { createS3Client, getS3Client, closeS3Clients, S3RVER_CREDENTIALS, type S3ClientOptions } from './s3-client';
export {
  SegmentStore,
  DEFAULT_SEGMENT_BUCKET,
  DEFAULT_SEGMENT_PREFIX,
  DEFAULT_SEGMENT_TIMEOUT_MS,
  type SegmentStoreOptions,
  type StoredSegment,
} from './segment-store';
export {
  collectSegmentGarbage,
  parseDuration,
  MIN_GC_AGE_MS,
  DEFAULT_GC_CONCURRENCY,
  type SegmentGcOptions,
  type GcReport,
  type DatabaseGcReport,
  type GcCounts,
} from './segment-gc';
export { encodeSegment, decodeSegment, decodeAnySegment, segmentKey, isSegmentKey, SEGMENT_FORMAT, type EncodedSegment } from './segment-codec';
export {
  IndexRootStore,
  checkIndexRoot,
  INDEX_ROOT_PK,
  type IndexRoot,
  type IndexRootKeys,
  type AdvanceResult,
} from './index-roots';
