/**
 * The node's HTTP API as an Express app (docs/http-api.md): `/health` without a key, everything
 * under `/v1` with one; JSON bodies in the wire encoding; one error middleware that answers
 * anomaly JSON.
 */
import express, { type Express } from 'express';
import type { Logger } from 'pino';
import { requireAccessKey, type AccessKeyCheck } from './auth';
import { DEFAULT_LIMITS, type HttpLimits } from '../config';
import type { Databases } from '../databases';
import { jsonBody } from './body';
import { errorMiddleware, unknownRoute } from './errors';
import { closeWhileDraining, NodeLifecycle, pendingLimit, requestLog } from './lifecycle';
import { NodeOperations } from './operations';
import { clusterRoutes } from './routes/cluster';
import type { ClusterNode, RouteContext, SegmentStorage } from './routes/context';
import { adminRoutes } from './routes/admin';
import { databaseRoutes } from './routes/databases';
import { healthRoutes } from './routes/health';
import { keyRoutes } from './routes/keys';
import type { KeyStore } from '../keys';
import type { QueryWorkerPool } from '../reads/query-workers';
import { readRoutes } from './routes/reads';
import { TRANSACT_PATH, transactHandler } from './routes/transact';
import type { Cluster } from '../cluster/cluster';
import { forwardReadsWhileLoading, notifyRoutes, READ_FORWARDING_PATH } from '../cluster/forwarding';

export interface NodeAppOptions {
  readonly databases: Databases;
  readonly nodeId: string;
  readonly accessKeys: AccessKeyCheck;
  readonly logger: Logger;
  readonly limits?: Partial<HttpLimits>;
  /** Shared with the server so shutdown can fail /health and wait for in-flight requests. */
  readonly lifecycle?: NodeLifecycle;
  /** The node preferred for a database's writes (default: this node). */
  readonly preferredNodeFor?: (name: string) => string | Promise<string>;
  /** The nodes of the system for `GET /v1/cluster` (default: this node alone). */
  readonly clusterNodes?: () => Promise<readonly ClusterNode[]>;
  /** This node's URL, for the default cluster view. */
  readonly nodeUrl?: string;
  /**
   * Membership, preferred nodes, forwarding and notifications (services/node/cluster/cluster.ts). A
   * function, because the cluster needs the node's URL, known only once the server listens.
   */
  readonly cluster?: () => Cluster | undefined;
  /** Scoped access keys in the catalog: mounts the key administration routes (/v1/keys). */
  readonly keys?: KeyStore;
  /** Query worker threads (docs/adr/007-query-workers.md); absent: queries run on the event loop. */
  readonly queryWorkers?: QueryWorkerPool;
  /** The segment store, index roots and catalog, for /v1/admin/gc-storage; absent: that route is `unsupported`. */
  readonly segmentStorage?: SegmentStorage;
}

export function createNodeApp(opts: NodeAppOptions): Express {
  const limits: HttpLimits = { ...DEFAULT_LIMITS, ...(opts.limits ?? {}) };
  const lifecycle = opts.lifecycle ?? new NodeLifecycle();
  const ops = new NodeOperations({
    databases: opts.databases,
    nodeId: opts.nodeId,
    limits,
    ...(opts.preferredNodeFor ? { preferredNodeFor: opts.preferredNodeFor } : {}),
    ...(opts.queryWorkers ? { queryWorkers: opts.queryWorkers } : {}),
  });
  const ctx: RouteContext = {
    ops,
    limits,
    nodeId: opts.nodeId,
    lifecycle,
    clusterNodes: opts.clusterNodes ?? (async () => [{ id: opts.nodeId, url: opts.nodeUrl ?? '', pid: process.pid, healthy: !lifecycle.draining }]),
    get cluster() {
      return opts.cluster?.();
    },
    ...(opts.segmentStorage ? { segmentStorage: opts.segmentStorage } : {}),
  };

  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  app.use(requestLog(opts.logger));
  closeWhileDraining(app.response, lifecycle);
  app.use(healthRoutes(ctx));

  const v1 = express.Router();
  v1.use(pendingLimit(lifecycle, limits.maxPendingRequests));
  v1.use(requireAccessKey(opts.accessKeys));
  v1.use(...jsonBody(limits.maxBodyBytes, limits.maxJsonDepth));
  // The hottest route first: a request walks the routers in order until one matches.
  v1.post(TRANSACT_PATH, transactHandler(ctx));
  v1.use(databaseRoutes(ctx));
  if (opts.cluster) {
    v1.post(READ_FORWARDING_PATH, forwardReadsWhileLoading({ cluster: opts.cluster, loaded: (name) => ops.readyOrLoad(name), timeoutMs: limits.maxQueryTimeoutMs + 5_000 }));
  }
  v1.use(readRoutes(ctx));
  v1.use(clusterRoutes(ctx));
  if (opts.keys) v1.use(keyRoutes(opts.keys));
  v1.use(adminRoutes(ctx));
  if (opts.cluster) {
    v1.use(notifyRoutes(opts.databases, { onError: (e, db) => opts.logger.warn({ err: e, db }, 'catch-up after a notification failed') }));
  }
  app.use('/v1', v1);

  app.use(unknownRoute);
  app.use(errorMiddleware(opts.logger));
  return app;
}
