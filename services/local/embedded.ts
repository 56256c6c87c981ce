/**
 * Durable in-process mode, `createClient({ local: { dir } })`: an in-process dynalite on `dir`
 * and the node's own catalog, log and transactor code, so a local program's data survives
 * restarts exactly as a node's does. (docs/adr/005-durable-local-mode.md)
 */
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import { notFound, api } from '../engine';
import { LocalDb, localIterTxRange, localTxRange } from '../client/local-db';
import type { AbortOptions, ChunkArgs, Client, Connection, Db, TransactOptions, TxRangeArgs, TxRangeEntry, TxReport } from '../client/types';
import { abortable, inDoubtAbort, signalOf, throwIfAborted, throwIfOptionsAborted } from '../client/abort';
import { Databases } from '../node/databases';
import type { DatabaseHost, TransactResult } from '../node/log/transactor';
import { CatalogStore, createDynamoClient, ensureTables } from '../node/storage';
import { LogStore } from '../node/log';
import { startDynaliteInProcess, type DynaliteHandle } from './dynalite';

function report(r: TransactResult, name: string): TxReport {
  return {
    dbBefore: new LocalDb(r.dbBefore, name),
    dbAfter: new LocalDb(r.dbAfter, name),
    txData: r.txData.map((d) => api.publicDatom(r.dbAfter, d)),
    tempids: r.tempids,
  };
}

class EmbeddedConnection implements Connection {
  constructor(
    readonly dbName: string,
    private readonly host: DatabaseHost,
    private readonly databases: Databases,
  ) {}

  private async live(): Promise<DatabaseHost> {
    // A deleted database stops answering even on connections opened before.
    return this.databases.host(this.dbName).then((h) => {
      if (h !== this.host) throw notFound('db.error/db-not-found', `Database ${this.dbName} has been deleted`);
      return h;
    });
  }

  async transact(txData: unknown, options: TransactOptions = {}): Promise<TxReport> {
    const signal = signalOf(options, 'transact');
    throwIfAborted(signal, 'transact');
    const host = await this.live();
    throwIfAborted(signal, 'transact');
    const txId = options.txId ?? randomUUID();
    // Once handed to the transactor the transaction goes on: an abort while it commits leaves
    // the outcome unknown to the caller, as for the remote client.
    const doubt = inDoubtAbort(txId, 'handed over');
    // An id the caller chose may be sent by other callers too: a refusal then goes to the log first.
    const inDoubt = options.txId !== undefined;
    return report(await abortable(host.transact(txData, txId, { inDoubt }), signal, 'transact', doubt.note, doubt.data), this.dbName);
  }

  async db(options?: AbortOptions): Promise<Db> {
    throwIfOptionsAborted(options, 'db');
    return new LocalDb((await this.live()).db, this.dbName);
  }

  async sync(t?: number, options?: AbortOptions): Promise<Db> {
    const signal = signalOf(options, 'sync');
    throwIfAborted(signal, 'sync');
    const host = await this.live();
    const caughtUp = (async () => {
      await host.catchUp();
      return host.awaitBasis(t);
    })();
    return new LocalDb(await abortable(caughtUp, signal, 'sync'), this.dbName);
  }

  txRange(range?: TxRangeArgs): Promise<TxRangeEntry[]> {
    return localTxRange(async () => (await this.live()).db, range);
  }

  iterTxRange(range?: TxRangeArgs & ChunkArgs): AsyncGenerator<TxRangeEntry, void, undefined> {
    return localIterTxRange(async () => (await this.live()).db, range);
  }
}

interface Started {
  storage: DynaliteHandle;
  databases: Databases;
  close(): void;
}

export class EmbeddedClient implements Client {
  private started: Promise<Started> | null = null;

  constructor(private readonly dir: string) {}

  private start(): Promise<Started> {
    this.started ??= (async () => {
      fs.mkdirSync(this.dir, { recursive: true });
      const storage = await startDynaliteInProcess({ dir: this.dir });
      const client = createDynamoClient({ endpoint: storage.endpoint });
      await ensureTables(client);
      const databases = new Databases(new CatalogStore(client), new LogStore(client));
      return { storage, databases, close: () => client.destroy() };
    })();
    return this.started;
  }

  async createDatabase(name: string): Promise<boolean> {
    await (await this.start()).databases.create(name);
    return true;
  }

  async deleteDatabase(name: string): Promise<boolean> {
    return (await (await this.start()).databases.delete(name)).deleted;
  }

  async listDatabases(): Promise<string[]> {
    return (await (await this.start()).databases.list()).sort();
  }

  async connect(name: string): Promise<Connection> {
    const { databases } = await this.start();
    return new EmbeddedConnection(name, await databases.host(name), databases);
  }

  async close(): Promise<void> {
    if (!this.started) return;
    const s = await this.started;
    this.started = null;
    s.close();
    await s.storage.close();
  }
}
