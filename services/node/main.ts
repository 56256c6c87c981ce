/**
 * The node process: configuration from the environment, storage, the HTTP server, polling of
 * the log, and graceful shutdown. `startNode` is the same without the process around it (tests
 * and the local cluster use it).
 *
 * When ready, the process prints one line to stdout — `{"event":"listening","port":…,"nodeId":…}`
 * — which the local cluster's supervisor waits for. Logs go to stderr as JSON (pino).
 */
import type { Server } from 'node:http';
import { isMainThread } from 'node:worker_threads';
import type { AddressInfo } from 'node:net';
import pino, { type Logger } from 'pino';
import { createNodeApp } from './http/app';
import { adminKeyCheck, anyKeyCheck, readSecretString, type AccessKeyCheck } from './http/auth';
import { HEADERS_TIMEOUT_MS, KEEP_ALIVE_TIMEOUT_MS, loadConfig, nodeConfig, type NodeConfig, type NodeConfigInput } from './config';
import { Databases } from './databases';
import { NodeLifecycle } from './http/lifecycle';
import { createAppServer } from './http/server';
import { KeyStore } from './keys';
import { QueryWorkerPool } from './reads/query-workers';
import { CatalogStore, createS3Client, createStorageClient, DEFAULT_SEGMENT_BUCKET, ensureTables, IndexRootStore, SegmentStore, tableNames } from './storage';
import { Indexing, type IndexingOptions } from './indexing/durable';
import { indexingKillFrom, killAtStep } from './indexing/fault-injection';
import { SegmentCache } from './indexing/segment-cache';
import { LogStore } from './log';
import type { ClusterNode } from './http/routes/context';
import { Cluster } from './cluster/cluster';
import { NodeMetrics, sampleIndexing, startMetricsPublisher } from './metrics';
import { asgMembershipFromEnv } from './cluster/aws';

export interface RunningNode {
  readonly url: string;
  readonly port: number;
  readonly nodeId: string;
  readonly databases: Databases;
  readonly lifecycle: NodeLifecycle;
  /** Scoped access keys in the catalog (services/node/keys.ts). */
  readonly keys: KeyStore;
  readonly server: Server;
  /** The index segment store, when the configuration names one (checked at startup). */
  readonly segments: SegmentStore | undefined;
  /** Fails /health, stops accepting, drains in-flight requests, closes. Idempotent. */
  close(): Promise<void>;
}

export interface StartNodeOptions {
  readonly logger?: Logger;
  /** Replaces the admin-key check (e.g. with scoped keys from the catalog). */
  readonly accessKeys?: AccessKeyCheck;
  readonly preferredNodeFor?: (name: string) => string | Promise<string>;
  readonly clusterNodes?: () => Promise<readonly ClusterNode[]>;
  /**
   * Join the cluster: heartbeats in the catalog, a preferred node per database, forwarding of
   * transactions and notifications of commits (default true; false for a node on its own).
   */
  readonly cluster?: boolean;
  /** Waits out `drainDelayMs` at shutdown (default a timer; tests hold it to observe the drain). */
  readonly drainDelay?: (ms: number) => Promise<void>;
  /** The access-key lookup cache's clock (default `Date.now`; tests move it past the TTL). */
  readonly keyCacheClock?: () => number;
  /** Called at each step of every indexing job (fault injection: services/node/indexing/fault-injection.ts). */
  readonly onIndexingStep?: IndexingOptions['onStep'];
}

export async function startNode(input: NodeConfig | NodeConfigInput, options: StartNodeOptions = {}): Promise<RunningNode> {
  const config = nodeConfig(input);
  const logger = options.logger ?? pino({ level: config.logLevel, base: { nodeId: config.nodeId } }, pino.destination(2));
  const dynamo = createStorageClient(config);
  const names = tableNames({
    ...(config.catalogTable !== undefined ? { catalogTable: config.catalogTable } : {}),
    ...(config.logTable !== undefined ? { logTable: config.logTable } : {}),
  });
  const s3 = config.s3Endpoint === undefined && config.segmentBucket === undefined ? undefined : createS3Client({
    ...(config.s3Endpoint !== undefined ? { endpoint: config.s3Endpoint } : {}),
    ...(config.region !== undefined ? { region: config.region } : {}),
  });
  const segments = s3 === undefined ? undefined : new SegmentStore(s3, { bucket: config.segmentBucket ?? DEFAULT_SEGMENT_BUCKET });
  // The segment cache is shared out between the event loop and the query workers. With workers,
  // reads run on them: the event loop (transactions, replays, pulls of `with`) keeps a fifth,
  // the workers share the rest equally.
  const loopCacheMb = config.queryWorkers > 0 ? config.cacheSizeMb / 5 : config.cacheSizeMb;
  const cacheShareMb = config.queryWorkers > 0 ? (config.cacheSizeMb - loopCacheMb) / config.queryWorkers : 0;
  // Queries run on worker threads with their own read replicas (docs/adr/007-query-workers.md).
  const queryWorkers = config.queryWorkers > 0
    ? new QueryWorkerPool({
      size: config.queryWorkers,
      memoryMb: config.queryWorkerMemoryMb,
      logger,
      storage: {
        ...(config.storageEndpoint !== undefined ? { storageEndpoint: config.storageEndpoint } : {}),
        ...(config.region !== undefined ? { region: config.region } : {}),
        storageConnectTimeoutMs: config.storageConnectTimeoutMs,
        storageRequestTimeoutMs: config.storageRequestTimeoutMs,
        catalogTable: names.catalogTable,
        logTable: names.logTable,
        ...(segments !== undefined ? {
          segments: {
            ...(config.s3Endpoint !== undefined ? { s3Endpoint: config.s3Endpoint } : {}),
            bucket: segments.bucket,
            cacheSizeMb: cacheShareMb,
            indexThresholdDatoms: config.indexThresholdDatoms,
          },
        } : {}),
      },
    })
    : undefined;
  // Loading the engine in the threads overlaps the rest of the start (storage checks, the admin
  // key, listening): the first query does not wait for it.
  queryWorkers?.start();
  const destroyClients = (): void => {
    void queryWorkers?.close();
    dynamo.destroy();
    s3?.destroy();
  };
  let adminKey: string;
  try {
    if (config.createTables) await ensureTables(dynamo, names);
    // A missing or unreachable segment bucket fails the start, as missing tables do (/health
    // never asks storage).
    if (segments !== undefined) await (config.createTables ? segments.ensureBucket() : segments.checkBucket());
    adminKey = config.adminKey ?? await readSecretString(config.adminKeySecretArn!, { credentials: dynamo.config.credentials });
  } catch (e) {
    destroyClients();
    throw e;
  }
  const catalog = new CatalogStore(dynamo, names);
  const indexing = segments === undefined ? null : new Indexing({
    segments,
    roots: new IndexRootStore(dynamo, names),
    cache: new SegmentCache(loopCacheMb * 1024 * 1024),
    thresholdDatoms: config.indexThresholdDatoms,
    tailMaxDatoms: config.tailMaxDatoms,
    index: true,
    nodeId: config.nodeId,
    logger,
    ...(options.onIndexingStep !== undefined ? { onStep: options.onIndexingStep } : {}),
  });
  const databases = new Databases(catalog, new LogStore(dynamo, names), indexing);
  const keys = new KeyStore(catalog, {
    cacheTtlMs: config.keyCacheTtlMs,
    ...(options.keyCacheClock !== undefined ? { now: options.keyCacheClock } : {}),
  });
  const lifecycle = new NodeLifecycle();
  let nodeUrl = config.nodeUrl ?? '';
  let cluster: Cluster | undefined;
  const clusterOptions = options.cluster === false
    ? {}
    : {
      preferredNodeFor: options.preferredNodeFor ?? ((name: string) => cluster?.preferredNodeId(name) ?? config.nodeId),
      clusterNodes: options.clusterNodes ?? (async () => (cluster ? cluster.clusterNodes() : [{ id: config.nodeId, url: nodeUrl, pid: process.pid, healthy: !lifecycle.draining }])),
    };
  const app = createNodeApp({
    cluster: () => cluster,
    databases,
    nodeId: config.nodeId,
    accessKeys: options.accessKeys ?? anyKeyCheck(adminKeyCheck([adminKey]), keys),
    keys,
    ...(queryWorkers ? { queryWorkers } : {}),
    ...(segments ? { segmentStorage: { segments, roots: new IndexRootStore(dynamo, names), catalog } } : {}),
    logger,
    limits: config.limits,
    lifecycle,
    ...(options.preferredNodeFor ? { preferredNodeFor: options.preferredNodeFor } : {}),
    clusterNodes: options.clusterNodes ?? (async () => [{ id: config.nodeId, url: nodeUrl, pid: process.pid, healthy: !lifecycle.draining }]),
    ...clusterOptions,
  });

  const server = createAppServer(app).listen(config.port, config.host);
  server.keepAliveTimeout = KEEP_ALIVE_TIMEOUT_MS;
  server.headersTimeout = HEADERS_TIMEOUT_MS;
  await new Promise<void>((resolve, reject) => {
    server.once('listening', resolve);
    server.once('error', reject);
  }).catch((e: unknown) => {
    destroyClients();
    throw e;
  });
  const port = (server.address() as AddressInfo).port;
  const shownHost = config.host === '0.0.0.0' || config.host === '::' ? '127.0.0.1' : config.host;
  const url = `http://${shownHost.includes(':') ? `[${shownHost}]` : shownHost}:${port}`;
  if (nodeUrl === '') nodeUrl = url;
  const metrics = config.metricsNamespace === undefined ? undefined : (() => {
    const m = new NodeMetrics();
    databases.observer = m;
    return startMetricsPublisher({
      namespace: config.metricsNamespace,
      metrics: m,
      pendingOperations: () => lifecycle.inFlight,
      indexing: () => sampleIndexing(databases, () => queryWorkers?.segmentStats()),
      ...(config.region !== undefined ? { region: config.region } : {}),
      onError: (e) => logger.warn({ err: e }, 'publishing metrics failed'),
    });
  })();
  if (options.cluster !== false) {
    cluster = new Cluster({
      nodeId: config.nodeId,
      url: nodeUrl,
      store: new CatalogStore(dynamo, names),
      authorization: `Bearer ${adminKey}`,
      ...(await asgMembershipFromEnv().then((asg) => (asg ? { asg } : {}))),
      logger,
    });
    await cluster.start();
  }

  // Polling backs up catch-up on demand: a database another node writes to stays fresh here.
  let polling = false;
  const poll = config.pollIntervalMs > 0
    ? setInterval(() => {
      if (polling) return;
      polling = true;
      databases.pollAll().finally(() => {
        polling = false;
      });
    }, config.pollIntervalMs)
    : undefined;
  poll?.unref();

  let closing: Promise<void> | undefined;
  const close = (): Promise<void> => {
    closing ??= (async () => {
      lifecycle.startDraining();
      await cluster?.stop({ deregister: true });
      await metrics?.stop();
      logger.info({ inFlight: lifecycle.inFlight }, 'draining');
      if (config.drainDelayMs > 0) await (options.drainDelay ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms))))(config.drainDelayMs);
      if (poll) clearInterval(poll);
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      const idle = await lifecycle.whenIdle(config.drainTimeoutMs);
      if (!idle) logger.warn({ inFlight: lifecycle.inFlight }, 'drain timeout: closing connections with requests in flight');
      // Keep-alive connections that carried the last responses close now.
      server.closeAllConnections();
      await closed;
      await queryWorkers?.close();
      destroyClients();
      logger.info('closed');
    })();
    return closing;
  };

  logger.info({ url, port }, 'listening');
  return { url, port, nodeId: config.nodeId, databases, lifecycle, keys, server, segments, close };
}

/** The process entry point: `node main.js` (bundled) or `tsx services/node/main.ts`. */
export async function main(env: NodeJS.ProcessEnv = process.env): Promise<void> {
  const config = loadConfig(env);
  // Fault injection (the fault suite only): read once, here, so startNode in a test never dies.
  const kill = indexingKillFrom(env);
  const node = await startNode(config, kill === undefined ? {} : { onIndexingStep: killAtStep(kill) });
  process.stdout.write(`${JSON.stringify({ event: 'listening', port: node.port, nodeId: node.nodeId, url: node.url })}\n`);
  let stopping = false;
  const stop = (signal: string): void => {
    if (stopping) return;
    stopping = true;
    process.stderr.write(`${JSON.stringify({ level: 30, time: Date.now(), nodeId: node.nodeId, signal, msg: 'shutting down' })}\n`);
    node.close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}

// In a one-file bundle this module also loads in query worker threads: they must not start a node.
if (require.main === module && isMainThread) {
  main().catch((e: unknown) => {
    const err = e as { category?: string; code?: string; message?: string };
    process.stderr.write(`${JSON.stringify({ level: 60, time: Date.now(), msg: 'node failed to start', category: err.category, code: err.code, error: err.message ?? String(e) })}\n`);
    process.exit(1);
  });
}
