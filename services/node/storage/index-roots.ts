/**
 * Index roots in the catalog table (docs/adr/010-segment-format-and-root-protocol.md):
 *
 *   pk `index-root`  sk <database id>  { t: N (indexedT), root: S (JSON of the record below) }
 *
 * A root names the root segment of each durable index — the current EAVT, AEVT, AVET and VAET,
 * the history in the same four orders, and the log — built from the log up to and including
 * `indexedT`, with each tree's size and what a value carries besides its trees (maxEid, lastInstant).
 * A database value is that root plus the log after `indexedT`.
 *
 * A root only moves forward: `advance` is one conditional PutItem that succeeds only when no root
 * is stored or the stored one's `t` is lower than the new one's. Of two indexers racing to the
 * same (or an older) t, exactly one wins; the other is told so and gets the stored root. The
 * writer must have made every segment the new root reaches durable first, so a reader never meets
 * a root whose segments are missing, and a writer killed at any step leaves the last root valid.
 */
import { GetItemCommand, PutItemCommand, type AttributeValue, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { INDEX_NAMES, type IndexName, fault, incorrect } from '../../engine';
import { isConditionalCheckFailed, storageError } from './errors';
import { isSegmentKey, SEGMENT_FORMAT } from './segment-codec';
import { tableNames, type TableNames } from './tables';

/** Catalog partition of index roots (reserved: generic records may not use it). */
export const INDEX_ROOT_PK = 'index-root';

export type IndexRootKeys = Readonly<Record<IndexName, string>>;
export interface IndexRootSizes {
  readonly current: Readonly<Record<IndexName, number>>;
  readonly history: Readonly<Record<IndexName, number>>;
  readonly log: number;
}

export interface IndexRoot {
  /** The database id (the log partition), not its name: a recreated database starts afresh. */
  readonly db: string;
  /** The durable index holds exactly the transactions with t ≤ indexedT. */
  readonly indexedT: number;
  /** Segment format of every segment the root reaches. */
  readonly format: number;
  /** Root segment keys of the current indexes. */
  readonly current: IndexRootKeys;
  /** Root segment keys of the history indexes (Retraction records, history order). */
  readonly history: IndexRootKeys;
  /** Root segment key of the durable log (transactions t ≤ indexedT with their datoms). */
  readonly log: string;
  /** Keys (datoms, records, transactions) in each tree: the trees' sizes before anything is loaded. */
  readonly sizes: IndexRootSizes;
  /** The database value's highest entity id and latest transaction instant at indexedT. */
  readonly maxEid: number;
  readonly lastInstant: number;
  /** Datoms in the current EAVT index and history records (for stats; not trusted for reads). */
  readonly datoms: number;
  readonly historyRecords: number;
  /** ISO-8601 time the root was written, and by which node (for operators). */
  readonly createdAt: string;
  readonly writtenBy: string;
}

export type AdvanceResult =
  | { readonly advanced: true; readonly root: IndexRoot }
  /** Refused: the stored root's t is not below the new one's; `stored` is what is there now. */
  | { readonly advanced: false; readonly stored: IndexRoot };

const S = (x: string): AttributeValue => ({ S: x });
const N = (x: number): AttributeValue => ({ N: String(x) });

function checkDbId(db: unknown): asserts db is string {
  if (typeof db !== 'string' || db.length === 0) {
    throw incorrect('index/invalid-root', `an index root needs a database id, got ${JSON.stringify(db)}`);
  }
}

function checkKeys(what: string, keys: unknown): void {
  for (const index of INDEX_NAMES) {
    const k = (keys as Record<string, unknown> | null | undefined)?.[index];
    if (!isSegmentKey(k)) {
      throw incorrect('index/invalid-root', `index root ${what}.${index} must be a segment key (64 hex digits), got ${JSON.stringify(k)}`,
        { index: `${what}.${index}` });
    }
  }
}

const isCount = (n: unknown): n is number => Number.isSafeInteger(n) && (n as number) >= 0;

/** Throws `incorrect` `index/invalid-root` naming the first bad field. */
export function checkIndexRoot(r: IndexRoot): void {
  checkDbId(r.db);
  if (!Number.isSafeInteger(r.indexedT) || r.indexedT < 1) {
    throw incorrect('index/invalid-root', `index root indexedT must be a positive integer, got ${String(r.indexedT)}`);
  }
  if (r.format !== SEGMENT_FORMAT) {
    throw incorrect('index/invalid-root', `index root format must be ${SEGMENT_FORMAT}, got ${String(r.format)}`);
  }
  checkKeys('current', r.current);
  checkKeys('history', r.history);
  if (!isSegmentKey(r.log)) throw incorrect('index/invalid-root', `index root log must be a segment key (64 hex digits), got ${JSON.stringify(r.log)}`, { index: 'log' });
  const sizes = r.sizes as IndexRootSizes | undefined;
  if (sizes === null || typeof sizes !== 'object' || !isCount(sizes.log)
    || !INDEX_NAMES.every((i) => isCount(sizes.current?.[i]) && isCount(sizes.history?.[i]))) {
    throw incorrect('index/invalid-root', 'index root sizes must give a count for every tree (current, history, log)');
  }
  if (!isCount(r.maxEid) || !isCount(r.lastInstant)) {
    throw incorrect('index/invalid-root', `index root maxEid and lastInstant must be counts, got ${String(r.maxEid)}, ${String(r.lastInstant)}`);
  }
  if (!isCount(r.datoms) || !isCount(r.historyRecords)) {
    throw incorrect('index/invalid-root', `index root datoms and historyRecords must be counts, got ${String(r.datoms)}, ${String(r.historyRecords)}`);
  }
  if (typeof r.createdAt !== 'string' || typeof r.writtenBy !== 'string') {
    throw incorrect('index/invalid-root', 'index root createdAt and writtenBy must be strings');
  }
}

const pickKeys = (k: IndexRootKeys): IndexRootKeys => ({ eavt: k.eavt, aevt: k.aevt, avet: k.avet, vaet: k.vaet });
const pickSizes = (k: Readonly<Record<IndexName, number>>): Record<IndexName, number> => ({ eavt: k.eavt, aevt: k.aevt, avet: k.avet, vaet: k.vaet });

function fromItem(db: string, item: Record<string, AttributeValue>): IndexRoot {
  let r: IndexRoot;
  try {
    r = { ...(JSON.parse(item['root']?.S ?? '') as IndexRoot), db, indexedT: Number(item['t']?.N) };
    checkIndexRoot(r);
  } catch (e) {
    throw fault('index/corrupt-root', `the stored index root of database ${db} is unreadable: ${(e as Error).message}`, { db });
  }
  return r;
}

export class IndexRootStore {
  readonly table: string;

  constructor(private readonly client: DynamoDBClient, names: Partial<TableNames> = {}) {
    this.table = tableNames(names).catalogTable;
  }

  /** The database's current root (strongly consistent), or undefined before its first indexing. */
  async get(db: string): Promise<IndexRoot | undefined> {
    checkDbId(db);
    let item: Record<string, AttributeValue> | undefined;
    try {
      const res = await this.client.send(new GetItemCommand({
        TableName: this.table,
        Key: { pk: S(INDEX_ROOT_PK), sk: S(db) },
        ConsistentRead: true,
      }));
      item = res.Item;
    } catch (e) {
      throw storageError('GetItem', e, { table: this.table, db });
    }
    return item === undefined ? undefined : fromItem(db, item);
  }

  /**
   * Store `root` if it is newer than the stored one (or none is stored). Call it only after every
   * segment the root reaches is durable. `unavailable` leaves the outcome unknown: read it back.
   */
  async advance(root: IndexRoot): Promise<AdvanceResult> {
    checkIndexRoot(root);
    const clean: IndexRoot = {
      ...root, current: pickKeys(root.current), history: pickKeys(root.history),
      sizes: { current: pickSizes(root.sizes.current), history: pickSizes(root.sizes.history), log: root.sizes.log },
    };
    const { db, indexedT, ...rest } = clean;
    try {
      await this.client.send(new PutItemCommand({
        TableName: this.table,
        Item: { pk: S(INDEX_ROOT_PK), sk: S(db), t: N(indexedT), root: S(JSON.stringify(rest)) },
        ConditionExpression: 'attribute_not_exists(#pk) OR #t < :t',
        ExpressionAttributeNames: { '#pk': 'pk', '#t': 't' },
        ExpressionAttributeValues: { ':t': N(indexedT) },
      }));
      return { advanced: true, root: clean };
    } catch (e) {
      if (!isConditionalCheckFailed(e)) throw storageError('PutItem', e, { table: this.table, db, indexedT });
    }
    const stored = await this.get(db);
    if (stored === undefined) {
      // Only a deleted record can vanish between the refusal and the read; roots are never deleted.
      throw fault('index/root-vanished', `the index root of database ${db} refused an advance to t ${indexedT} and then was gone`, { db });
    }
    return { advanced: false, stored };
  }
}
