/**
 * The node's use-cases behind the HTTP routes: each takes validated, decoded arguments and
 * returns public JS values (the wire encoding happens in the routes). They call the same engine
 * functions as the in-process client (services/client/local-db.ts), so local and remote answers
 * agree.
 */
import { incorrect, unsupported, pullManySelector, pullSelector, q as engineQ, toWire, txForms, api } from '../../engine';
import type { HttpLimits } from '../config';
import type { Databases } from '../databases';
import { DbValues, type DbSpec } from '../reads/db-values';
import { evaluate, withSegments, type SegmentCacheStats } from '../indexing/segment-cache';
import type { IndexingStats } from '../indexing/durable';
import { checkRows, encodeSpec, runReadJob, type JobDbInput, type JobInput, type ReadJob } from '../reads/query-job';
import type { QueryWorkerPool } from '../reads/query-workers';
import { yieldToEventLoop } from '../event-loop';
import { MAX_TX_DATOMS } from '../log/transactor';

export interface NodeStatus {
  readonly nodeId: string;
  readonly rssBytes: number;
  /** The event loop's segment cache; null without segments. */
  readonly segments: (SegmentCacheStats & { hitRate: number | null }) | null;
  /** The query workers' caches, summed (as of each worker's last answer); null without workers or segments. */
  readonly workerSegments: (SegmentCacheStats & { hitRate: number | null }) | null;
  readonly indexing: (IndexingStats & { inFlight: number; thresholdDatoms: number; tailMaxDatoms: number }) | null;
  readonly databases: Record<string, { t: number; indexedT: number; tailDatoms: number; indexLag: number }>;
}

/** Above this many forms (or datoms) a transaction's steps each get a turn of the event loop of their own. */
const LARGE_TX_FORMS = 10_000;

/** A public transaction report: what `/transact` and `/with` answer. */
export interface TxResponse {
  /** The incarnation of the database the transaction committed to (see describeDatabase). */
  readonly dbId: string;
  /** The t of the transaction (of the value after it). */
  readonly t: number;
  /** The t of the value before it. */
  readonly basisT: number;
  readonly txData: api.PublicDatom[];
  readonly tempids: Record<string, number>;
}

export interface QueryOptions {
  readonly timeout?: number;
  readonly offset?: number;
  readonly limit?: number;
}

/** A query input: a database value by descriptor, or a plain value. */
export type QueryInput = { readonly db: { readonly name: string; readonly spec: DbSpec } } | { readonly value: unknown };

export interface NodeOperationsOptions {
  readonly databases: Databases;
  readonly nodeId: string;
  readonly limits: HttpLimits;
  /** The node preferred for a database's writes (cluster code refines it; default: this node). */
  readonly preferredNodeFor?: (name: string) => string | Promise<string>;
  /** Query worker threads; absent: queries run on the event loop (docs/adr/007-query-workers.md). */
  readonly queryWorkers?: QueryWorkerPool;
}

export class NodeOperations {
  readonly values: DbValues;
  private readonly databases: Databases;

  constructor(private readonly opts: NodeOperationsOptions) {
    this.databases = opts.databases;
    this.values = new DbValues(opts.databases);
  }

  async listDatabases(): Promise<string[]> {
    return [...(await this.databases.list())].sort();
  }

  async createDatabase(name: string): Promise<{ name: string; created: boolean }> {
    const r = await this.databases.create(name);
    return { name, created: r.created };
  }

  /** Deletes a database; `closedAt` is the t of the entry that closed its log (for notifying). */
  async deleteDatabase(name: string): Promise<{ name: string; deleted: boolean; closedAt: number | null }> {
    const r = await this.databases.delete(name);
    return { name, deleted: r.deleted, closedAt: r.t };
  }

  /**
   * `{ name, id, t, preferredNode }`. `id` names this incarnation of the database (a database
   * deleted and created again under the same name gets a new one); a basis the caller saw in
   * another incarnation (`dbId` differs) is ignored rather than waited for.
   */
  async describeDatabase(name: string, basisT?: number, dbId?: string): Promise<{ name: string; id: string; t: number; preferredNode: string; indexedT: number; tailDatoms: number }> {
    const { host, latest } = await this.databases.withHost(name, async (h) => ({
      host: h,
      latest: await h.awaitBasis(dbId !== undefined && dbId !== h.dbId ? undefined : basisT),
    }));
    const preferredNode = this.opts.preferredNodeFor ? await this.opts.preferredNodeFor(name) : this.opts.nodeId;
    return { name, id: host.dbId, t: latest.t, preferredNode, indexedT: host.indexedT, tailDatoms: host.tailDatoms };
  }

  /** Whether the database is loaded on this node; starts loading it when not (services/node/databases.ts). */
  readyOrLoad(name: string): boolean {
    return this.databases.readyOrLoad(name);
  }

  /** `inDoubt`: the client may have committed this transaction id already (see RecordedRefusal). */
  async transact(name: string, txData: unknown, txId?: string, opts: { inDoubt?: boolean } = {}): Promise<TxResponse & { duplicate: boolean }> {
    // Read (EDN) and counted once, here: data above the limit is refused before the transactor
    // works on it, and a batch retried after a conflict does not read it again.
    const forms = txForms(txData, MAX_TX_DATOMS);
    if (forms.length > LARGE_TX_FORMS) await yieldToEventLoop();
    const { host, r } = await this.databases.withHost(name, async (host) => ({ host, r: await host.transact(forms, txId, opts) }));
    // The answer of a large transaction is built in a turn of its own.
    if (r.txData.length > LARGE_TX_FORMS) await yieldToEventLoop();
    if (!r.duplicate) {
      this.values.remember(host, r.dbBefore);
      this.values.remember(host, r.dbAfter);
    }
    return {
      dbId: host.dbId,
      t: r.t,
      basisT: r.t - 1,
      txData: r.txData.map((d) => api.publicDatom(r.dbAfter, d)),
      tempids: r.tempids,
      duplicate: r.duplicate,
    };
  }

  /** Runs a query; `inputs` are all of its inputs, database values first as the query names them. */
  async q(query: unknown, inputs: readonly QueryInput[], opts: QueryOptions): Promise<unknown> {
    return withSegments(async () => {
      const timeout = this.queryTimeout(opts.timeout);
      const engineInputs = await Promise.all(
        inputs.map(async (x) => ('db' in x ? (await this.values.resolve(x.db.name, x.db.spec)).db : x.value)),
      );
      return evaluate(() => engineQ(query, engineInputs, { timeout, offset: opts.offset, limit: opts.limit }));
    });
  }

  /**
   * Runs a query and answers the JSON text of `{ result }`: on a query worker when the node has
   * them, else here. Result limits apply (rows, bytes: docs/limits.md).
   */
  async qText(query: unknown, inputs: readonly QueryInput[], opts: QueryOptions, signal?: AbortSignal): Promise<string> {
    const timeout = this.queryTimeout(opts.timeout);
    const jobInputs: JobInput[] = await Promise.all(inputs.map(async (x): Promise<JobInput> => ('db' in x ? { db: await this.jobDb(x.db.name, x.db.spec) } : { value: toWire(x.value) })));
    return this.runRead({
      query: toWire(query),
      inputs: jobInputs,
      timeout,
      offset: opts.offset,
      limit: opts.limit,
      maxResultRows: this.opts.limits.maxResultRows,
      maxResponseBytes: this.opts.limits.maxResponseBytes,
    }, signal);
  }

  /**
   * A pull (one entity) or pull-many (an array) answered as the JSON text of `{ result }`: on a
   * query worker when the node has them (under the default query timeout), else here.
   */
  async pullText(kind: 'pull' | 'pull-many', name: string, spec: DbSpec, selector: unknown, target: unknown, signal?: AbortSignal): Promise<string> {
    if (kind === 'pull-many') {
      if (!Array.isArray(target)) throw incorrect('pull/invalid-eids', 'pullMany expects an array of entity identifiers');
      checkRows(target.length, this.opts.limits.maxResultRows, 'pull/too-many-eids', 'pull fewer entities per call');
    }
    return this.runRead({
      kind,
      db: await this.jobDb(name, spec),
      selector: toWire(selector),
      target: toWire(target),
      timeout: this.opts.limits.defaultQueryTimeoutMs,
      maxResultRows: this.opts.limits.maxResultRows,
      maxResponseBytes: this.opts.limits.maxResponseBytes,
    }, signal);
  }

  /** The node's own view of a database for a job: it exists, which creation it is, how far it is. */
  private async jobDb(name: string, spec: DbSpec): Promise<JobDbInput> {
    const host = await this.databases.host(name);
    return { name, dbId: host.dbId, minT: host.db.t, spec: encodeSpec(spec), indexedT: host.indexedT, tailDatoms: host.tailDatoms };
  }

  /**
   * Runs a read job on a query worker, or here without them. `signal` aborts when the request's
   * client has gone away: the job is cancelled (docs/adr/007-query-workers.md, "Cancellation").
   */
  private runRead(job: ReadJob, signal?: AbortSignal): Promise<string> {
    const pool = this.opts.queryWorkers;
    return pool ? pool.run(job, signal) : runReadJob(this.databases, this.values, job, signal);
  }

  /** Refuses a datoms-like answer above the row limit (docs/limits.md). */
  private capRows<T>(rows: T[], hint: string): T[] {
    checkRows(rows.length, this.opts.limits.maxResultRows, 'datoms/result-too-large', hint, false);
    return rows;
  }

  private queryTimeout(asked: number | undefined): number {
    const { defaultQueryTimeoutMs, maxQueryTimeoutMs } = this.opts.limits;
    if (asked === undefined) return defaultQueryTimeoutMs;
    if (!Number.isSafeInteger(asked) || asked <= 0) {
      throw incorrect('query/invalid-timeout', `A query timeout must be a positive number of milliseconds, got ${asked}`);
    }
    if (asked > maxQueryTimeoutMs) {
      throw incorrect('query/timeout-too-large', `A query timeout of ${asked} ms exceeds the maximum of ${maxQueryTimeoutMs} ms`, { timeout: asked, limit: maxQueryTimeoutMs });
    }
    return asked;
  }

  async pull(name: string, spec: DbSpec, selector: unknown, eid: unknown): Promise<unknown> {
    return withSegments(async () => {
      const { db } = await this.values.resolve(name, spec);
      return evaluate(() => pullSelector(db, selector, eid));
    });
  }

  async pullMany(name: string, spec: DbSpec, selector: unknown, eids: unknown): Promise<unknown> {
    return withSegments(async () => {
      const { db } = await this.values.resolve(name, spec);
      if (!Array.isArray(eids)) throw incorrect('pull/invalid-eids', 'pullMany expects an array of entity identifiers');
      checkRows(eids.length, this.opts.limits.maxResultRows, 'pull/too-many-eids', 'pull fewer entities per call');
      return evaluate(() => pullManySelector(db, selector, eids));
    });
  }

  /** The datoms of an index (a page of them with `page`), refused above the row limit. */
  async datoms(name: string, spec: DbSpec, index: unknown, components: readonly unknown[], page: api.PageArgs = {}): Promise<api.PublicDatom[]> {
    return withSegments(async () => {
      const { db } = await this.values.resolve(name, spec);
      return this.capRows(await evaluate(() => api.datoms(db, index, components, this.opts.limits.maxResultRows, page)), 'give more components to narrow the datoms, or page them with offset and limit');
    });
  }

  async indexRange(name: string, spec: DbSpec, attr: unknown, start: unknown, end: unknown, page: api.PageArgs = {}): Promise<api.PublicDatom[]> {
    return withSegments(async () => {
      const { db } = await this.values.resolve(name, spec);
      return this.capRows(await evaluate(() => api.indexRange(db, attr, start, end, this.opts.limits.maxResultRows, page)), 'narrow the range with start and end, or page it with offset and limit');
    });
  }

  /**
   * The log from the latest value (caught up to at least `basisT`): transactions with
   * start <= t < end, a page of them with `page` (offset and limit count transactions); with
   * `page.asOfT` only those up to that t (the log as it was then: what an iteration's first page
   * read). `basisT` in the answer is the t of the log read, for an iteration to pin.
   */
  async txRange(name: string, basisT: number | undefined, start: unknown, end: unknown, page: { offset?: unknown; limit?: unknown; asOfT?: number | undefined } = {}): Promise<{ txs: Array<{ t: number; data: api.PublicDatom[] }>; basisT: number }> {
    return withSegments(async () => {
      const asOfT = page.asOfT;
      const { latest } = await this.values.latest(name, asOfT === undefined ? basisT : Math.max(basisT ?? 0, asOfT));
      const txs = api.txRange(latest, start as number | Date | null | undefined, end as number | Date | null | undefined, { offset: page.offset, limit: page.limit, maxT: asOfT });
      let rows = 0;
      for (const tx of txs) rows += tx.data.length;
      checkRows(rows, this.opts.limits.maxResultRows, 'datoms/result-too-large', 'narrow the range with start and end, or page it with limit (transactions per answer)');
      return { txs, basisT: asOfT ?? latest.t };
    });
  }

  /**
   * A speculative transaction answered as the JSON text of `{ t, basisT, txData, tempids,
   * instant }` (`instant` lets the client name the result in later requests): on a query worker
   * when the node has them (under the default query timeout), else here.
   */
  async withText(name: string, spec: DbSpec, txData: unknown, signal?: AbortSignal): Promise<string> {
    return this.runRead({ kind: 'with', db: await this.jobDb(name, spec), txData: toWire(txData), ...this.valueJobLimits() }, signal);
  }

  /** The statistics of a database value (`{ datoms, attrs, t }`) as JSON text: on a query worker when the node has them, else here. */
  async statsText(name: string, spec: DbSpec, signal?: AbortSignal): Promise<string> {
    // indexedT and the tail as of the basis asked for: catch up to it first.
    await this.databases.withHost(name, (h) => h.awaitBasis(spec.basisT));
    return this.runRead({ kind: 'stats', db: await this.jobDb(name, spec), ...this.valueJobLimits() }, signal);
  }

  private valueJobLimits(): { timeout: number; maxResponseBytes: number } {
    return { timeout: this.opts.limits.defaultQueryTimeoutMs, maxResponseBytes: this.opts.limits.maxResponseBytes };
  }

  /**
   * Starts an indexing job for the database on this node now, whatever its tail (Datomic's
   * requestIndex); answers at once with the t the job will cover. `unsupported` on a node
   * without a segment store.
   */
  async requestIndex(name: string): Promise<{ name: string; t: number; indexedT: number; started: boolean }> {
    const ix = this.databases.indexing;
    if (ix === null || !ix.opts.index) {
      throw unsupported('index/no-segment-store', 'This node has no segment store: its databases are not indexed (configure DATALITH_S3_ENDPOINT or DATALITH_SEGMENT_BUCKET)');
    }
    const host = await this.databases.host(name);
    const started = host.db.t > host.indexedT;
    if (started) void ix.start(host);
    return { name, t: host.db.t, indexedT: host.indexedT, started };
  }

  /**
   * This node's status: its memory, its segment cache, its indexing, and each loaded database's
   * t, indexedT and tail (GET /v1/status; docs/indexing.md).
   */
  async status(): Promise<NodeStatus> {
    const ix = this.databases.indexing;
    const databases: NodeStatus['databases'] = {};
    for (const [name, h] of await this.databases.readyHosts()) {
      databases[name] = { t: h.db.t, indexedT: h.indexedT, tailDatoms: h.tailDatoms, indexLag: h.db.t - h.indexedT };
    }
    const cache = ix?.opts.cache.snapshot();
    const inWorkers = this.opts.queryWorkers?.segmentStats();
    const rate = (c: SegmentCacheStats) => ({ ...c, hitRate: c.hits + c.misses === 0 ? null : c.hits / (c.hits + c.misses) });
    return {
      nodeId: this.opts.nodeId,
      rssBytes: process.memoryUsage().rss,
      segments: cache === undefined ? null : rate(cache),
      workerSegments: inWorkers === undefined ? null : rate(inWorkers),
      indexing: ix === null ? null : { ...ix.stats, inFlight: ix.inFlight, thresholdDatoms: ix.opts.thresholdDatoms, tailMaxDatoms: ix.opts.tailMaxDatoms },
      databases,
    };
  }

  /** Catches up with the log (and to at least `t`); answers the latest t. */
  async sync(name: string, t?: number): Promise<{ t: number }> {
    const host = await this.databases.host(name);
    // Every transaction acknowledged before this call, on any node: a fresh read of the log.
    await host.catchUpFresh();
    const latest = await host.awaitBasis(t);
    this.values.remember(host, latest);
    return { t: latest.t };
  }
}
