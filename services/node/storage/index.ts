export {
  createDynamoClient,
  getDynamoClient,
  closeDynamoClients,
  LOCAL_REGION,
  LOCAL_CREDENTIALS,
  DEFAULT_STORAGE_CONNECT_TIMEOUT_MS,
  DEFAULT_STORAGE_REQUEST_TIMEOUT_MS,
  type DynamoClientOptions,
} from './dynamo-client';
export {
  startDynaliteInProcess,
  spawnDynaliteProcess,
  acquireDirLock,
  LOCK_FILE,
  type DynaliteOptions,
  type DynaliteHandle,
  type DynaliteProcess,
} from './dynalite';
export {
  ensureTables,
  tableNames,
  DEFAULT_TABLE_NAMES,
  CATALOG_KEYS,
  LOG_KEYS,
  type TableNames,
} from './tables';
export {
  LogStore,
  entrySize,
  MAX_ITEM_BYTES,
  MAX_TX_BYTES,
  CHUNK_BYTES,
  CHUNK_PARTITION_SUFFIX,
  type LogEntry,
  type LogTx,
  type ReadOptions,
} from './log-store';
export { CatalogStore, type DatabaseRecord, type NodeRecord } from './catalog-store';
export { storageError, isConditionalCheckFailed } from './errors';
