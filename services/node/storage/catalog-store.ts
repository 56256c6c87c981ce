/**
 * The catalog table (pk `pk` S, sk `sk` S):
 *
 *   pk `db`        sk <name>     { id, createdAt }      one item per live database
 *   pk `db-deleted` sk <id>      { name, deletedAt }    tombstones, for a later sweep of old logs
 *   pk `node`      sk <nodeId>   { info (JSON), at, expiresAt, ttl }   membership heartbeats
 *   pk `index-root` sk <id>       { t, root (JSON) }     durable index roots (index-roots.ts)
 *   any other pk   sk <key>      { data (JSON) }        generic records (putRecord/getRecord/queryRecords)
 *
 * A database's id is a fresh UUID per creation, and its log lives under that id, so a database
 * deleted and created again under the same name starts with an empty log. An id names one
 * incarnation and is never reused: scoped access keys are bound to it (services/node/keys.ts).
 */
import { randomUUID } from 'node:crypto';
import {
  DeleteItemCommand,
  GetItemCommand,
  PutItemCommand,
  QueryCommand,
  type AttributeValue,
  type DynamoDBClient,
} from '@aws-sdk/client-dynamodb';
import { describeValue, incorrect } from '../../engine';
import { isConditionalCheckFailed, storageError } from './errors';
import { INDEX_ROOT_PK } from './index-roots';
import { tableNames, type TableNames } from './tables';

export interface DatabaseRecord {
  name: string;
  /** Unique per creation; the log partition key. */
  id: string;
  /** ISO-8601 creation time. */
  createdAt: string;
}

export interface NodeRecord {
  nodeId: string;
  info: Record<string, unknown>;
  /** Heartbeat time, epoch ms. */
  at: number;
  /** at + ttlMs, epoch ms; the node counts as gone after it. */
  expiresAt: number;
}

const DB_PK = 'db';
const DB_DELETED_PK = 'db-deleted';
const NODE_PK = 'node';
const RESERVED_PKS = new Set([DB_PK, DB_DELETED_PK, NODE_PK, INDEX_ROOT_PK]);
const MAX_NAME_BYTES = 512;

const S = (x: string): AttributeValue => ({ S: x });
const N = (x: number): AttributeValue => ({ N: String(x) });

function checkName(name: unknown): asserts name is string {
  if (typeof name !== 'string' || name.length === 0 || Buffer.byteLength(name, 'utf8') > MAX_NAME_BYTES) {
    throw incorrect('db.error/invalid-database-name',
      `database name must be a non-empty string of at most ${MAX_NAME_BYTES} bytes`, { name });
  }
}

function toDatabase(item: Record<string, AttributeValue>): DatabaseRecord {
  return { name: item['sk']?.S ?? '', id: item['id']?.S ?? '', createdAt: item['createdAt']?.S ?? '' };
}

function parseJson(s: string | undefined): Record<string, unknown> {
  if (s === undefined) return {};
  try {
    const v = JSON.parse(s) as unknown;
    return v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : { value: v };
  } catch {
    return {};
  }
}

export class CatalogStore {
  readonly table: string;
  private readonly deletionListeners = new Set<(rec: DatabaseRecord) => void>();

  /** `now` stamps database creation (default `Date.now`; tests set another node's clock). */
  constructor(private readonly client: DynamoDBClient, names: Partial<TableNames> = {}, private readonly now: () => number = Date.now) {
    this.table = tableNames(names).catalogTable;
  }

  /**
   * Create `name` (Datomic semantics: idempotent — if it exists, the existing record is returned).
   * `created` tells whether this call created it.
   */
  async createDatabase(name: string): Promise<DatabaseRecord & { created: boolean }> {
    checkName(name);
    const rec: DatabaseRecord = { name, id: randomUUID(), createdAt: new Date(this.now()).toISOString() };
    try {
      await this.client.send(new PutItemCommand({
        TableName: this.table,
        Item: { pk: S(DB_PK), sk: S(name), id: S(rec.id), createdAt: S(rec.createdAt) },
        ConditionExpression: 'attribute_not_exists(#pk)',
        ExpressionAttributeNames: { '#pk': 'pk' },
      }));
      return { ...rec, created: true };
    } catch (e) {
      if (!isConditionalCheckFailed(e)) throw storageError('PutItem', e, { table: this.table, name });
    }
    const existing = await this.getDatabase(name);
    if (existing !== undefined) return { ...existing, created: false };
    // Deleted between our put and our read: try once more.
    return this.createDatabase(name);
  }

  async getDatabase(name: string): Promise<DatabaseRecord | undefined> {
    checkName(name);
    const item = await this.getRaw(DB_PK, name);
    return item === undefined ? undefined : toDatabase(item);
  }

  /** Names of all live databases, sorted. */
  async listDatabases(): Promise<string[]> {
    return (await this.queryRaw(DB_PK)).map((it) => it['sk']?.S ?? '');
  }

  /** All live database records. */
  async listDatabaseRecords(): Promise<DatabaseRecord[]> {
    return (await this.queryRaw(DB_PK)).map(toDatabase);
  }

  /**
   * Calls `listener` each time this store has deleted a database (e.g. to forget cached checks
   * made against it at once; other nodes' stores are not told). Returns the unsubscribe.
   */
  onDatabaseDeleted(listener: (rec: DatabaseRecord) => void): () => void {
    this.deletionListeners.add(listener);
    return () => {
      this.deletionListeners.delete(listener);
    };
  }

  /** Delete `name`; true if it existed. Its log stays under the old id (tombstoned) and is never reused. */
  async deleteDatabase(name: string): Promise<boolean> {
    checkName(name);
    let old: Record<string, AttributeValue> | undefined;
    try {
      const res = await this.client.send(new DeleteItemCommand({
        TableName: this.table,
        Key: { pk: S(DB_PK), sk: S(name) },
        ReturnValues: 'ALL_OLD',
      }));
      old = res.Attributes;
    } catch (e) {
      throw storageError('DeleteItem', e, { table: this.table, name });
    }
    if (old === undefined) return false;
    const deleted = toDatabase(old);
    for (const listener of this.deletionListeners) {
      try {
        listener(deleted);
      } catch {
        // A listener's failure does not undo or fail the deletion.
      }
    }
    const id = old['id']?.S;
    if (id !== undefined) {
      await this.putRaw({ pk: S(DB_DELETED_PK), sk: S(id), name: S(name), deletedAt: S(new Date().toISOString()) });
    }
    return true;
  }

  // ---- membership ----

  /** Record that `nodeId` is alive for the next `ttlMs`. */
  async heartbeat(nodeId: string, info: Record<string, unknown>, ttlMs: number): Promise<NodeRecord> {
    const at = Date.now();
    const rec: NodeRecord = { nodeId, info, at, expiresAt: at + ttlMs };
    await this.putRaw({
      pk: S(NODE_PK),
      sk: S(nodeId),
      info: S(JSON.stringify(info)),
      at: N(at),
      expiresAt: N(rec.expiresAt),
      // For a DynamoDB TTL on attribute `ttl` (epoch seconds), with slack so live readers filter first.
      ttl: N(Math.ceil(rec.expiresAt / 1000) + 3600),
    });
    return rec;
  }

  /** Nodes whose heartbeat has not expired (all recorded nodes with `includeExpired`). */
  async listNodes(opts: { includeExpired?: boolean; now?: number } = {}): Promise<NodeRecord[]> {
    const now = opts.now ?? Date.now();
    return (await this.queryRaw(NODE_PK))
      .map((it): NodeRecord => ({
        nodeId: it['sk']?.S ?? '',
        info: parseJson(it['info']?.S),
        at: Number(it['at']?.N ?? 0),
        expiresAt: Number(it['expiresAt']?.N ?? 0),
      }))
      .filter((n) => opts.includeExpired === true || n.expiresAt > now);
  }

  /** Remove a node's heartbeat (graceful shutdown). */
  async removeNode(nodeId: string): Promise<void> {
    await this.deleteRaw(NODE_PK, nodeId);
  }

  // ---- generic records (index roots etc.), JSON data under a caller-chosen pk ----

  /** Put `data` at (pk, sk). With `ifAbsent`, only if nothing is there; returns whether it was written. */
  async putRecord(pk: string, sk: string, data: Record<string, unknown>, opts: { ifAbsent?: boolean } = {}): Promise<boolean> {
    this.checkGenericPk(pk);
    try {
      await this.client.send(new PutItemCommand({
        TableName: this.table,
        Item: { pk: S(pk), sk: S(sk), data: S(JSON.stringify(data)) },
        ...(opts.ifAbsent === true
          ? { ConditionExpression: 'attribute_not_exists(#pk)', ExpressionAttributeNames: { '#pk': 'pk' } }
          : {}),
      }));
      return true;
    } catch (e) {
      if (opts.ifAbsent === true && isConditionalCheckFailed(e)) return false;
      throw storageError('PutItem', e, { table: this.table, pk, sk });
    }
  }

  async getRecord(pk: string, sk: string): Promise<Record<string, unknown> | undefined> {
    this.checkGenericPk(pk);
    const it = await this.getRaw(pk, sk);
    return it === undefined ? undefined : parseJson(it['data']?.S);
  }

  /** Records under `pk`, by sk ascending, optionally only those whose sk starts with `skPrefix`. */
  async queryRecords(pk: string, skPrefix?: string): Promise<Array<{ sk: string; data: Record<string, unknown> }>> {
    this.checkGenericPk(pk);
    return (await this.queryRaw(pk, skPrefix)).map((it) => ({ sk: it['sk']?.S ?? '', data: parseJson(it['data']?.S) }));
  }

  async deleteRecord(pk: string, sk: string): Promise<void> {
    this.checkGenericPk(pk);
    await this.deleteRaw(pk, sk);
  }

  // ---- internals ----

  private checkGenericPk(pk: string): void {
    if (typeof pk !== 'string' || pk.length === 0 || RESERVED_PKS.has(pk)) {
      throw incorrect('storage/invalid-key', `record partition ${describeValue(pk)} is empty or reserved`, { pk });
    }
  }

  private async putRaw(item: Record<string, AttributeValue>): Promise<void> {
    try {
      await this.client.send(new PutItemCommand({ TableName: this.table, Item: item }));
    } catch (e) {
      throw storageError('PutItem', e, { table: this.table, pk: item['pk']?.S, sk: item['sk']?.S });
    }
  }

  private async deleteRaw(pk: string, sk: string): Promise<void> {
    try {
      await this.client.send(new DeleteItemCommand({ TableName: this.table, Key: { pk: S(pk), sk: S(sk) } }));
    } catch (e) {
      throw storageError('DeleteItem', e, { table: this.table, pk, sk });
    }
  }

  private async getRaw(pk: string, sk: string): Promise<Record<string, AttributeValue> | undefined> {
    try {
      const res = await this.client.send(new GetItemCommand({
        TableName: this.table,
        Key: { pk: S(pk), sk: S(sk) },
        ConsistentRead: true,
      }));
      return res.Item;
    } catch (e) {
      throw storageError('GetItem', e, { table: this.table, pk, sk });
    }
  }

  private async queryRaw(pk: string, skPrefix?: string): Promise<Array<Record<string, AttributeValue>>> {
    const out: Array<Record<string, AttributeValue>> = [];
    let startKey: Record<string, AttributeValue> | undefined;
    do {
      let page;
      try {
        page = await this.client.send(new QueryCommand({
          TableName: this.table,
          KeyConditionExpression: skPrefix === undefined ? '#pk = :pk' : '#pk = :pk AND begins_with(#sk, :prefix)',
          ExpressionAttributeNames: skPrefix === undefined ? { '#pk': 'pk' } : { '#pk': 'pk', '#sk': 'sk' },
          ExpressionAttributeValues: skPrefix === undefined ? { ':pk': S(pk) } : { ':pk': S(pk), ':prefix': S(skPrefix) },
          ConsistentRead: true,
          ...(startKey !== undefined ? { ExclusiveStartKey: startKey } : {}),
        }));
      } catch (e) {
        throw storageError('Query', e, { table: this.table, pk });
      }
      out.push(...(page.Items ?? []));
      startKey = page.LastEvaluatedKey;
    } while (startKey !== undefined);
    return out;
  }
}
