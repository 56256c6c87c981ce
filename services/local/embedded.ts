/**
 * Durable in-process mode, `createClient({ local: { dir } })`: an in-process dynalite on `dir`,
 * an in-process s3rver on `dir/segments` for index segments, and the node's own catalog, log,
 * transactor and indexing code, so a local program's data survives restarts exactly as a node's
 * does, and reopening it reads the durable index and the log's tail, not its whole history.
 * (docs/adr/005-durable-local-mode.md, docs/adr/010-segment-format-and-root-protocol.md)
 */
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import { notFound, api } from '../engine';
import { LocalDb, localIterTxRange, localTxRange } from '../client/local-db';
import type { AbortOptions, ChunkArgs, Client, Connection, Db, TransactOptions, TxRangeArgs, TxRangeEntry, TxReport } from '../client/types';
import { abortable, inDoubtAbort, signalOf, throwIfAborted, throwIfOptionsAborted } from '../client/abort';
import { Databases } from '../node/databases';
import type { DatabaseHost, TransactResult } from '../node/log/transactor';
import { CatalogStore, createDynamoClient, createS3Client, ensureTables, IndexRootStore, SegmentStore } from '../node/storage';
import { Indexing, DEFAULT_INDEX_THRESHOLD_DATOMS, TAIL_MAX_FACTOR, defaultCacheSizeMb } from '../node/indexing/durable';
import { SegmentCache } from '../node/indexing/segment-cache';
import path from 'node:path';
import { LogStore } from '../node/log';
import { startDynaliteInProcess, type DynaliteHandle } from './dynalite';
import { startS3rverInProcess, type S3rverHandle } from './s3rver';

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

function positiveInt(v: string | undefined): number | undefined {
  const n = v === undefined ? NaN : Number(v);
  return Number.isSafeInteger(n) && n > 0 ? n : undefined;
}

interface Started {
  storage: DynaliteHandle;
  segments: S3rverHandle;
  databases: Databases;
  close(): Promise<void>;
}

export class EmbeddedClient implements Client {
  private started: Promise<Started> | null = null;

  constructor(private readonly dir: string) {}

  private start(): Promise<Started> {
    this.started ??= (async () => {
      fs.mkdirSync(this.dir, { recursive: true });
      const storage = await startDynaliteInProcess({ dir: this.dir });
      const segments = await startS3rverInProcess({ dir: path.join(this.dir, 'segments') }).catch(async (e: unknown) => {
        await storage.close();
        throw e;
      });
      const client = createDynamoClient({ endpoint: storage.endpoint });
      const s3 = createS3Client({ endpoint: segments.endpoint });
      const store = new SegmentStore(s3);
      await ensureTables(client);
      await store.ensureBucket();
      // The node's indexing settings from the environment (docs/indexing.md), else its defaults.
      const threshold = positiveInt(process.env['DATALITH_INDEX_THRESHOLD_DATOMS']) ?? DEFAULT_INDEX_THRESHOLD_DATOMS;
      const cacheMb = positiveInt(process.env['DATALITH_CACHE_SIZE_MB']) ?? defaultCacheSizeMb();
      const indexing = new Indexing({
        segments: store,
        roots: new IndexRootStore(client),
        cache: new SegmentCache(cacheMb * 1024 * 1024),
        thresholdDatoms: threshold,
        tailMaxDatoms: TAIL_MAX_FACTOR * threshold,
        index: true,
        nodeId: 'local',
      });
      const databases = new Databases(new CatalogStore(client), new LogStore(client), indexing);
      return {
        storage,
        segments,
        databases,
        close: async () => {
          // A job in flight finishes (or fails) before its storage goes away.
          for (const name of databases.loaded()) {
            const h = await databases.host(name).catch(() => undefined);
            if (h) await indexing.settled(h.dbId);
          }
          client.destroy();
          s3.destroy();
        },
      };
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
    await s.close();
    await s.segments.close();
    await s.storage.close();
  }
}
