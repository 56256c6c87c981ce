/**
 * The remote client: `createClient({ endpoint, accessKey? })`. The same API and answers as the
 * in-process client, over the node's HTTP API (docs/http-api.md) through the load balancer.
 *
 * Read-your-writes across nodes: the client remembers the highest t it has seen for each
 * database (from transactions, `conn.db()` and `conn.sync()`) and every value it hands out
 * carries its basis t; the node serving a read catches up to that t first.
 */
import { randomUUID } from 'node:crypto';
import { DatalithError, toWire, checkDatabaseName } from '../engine';
import { inDoubtAbort, signalOf } from './abort';
import { iterTxRangeArgs, paged, txRangeArgs, type PageFields } from './paging';
import { basisSpec, dbPath, pageBody, RemoteDb, remoteReport, type RemoteSession } from './remote-db';
import { HttpTransport, type CallOptions } from './remote-http';
import type { AbortOptions, ChunkArgs, Client, Connection, Db, RemoteClientOptions, TransactOptions, TxRangeArgs, TxRangeEntry, TxReport } from './types';

export { RemoteDb, runRemoteQuery } from './remote-db';

class RemoteConnection implements Connection {
  constructor(
    private readonly client: RemoteClient,
    readonly dbName: string,
  ) {}

  async transact(txData: unknown, options: TransactOptions = {}): Promise<TxReport> {
    const signal = signalOf(options, 'transact');
    // The id makes retries safe: a retry of a committed transaction returns its first result.
    // An id the caller chose may be sent by other callers too; one made here is for this call alone.
    const txId = options.txId ?? randomUUID();
    const body = { txData: toWire(txData), txId, ...(options.txId === undefined ? { txIdGenerated: true } : {}) };
    const r = await this.client.transport.call('POST', dbPath(this.dbName, 'transact'), body, {
      ...(options.timeout === undefined ? {} : { timeout: options.timeout }),
      signal,
      // Aborting does not reach a transaction the node has begun: it may commit all the same.
      abortedAfterSending: inDoubtAbort(txId, 'sent'),
    });
    this.client.observe(this.dbName, r.t, r.dbId);
    return remoteReport(this.client, this.dbName, r);
  }

  async db(options?: AbortOptions): Promise<Db> {
    const t = await this.client.describe(this.dbName, { signal: signalOf(options, 'db'), operation: 'db' });
    return new RemoteDb(this.client, this.dbName, t, basisSpec(t));
  }

  async sync(t?: number, options?: AbortOptions): Promise<Db> {
    const signal = signalOf(options, 'sync');
    const r = await this.client.transport.call('POST', dbPath(this.dbName, 'sync'), t === undefined ? {} : { t }, { signal });
    this.client.observe(this.dbName, r.t);
    return new RemoteDb(this.client, this.dbName, r.t, basisSpec(r.t));
  }

  async txRange(range?: TxRangeArgs): Promise<TxRangeEntry[]> {
    const a = txRangeArgs(range);
    return (await this.txRangePage(a.start, a.end, a.page, undefined, { signal: a.signal, operation: 'txRange' })).txs;
  }

  /**
   * The first page answers the t of the log the node read (`basisT`); later pages ask for the log
   * as of that t (`asOfT`), so transactions committed meanwhile stay out of the walk.
   */
  async *iterTxRange(range?: TxRangeArgs & ChunkArgs): AsyncGenerator<TxRangeEntry, void, undefined> {
    const a = iterTxRangeArgs(range);
    const opts = { signal: a.signal, operation: 'iterTxRange' };
    let asOfT: number | undefined;
    yield* paged<TxRangeEntry>(a.walk, async (offset, limit, last) => {
      const r = await this.txRangePage(last === undefined ? a.start : last.t + 1, a.end, { offset, limit }, asOfT, opts);
      if (typeof r.basisT === 'number') asOfT ??= r.basisT;
      return r.txs;
    }, a.signal, opts.operation);
  }

  private async txRangePage(start: unknown, end: unknown, page: PageFields, asOfT: number | undefined, opts: CallOptions): Promise<{ txs: TxRangeEntry[]; basisT?: number }> {
    const body: Record<string, unknown> = {};
    const seen = this.client.seen(this.dbName);
    if (seen !== undefined) body.basisT = seen;
    if (start !== undefined && start !== null) body.start = toWire(start);
    if (end !== undefined && end !== null) body.end = toWire(end);
    if (asOfT !== undefined) body.asOfT = asOfT;
    return this.client.transport.call('POST', dbPath(this.dbName, 'tx-range'), { ...body, ...pageBody(page) }, opts);
  }
}

export class RemoteClient implements Client, RemoteSession {
  readonly transport: HttpTransport;
  /** Per database name: the highest t seen, and the id of the incarnation it was seen in. */
  private readonly seenT = new Map<string, { t: number; id: string | undefined }>();

  constructor(options: RemoteClientOptions) {
    this.transport = new HttpTransport({
      endpoint: options.endpoint,
      accessKey: options.accessKey ?? process.env.DATALITH_ACCESS_KEY,
      ...(options.timeout !== undefined ? { timeout: options.timeout } : {}),
    });
  }

  observe(dbName: string, t: number, id?: string): void {
    if (typeof t !== 'number') return;
    const seen = this.seenT.get(dbName);
    // A new id: the database was deleted and created again; what we saw of the old one is void.
    if (seen === undefined || (id !== undefined && seen.id !== undefined && id !== seen.id)) this.seenT.set(dbName, { t, id });
    else if (t > seen.t || (seen.id === undefined && id !== undefined)) this.seenT.set(dbName, { t: Math.max(t, seen.t), id: id ?? seen.id });
  }

  seen(dbName: string): number | undefined {
    return this.seenT.get(dbName)?.t;
  }

  /** The database's latest t at the node, which has caught up to at least what we have seen. */
  async describe(name: string, opts: CallOptions = { operation: 'describe' }): Promise<number> {
    const seen = this.seenT.get(name);
    const query = seen === undefined ? '' : `?basisT=${seen.t}${seen.id === undefined ? '' : `&dbId=${encodeURIComponent(seen.id)}`}`;
    const r = await this.transport.call('GET', `${dbPath(name)}${query}`, undefined, opts);
    this.observe(name, r.t, r.id);
    return r.t;
  }

  async createDatabase(name: string): Promise<boolean> {
    checkDatabaseName(name);
    await this.transport.call('POST', '/v1/databases', { name });
    return true;
  }

  async deleteDatabase(name: string): Promise<boolean> {
    checkDatabaseName(name);
    const r = await this.transport.call('DELETE', dbPath(name));
    // A database created again under this name starts over at t 0.
    this.seenT.delete(name);
    return r.deleted === true;
  }

  async listDatabases(): Promise<string[]> {
    return (await this.transport.call('GET', '/v1/databases')).databases;
  }

  async connect(name: string): Promise<Connection> {
    checkDatabaseName(name);
    await this.describe(name);
    return new RemoteConnection(this, name);
  }

  // ---- access keys (admin keys only; docs/security.md) ----

  /**
   * A new access key: `'admin'`, or one database with `'read-write'` or `'read-only'` access.
   * The answer's `key` is shown this once: the system keeps only its SHA-256 digest.
   */
  async createKey(scope: AccessKeyScope, options: { description?: string } = {}): Promise<CreatedAccessKey> {
    return this.transport.call('POST', '/v1/keys', { scope, ...(options.description !== undefined ? { description: options.description } : {}) });
  }

  /** The keys in the catalog (never the keys themselves). The node's own admin key is not listed. */
  async listKeys(): Promise<AccessKeyInfo[]> {
    return (await this.transport.call('GET', '/v1/keys')).keys;
  }

  /** Revokes a key by id: at once on the node that answers, on every node within 5 s. */
  async revokeKey(id: string): Promise<boolean> {
    if (typeof id !== 'string' || !/^[0-9a-f]{16}$/.test(id)) {
      throw new DatalithError('incorrect', `A key id is 16 hex characters, got ${JSON.stringify(id)}`, 'auth/invalid-key-id');
    }
    return (await this.transport.call('DELETE', `/v1/keys/${id}`)).revoked === true;
  }

  async close(): Promise<void> {
    await this.transport.close();
  }
}

/** Who a key lets in: everything, or one database read-write or read-only. */
export type AccessKeyScope = 'admin' | { readonly db: string; readonly access: 'read-write' | 'read-only' };

export interface AccessKeyInfo {
  /** Public: names the key in lists, logs and `revokeKey`. */
  readonly id: string;
  readonly scope: AccessKeyScope;
  readonly createdAt: string;
  readonly createdBy: string;
  readonly description?: string;
}

export interface CreatedAccessKey extends AccessKeyInfo {
  /** The secret: send it as `accessKey`. Shown once. */
  readonly key: string;
}

/** Key administration, on remote clients only. */
export interface KeyAdmin {
  createKey(scope: AccessKeyScope, options?: { description?: string }): Promise<CreatedAccessKey>;
  listKeys(): Promise<AccessKeyInfo[]>;
  revokeKey(id: string): Promise<boolean>;
}

export function createRemoteClient(options: RemoteClientOptions): Client & KeyAdmin {
  return new RemoteClient(options);
}
