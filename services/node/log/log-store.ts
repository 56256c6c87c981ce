/**
 * The per-database transaction log on DynamoDB (DESIGN.md, "The log protocol").
 *
 * Log table: pk `db` (S, the database id), sk `t` (N). One item = one entry holding the
 * consecutive transactions `t .. last`:
 *
 *   { db: S, t: N, last: N, n: N (tx count), body: B }
 *
 * `body` is a small binary envelope; payloads are opaque bytes:
 *
 *   'D' 'L' 'G' 0x01          magic + format version
 *   u32 count
 *   per tx:
 *     f64 t                   (exact for safe integers)
 *     u16 txIdLen, utf8 txId
 *     u8  kind                0 = inline, 1 = chunked, 2 = control: log closed
 *     inline:  u32 len, bytes
 *     chunked: u32 len, u32 crc32, f64 base, u16 chunkCount
 *     closed:  nothing (the entry that closes a deleted database's log)
 *   (all integers little-endian)
 *
 * Append is ONE conditional `PutItem` (`attribute_not_exists(t)`) at (db, entry.t): of two
 * writers racing for the same t exactly one wins; the loser gets `conflict` `log/append-conflict`.
 *
 * Big transactions: items must stay under DynamoDB's 400 KB. When the inline encoding of an entry
 * exceeds `MAX_ITEM_BYTES`, the largest payloads are moved out into *chunk items* in the same
 * table under pk `<db>#chunks`, sort keys `base .. base+count-1` with `base` a random multiple of
 * 1024 below 2^53 (each chunk is itself written with `attribute_not_exists`, so keys never clash).
 * Chunks are written BEFORE the conditional entry put, so a committed entry never references a
 * missing chunk; reading resolves them transparently (strongly consistent reads). A writer that
 * loses the race leaves its chunks behind as orphans: nothing references them, so they are
 * harmless garbage: a writer that loses the conditional put deletes its chunks at once, and
 * `sweepChunks` removes those of appends whose outcome was unknown (each chunk carries `of` =
 * the entry t it was written for: once the entry covering `of` exists and does not name the
 * chunk, no put can ever make it referenced).
 *
 * Control records are marked by their kind, never by a transaction id: nothing a client sends
 * can be read as one. (Logs written before kind 2 closed a log with an inline transaction of
 * id `datalith/database-deleted` and an EMPTY payload; a client transaction always has a
 * non-empty payload, so that legacy form is still told apart by its length.)
 * A single transaction payload above `MAX_TX_BYTES` is refused with `incorrect`
 * `db.error/transaction-too-large` before anything is written.
 */
import { randomInt } from 'node:crypto';
import {
  DeleteItemCommand,
  GetItemCommand,
  PutItemCommand,
  QueryCommand,
  type QueryCommandOutput,
  type AttributeValue,
  type DynamoDBClient,
} from '@aws-sdk/client-dynamodb';
import { DatalithError, incorrect } from '../../engine';
import { isConditionalCheckFailed, storageError } from '../storage/errors';
import { tableNames, type TableNames } from '../storage/tables';

export interface LogTx {
  t: number;
  txId: string;
  payload: Uint8Array;
  /** A control record, not a transaction: `closed` ends a deleted database's log. */
  control?: 'closed';
}

export interface LogEntry {
  db: string;
  /** First t of the entry. */
  t: number;
  /** Last t of the entry (>= t); txs are exactly t, t+1, ..., last. */
  last: number;
  txs: LogTx[];
}

/** Budget for one entry item (DynamoDB's limit is 400 KB = 409,600 bytes; kept with margin). */
export const MAX_ITEM_BYTES = 380_000;
/** Bytes of payload per chunk item. */
export const CHUNK_BYTES = 380_000;
/** Largest single transaction payload accepted (stored in ≤ 12 chunks). */
export const MAX_TX_BYTES = 4 * 1024 * 1024;
/** Suffix of the log-table partition that holds chunks of `db`: `<db>#chunks`. */
export const CHUNK_PARTITION_SUFFIX = '#chunks';

const MAGIC = [0x44, 0x4c, 0x47, 0x01]; // 'DLG' v1
const HEADER_BYTES = 8;
const KIND_INLINE = 0;
const KIND_CHUNKED = 1;
const KIND_CLOSED = 2;
const CHUNK_STRIDE = 1024;
/** Item attributes besides the body: names (db, t, last, n, body) + number values + db string. */
const ITEM_OVERHEAD = 96;

const N = (x: number): AttributeValue => ({ N: String(x) });
const S = (x: string): AttributeValue => ({ S: x });
const utf8len = (s: string): number => Buffer.byteLength(s, 'utf8');

/**
 * The one size rule of log entries. Bytes of an entry item before its transactions, and the
 * bytes one transaction adds with its payload inline: the transactor fills a batch while the
 * sum stays within MAX_ITEM_BYTES; a single larger transaction is chunked by `appendEntry`.
 */
export const entryBaseBytes = (db: string): number => ITEM_OVERHEAD + utf8len(db) + HEADER_BYTES;
export const entryTxBytes = (txId: string, payloadBytes: number): number => 8 + 2 + utf8len(txId) + 1 + 4 + payloadBytes;
const inlineTxBytes = (tx: LogTx): number => entryTxBytes(tx.txId, tx.payload.byteLength);
const chunkedTxBytes = (tx: LogTx): number => 8 + 2 + utf8len(tx.txId) + 1 + 4 + 4 + 8 + 2;
const controlTxBytes = (tx: LogTx): number => 8 + 2 + utf8len(tx.txId) + 1;
const encodedTxBytes = (e: EncodedTx): number => (e.tx.control !== undefined ? controlTxBytes(e.tx) : e.chunk ? chunkedTxBytes(e.tx) : inlineTxBytes(e.tx));

/** Item size of `entry` with every payload inline (see entryBaseBytes). */
export function entrySize(entry: LogEntry): number {
  let n = entryBaseBytes(entry.db);
  for (const tx of entry.txs) n += inlineTxBytes(tx);
  return n;
}

// ---- crc32 (IEEE) -------------------------------------------------------------------------

const CRC_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let i = 0; i < 256; i++) {
    let c = i;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[i] = c >>> 0;
  }
  return t;
})();

function crc32(bytes: Uint8Array): number {
  let c = 0xffffffff;
  for (let i = 0; i < bytes.length; i++) c = (CRC_TABLE[(c ^ bytes[i]!) & 0xff]! ^ (c >>> 8)) >>> 0;
  return (c ^ 0xffffffff) >>> 0;
}

// ---- body encoding -----------------------------------------------------------------------

interface ChunkRef {
  len: number;
  crc: number;
  base: number;
  count: number;
}

type EncodedTx = { tx: LogTx; chunk?: ChunkRef };

function encodeBody(txs: EncodedTx[]): Buffer {
  let size = HEADER_BYTES;
  for (const e of txs) size += encodedTxBytes(e);
  const buf = Buffer.allocUnsafe(size);
  let o = 0;
  for (const b of MAGIC) buf[o++] = b;
  o = buf.writeUInt32LE(txs.length, o);
  for (const { tx, chunk } of txs) {
    o = buf.writeDoubleLE(tx.t, o);
    const idLen = utf8len(tx.txId);
    o = buf.writeUInt16LE(idLen, o);
    o += buf.write(tx.txId, o, 'utf8');
    if (tx.control === 'closed') {
      o = buf.writeUInt8(KIND_CLOSED, o);
    } else if (chunk === undefined) {
      o = buf.writeUInt8(KIND_INLINE, o);
      o = buf.writeUInt32LE(tx.payload.byteLength, o);
      buf.set(tx.payload, o);
      o += tx.payload.byteLength;
    } else {
      o = buf.writeUInt8(KIND_CHUNKED, o);
      o = buf.writeUInt32LE(chunk.len, o);
      o = buf.writeUInt32LE(chunk.crc, o);
      o = buf.writeDoubleLE(chunk.base, o);
      o = buf.writeUInt16LE(chunk.count, o);
    }
  }
  if (o !== size) throw new DatalithError('fault', `log entry encoder wrote ${o} of ${size} bytes`, 'log/encode-failed');
  return buf;
}

type DecodedTx = { t: number; txId: string; payload?: Uint8Array; chunk?: ChunkRef; control?: 'closed' };

function corrupt(db: string, t: number, why: string): DatalithError {
  return new DatalithError('fault', `log entry ${db}@${t} is corrupt: ${why}`, 'log/corrupt-entry', { db, t });
}

function decodeBody(db: string, t: number, body: Uint8Array): DecodedTx[] {
  const buf = Buffer.from(body.buffer, body.byteOffset, body.byteLength);
  if (buf.length < HEADER_BYTES || MAGIC.some((b, i) => buf[i] !== b)) throw corrupt(db, t, 'bad header');
  try {
    let o = 4;
    const count = buf.readUInt32LE(o); o += 4;
    const out: DecodedTx[] = [];
    for (let i = 0; i < count; i++) {
      const txT = buf.readDoubleLE(o); o += 8;
      const idLen = buf.readUInt16LE(o); o += 2;
      if (o + idLen > buf.length) throw new RangeError('txId out of range');
      const txId = buf.toString('utf8', o, o + idLen); o += idLen;
      const kind = buf.readUInt8(o); o += 1;
      if (kind === KIND_INLINE) {
        const len = buf.readUInt32LE(o); o += 4;
        if (o + len > buf.length) throw new RangeError('payload out of range');
        out.push({ t: txT, txId, payload: new Uint8Array(buf.buffer, buf.byteOffset + o, len) });
        o += len;
      } else if (kind === KIND_CHUNKED) {
        const len = buf.readUInt32LE(o); o += 4;
        const crc = buf.readUInt32LE(o); o += 4;
        const base = buf.readDoubleLE(o); o += 8;
        const cnt = buf.readUInt16LE(o); o += 2;
        out.push({ t: txT, txId, chunk: { len, crc, base, count: cnt } });
      } else if (kind === KIND_CLOSED) {
        out.push({ t: txT, txId, payload: new Uint8Array(0), control: 'closed' });
      } else {
        throw new RangeError(`unknown tx kind ${kind}`);
      }
    }
    if (o !== buf.length) throw new RangeError('trailing bytes');
    return out;
  } catch (e) {
    throw corrupt(db, t, (e as Error).message);
  }
}

/** An entry item's bounds and its transactions as stored (chunked payloads not yet read). */
function decodeItem(db: string, item: Record<string, AttributeValue>): { first: number; last: number; txs: DecodedTx[] } {
  const first = Number(item['t']?.N);
  const last = Number(item['last']?.N);
  const body = item['body']?.B;
  if (body === undefined || !Number.isSafeInteger(first) || !Number.isSafeInteger(last)) throw corrupt(db, first, 'missing attributes');
  const txs = decodeBody(db, first, body);
  if (txs.length !== last - first + 1) throw corrupt(db, first, `${txs.length} txs for ${first}..${last}`);
  return { first, last, txs };
}

// ---- validation --------------------------------------------------------------------------

function validateEntry(entry: LogEntry): void {
  const bad = (why: string): DatalithError =>
    incorrect('log/invalid-entry', `invalid log entry: ${why}`, { db: entry.db, t: entry.t });
  if (typeof entry.db !== 'string' || entry.db.length === 0 || entry.db.includes('#')) throw bad('db must be a non-empty string without "#"');
  if (!Number.isSafeInteger(entry.t) || entry.t < 1) throw bad('t must be a positive safe integer');
  if (!Number.isSafeInteger(entry.last) || entry.last < entry.t) throw bad('last must be an integer >= t');
  if (entry.txs.length !== entry.last - entry.t + 1) throw bad(`${entry.txs.length} txs for t ${entry.t}..${entry.last}`);
  entry.txs.forEach((tx, i) => {
    if (tx.t !== entry.t + i) throw bad(`tx ${i} has t ${tx.t}, expected ${entry.t + i}`);
    if (typeof tx.txId !== 'string' || utf8len(tx.txId) > 1024) throw bad(`tx ${i} txId must be a string of at most 1024 bytes`);
    if (!(tx.payload instanceof Uint8Array)) throw bad(`tx ${i} payload must be a Uint8Array`);
    if (tx.control !== undefined && (tx.control !== 'closed' || tx.payload.byteLength > 0 || entry.txs.length !== 1)) {
      throw bad(`tx ${i} is a control record: it must be 'closed', have no payload and stand alone in its entry`);
    }
    if (tx.payload.byteLength > MAX_TX_BYTES) {
      throw incorrect('db.error/transaction-too-large',
        `transaction is ${tx.payload.byteLength} bytes encoded; the limit is ${MAX_TX_BYTES} bytes`,
        { txId: tx.txId, bytes: tx.payload.byteLength, max: MAX_TX_BYTES });
    }
  });
}

// ---- the store ---------------------------------------------------------------------------

export interface ReadOptions {
  /** Strongly consistent reads (default true). */
  consistent?: boolean;
  /** At most this many entries. */
  limit?: number;
}

export class LogStore {
  readonly table: string;
  /** Databases with chunks from an append whose outcome was unknown: swept after the next append. */
  private readonly sweepDue = new Set<string>();

  constructor(private readonly client: DynamoDBClient, names: Partial<TableNames> = {}) {
    this.table = tableNames(names).logTable;
  }

  /**
   * Append `entry` at (entry.db, entry.t) with one conditional PutItem. Resolves only after the
   * entry is durably written. Throws `conflict` `log/append-conflict` when an entry at that t
   * exists (someone else won; catch up and retry), `incorrect` for invalid/oversize entries,
   * `unavailable`/`busy` for storage failures (outcome unknown: the entry may have been written).
   *
   * If the conditional put fails because this very entry is already there (an SDK retry of a put
   * whose first attempt succeeded but whose response was lost), the append counts as successful.
   */
  async appendEntry(entry: LogEntry): Promise<void> {
    validateEntry(entry);
    const { body: encoded, chunks } = await this.prepareBody(entry);
    const item: Record<string, AttributeValue> = {
      db: S(entry.db),
      t: N(entry.t),
      last: N(entry.last),
      n: N(entry.txs.length),
      body: { B: encoded },
    };
    try {
      await this.client.send(new PutItemCommand({
        TableName: this.table,
        Item: item,
        ConditionExpression: 'attribute_not_exists(#t)',
        ExpressionAttributeNames: { '#t': 't' },
      }));
      if (this.sweepDue.delete(entry.db)) void this.sweepChunks(entry.db).catch(() => this.sweepDue.add(entry.db));
    } catch (e) {
      if (!isConditionalCheckFailed(e)) {
        // The entry may or may not have landed: its chunks are swept once the log moves on.
        if (chunks.length > 0) this.sweepDue.add(entry.db);
        throw storageError('PutItem', e, { table: this.table, db: entry.db, t: entry.t });
      }
      const existing = await this.getBody(entry.db, entry.t);
      if (existing !== undefined && Buffer.from(existing).equals(encoded)) return; // our own write landed
      // Another entry holds this t: no put can ever make our chunks referenced.
      if (chunks.length > 0) await this.deleteChunks(entry.db, chunks).catch(() => undefined);
      throw new DatalithError('conflict', `log entry ${entry.db}@${entry.t} already exists`, 'log/append-conflict',
        { db: entry.db, t: entry.t });
    }
  }

  /** Entries with t > afterT, ascending, chunks resolved. */
  async readEntries(db: string, afterT: number, opts: ReadOptions = {}): Promise<LogEntry[]> {
    const consistent = opts.consistent ?? true;
    const limit = opts.limit;
    const out: LogEntry[] = [];
    let startKey: Record<string, AttributeValue> | undefined;
    do {
      const want = limit === undefined ? undefined : limit - out.length;
      if (want !== undefined && want <= 0) break;
      const page = await this.queryEntries(db, afterT, consistent, startKey, want);
      for (const it of page.Items ?? []) out.push(await this.itemToEntry(db, it));
      startKey = page.LastEvaluatedKey;
    } while (startKey !== undefined);
    return limit === undefined ? out : out.slice(0, limit);
  }

  /**
   * The entries after `afterT`, a query page at a time, in order. The next page is already being
   * fetched while the caller works on this one, and no more than two pages are held: loading a
   * long log overlaps reading with replaying and does not keep the whole log in memory.
   */
  async *readEntryPages(db: string, afterT: number, opts: { consistent?: boolean } = {}): AsyncGenerator<LogEntry[], void, undefined> {
    const consistent = opts.consistent ?? true;
    const prefetch = (startKey: Record<string, AttributeValue> | undefined): Promise<QueryCommandOutput> => {
      const p = this.queryEntries(db, afterT, consistent, startKey);
      // A caller that stops early leaves a prefetched page unread: its failure is nobody's.
      p.catch(() => undefined);
      return p;
    };
    let next: Promise<QueryCommandOutput> | undefined = prefetch(undefined);
    while (next !== undefined) {
      const page: QueryCommandOutput = await next;
      next = page.LastEvaluatedKey === undefined ? undefined : prefetch(page.LastEvaluatedKey);
      const entries: LogEntry[] = [];
      for (const it of page.Items ?? []) entries.push(await this.itemToEntry(db, it));
      yield entries;
    }
  }

  /** One query page of the entries after `afterT`. */
  private async queryEntries(db: string, afterT: number, consistent: boolean, startKey: Record<string, AttributeValue> | undefined, limit?: number): Promise<QueryCommandOutput> {
    return this.call('Query', { db, afterT }, () => this.client.send(new QueryCommand({
      TableName: this.table,
      KeyConditionExpression: '#db = :db AND #t > :after',
      ExpressionAttributeNames: { '#db': 'db', '#t': 't' },
      ExpressionAttributeValues: { ':db': S(db), ':after': N(afterT) },
      ConsistentRead: consistent,
      ScanIndexForward: true,
      ...(limit !== undefined ? { Limit: limit } : {}),
      ...(startKey !== undefined ? { ExclusiveStartKey: startKey } : {}),
    })));
  }

  /** The entry starting exactly at t, if any. */
  async getEntry(db: string, t: number, opts: { consistent?: boolean } = {}): Promise<LogEntry | undefined> {
    const res = await this.call('GetItem', { db, t }, () => this.client.send(new GetItemCommand({
      TableName: this.table,
      Key: { db: S(db), t: N(t) },
      ConsistentRead: opts.consistent ?? true,
    })));
    return res.Item === undefined ? undefined : this.itemToEntry(db, res.Item);
  }

  /** The `last` t of the newest entry of `db`; 0 when the log is empty. */
  async latestT(db: string): Promise<number> {
    const res = await this.call('Query', { db }, () => this.client.send(new QueryCommand({
      TableName: this.table,
      KeyConditionExpression: '#db = :db',
      ExpressionAttributeNames: { '#db': 'db', '#last': 'last' },
      ExpressionAttributeValues: { ':db': S(db) },
      ProjectionExpression: '#last',
      ConsistentRead: true,
      ScanIndexForward: false,
      Limit: 1,
    })));
    const last = res.Items?.[0]?.['last']?.N;
    return last === undefined ? 0 : Number(last);
  }

  /**
   * The transaction at exactly `t`, read from the entry that covers it (strongly consistent);
   * only its own chunks are fetched.
   */
  async readTx(db: string, t: number): Promise<LogTx | undefined> {
    const res = await this.call('Query', { db, t }, () => this.client.send(new QueryCommand({
      TableName: this.table,
      KeyConditionExpression: '#db = :db AND #t <= :t',
      ExpressionAttributeNames: { '#db': 'db', '#t': 't' },
      ExpressionAttributeValues: { ':db': S(db), ':t': N(t) },
      ConsistentRead: true,
      ScanIndexForward: false,
      Limit: 1,
    })));
    const item = res.Items?.[0];
    if (item === undefined) return undefined;
    const { first, txs } = decodeItem(db, item);
    const tx = txs.find((d) => d.t === t);
    return tx === undefined ? undefined : this.resolveTx(db, first, tx);
  }

  /**
   * Deletes the chunk items of `db` that no entry references and none ever can: those whose
   * entry t (`of`) is covered by an entry that does not name them. Chunks of an append still
   * in flight are kept (its t is not taken yet). Returns how many were deleted.
   */
  async sweepChunks(db: string): Promise<number> {
    const byOf = new Map<number, number[]>();
    let startKey: Record<string, AttributeValue> | undefined;
    do {
      const page: QueryCommandOutput = await this.call('Query', { db, sweep: true }, () => this.client.send(new QueryCommand({
        TableName: this.table,
        KeyConditionExpression: '#db = :db',
        ExpressionAttributeNames: { '#db': 'db', '#t': 't', '#of': 'of' },
        ExpressionAttributeValues: { ':db': S(db + CHUNK_PARTITION_SUFFIX) },
        ProjectionExpression: '#t, #of',
        ConsistentRead: true,
        ...(startKey !== undefined ? { ExclusiveStartKey: startKey } : {}),
      })));
      for (const it of page.Items ?? []) {
        const key = Number(it['t']?.N);
        const of = Number(it['of']?.N);
        if (!Number.isSafeInteger(key) || !Number.isSafeInteger(of)) continue;
        const list = byOf.get(of);
        if (list) list.push(key);
        else byOf.set(of, [key]);
      }
      startKey = page.LastEvaluatedKey;
    } while (startKey !== undefined);
    if (byOf.size === 0) return 0;
    const latest = await this.latestT(db);
    let deleted = 0;
    for (const [of, keys] of byOf) {
      if (of > latest) continue; // that t is not taken yet: an append may still land there
      const referenced = new Set<number>();
      const body = await this.getBody(db, of);
      if (body !== undefined) {
        for (const d of decodeBody(db, of, body)) {
          if (d.chunk !== undefined) for (let i = 0; i < d.chunk.count; i++) referenced.add(d.chunk.base + i);
        }
      }
      const orphans = keys.filter((k) => !referenced.has(k));
      await this.deleteChunkKeys(db, orphans);
      deleted += orphans.length;
    }
    return deleted;
  }

  // ---- internals ----

  /** One storage call; a failure becomes the anomaly `storageError` makes of it. */
  private async call<T>(operation: string, context: Record<string, unknown>, send: () => Promise<T>): Promise<T> {
    try {
      return await send();
    } catch (e) {
      throw storageError(operation, e, { table: this.table, ...context });
    }
  }

  private deleteChunks(db: string, chunks: readonly ChunkRef[]): Promise<void> {
    const keys: number[] = [];
    for (const c of chunks) for (let i = 0; i < c.count; i++) keys.push(c.base + i);
    return this.deleteChunkKeys(db, keys);
  }

  private async deleteChunkKeys(db: string, keys: readonly number[]): Promise<void> {
    await Promise.all(keys.map((k) => this.call('DeleteItem', { db, chunk: k }, () =>
      this.client.send(new DeleteItemCommand({ TableName: this.table, Key: { db: S(db + CHUNK_PARTITION_SUFFIX), t: N(k) } })))));
  }

  /** Encode the body, spilling the largest payloads into chunk items (written now) if needed. */
  private async prepareBody(entry: LogEntry): Promise<{ body: Buffer; chunks: ChunkRef[] }> {
    const encoded: EncodedTx[] = entry.txs.map((tx) => ({ tx }));
    const fixed = ITEM_OVERHEAD + utf8len(entry.db);
    let size = entrySize(entry);
    if (size > MAX_ITEM_BYTES) {
      const bySize = [...encoded].sort((a, b) => b.tx.payload.byteLength - a.tx.payload.byteLength);
      const spill: EncodedTx[] = [];
      for (const e of bySize) {
        if (size <= MAX_ITEM_BYTES) break;
        size -= inlineTxBytes(e.tx) - chunkedTxBytes(e.tx);
        spill.push(e);
      }
      if (size > MAX_ITEM_BYTES) {
        throw incorrect('log/entry-too-large',
          `log entry ${entry.db}@${entry.t} needs ${size} bytes even with every payload chunked (max ${MAX_ITEM_BYTES}); split the batch`,
          { db: entry.db, t: entry.t, bytes: size, max: MAX_ITEM_BYTES });
      }
      await Promise.all(spill.map(async (e) => { e.chunk = await this.writeChunks(entry, e.tx); }));
    }
    const body = encodeBody(encoded);
    if (fixed + body.length > MAX_ITEM_BYTES) {
      throw new DatalithError('fault', `log entry size accounting is off (${fixed + body.length} bytes)`, 'log/encode-failed');
    }
    const chunks: ChunkRef[] = [];
    for (const e of encoded) if (e.chunk !== undefined) chunks.push(e.chunk);
    return { body, chunks };
  }

  private async writeChunks(entry: LogEntry, tx: LogTx): Promise<ChunkRef> {
    const bytes = tx.payload;
    const count = Math.max(1, Math.ceil(bytes.byteLength / CHUNK_BYTES));
    const crc = crc32(bytes);
    for (let attempt = 0; ; attempt++) {
      const base = randomInt(1, 2 ** 43) * CHUNK_STRIDE; // < 2^53, room for CHUNK_STRIDE chunks
      try {
        await Promise.all(Array.from({ length: count }, (_, i) => this.client.send(new PutItemCommand({
          TableName: this.table,
          Item: {
            db: S(entry.db + CHUNK_PARTITION_SUFFIX),
            t: N(base + i),
            of: N(entry.t),
            txId: S(tx.txId),
            data: { B: bytes.subarray(i * CHUNK_BYTES, Math.min(bytes.byteLength, (i + 1) * CHUNK_BYTES)) },
          },
          ConditionExpression: 'attribute_not_exists(#t)',
          ExpressionAttributeNames: { '#t': 't' },
        }))));
        return { len: bytes.byteLength, crc, base, count };
      } catch (e) {
        // A clash of random chunk keys (astronomically unlikely): pick another base.
        if (isConditionalCheckFailed(e) && attempt < 3) continue;
        throw storageError('PutItem', e, { table: this.table, db: entry.db, t: entry.t, chunk: true });
      }
    }
  }

  private async getBody(db: string, t: number): Promise<Uint8Array | undefined> {
    const res = await this.call('GetItem', { db, t }, () => this.client.send(new GetItemCommand({
      TableName: this.table,
      Key: { db: S(db), t: N(t) },
      ConsistentRead: true,
      ProjectionExpression: '#b',
      ExpressionAttributeNames: { '#b': 'body' },
    })));
    return res.Item?.['body']?.B;
  }

  private async itemToEntry(db: string, item: Record<string, AttributeValue>): Promise<LogEntry> {
    const { first, last, txs } = decodeItem(db, item);
    return { db, t: first, last, txs: await Promise.all(txs.map((d) => this.resolveTx(db, first, d))) };
  }

  /** A decoded transaction of the entry starting at `entryT`, its payload read from its chunks if need be. */
  private async resolveTx(db: string, entryT: number, d: DecodedTx): Promise<LogTx> {
    return {
      t: d.t,
      txId: d.txId,
      payload: d.payload ?? (await this.readChunks(db, entryT, d.chunk as ChunkRef)),
      ...(d.control !== undefined ? { control: d.control } : {}),
    };
  }

  private async readChunks(db: string, t: number, ref: ChunkRef): Promise<Uint8Array> {
    const parts = await Promise.all(Array.from({ length: ref.count }, async (_, i) => {
      // Always strongly consistent: the entry is visible, so its chunks were written before it.
      const res = await this.call('GetItem', { db, t, chunk: i }, () => this.client.send(new GetItemCommand({
        TableName: this.table,
        Key: { db: S(db + CHUNK_PARTITION_SUFFIX), t: N(ref.base + i) },
        ConsistentRead: true,
      })));
      const data = res.Item?.['data']?.B;
      if (data === undefined) {
        throw new DatalithError('fault', `log entry ${db}@${t} references missing chunk ${ref.base + i}`, 'log/missing-chunk', { db, t });
      }
      return data;
    }));
    const out = new Uint8Array(ref.len);
    let o = 0;
    for (const p of parts) {
      if (o + p.byteLength > ref.len) throw corrupt(db, t, 'chunks longer than recorded');
      out.set(p, o);
      o += p.byteLength;
    }
    if (o !== ref.len) throw corrupt(db, t, `chunks hold ${o} of ${ref.len} bytes`);
    if (crc32(out) !== ref.crc) throw corrupt(db, t, 'chunk checksum mismatch');
    return out;
  }
}
