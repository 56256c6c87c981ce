/**
 * What a transaction is in the log: the payload of one log transaction (its datoms as committed,
 * its instant and tempids, and any refusals it seals), and the records that are not
 * transactions. The item and body format around payloads is LogStore's (log-store.ts).
 *
 * Payload format (JSON, UTF-8): `{ instant, tempids, datoms: [[e, a, wireValue, 0|1], …],
 * refused?: [{ txId, category, code?, message }] }`.
 */
import { Datom, DatalithError, fromWire, toWire, tToTx, type TxReport, type Value } from '../../engine';
import type { LogTx } from './log-store';

/**
 * The transaction id that logs written before control records had a kind of their own used for
 * the entry closing a deleted database's log (with an empty payload, which no transaction has).
 * Today that entry is a control record (`LogTx.control = 'closed'`): appended with the same
 * conditional write as any entry, it makes every later append to that log conflict, so a node
 * that has not heard of the deletion finds out on its next write (or catch-up) and never
 * acknowledges a transaction into a deleted database.
 */
export const DELETED_TX_ID = 'datalith/database-deleted';
/**
 * A refusal written to the log. A transaction whose outcome its client does not know (a retry
 * after a timeout or a lost connection, or a transaction a node commits itself after forwarding
 * it failed) may still be in flight elsewhere: a node that dies mid-append can have its write
 * land later, or its transactor re-evaluate the batch after a conflict. So a node refuses such
 * a transaction only by writing the refusal into the log (in an empty transaction that seals the
 * tail), and every node that reads it refuses that transaction id from then on, with the same
 * error. Either the refusal or the transaction is in the log first; never both.
 */
export interface RecordedRefusal {
  readonly txId: string;
  readonly category: DatalithError['category'];
  readonly code?: string;
  readonly message: string;
}

/** A recorded refusal keeps this much of its error's message. */
const REFUSAL_MESSAGE_CHARS = 500;

interface TxPayload {
  readonly instant: number;
  readonly tempids: Record<string, number>;
  readonly datoms: Array<[number, number, unknown, 0 | 1]>;
  /** Refusals sealed by this transaction (an empty one); absent in almost every entry. */
  readonly refused?: readonly RecordedRefusal[];
}

export function encodeTx(r: TxReport, refused?: readonly RecordedRefusal[]): Uint8Array {
  const payload: TxPayload = {
    instant: r.dbAfter.state.lastInstant,
    tempids: r.tempids,
    datoms: r.txData.map((d) => [d.e, d.a, toWire(d.v), d.added ? 1 : 0]),
    ...(refused !== undefined && refused.length > 0 ? { refused } : {}),
  };
  return Buffer.from(JSON.stringify(payload));
}

export function decodeTx(t: number, bytes: Uint8Array): { instant: number; tempids: Record<string, number>; datoms: Datom[]; refused: readonly RecordedRefusal[] } {
  const p = JSON.parse(Buffer.from(bytes).toString('utf8')) as TxPayload;
  const tx = tToTx(t);
  return {
    instant: p.instant,
    tempids: p.tempids,
    datoms: p.datoms.map(([e, a, v, added]) => new Datom(e, a, fromWire(v) as Value, tx, added === 1)),
    refused: p.refused ?? [],
  };
}

export function recordRefusal(txId: string, e: DatalithError): RecordedRefusal {
  const message = e.message.length > REFUSAL_MESSAGE_CHARS ? `${e.message.slice(0, REFUSAL_MESSAGE_CHARS)}…` : e.message;
  return { txId, category: e.category, ...(e.code !== undefined ? { code: e.code } : {}), message };
}

export function refusalError(r: RecordedRefusal): DatalithError {
  return new DatalithError(r.category, r.message, r.code, { txId: r.txId, recorded: true });
}

/** Whether a log transaction closes a deleted database's log (today's control kind, or the legacy form). */
export function closesLog(tx: LogTx): boolean {
  return tx.control === 'closed' || (tx.txId === DELETED_TX_ID && tx.payload.byteLength === 0);
}

