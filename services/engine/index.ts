/**
 * The engine's public surface: everything the node, the SDK, the local launcher and the CLI
 * use of it comes through here. The engine is pure — no I/O — and imports nothing from them.
 */
export { Datom, INDEX_NAMES, TX0, tToTx, txToT, type IndexName } from './datom';
export { Db, emptyDb, type DbState, type TxLogEntry } from './db';
export {
  ANOMALY_CATEGORIES, DatalithError, busy, conflict, describeValue, fault, forbidden, incorrect, interrupted,
  isDatalithError, notFound, unavailable, unsupported, type AnomalyCategory,
} from './errors';
export { anomalyFromJson, anomalyToJson, isAnomalyCategory, type AnomalyJson } from './anomaly';
export { checkClientTxId, checkDatabaseName, RESERVED_TX_ID_PREFIX } from './names';
export { SYS } from './schema';
export { findTxId, transact, transactSteps, transactionTooLarge, txForms, type TxIdRecord, type TxReport, type TransactOptions } from './transact';
export { Replay, rebuildAt } from './replay';
export { runSteps, type Steps } from './steps';
export {
  childKeys, decodeSegmentBody, decodeStoredSegment, decodeTxBody, encodeSegmentBody, encodeTxBody, type LogSegment, type Segment, type StoredSegment, type TxBody,
} from './segment';
export { collectMisses, isCollectingMisses, SegmentMiss, type Node as IndexNode, type NodeStore } from './btree';
export {
  MAX_MISS_ROUNDS, missingForApply, nodeOfSegment, restoreState, runLoading, segmentKeyCount, segmentOfWrite, writeStateSegments,
  type DurableRoot, type StateSegmentWrite, type TreeRoot,
} from './durable';
export { q, type QueryMap, type QueryOptions } from './query';
export { pullManySelector, pullSelector } from './pull';
export * as api from './api';
export { checkIndexName, checkLimit, checkOffset, publicDatom, type PageArgs, type PublicDatom } from './api';
export { BigDec } from './bigdec';
export { EdnList, Keyword, Sym, kw, printEdn, readEdn, readEdnAll, writeEdn, type EdnValue } from './edn';
export type { Value } from './values';
export { ATTEMPT_HEADER, fromWire, toWire } from './wire';
