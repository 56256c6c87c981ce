/**
 * Names the system gives things — database names and transaction ids — with one rule each for
 * the SDK, the node and the CLI.
 */
import { describeValue, incorrect } from './errors';

const DATABASE_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

export function checkDatabaseName(name: unknown): string {
  if (typeof name !== 'string' || !DATABASE_NAME.test(name)) {
    throw incorrect('db.error/invalid-db-name', `Invalid database name ${describeValue(name)}: use 1-128 letters, digits, '.', '_' or '-', starting with a letter or digit`);
  }
  return name;
}

/** Transaction ids the database makes for itself start so; a client may not send one. */
export const RESERVED_TX_ID_PREFIX = 'datalith/';

/** A transaction id a client may send: not one of the database's own (ADR 011). */
export function checkClientTxId(txId: string): string {
  if (txId.startsWith(RESERVED_TX_ID_PREFIX)) {
    throw incorrect('db.error/reserved-tx-id', `Transaction ids starting with ${RESERVED_TX_ID_PREFIX} are reserved for the database itself; choose another txId (a UUID is a good choice)`, { field: 'txId', txId });
  }
  return txId;
}
