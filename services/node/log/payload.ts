/**
 * What a transaction is in the log: the payload of one log transaction (its datoms as committed,
 * its instant and tempids, and any refusals it seals), and the records that are not
 * transactions. The item and body format around payloads is LogStore's (log-store.ts).
 *
 * Payload format 2 (written since the durable indexes, docs/adr/010): binary,
 *
 *   0xD1  magic (a JSON payload starts with '{')
 *   u8    PAYLOAD_FORMAT (2)
 *   u8    codec: 0 none, 2 brotli (bodies above COMPRESS_ABOVE_BYTES)
 *   ...   the body: the engine's transaction body (MessagePack, columnar; encodeTxBody)
 *
 * DynamoDB bills and throttles writes by size, so a smaller payload is more transactions per
 * second within one partition. Format 1 (JSON, UTF-8: `{ instant, tempids, datoms: [[e, a,
 * wireValue, 0|1], …], refused? }`) is still read: logs written before stay readable.
 */
import { brotliCompressSync, brotliDecompressSync, constants as zlib } from 'node:zlib';
import { Datom, DatalithError, decodeTxBody, encodeTxBody, fault, fromWire, tToTx, type TxReport, type Value } from '../../engine';
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

const PAYLOAD_MAGIC = 0xd1;
export const PAYLOAD_FORMAT = 2;
const CODEC_NONE = 0;
const CODEC_BROTLI = 2;
/** Bodies above this are compressed (a small one would not gain a write unit). */
const COMPRESS_ABOVE_BYTES = 1024;
/** A payload never inflates beyond this (the largest transaction is far below). */
const MAX_BODY_BYTES = 256 * 1024 * 1024;

/**
 * The transaction's payload. The size limit (MAX_TX_BYTES, docs/limits.md) is on the body
 * before compression (`encodedTxSize`), so what a transaction may hold does not depend on how
 * well its values compress.
 */
export function encodeTx(r: TxReport, refused?: readonly RecordedRefusal[]): Uint8Array {
  return encodeTxSized(r, refused).bytes;
}

export function encodeTxSized(r: TxReport, refused?: readonly RecordedRefusal[]): { bytes: Uint8Array; bodyBytes: number } {
  const body = encodeTxBody({ instant: r.dbAfter.state.lastInstant, tempids: r.tempids, datoms: r.txData, ...(refused !== undefined ? { refused } : {}) });
  const compress = body.byteLength > COMPRESS_ABOVE_BYTES;
  const stored = compress
    ? brotliCompressSync(body, { params: { [zlib.BROTLI_PARAM_QUALITY]: 4, [zlib.BROTLI_PARAM_SIZE_HINT]: body.byteLength } })
    : body;
  const out = new Uint8Array(3 + stored.byteLength);
  out[0] = PAYLOAD_MAGIC;
  out[1] = PAYLOAD_FORMAT;
  out[2] = compress ? CODEC_BROTLI : CODEC_NONE;
  out.set(stored, 3);
  return { bytes: out, bodyBytes: body.byteLength };
}

export function decodeTx(t: number, bytes: Uint8Array): { instant: number; tempids: Record<string, number>; datoms: Datom[]; refused: readonly RecordedRefusal[] } {
  const tx = tToTx(t);
  if (bytes[0] !== PAYLOAD_MAGIC) return decodeJsonTx(tx, bytes);
  if (bytes[1] !== PAYLOAD_FORMAT || (bytes[2] !== CODEC_NONE && bytes[2] !== CODEC_BROTLI)) {
    throw fault('log/unsupported-format', `log payload format ${bytes[1]} / codec ${bytes[2]} at t ${t} is not supported (this node reads ${PAYLOAD_FORMAT})`, { t });
  }
  let body: Uint8Array = bytes.subarray(3);
  if (bytes[2] === CODEC_BROTLI) {
    try {
      body = brotliDecompressSync(body, { maxOutputLength: MAX_BODY_BYTES });
    } catch (e) {
      throw fault('log/corrupt-payload', `corrupt log payload at t ${t}: ${(e as Error).message}`, { t });
    }
  }
  const b = decodeTxBody<RecordedRefusal>(body, tx);
  return { instant: b.instant, tempids: b.tempids, datoms: b.datoms as Datom[], refused: b.refused };
}

/** Format 1: JSON (logs written before format 2). */
function decodeJsonTx(tx: number, bytes: Uint8Array): { instant: number; tempids: Record<string, number>; datoms: Datom[]; refused: readonly RecordedRefusal[] } {
  const p = JSON.parse(Buffer.from(bytes).toString('utf8')) as TxPayload;
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

