/** The log: the transactor, the DynamoDB log protocol, and the payload of a log transaction. */
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
export { DatabaseHost, MAX_TX_DATOMS, MAX_PENDING_PER_DATABASE, MAX_APPEND_ATTEMPTS, DELETED_CODE, type TransactResult } from './transactor';
export { DELETED_TX_ID, encodeTx, decodeTx, type RecordedRefusal } from './payload';
