/**
 * The in-process client: `createClient({ local: {} })`. Databases live in memory; with
 * `local.dir` they are kept on disk through the same storage and transactor code as the nodes.
 */
import { randomUUID } from 'node:crypto';
import { emptyDb, type Db as EngineDb, notFound, transact, checkDatabaseName, checkClientTxId } from '../engine';
import { throwIfOptionsAborted } from './abort';
import { LocalDb, localIterTxRange, localReport, localTxRange } from './local-db';
import type { AbortOptions, ChunkArgs, Client, Connection, Db, TransactOptions, TxRangeArgs, TxRangeEntry, TxReport } from './types';

class MemoryDatabase {
  current: EngineDb = emptyDb();
  readonly committed = new Map<string, TxReport>();
  deleted = false;
}

class MemoryConnection implements Connection {
  constructor(
    readonly dbName: string,
    private readonly database: MemoryDatabase,
  ) {}

  private live(): MemoryDatabase {
    if (this.database.deleted) throw notFound('db.error/db-not-found', `Database ${this.dbName} has been deleted`);
    return this.database;
  }

  /** In memory a transaction commits synchronously: an abort can only come before it (nothing committed). */
  async transact(txData: unknown, options: TransactOptions = {}): Promise<TxReport> {
    throwIfOptionsAborted(options, 'transact');
    const d = this.live();
    if (options.txId !== undefined) {
      const done = d.committed.get(options.txId);
      if (done) return done;
    }
    const txId = options.txId === undefined ? randomUUID() : checkClientTxId(options.txId);
    const report = localReport(transact(d.current, txData, { txId }), this.dbName);
    d.current = (report.dbAfter as LocalDb).engine;
    if (options.txId !== undefined) d.committed.set(options.txId, report);
    return report;
  }

  async db(options?: AbortOptions): Promise<Db> {
    throwIfOptionsAborted(options, 'db');
    return new LocalDb(this.live().current, this.dbName);
  }

  async sync(_t?: number, options?: AbortOptions): Promise<Db> {
    throwIfOptionsAborted(options, 'sync');
    return new LocalDb(this.live().current, this.dbName);
  }

  txRange(range?: TxRangeArgs): Promise<TxRangeEntry[]> {
    return localTxRange(async () => this.live().current, range);
  }

  iterTxRange(range?: TxRangeArgs & ChunkArgs): AsyncGenerator<TxRangeEntry, void, undefined> {
    return localIterTxRange(async () => this.live().current, range);
  }
}

export class MemoryClient implements Client {
  private readonly databases = new Map<string, MemoryDatabase>();

  async createDatabase(name: string): Promise<boolean> {
    checkDatabaseName(name);
    if (!this.databases.has(name)) this.databases.set(name, new MemoryDatabase());
    return true;
  }

  async deleteDatabase(name: string): Promise<boolean> {
    checkDatabaseName(name);
    const d = this.databases.get(name);
    if (!d) return false;
    d.deleted = true;
    this.databases.delete(name);
    return true;
  }

  async listDatabases(): Promise<string[]> {
    return [...this.databases.keys()].sort();
  }

  async connect(name: string): Promise<Connection> {
    checkDatabaseName(name);
    const d = this.databases.get(name);
    if (!d) throw notFound('db.error/db-not-found', `Database ${name} does not exist`, { dbName: name });
    return new MemoryConnection(name, d);
  }

  async close(): Promise<void> {}
}
